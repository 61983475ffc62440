"""The decision on a ranking: answer, ask which intent was meant, or fall back."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.catalogue.model import EMERGENCY, MatcherSettings, Weights, topic_of
from bot.matching.index import Index
from bot.matching.learned import OUT_OF_SCOPE, Opinion
from bot.matching.scoring import Ranking, Scored

# Shorter examples (调解, 公证) are words, said in many questions; four characters or more make a name.
NAME_CHARS = 4


class Outcome(enum.Enum):
    """What the bot does with a message."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class Match:
    """The decision: an outcome, the intent answered (if any), and the evidence for it."""

    outcome: Outcome
    intent: str | None
    score: float
    runner_up: Scored | None
    candidates: tuple[Scored, ...]


def decide(ranking: Ranking, settings: MatcherSettings) -> Match:
    """Apply the thresholds: answer when clear, clarify when close, fall back when nothing fits."""
    intents = ranking.intents
    if not intents:
        return Match(Outcome.FALLBACK, None, 0.0, None, ())
    top = intents[0]
    topic = topic_of(top.intent)
    # Danger is found by its triggers first; an emergency example that merely resembles the
    # message ("老公家暴我想离婚" for "我想离婚") does not make another answer uncertain.
    runner_up = next((s for s in intents[1:] if topic_of(s.intent) != topic and s.intent != EMERGENCY), None)
    if ranking.out_of_scope >= top.score or top.score < settings.clarify_threshold:
        return Match(Outcome.FALLBACK, None, top.score, runner_up, intents[:1])
    if ranking.followup >= top.score and ranking.followup_coverage >= settings.weights.wholly:
        # Only a follow-up ("要多久") with nothing before it: no topic to answer in.
        return _clarify(ranking, settings, top, runner_up)
    close = runner_up is not None and top.score - runner_up.score < settings.ambiguity_gap
    rival = max(runner_up.score if runner_up else 0.0, ranking.out_of_scope)
    # Below the answer threshold, an intent far ahead of every alternative is still the answer:
    # asking "did you mean X?" with X alone only costs the citizen a tap.
    is_clear = top.score - rival >= settings.clear_margin and top.score >= settings.weights.clear_floor
    if (top.score >= settings.answer_threshold and not close) or is_clear:
        return Match(Outcome.ANSWER, top.intent, top.score, runner_up, (top,))
    return _clarify(ranking, settings, top, runner_up)


def _clarify(ranking: Ranking, settings: MatcherSettings, top: Scored, runner_up: Scored | None) -> Match:
    """Offer the leading intents of distinct topics, up to max_suggestions, close to the top one."""
    intents = ranking.intents
    floor = max(settings.clarify_threshold, top.score - 2 * settings.ambiguity_gap, ranking.out_of_scope)
    offered: list[Scored] = []
    for s in intents:
        if s.score < floor or len(offered) >= settings.max_suggestions:
            break
        if s.intent == EMERGENCY and s is not top:
            continue
        if all(topic_of(o.intent) != topic_of(s.intent) for o in offered):
            offered.append(s)
    return Match(Outcome.CLARIFY, None, top.score, runner_up, tuple(offered))


def is_answered(ranking: Ranking, settings: MatcherSettings) -> bool:
    """Whether decide() answers this ranking outright."""
    return decide(ranking, settings).outcome is Outcome.ANSWER


def clear_answer(ranking: Ranking, settings: MatcherSettings,
                 whole_message: frozenset[str] = frozenset()) -> Scored | None:
    """The intent a part of a message (a clause) would be answered with on its own, when it is clear.

    Alone, a clause must be clear of its runner-up by clear_margin: "是什么意思" is close to
    "普法是什么意思" and to the same question about every other topic. Intents said only as a
    whole message (`whole_message`: greetings) never speak for a clause.
    """
    decided = decide(ranking, settings)
    if decided.outcome is not Outcome.ANSWER or decided.intent in whole_message:
        return None
    rival = decided.runner_up.score if decided.runner_up else 0.0
    if decided.score - rival < settings.clear_margin:
        return None
    return ranking.intents[0]


