"""Evidence for an intent: how alike a message is to its examples and topic words, and how much of it they explain."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat

from rapidfuzz import fuzz

from bot.catalogue.model import MatcherSettings, Weights, Words
from bot.matching.index import Index, Query

_CUTOFF_SLACK = 1 - 1e-9


@dataclass(frozen=True, slots=True)
class Scored:
    """The best similarity of a message to one intent, and the example that gave it."""

    intent: str
    score: float
    example: str
    coverage: float = 0.0

    def rescored(self, score: float) -> Scored:
        """The same evidence with another score; dataclasses.replace() costs ten times more, and a
        story rescores every intent."""
        return Scored(self.intent, score, self.example, self.coverage)

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


def _likeness_many(query_key: str, keys: list[str], whole_only: list[bool],
                   floors: list[float] | None = None) -> list[float]:
    """0-1 likeness of the message to each key: as whole texts, or the shorter found in the longer.

    A short example found inside a long message is weak evidence ("没事了" in a story); a short
    message that is part of an example ("我想投诉" in "被罚得莫名其妙想投诉") is a fragment of what
    that intent's citizens say: some evidence, the less the shorter it is. Keys marked whole_only
    count only as whole messages: small talk ("有没有人", "好的") inside a question is not small talk.

    The caller takes the greater of each likeness and its floor (0 when none is given), so the
    costly partial alignment runs only where it can beat both the whole-text ratio and the floor,
    and with that as its cutoff: the part found then is exact, and one below it changes nothing.
    """
    n = len(query_key)
    ratio, partial = fuzz.ratio, fuzz.partial_ratio
    out = []
    for k, (key, is_whole_only) in enumerate(zip(keys, whole_only, strict=True)):
        whole = ratio(query_key, key) / 100
        m = len(key)
        if is_whole_only:
            out.append(whole)
            continue
        if n > m >= 2:
            factor = 0.5 + 0.5 * min(m, 10) / 10
        elif 2 <= n < m:
            factor = 0.3 + 0.3 * n / m
        else:
            out.append(whole)
            continue
        beat = whole if floors is None else max(whole, floors[k])
        if beat < factor:  # a part scores at most 1, so at most `factor`
            # A hair below the bound, so that float rounding never drops a part that just beats it.
            part = partial(query_key, key, score_cutoff=beat / factor * 100 * _CUTOFF_SLACK) / 100  # symmetric
            whole = max(whole, part * factor)
        out.append(whole)
    return out


def example_scores(query: Query, index: Index, rows: list[int]) -> list[float]:
    """0-1 similarity of the message to each example row (not topic words), by sound and by characters.

    The same characters beat characters that only sound alike (行政争议 vs 行政复议): a match by
    sound counts `homophone_discount` of one by characters. Examples of one or two syllables must
    sound exactly alike, since folded homophones of so short a word turn up across word
    boundaries (再见 in 在江山).
    """
    w = index.settings.weights
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
    floors = [by_sound[i] * w.homophone_discount for i in near]
    by_chars = dict(zip(near, _likeness_many(query.core, [index.texts[i] for i in near], whole_only(near), floors),
                        strict=True))
    return [max(by_chars.get(i, 0.0), by_sound.get(i, 0.0) * w.homophone_discount) for i in rows]


def _modifier_discount(text: str, key: str, start: int, keyword_key: str, index: Index) -> float:
    """Less weight for a topic word that modifies an unfamiliar word after it.

    Chinese compounds put the head last: in 律师资格证 or 知识产权专业 the topic word only
    describes something else, which no example talks about.
    """
    w = index.settings.weights
    if start < 0 or len(text) != len(key) or len(key) > w.story_length:
        return 1.0  # stories are full of unfamiliar words next to the topic word
    end = start + len(keyword_key)
    after = key[end: end + 2]
    # A linking word after the topic word starts a new phrase (法律援助还是法律咨询), not a compound.
    if len(after) < 2 or index.settings.words.starts_phrase(text[end]) or after in index.vocabulary:
        return 1.0
    return w.modifier_discount


def topic_word_score(query: Query, index: Index, i: int) -> float:
    """0-1 evidence from topic word row i, which the message contains by characters or by sound.

    By sound alone it counts less, since homophones of short words (调节/调解) are often other
    words; two-syllable words must sound exactly alike (公正/公证), not merely alike after folding
    (上在/山寨).
    """
    w = index.settings.weights
    key, text = index.keys[i], index.texts[i]
    whole = fuzz.ratio(query.key, key) / 100
    if len(key) < 2:
        return whole
    weight = w.keyword_weights[min(len(key), 4) - 2] * _spread_weight(index.keyword_spread.get(i, 1), w)
    if text in query.core:
        start = query.core.find(text)
        weight *= _modifier_discount(query.core, query.key, start, key, index)
        # Background only where every mention is (我怕以后还要调解…调解要怎么申请).
        negation = max(negation_discount(query, at, index.settings) for at in _occurrences(query.core, text))
        return max(whole, weight * negation)
    sounds_alike = index.exact_keys[i] in query.exact_key if len(key) == 2 else key in query.key
    if sounds_alike:
        discount = _modifier_discount(query.core, query.key, query.key.find(key), key, index)
        return max(whole, weight * w.homophone_discount * discount)
    if spread(text, query.core, w):
        return max(whole, weight * w.spread_discount)
    return whole * w.homophone_discount


def negation_discount(query: Query, start: int, settings: MatcherSettings) -> float:
    """In a story, a topic word right after a negation, or after "lest", "don't want" or a fear
    earlier in its clause, is background (还没闹矛盾, 不想跟政府打官司, 免得以后闹僵). A story's
    tail is still a story: its length is the whole message's."""
    w = settings.weights
    if query.length <= w.story_length:
        return 1.0  # in a short message "不想打官司" is the question itself
    text = query.core
    before = text[max(0, start - 2): start]
    if any(n in before for n in settings.words.negation_words):
        return w.negated
    clause = query.clause_start(start)
    earlier = text[max(0, start - 5) if clause is None else clause: start]
    # What the citizen fears, wants to avoid or does not want is not what they ask about.
    return w.negated if _fears(earlier, settings.words) else 1.0


