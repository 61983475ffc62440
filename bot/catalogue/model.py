"""The immutable objects a catalogue is made of: Answer with its Parts, Intent, Role, Facet, Menu, MatcherSettings with its Words and Weights."""

from __future__ import annotations

import re

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.errors import Source

if TYPE_CHECKING:
    from bot.matching.learned import LearnedModel

# The one intent id the code must know: danger-now messages are checked before anything else.
EMERGENCY = "emergency"
# What an intent or answer id looks like: lower case words joined by _ and, for a finer intent, dots.
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


class Role(enum.StrEnum):
    """What the engine and the channels treat an intent as; listed under `roles:` in intents/*.yaml."""

    SMALL_TALK = "small_talk"  # conversation, not a service: never the topic a follow-up refers to, not rated
    WHOLE_MESSAGE = "whole_message"  # only when it is the whole message: 好的 inside a question is no thanks
    ANYWHERE = "anywhere"  # answered even when the message is about another Chinese city
    ENDS_CONTEXT = "ends_context"  # answering it forgets the conversation's topic (再见)
    WELCOME = "welcome"  # what a channel shows a citizen who first arrives (a web page, a WeChat follow)
    GENERAL = "general"  # a general intent (法律咨询): a story's question that names a service wins over it


# A finer intent (legal_aid.apply) has its topic's roles too, except this one: one intent welcomes.
NOT_INHERITED = frozenset({Role.WELCOME})


def topic_of(intent_id: str) -> str:
    """The catalogue id an intent belongs to (`legal_aid` for `legal_aid.apply`)."""
    return intent_id.split(".", 1)[0]


class Facet(enum.StrEnum):
    """The parts an answer may have, one fixed list; listed under `facets:` in content/answers/*.yaml."""

    WHAT = "what"  # what it is
    WHO = "who"  # who it is for, who may apply
    HOW = "how"  # how and where to apply
    BRING = "bring"  # what to bring
    COST = "cost"  # what it costs
    TIME = "time"  # how long it takes
    FIGURES = "figures"  # what the report's figures say


@dataclass(frozen=True, slots=True)
class Part:
    """One facet of an answer: a text drawn from the report (section and excerpt), or, with no
    excerpt, the plain statement that the report does not say and whom to ask."""

    facet: Facet
    text: str
    section: str = ""
    excerpt: str = ""

    @property
    def is_unsaid(self) -> bool:
        """The report says nothing on this; the text says so and names whom to ask."""
        return not self.excerpt


@dataclass(frozen=True, slots=True)
class Answer:
    """A curated reply, with the report section and verbatim excerpt it is drawn from, and its parts."""

    id: str
    text: str
    section: str
    excerpt: str
    legal_notice: bool
    source: Source
    parts: tuple[Part, ...] = ()
    ask: str = ""  # whom to ask what the report does not say ("12348 公共法律服务热线")

    def part(self, facet: Facet) -> Part | None:
        """The part answering this facet, or None when the answer has none."""
        return next((p for p in self.parts if p.facet is facet), None)


@dataclass(frozen=True, slots=True)
class DangerGroup:
    """Danger-now phrases that share one emergency answer (110 first, 120 first, 119 first)."""

    name: str
    answer: Answer
    triggers: tuple[str, ...]
    is_cry: bool = False  # a cry for help (救命): another danger named in the message decides the number
    situations: tuple[str, ...] = ()  # danger now told as a situation, the danger model's examples of this group
    # Groups whose danger, named in the same message, decides the number instead (落水 gives way to
    # 没有呼吸: someone pulled out of the water needs 120 first).
    yields_to: tuple[str, ...] = ()
    # Phrases that tell what was done (推了我一把, 砸过我的店): alone in a message and with no time of
    # their own they are only mentioned; a time of now (他现在在推我) still makes them danger now.
    is_told: bool = False