def combined(match: Match, ranking: Ranking, opinion: Opinion, settings: MatcherSettings,
             whole_message: frozenset[str] = frozenset(), length: int = 0,
             elsewhere: Callable[[], Sequence[str]] = tuple, core: str = "",
             general: frozenset[str] = frozenset()) -> Match:
    """The fuzzy matcher's decision weighed with the learned model's opinion (bot.matching.learned).

    Measured on the held-out sets: the model's first guess is right more often than fuzzy matching,
    but it answers look-alikes too. Only where it is very sure (`_settled`: far ahead of its second
    guess and of out of scope, or a story whose end and whole it reads alike) is its guess, as fuzzy
    matching ranked it, answered whatever fuzzy matching decided: above those margins it was right
    every time it disagreed on the sets they were chosen on. Otherwise it moves a decision one step:
    - an answer it takes for out of scope, without the answer's topic among its first two
      guesses or by a clear margin, falls back (跑一次五公里, 玉石鉴定: look-alikes more often
      than questions);
    - an answer whose examples explain little of a message shorter than a story (`length`, in
      syllables), with out of scope among its two guesses and the model not sure it is in scope,
      becomes a question: the service's word is the only evidence, and a word said in another
      sense (网上办信用卡, 淘宝怎么追加差评) looks the same;
    - so does an answer whose examples explain little of a phrase naming a noun of another domain
      (`elsewhere`, bot.matching.domains: 驾校教练能投诉到哪) unless the model is sure it is in scope
      (read last, only when the rest holds: segmenting needs the dictionary);
    - an answer it is sure is of another topic, which fuzzy matching also ranked, becomes a
      question offering both: disagreement is where wrong answers come from; but not a story
      whose question (its end) the model reads as the answer's topic, since a story's background
      words are what its whole reading leans on;
    - a question between close intents is answered when it is sure of one of those offered,
      and sure that the message is not out of scope (`_picks`: less sure between intents will do
      when it is very sure the message is in scope), unless that intent too rests on its word
      alone (2021年基金定投计划), or fuzzy matching's first is named word for word in `core` (the
      message's core) and the model's choice is only alike (最多跑一地 is not 最多跑一次: n-grams
      shared by look-alike names outvote the one character that tells them apart); sure of one
      not offered, it offers it too;
    - a story answered with, or offered between, a `general` intent (法律咨询) is answered with the
      service the model reads its question (its end) as, where fuzzy matching offered it or the whole
      story's reading has it first or second (`_told_at_end`), unless the model takes the story for out
      of scope: the background leans to the general intent;
    - a fallback offers its guess as a button when it is sure the message is not out of scope,
      wherever fuzzy matching ranked that guess. An intent said only as a whole message
      (`whole_message`: 谢谢, 你好) is never offered for a message fuzzy matching could not place.
    """
    guesses, w = opinion.guesses, settings.weights
    if not guesses:
        return match
    first = guesses[0]
    sure = opinion.over_out_of_scope >= w.model_settles
    settled = _settled(match, ranking, opinion, whole_message, w)
    if settled is not None:
        return Match(Outcome.ANSWER, first, settled.score, match.runner_up, (settled,))
    told = _told_at_end(match, ranking, opinion, general | whole_message, general, w)
    if told is not None:
        return Match(Outcome.ANSWER, told.intent, told.score, match.runner_up, (told,))
    if match.outcome is Outcome.ANSWER and match.intent is not None:
        # Never an emergency: what the model takes for out of scope may still be danger (in doubt, now).
        if first == OUT_OF_SCOPE and match.intent != EMERGENCY and (
                topic_of(match.intent) not in guesses[:2] or opinion.margin >= w.model_vetoes):
            return Match(Outcome.FALLBACK, None, match.score, match.runner_up, match.candidates)
        other = _ranked(ranking, first)
        if (other is not None and topic_of(first) != topic_of(match.intent) and first != EMERGENCY
                and opinion.margin >= w.model_disagrees and not _asked_at_end(opinion, match.intent)):
            return Match(Outcome.CLARIFY, None, match.score, match.runner_up, (*match.candidates[:1], other))
        answered = match.candidates[0] if match.candidates else None
        if (answered is not None and _word_only(answered, opinion, length, w)
                and opinion.over_out_of_scope < w.model_suggests):
            return _clarify(ranking, settings, answered, match.runner_up)
        if answered is not None and _elsewhere(answered, opinion, length, elsewhere, w):
            return _clarify(ranking, settings, answered, match.runner_up)
        return match
    if first in (OUT_OF_SCOPE, EMERGENCY) or first in whole_message:
        return match
    if match.outcome is Outcome.CLARIFY:
        chosen = next((s for s in match.candidates if s.intent == first), None)
        if chosen is None:
            # Sure of an intent fuzzy matching did not offer: it is offered too, last.
            if opinion.over_out_of_scope < w.model_suggests:
                return match
            guess = _offered(ranking, first)
            kept = match.candidates[:settings.max_suggestions - 1]
            return Match(Outcome.CLARIFY, None, match.score, match.runner_up, (*kept, guess))
        if (not _picks(opinion, w) or not sure or _word_only(chosen, opinion, length, w)
                or _named_exactly(match.candidates[0], chosen, core)
                or _elsewhere(chosen, opinion, length, elsewhere, w)):
            return match
        return Match(Outcome.ANSWER, first, chosen.score, match.runner_up, (chosen,))
    if opinion.over_out_of_scope < w.model_suggests:
        return match
    # Sure of an intent that fuzzy matching ranked low or not at all: a citizen's own dispute told
    # in words no example uses (婚后用个人钱买房, 软件上借了一千只到账590) is offered, not dropped.
    return Match(Outcome.CLARIFY, None, match.score, match.runner_up, (_offered(ranking, first),))


