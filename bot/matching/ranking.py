"""Pure matching: analyse() a message, rank() intents by fuzzy similarity, decide() what to do."""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import repeat

from rapidfuzz import fuzz, process

from bot.matching.clauses import Clause, split
from bot.matching.index import (
    FOLLOWUP,
    OUT_OF_SCOPE,
    SCANNED_CHARS,
    Index,
    Query,
    analyse,
    analyse_prepared,
    build_index,
    candidates,
    clause_breaks,
)
from bot.catalogue.model import EMERGENCY, MatcherSettings, topic_of
from bot.matching.normalize import prepare
from bot.matching.places import Place, elsewhere
from bot.matching.triggers import Trigger, find_trigger

# Re-exported: the matcher's callers prepare messages and catalogues through it.
__all__ = [
    "FOLLOWUP", "OUT_OF_SCOPE", "Index", "Match", "Outcome", "Query", "Ranking", "Scored",
    "Examined", "analyse", "build_index", "coverage", "decide", "examine", "rank", "tail", "unexplained",
]

_KEYWORD_WEIGHTS = {2: 0.82, 3: 0.88, 4: 0.92}  # by syllables: a longer topic word is surer evidence
_HOMOPHONE_DISCOUNT = 0.93  # a match by sound only is worth this much of a match by characters
_SPREAD_DISCOUNT = 0.9  # a topic word with a few characters inserted in it (投诉…律师)
_MAX_GAP = 3  # characters that may stand inside a spread topic word
_SHARED_WORD_PENALTY = 0.04  # per other intent whose examples use the topic word, up to three
_NEGATED = 0.8  # in a story, a topic word right after a negation (还没闹矛盾)
# What the citizen fears, wants to avoid or does not want is not what they ask about.
_LEST = ("免得", "以免", "省得", "避免", "防止", "怕", "担心", "不想", "不愿", "不打算", "不用", "不必", "还没")
_LESTS = re.compile("|".join(("(?<![哪恐])怕", *(w for w in _LEST if w != "怕"))))  # not 哪怕, 恐怕
_MODIFIER_DISCOUNT = 0.8  # a topic word followed by a word no example uses (律师资格证)
# Function words after a topic word start a new phrase (法律援助还是法律咨询), not a compound.
_LINKING = frozenset("的了吗呢吧啊呀还和跟与或及是在要能会可怎咋哪什谁几多去来到给把被对向从让请想就也都又才再有没不这那管")
_ALIGNED = 65  # a partial alignment this good (0-100) counts, by its score, towards explaining the message
_RESCORED = 6  # intents whose coverage of the message is measured
_RESCORED_STORY = 3
# How much of a message's score depends on how much of it the intent explains: most for short
# messages, little for stories, which always carry detail no example has.
_COVERAGE_WEIGHT_SHORT = 0.4
_COVERAGE_WEIGHT_STORY = 0.1
_SHORT_LENGTH = 10  # syllables: up to here a message is short
_STORY_LENGTH = 30  # syllables: from here a message is a story
_UNEXPLAINED_FREE = 0.35  # share of unfamiliar pieces a short message may have without penalty
_UNEXPLAINED_WEIGHT = 0.6
_TAIL_SHARE = 2  # a story's question is in its second half
_TAIL_WEIGHT = 0.4
_ONE_WORD = 4  # characters
_BACKGROUND = 0.85  # a clause that does not ask, answered on its own, counts this much
_STORY_CLAUSES = 4  # with more clauses than this, only those that ask are scored alone
_MAX_CLAUSES = 12  # a longer story is scored by its whole and its tail only
_CLAUSE_CHARS = 4  # a shorter clause lifts an intent only when it holds one of its topic words
_CLEAR_FLOOR = 0.45  # a lead this faint is a guess however far ahead: the citizen is asked instead
_WHOLLY = 0.9  # coverage at which a follow-up phrase accounts for the whole message