@dataclass(frozen=True, slots=True)
class Danger:
    """What counts as danger now, and the words that tell it from danger only mentioned."""

    groups: tuple[DangerGroup, ...] = ()
    now_words: tuple[str, ...] = ()  # danger now wherever they stand: 救命, 快来人, 拿刀, 要弄死我
    mention_words: tuple[str, ...] = ()  # a question about the law: 怎么规定, 算不算, 判几年
    mention_intent: str | None = None  # answers a mention that names no service (家暴在法律上怎么规定)
    now_times: tuple[str, ...] = ()  # danger said after them is now: 正在, 现在, 今天, 刚才
    past_times: tuple[str, ...] = ()  # danger said after them is past or supposed: 去年, 以前, 如果, 打过
    time_units: tuple[str, ...] = ()  # 年, 月, 天: "三年前", "两个多月以前" are past by pattern
    help_words: tuple[str, ...] = ()  # asking what to do about the danger itself, not about a service: 怎么办
    now_before: tuple[str, ...] = ()  # right before the danger word, it is now: 在 (打我), 要 (杀我), 想 (自杀)
    recovered_words: tuple[str, ...] = ()  # the danger is over: 现在好多了, 人没事 (unsaid times become past)
    harmless: tuple[str, ...] = ()  # phrases holding a danger word that are no danger: 救命稻草
    mentions: tuple[str, ...] = ()  # questions that only mention danger, the danger model's examples of a mention
    done_before: tuple[str, ...] = ()  # right before a danger word with 了 after it, a deed told: 还 (打了我一下)
    carried_times: tuple[str, ...] = ()  # now_times that also time the clauses after theirs: 刚才, 今晚
    help_arrived: tuple[str, ...] = ()  # help is called or has come: 救护车到了 (a thanks after it is a thanks)
    past_after: tuple[str, ...] = ()  # right after a danger word (了 between or not), it is past: 以后 (火灾以后)
    standing_threats: tuple[str, ...] = ()  # a threat on one's life, now whenever it was made: 杀了我, 同归于尽
    # Trained when the catalogue loads (bot.catalogue.danger.trained): now (a group's name), mention, or neither.
    model: LearnedModel | None = field(default=None, compare=False, repr=False)
    trained_on: str = field(default="", compare=False, repr=False)  # digest of the model's documents

    def group_of(self, trigger: str) -> DangerGroup | None:
        """The group a trigger phrase (normalised), or a situation the danger model read, belongs to;
        None for an intent's own triggers."""
        return next((g for g in self.groups if trigger in g.triggers or trigger == situation(g.name)), None)


SITUATION = "(situation)"  # the text of a trigger standing for the danger model's reading of a situation


def situation(group: str) -> str:
    """The trigger text standing for danger now the danger model found as `group`'s situation."""
    return f"{SITUATION}{group}"


@dataclass(frozen=True, slots=True)
class Intent:
    """Something citizens ask about, the phrases it is matched by and its answer."""

    id: str
    title: str
    examples: tuple[str, ...]
    keywords: tuple[str, ...]
    triggers: tuple[str, ...]
    suggest: tuple[str, ...]
    answer: Answer
    source: Source
    roles: frozenset[Role] = frozenset()  # its own and its topic's (see NOT_INHERITED)

    @property
    def topic(self) -> str:
        """The catalogue id this intent belongs to (`legal_aid` for `legal_aid.apply`)."""
        return topic_of(self.id)