def _settled(match: Match, ranking: Ranking, opinion: Opinion, whole_message: frozenset[str],
             w: Weights) -> Scored | None:
    """The model's first guess, as fuzzy matching scored it, when the model is sure enough of it to be
    answered whatever fuzzy matching decided; None otherwise. Sure: ahead of its second guess and of
    out of scope by `model_answers`, with fuzzy matching ranking it anywhere; or, for a story whose
    question (its end) the model reads as the same topic, by `story_answers` (and of out of scope by
    `model_in_scope`), with fuzzy matching ranking it among its first `story_ranked`: the two readings
    of the story agree, and the matcher's lead came from background words (房子, 合同) the question
    is not about."""
    first = opinion.guesses[0]
    if first in (OUT_OF_SCOPE, EMERGENCY) or first in whole_message or match.intent == first:
        return None
    lead = min(opinion.margin, opinion.over_out_of_scope)
    if lead >= w.model_answers:
        return _ranked(ranking, first)
    if (lead >= w.story_answers and opinion.over_out_of_scope >= w.model_in_scope
            and _asked_at_end(opinion, first)):
        return next((s for s in ranking.intents[:w.story_ranked] if s.intent == first), None)
    return None


def _picks(opinion: Opinion, w: Weights) -> bool:
    """Whether the model is sure enough between intents to settle a question among those offered: ahead
    of its second guess by `model_settles`, or by `model_picks` when it is also sure by `model_in_scope`
    that the message is in scope (a question between two services, not a look-alike of one)."""
    return opinion.margin >= w.model_settles or (
        opinion.margin >= w.model_picks and opinion.over_out_of_scope >= w.model_in_scope)


def _named_exactly(leader: Scored, chosen: Scored, core: str) -> bool:
    """Whether fuzzy matching's first is named word for word (its example, a name of NAME_CHARS or
    more, stands in the message) while the model's choice matched only a look-alike of it."""
    return (leader.intent != chosen.intent and len(leader.example) >= NAME_CHARS
            and leader.example in core and chosen.example not in core)