def _fears(text: str, words: Words) -> bool:
    """The text holds a lest-word, not as part of an exception (怕, but not 哪怕 or 恐怕)."""
    return any(found.group(1) for found in _lest_pattern(words.lest_words, words.lest_exceptions).finditer(text))


@functools.lru_cache(maxsize=8)
def _lest_pattern(lest: tuple[str, ...], exceptions: tuple[str, ...]) -> re.Pattern[str]:
    # Exceptions first: where one starts, the lest-word inside it is consumed with it.
    alternatives = [re.escape(w) for w in sorted(exceptions, key=len, reverse=True)]
    found = "|".join(re.escape(w) for w in sorted(lest, key=len, reverse=True))
    return re.compile(f"(?:{'|'.join(alternatives)})|({found})" if alternatives else f"({found})")


def _occurrences(text: str, word: str) -> Iterator[int]:
    start = text.find(word)
    while start >= 0:
        yield start
        start = text.find(word, start + 1)


def _spread_weight(topics: int, w: Weights) -> float:
    """Less weight for a topic word that examples of several intents use."""
    return 1.0 - w.shared_word_penalty * min(topics - 1, 3)


def spread(word: str, text: str, w: Weights) -> bool:
    """A topic word of four characters or more whose halves stand apart with a few characters
    between them (投诉律师 in 投诉我的律师, 申请法律援助 in 申请一下法律援助)."""
    if len(word) < 4:
        return False
    half = len(word) // 2
    head, rest = word[:half], word[half:]
    start = text.find(head)
    while start >= 0:
        after = start + half
        gap = text.find(rest, after, after + len(rest) + w.max_gap)
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
        found = fuzz.partial_ratio_alignment(example, key, score_cutoff=index.settings.weights.aligned)
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


def shadowed_keywords(query: Query, index: Index, found: list[int]) -> set[int]:
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


def coverage_weight(length: int, w: Weights) -> float:
    """How much of a message's score depends on how much of it the intent explains."""
    if length <= w.short_length:
        return w.coverage_weight_short
    if length >= w.story_length:
        return w.coverage_weight_story
    share = (length - w.short_length) / (w.story_length - w.short_length)
    return w.coverage_weight_short + share * (w.coverage_weight_story - w.coverage_weight_short)