class Outcome(enum.Enum):
    """What the bot does with a message."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class Scored:
    """The best similarity of a message to one intent, and the example that gave it."""

    intent: str
    score: float
    example: str
    coverage: float = 0.0

    def __reduce__(self) -> tuple[type[Scored], tuple[str, float, str, float]]:
        # Sent back from match workers by the dozen per message: a plain tuple unpickles several
        # times faster than the field-by-field state of a slotted dataclass.
        return Scored, (self.intent, self.score, self.example, self.coverage)


@dataclass(frozen=True, slots=True)
class Ranking:
    """Intents by descending score, plus how much the message looks out of scope or elliptical."""

    intents: tuple[Scored, ...]
    out_of_scope: float = 0.0
    followup: float = 0.0
    followup_coverage: float = 0.0

    def __reduce__(self) -> tuple[type[Ranking], tuple[tuple[Scored, ...], float, float, float]]:
        return Ranking, (self.intents, self.out_of_scope, self.followup, self.followup_coverage)

    def score_of(self, intent_id: str) -> float:
        """The score of one intent, 0 when it was not among the candidates."""
        return next((s.score for s in self.intents if s.intent == intent_id), 0.0)


@dataclass(frozen=True, slots=True)
class Match:
    """The decision: an outcome, the intent answered (if any), and the evidence for it."""

    outcome: Outcome
    intent: str | None
    score: float
    runner_up: Scored | None
    candidates: tuple[Scored, ...]


def _scores(query: str, choices: list[str], scorer: Callable[..., float]) -> list[float]:
    """scorer(query, choice) / 100 for every choice, computed in rapidfuzz's C loop."""
    out = [0.0] * len(choices)
    for _, score, i in process.extract(query, choices, scorer=scorer, limit=None):
        out[i] = score / 100
    return out


def _likeness_many(query_key: str, keys: list[str], whole_only: list[bool]) -> list[float]:
    """0-1 likeness of the message to each key: as whole texts, or the shorter found in the longer.

    A short example found inside a long message is weak evidence ("没事了" in a story); a short
    message that is part of an example ("我想投诉" in "被罚得莫名其妙想投诉") is a fragment of what
    that intent's citizens say: some evidence, the less the shorter it is. Keys marked whole_only
    count only as whole messages: small talk ("有没有人", "好的") inside a question is not small talk.
    """
    wholes = _scores(query_key, keys, fuzz.ratio)
    parts = _scores(query_key, keys, fuzz.partial_ratio)  # symmetric: shorter found in longer
    n = len(query_key)
    out = []
    for key, whole, part, is_whole_only in zip(keys, wholes, parts, whole_only, strict=True):
        m = len(key)
        if is_whole_only:
            pass
        elif n > m >= 2:
            whole = max(whole, part * (0.5 + 0.5 * min(m, 10) / 10))
        elif 2 <= n < m:
            whole = max(whole, part * (0.3 + 0.3 * n / m))
        out.append(whole)
    return out


def _example_scores(query: Query, index: Index, rows: list[int]) -> list[float]:
    """0-1 similarity of the message to each example row (not topic words), by sound and by characters.

    The same characters beat characters that only sound alike (行政争议 vs 行政复议): a match by
    sound counts _HOMOPHONE_DISCOUNT of one by characters. Examples of one or two syllables must
    sound exactly alike, since folded homophones of so short a word turn up across word
    boundaries (再见 in 在江山).
    """
    exact_ok = len(query.exact_key) == len(query.key)
    short = [i for i in rows if len(index.keys[i]) <= 2]
    longer = [i for i in rows if len(index.keys[i]) > 2]

    def whole_only(of: list[int]) -> list[bool]:
        return [index.owners[i] in index.whole_message for i in of]

    by_sound = dict(zip(longer, _likeness_many(query.key, [index.keys[i] for i in longer], whole_only(longer)),
                        strict=True))
    if exact_ok and short:
        by_sound.update(zip(short, _likeness_many(query.exact_key, [index.exact_keys[i] for i in short],
                                                  whole_only(short)), strict=True))
    near = [i for i in rows if by_sound.get(i, 0.0) >= 0.5]
    by_chars = dict(zip(near, _likeness_many(query.core, [index.texts[i] for i in near], whole_only(near)),
                        strict=True))
    return [max(by_chars.get(i, 0.0), by_sound.get(i, 0.0) * _HOMOPHONE_DISCOUNT) for i in rows]