@dataclass(frozen=True, slots=True)
class MenuArea:
    """A topic area of a channel's menu: a key for buttons, a title, and its intents in order."""

    key: str
    title: str
    intents: tuple[str, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class Menu:
    """The topic areas channels offer as starting buttons (Telegram's /menu); read from intents/menu.yaml."""

    areas: tuple[MenuArea, ...] = ()
    unlisted: frozenset[str] = frozenset()  # service intents left out of every area on purpose

    def area(self, key: str) -> MenuArea | None:
        """The area with this key, or None (a button from an older menu)."""
        return next((area for area in self.areas if area.key == key), None)


@dataclass(frozen=True, slots=True)
class Words:
    """The word lists the matcher reads from intents/words.yaml, which says what each one does."""

    question_words: tuple[str, ...] = ()  # a clause holding one asks (bot.matching.clauses)
    detail_words: tuple[str, ...] = ()  # a question going on from the last answer asks about one (bot.engine); not question words
    going_on_words: tuple[str, ...] = ()  # a message opened with one goes on from the last answer
    negation_words: tuple[str, ...] = ()  # in a story, a topic word right after one is background
    lest_words: tuple[str, ...] = ()  # in a story, a topic word after one in its clause is feared, not asked
    lest_exceptions: tuple[str, ...] = ()  # phrases holding a lest-word that do not mean it (哪怕)
    linking_words: tuple[str, ...] = ()  # characters after a topic word that start a new phrase
    staying_words: tuple[str, ...] = ()  # after another place: where the citizen is, not the service
    origin_words: tuple[str, ...] = ()  # right after a place: where the citizen comes from
    not_going_words: tuple[str, ...] = ()  # right before a place: the citizen need not go there
    across_words: tuple[str, ...] = ()  # two words that spell a place name across their boundary

    def starts_phrase(self, character: str) -> bool:
        """After a topic word, this character starts a new phrase: a linking word, or a question
        word of one character (法律援助吗, 公证哪里办), kept in one list, question_words."""
        return character in self.linking_words or character in self.question_words


WORD_LISTS = tuple(Words.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Weights:
    """How the matcher weighs its evidence: defaults fitted on the evaluation sets, set in code.

    Operators tune the thresholds in intents/matcher.yaml; these only change with the matcher,
    after `legalbot eval` on every set. Lengths are in syllables: one per Chinese character, one
    per pinyin syllable typed in Latin letters (the length of a sound key).
    """

    # Lengths: the two cut-offs every rule about a message's length uses, in syllables
    # (bot.matching.index.Query.length); shorter lengths are fractions of `short_length`.
    short_length: int = 10  # up to here a message is a phrase, and each of its words counts
    story_length: int = 30  # past this a message is a story: background around a question
    # Evidence from examples and topic words (bot.matching.scoring).
    keyword_weights: tuple[float, float, float] = (0.82, 0.88, 0.92)  # topic words of 2, 3, 4+ syllables: longer is surer
    homophone_discount: float = 0.93  # a match by sound only is worth this much of a match by characters
    spread_discount: float = 0.9  # a topic word with a few characters inserted in it (投诉…律师)
    max_gap: int = 3  # characters that may stand inside a spread topic word
    shared_word_penalty: float = 0.04  # per other intent whose examples use the topic word, up to three
    negated: float = 0.8  # in a story, a topic word after a negation or a lest-word is background
    modifier_discount: float = 0.8  # a topic word followed by a word no example uses (律师资格证)
    aligned: int = 65  # a partial alignment this good (0-100) counts, by its score, towards coverage
    # How much of a message the intent explains: most for short messages, little for stories,
    # which always carry detail no example has.
    coverage_weight_short: float = 0.4
    coverage_weight_story: float = 0.1
    rescored: int = 6  # leading intents whose coverage of the message is measured
    rescored_story: int = 3  # in a story coverage moves scores little and costs most to align
    unexplained_free: float = 0.35  # share of unfamiliar pieces a short message may have without penalty
    unexplained_weight: float = 0.6  # score lost per share of unfamiliar pieces beyond that
    # Stories and clauses (bot.matching.ranking).
    tail_share: int = 2  # a story's question is in its last 1/tail_share
    tail_weight: float = 0.4  # how much a story's tail counts against the whole story
    background: float = 0.85  # a clause that does not ask, answered on its own, counts this much
    story_clauses: int = 4  # with more clauses than this, only those that ask are scored alone
    max_clauses: int = 12  # a longer story is scored by its whole and its tail only
    # The decision (bot.matching.decision).
    clear_floor: float = 0.45  # a lead this faint is a guess however far ahead: the citizen is asked instead
    wholly: float = 0.9  # coverage at which a follow-up phrase accounts for the whole message
    # The learned model's say (bot.matching.decision.combined), in log-odds of its first guess,
    # fitted on holdout.yml and jiangshan.yml: past these it is right four times in five.
    model_vetoes: float = 5.0  # over the answer's topic: an answer it takes for out of scope falls back
    model_settles: float = 20.0  # over the second guess and over out of scope: it picks among offered intents
    model_disagrees: float = 10.0  # over the second guess: an answer of another topic becomes a question
    model_suggests: float = 15.0  # over out of scope: a fallback offers its guess, wherever fuzzy matching ranked it
    # Over the second guess, with at least `model_in_scope` over out of scope: it also picks among offered
    # intents. Chosen on blind..blind5, holdout, jiangshan and dev (at 15 an out-of-scope message was
    # answered), confirmed on blind6.
    model_picks: float = 16.0
    model_in_scope: float = 40.0
    # Over the second guess and over out of scope: an intent fuzzy matching ranked is answered, whatever
    # fuzzy matching decided. Chosen on blind..blind5, holdout, jiangshan and dev (above it the model
    # was right every time it disagreed; its last miss there was at 64.6), confirmed on blind6.
    model_answers: float = 70.0
    # A story whose end the model reads as the same topic as the whole: answered from this margin, with
    # `model_in_scope` over out of scope, when fuzzy matching ranked the guess among its first
    # `story_ranked` (fitted on the same sets: at 25 an out-of-scope story was answered).
    story_answers: float = 30.0
    story_ranked: int = 6
    # Coverage below which an answer rests on the service's word alone (跑一次五公里, 网上办信用卡): with
    # out of scope among the model's two guesses and the model not sure it is in scope, the citizen is
    # asked. Fitted on blind2.yml, holdout.yml and jiangshan.yml (look-alikes answered 3 in 4 below it).
    sense_coverage: float = 0.3
    # An answer explaining less than this of a phrase (at most `elsewhere_length`) that names a noun of
    # another domain (bot.matching.domains: 驾校, 签证, 青花瓷), with the model less sure than
    # `model_doubts` that it is in scope, is offered rather than answered. Measured on every set.
    elsewhere_coverage: float = 0.4
    elsewhere_length: int = 20
    model_doubts: float = 40.0
    # Follow-ups (bot.engine): a message of at most `leaning_length` right after a topic leans towards it.
    short_bonus: float = 0.15
    # The n-gram prefilter (bot.matching.index).
    candidates: int = 60  # examples scored in full per message
    story_candidates: int = 40  # fewer for a story: each costs more to align, and its tail is scored again
    # Past this many syllables a story meets proportionally fewer candidates: aligning each costs in
    # proportion to its length, so the work stays that of a story this long.
    aligned_length: int = 90
    reserved: int = 8  # follow-up and out-of-scope phrases scored besides the candidates
    common_gram_share: float = 0.05  # n-grams in more examples than this share are too common to prefilter on
    # Other places (bot.matching.places).
    place_window: int = 12  # characters after a place name in which a topic word makes it the service's place

    @property
    def fragment_length(self) -> int:
        """A clause this short is a fragment ("有用吗" of "打了差评有用吗"): it lifts an intent alone
        only when it holds that intent's example. A third of a short message: a short clause
        ("不想活了") speaks for itself."""
        return self.short_length // 3

    @property
    def leaning_length(self) -> int:
        """A message this short right after a topic leans towards that topic ("那要多久"): two thirds
        of a short message, since a whole one ("也不知道该说什么") would lean too."""
        return self.short_length * 2 // 3


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    """Thresholds and word lists the matcher applies; shipped in intents/matcher.yaml."""

    answer_threshold: float = 0.6
    clarify_threshold: float = 0.4
    ambiguity_gap: float = 0.06
    clear_margin: float = 0.15
    max_suggestions: int = 3
    max_message_chars: int = 600
    fillers: tuple[str, ...] = ()
    synonyms: tuple[tuple[str, str], ...] = ()
    local_places: tuple[str, ...] = ()  # a message naming one of these is about Jiangshan
    other_places: tuple[str, ...] = ()  # other cities: their services are out of scope
    abroad_places: tuple[str, ...] = ()  # other countries: their law is out of scope too
    out_of_scope_words: tuple[str, ...] = ()  # exams, school, careers: a topic word beside them is no question for us
    words: Words = Words()  # read from intents/words.yaml
    weights: Weights = Weights()  # not read from YAML: see Weights