def _asked_at_end(opinion: Opinion, intent: str) -> bool:
    """A story whose question (its end) the model reads as the answer's topic: its other guess came
    from the background (房产证, 合同 make a story look like general legal advice), not the question."""
    return opinion.at_end is not None and topic_of(opinion.at_end) == topic_of(intent)


def _word_only(scored: Scored, opinion: Opinion, length: int, w: Weights) -> bool:
    """Whether an intent rests on its service word alone: its examples explain little of a message
    shorter than a story, and out of scope is among the model's two guesses. A story's question is
    a small part of it: low coverage there is background, not another sense."""
    return scored.coverage < w.sense_coverage and length <= w.story_length and OUT_OF_SCOPE in opinion.guesses[:2]


def _elsewhere(scored: Scored, opinion: Opinion, length: int, elsewhere: Callable[[], Sequence[str]],
               w: Weights) -> bool:
    """Whether an intent's likeness is a service word said about another domain: the phrase names a
    noun no intent uses, the intent's examples explain little of it, and the model is not sure."""
    return (scored.coverage < w.elsewhere_coverage and length <= w.elsewhere_length
            and opinion.over_out_of_scope < w.model_doubts and bool(elsewhere()))


def _told_at_end(match: Match, ranking: Ranking, opinion: Opinion, not_told: frozenset[str],
                 general: frozenset[str], w: Weights) -> Scored | None:
    """A story answered with, or offered between, a `general` intent (法律咨询) whose question,
    its end, the model reads as a service: that service, where fuzzy matching offered it, or ranks it
    among its first `story_ranked` and the whole story's reading has it first or second. Not a story
    the model takes for out of scope. A story's background (房子, 合同, 打官司) leans to the general
    intent; its question names what is asked ("有没有一个地方把这些人叫到一起", "这个鉴定去哪做")."""
    end = opinion.at_end
    leads = [c.intent for c in match.candidates[:2]] if match.outcome is Outcome.CLARIFY else [match.intent]
    if (end in (None, OUT_OF_SCOPE, EMERGENCY) or end in not_told or opinion.guesses[:1] == (OUT_OF_SCOPE,)
            or not any(i in general for i in leads if i)):
        return None
    # Offered already, or in the whole story's first two readings too: never a service only its end names.
    among = match.candidates[:2] if match.outcome is Outcome.CLARIFY else (
        ranking.intents[:w.story_ranked] if topic_of(end) in map(topic_of, opinion.guesses[:2]) else ())
    return next((s for s in among if topic_of(s.intent) == topic_of(end)), None)


def _ranked(ranking: Ranking, intent: str) -> Scored | None:
    return next((s for s in ranking.intents if s.intent == intent), None)


def _offered(ranking: Ranking, intent: str) -> Scored:
    """The model's guess as a button: as fuzzy matching scored it, or at 0 where it did not."""
    return _ranked(ranking, intent) or Scored(intent, 0.0, "")


def mentioned_service(service: Scored, ranking: Ranking, opinion: Opinion, settings: MatcherSettings,
                      index: Index, length: int, core: str, is_service: Callable[[str], bool]) -> Scored:
    """The service a message that only mentions danger is answered with: the one the danger's reading found
    (bot.matching.danger.assess), unless that is a `general` intent (法律咨询) and the message, decided as
    any other (decide, then combined), answers another service: a story's background leans to the general
    intent, its question names the service ("小时候我爸经常打我妈…谁能出面调解？" asks for 人民调解)."""
    general = index.general
    if service.intent not in general or not opinion.guesses:
        return service
    told = combined(decide(ranking, settings), ranking, opinion, settings, index.whole_message, length, tuple, core,
                    general)
    if told.outcome is not Outcome.ANSWER or told.intent is None:
        return service
    chosen = next((c for c in told.candidates if c.intent == told.intent), Scored(told.intent, told.score, ""))
    if chosen.intent in general or chosen.intent == EMERGENCY or not is_service(chosen.intent):
        return service
    return chosen