def _modifier_discount(text: str, key: str, start: int, keyword_key: str, vocabulary: frozenset[str]) -> float:
    """Less weight for a topic word that modifies an unfamiliar word after it.

    Chinese compounds put the head last: in 律师资格证 or 知识产权专业 the topic word only
    describes something else, which no example talks about.
    """
    if start < 0 or len(text) != len(key) or len(key) > _STORY_LENGTH:
        return 1.0  # stories are full of unfamiliar words next to the topic word
    end = start + len(keyword_key)
    after = key[end: end + 2]
    if len(after) < 2 or text[end] in _LINKING or after in vocabulary:
        return 1.0
    return _MODIFIER_DISCOUNT


def _topic_word_score(query: Query, index: Index, i: int) -> float:
    """0-1 evidence from topic word row i, which the message contains by characters or by sound.

    By sound alone it counts less, since homophones of short words (调节/调解) are often other
    words; two-syllable words must sound exactly alike (公正/公证), not merely alike after folding
    (上在/山寨).
    """
    key, text = index.keys[i], index.texts[i]
    whole = fuzz.ratio(query.key, key) / 100
    if len(key) < 2:
        return whole
    weight = _KEYWORD_WEIGHTS[min(len(key), 4)] * _spread_weight(index.keyword_spread.get(i, 1))
    if text in query.core:
        start = query.core.find(text)
        weight *= _modifier_discount(query.core, query.key, start, key, index.vocabulary)
        # Background only where every mention is (我怕以后还要调解…调解要怎么申请).
        negation = max(_negation_discount(query, at) for at in _occurrences(query.core, text))
        return max(whole, weight * negation)
    sounds_alike = index.exact_keys[i] in query.exact_key if len(key) == 2 else key in query.key
    if sounds_alike:
        discount = _modifier_discount(query.core, query.key, query.key.find(key), key, index.vocabulary)
        return max(whole, weight * _HOMOPHONE_DISCOUNT * discount)
    if _spread(text, query.core):
        return max(whole, weight * _SPREAD_DISCOUNT)
    return whole * _HOMOPHONE_DISCOUNT


def _negation_discount(query: Query, start: int) -> float:
    """In a story, a topic word right after a negation, or after "lest", "don't want" or a fear
    earlier in its clause, is background (还没闹矛盾, 不想跟政府打官司, 免得以后闹僵). A story's
    tail is still a story: its `text` is the whole message."""
    if len(query.text) <= _STORY_LENGTH:
        return 1.0  # in a short message "不想打官司" is the question itself
    text = query.core
    before = text[max(0, start - 2): start]
    if any(n in before for n in "没不未别"):
        return _NEGATED
    clause = query.clause_start(start)
    earlier = text[max(0, start - 5) if clause is None else clause: start]
    return _NEGATED if _LESTS.search(earlier) else 1.0


def _occurrences(text: str, word: str) -> Iterator[int]:
    start = text.find(word)
    while start >= 0:
        yield start
        start = text.find(word, start + 1)


def _spread_weight(topics: int) -> float:
    """Less weight for a topic word that examples of several intents use."""
    return 1.0 - _SHARED_WORD_PENALTY * min(topics - 1, 3)


def _spread(word: str, text: str) -> bool:
    """A topic word of four characters or more whose halves stand apart with a few characters
    between them (投诉律师 in 投诉我的律师, 申请法律援助 in 申请一下法律援助)."""
    if len(word) < 4:
        return False
    half = len(word) // 2
    head, rest = word[:half], word[half:]
    start = text.find(head)
    while start >= 0:
        after = start + half
        gap = text.find(rest, after, after + len(rest) + _MAX_GAP)
        if gap > after:
            return True
        start = text.find(head, start + 1)
    return False


def coverage(query: Query, rows: Iterable[int], index: Index) -> float:
    """Share of the message that these keyword and example rows (of one owner) account for (0-1).

    Each character counts by the best alignment that covers it, so a near miss counts nearly fully.
    Callers pass the owner's rows among the prefilter's candidates: the others share too little
    with the message to align.
    """
    key = query.key
    covered = [0.0] * len(key)
    for i in rows:
        example = index.keys[i]
        if len(example) < 2:
            continue
        if index.is_keyword[i]:
            for start in _occurrences(key, example):
                covered[start: start + len(example)] = [1.0] * len(example)
            continue
        found = fuzz.partial_ratio_alignment(example, key, score_cutoff=_ALIGNED)
        if found is not None:
            start, end = found.dest_start, found.dest_end
            covered[start:end] = map(max, covered[start:end], repeat(found.score / 100, end - start))
    return sum(covered) / len(key) if key else 0.0


def unexplained(query: Query, index: Index) -> float:
    """Share of the message's two-syllable pieces that no intent example uses (0 = all familiar)."""
    grams = {query.key[i: i + 2] for i in range(len(query.key) - 1)}
    if not grams:
        return 0.0
    return sum(g not in index.vocabulary for g in grams) / len(grams)


def _shadowed_keywords(query: Query, index: Index, found: list[int]) -> set[int]:
    """Topic words found only inside a longer topic word of another intent (租房 in 公租房)."""
    spans: list[tuple[int, int, str, int]] = []
    for i in found:
        if index.is_keyword[i]:
            spans.extend((start, start + len(index.texts[i]), index.owners[i], i)
                         for start in _occurrences(query.core, index.texts[i]))
    shadowed = set()
    for start, end, owner, i in spans:
        inside_longer = [o for s, e, o, _ in spans if s <= start and end <= e and e - s > end - start and o != owner]
        alone = any(s == start and e == end and o == owner for s, e, o, j in spans if j != i)
        if inside_longer and not alone:
            shadowed.add(i)
    # A keyword shadowed at one place may still stand alone elsewhere in the message.
    standing = {i for start, end, owner, i in spans
                if not any(s <= start and end <= e and e - s > end - start and o != owner for s, e, o, _ in spans)}
    return shadowed - standing


def _coverage_weight(length: int) -> float:
    if length <= _SHORT_LENGTH:
        return _COVERAGE_WEIGHT_SHORT
    if length >= _STORY_LENGTH:
        return _COVERAGE_WEIGHT_STORY
    share = (length - _SHORT_LENGTH) / (_STORY_LENGTH - _SHORT_LENGTH)
    return _COVERAGE_WEIGHT_SHORT + share * (_COVERAGE_WEIGHT_STORY - _COVERAGE_WEIGHT_SHORT)


def tail(query: Query, settings: MatcherSettings) -> Query | None:
    """The end of a story, where its question usually is; None for messages that are not stories."""
    if len(query.key) <= _STORY_LENGTH or len(query.key) != len(query.core):
        return None
    cut = len(query.core) - len(query.core) // _TAIL_SHARE
    breaks = (0, *(b - cut for b in query.breaks if b > cut)) if query.breaks else ()
    return Query(query.text, query.core[cut:], query.key[cut:], query.exact_key[cut:], breaks)


def _by_clauses(ranking: Ranking, query: Query, clauses: tuple[Clause, ...], index: Index) -> Ranking:
    """Lift the intents that single clauses would be answered with on their own.

    A question next to background or a remark ("房东不退押金，人民调解管不管", "手机上能续执照吗？？
    烦死了") is diluted by the rest when matched whole. A clause that alone would be answered
    speaks for the message: fully when it asks, a little less otherwise. Clauses that name no
    topic ("怎么申请", "去哪里办") are never answered alone, so they lift nothing.
    """
    if len(clauses) > _STORY_CLAUSES:
        clauses = tuple(c for c in clauses if c.asks)  # in a story, what is not asked is background
    lifted = {s.intent: s for s in ranking.intents}
    changed = False
    asked: set[str] = set()
    for clause in clauses:
        part = analyse(clause.text, index.settings)
        if len(part.key) < 2 or part.key == query.key:
            continue
        found, _ = _rank(part, index)
        decided = decide(found, index.settings)
        if decided.outcome is not Outcome.ANSWER or decided.intent in index.whole_message:
            continue
        # Alone, a clause must be clear: "是什么意思" is close to "普法是什么意思" and to the
        # same question about every other topic.
        rival = decided.runner_up.score if decided.runner_up else 0.0
        if decided.score - rival < index.settings.clear_margin:
            continue
        top = found.intents[0]
        if len(part.core) < _CLAUSE_CHARS and top.example not in part.core:
            continue  # "有用吗" is part of "打了差评有用吗", but says nothing of 差评
        score = round(top.score * (1.0 if clause.asks else _BACKGROUND), 4)
        if clause.asks:
            asked.add(top.intent)
        if top.intent not in lifted or score > lifted[top.intent].score:
            lifted[top.intent] = replace(top, score=score)
            changed = True
    if len(asked) == 1:
        # One question, clearly about one intent: the others are the story around it.
        (question,) = asked
        lifted = {i: s if i == question else replace(s, score=round(s.score * _BACKGROUND, 4)) for i, s in lifted.items()}
        changed = True
    if not changed:
        return ranking
    ranked = sorted(lifted.values(), key=lambda s: (-s.score, s.intent))
    return Ranking(tuple(ranked), ranking.out_of_scope, ranking.followup, ranking.followup_coverage)


def rank(query: Query, index: Index, clauses: tuple[Clause, ...] = ()) -> Ranking:
    """Score every intent against the message; when that leaves it unclear, also by its clauses
    (bot.matching.clauses.split); stories also by their last part. Best first."""
    return _off_topic(_ranked(query, index, clauses), query, index)


def _off_topic(ranking: Ranking, query: Query, index: Index) -> Ranking:
    """Out of scope when the message holds a word of `out_of_scope_words` (考试, 高考, 招生…) that
    the leading intent's examples never use: 公证员考试 is about an exam, not about notarization,
    while the examples of 司法助理员 recruitment speak of its exam."""
    present = [word for word in index.settings.out_of_scope_words if word in query.core]
    if not present or not ranking.intents or len(query.key) > _STORY_LENGTH:
        return ranking
    top = ranking.intents[0]
    own = [index.texts[i] for i in index.by_owner.get(top.intent, ())]
    if any(not any(word in text for text in own) for word in present):
        return replace(ranking, out_of_scope=max(ranking.out_of_scope, top.score))
    return ranking


def _ranked(query: Query, index: Index, clauses: tuple[Clause, ...]) -> Ranking:
    ranking, pool = _rank(query, index)
    if 2 <= len(clauses) <= _MAX_CLAUSES and decide(ranking, index.settings).outcome is not Outcome.ANSWER:
        ranking = _by_clauses(ranking, query, clauses, index)
    end = tail(query, index.settings)
    if end is None or not ranking.intents:
        return ranking
    # A story's intent is the one its question (at the end) agrees with. A tail that names no
    # topic ("去哪申请?") says nothing, and leaves the story's own scores. The tail is scored
    # only against the leading intents' candidate examples: the others cannot catch up.
    leading = {s.intent for s in ranking.intents[:_RESCORED]}
    at_end = {s.intent: s.score for s in _rank(end, index, [i for i in pool if index.owners[i] in leading])[0].intents}
    if max(at_end.values(), default=0.0) < index.settings.clarify_threshold:
        return ranking
    scored = [replace(s, score=round((1 - _TAIL_WEIGHT) * s.score + _TAIL_WEIGHT * at_end.get(s.intent, 0.0), 4))
              for s in ranking.intents]
    ranked = sorted(scored, key=lambda s: (-s.score, s.intent))
    return Ranking(tuple(ranked), ranking.out_of_scope, ranking.followup, ranking.followup_coverage)


def _rank(query: Query, index: Index, among: list[int] | None = None) -> tuple[Ranking, list[int]]:
    """The ranking, and the example and topic word rows it considered (`among`, when given)."""
    if not query.key:
        return Ranking(()), []
    best: dict[str, tuple[float, str]] = {}
    # Topic words are few and looked up directly; examples go through the n-gram prefilter.
    # A one-word message may also be part of topic words ("律师" in 投诉律师, 免费律师).
    is_word = len(query.core) <= _ONE_WORD
    core, texts, keys = query.core, index.texts, index.keys
    found_words = [i for i in index.keywords_near(query, within=is_word)
                   if texts[i] in core or keys[i] in query.key or (is_word and core in texts[i])
                   or (len(texts[i]) >= 4 and texts[i][:2] in core and _spread(texts[i], core))]
    shadowed = _shadowed_keywords(query, index, found_words)
    words = [i for i in found_words if i not in shadowed]
    examples = [i for i in (candidates(query.key, index) if among is None else among) if not index.is_keyword[i]]
    pool = examples + words
    scores = list(zip(examples, _example_scores(query, index, examples), strict=True))
    scores += [(i, _topic_word_score(query, index, i)) for i in words]
    for i, score in scores:
        owner = index.owners[i]
        if score > best.get(owner, (0.0, ""))[0]:
            best[owner] = (score, index.texts[i])
    weight = _coverage_weight(len(query.key))
    # Out-of-scope and follow-up phrases are weighed like intents, so their scores compare.
    by_owner: dict[str, list[int]] = defaultdict(list)
    for i in pool:
        by_owner[index.owners[i]].append(i)
    oos_coverage, followup_coverage = (coverage(query, by_owner[owner], index) for owner in (OUT_OF_SCOPE, FOLLOWUP))
    oos = best.pop(OUT_OF_SCOPE, (0.0, ""))[0] * (1 - weight + weight * oos_coverage)
    followup = best.pop(FOLLOWUP, (0.0, ""))[0] * (1 - weight + weight * followup_coverage)
    # A short message made mostly of words no example uses is probably about something else,
    # even when it contains a topic word (公证处旁边的奶茶店). Long stories are exempt: they
    # always carry unrelated detail around the question.
    factor = 1.0
    if len(query.key) <= _STORY_LENGTH:
        factor = 1.0 - _UNEXPLAINED_WEIGHT * max(0.0, unexplained(query, index) - _UNEXPLAINED_FREE)
    first = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))
    # Coverage moves a story's scores little (weight 0.1), and aligning it costs most there.
    rescored = _RESCORED_STORY if len(query.key) >= _STORY_LENGTH else _RESCORED
    scored = []
    for n, (owner, (score, example)) in enumerate(first):
        covered = coverage(query, by_owner[owner], index) if n < rescored else 0.0
        score *= 1 - weight + weight * covered
        scored.append(Scored(owner, round(score * factor, 4), example, round(covered, 4)))
    ranked = sorted(scored, key=lambda s: (-s.score, s.intent))
    return Ranking(tuple(ranked), round(oos, 4), round(followup, 4), round(followup_coverage, 4)), pool


@dataclass(frozen=True, slots=True)
class Examined:
    """Everything matching finds in a message. It depends only on the text and the index, so it can
    be computed in another process (bot.service.matchpool) and sent back."""

    query: Query
    trigger: Trigger | None
    ranking: Ranking
    place: Place | None = None  # another city or country whose service the message asks about

    def __reduce__(self) -> tuple[type[Examined], tuple[Query, Trigger | None, Ranking, Place | None]]:
        return Examined, (self.query, self.trigger, self.ranking, self.place)


def examine(text: str, index: Index) -> Examined:
    """Normalise a message, look for danger triggers and other places, and rank the intents
    (nothing to rank in an empty message: spaces, punctuation or emoji only)."""
    prepared = prepare(text[:SCANNED_CHARS])
    query = analyse_prepared(prepared, index.settings)
    if not query.text:
        return Examined(query, None, Ranking(()))
    trigger = find_trigger(query.text, query.key, index.triggers_near(query))
    clauses = split(prepared[: index.settings.max_message_chars * 4])  # the slice the core is made of
    query = replace(query, breaks=clause_breaks(query.core, (c.text for c in clauses), index.settings))
    return Examined(query, trigger, rank(query, index, clauses), elsewhere(clauses, index))


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
    if ranking.followup >= top.score and ranking.followup_coverage >= _WHOLLY:
        # Only a follow-up ("要多久") with nothing before it: no topic to answer in.
        return _clarify(ranking, settings, top, runner_up)
    close = runner_up is not None and top.score - runner_up.score < settings.ambiguity_gap
    rival = max(runner_up.score if runner_up else 0.0, ranking.out_of_scope)
    # Below the answer threshold, an intent far ahead of every alternative is still the answer:
    # asking "did you mean X?" with X alone only costs the citizen a tap.
    is_clear = top.score - rival >= settings.clear_margin and top.score >= _CLEAR_FLOOR
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
