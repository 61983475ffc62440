"""Examples and messages prepared for matching: normalised, keyed by sound, with an n-gram prefilter."""

from __future__ import annotations

import copyreg
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.catalogue.model import EMERGENCY, Intent, MatcherSettings, Role, topic_of
from bot.matching.blocks import Block, RowKind, blocks_of, gathered, grams_after, kept_of, remember
from bot.matching.normalize import canonical_lines, drop_latin_fillers, prepare, rewrite, squash, strip_fillers
from bot.matching.learned import OUT_OF_SCOPE as OUT_OF_SCOPE_CLASS
from bot.matching.learned import LearnedModel, train
from bot.matching.domains import Domains
from bot.matching.domains import build as build_domains
from bot.matching.lexicon import foreign_words, foreign_words_after
from bot.matching.phonetic import sound_keys
from bot.matching.prefilter import Grams, Prefilter, gram_set
from bot.matching.retrain import retrain
from bot.matching.spread import Counted
from bot.matching.spread import keyword_spread as spread_of
from bot.matching.triggers import Trigger, starts


def read_only(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """A read-only view; also how a pickled index (sent to match workers) rebuilds its mappings."""
    return MappingProxyType(mapping)


# mappingproxy cannot be pickled by default; an index can, as plain dicts made read-only again.
copyreg.pickle(MappingProxyType, lambda proxy: (read_only, (dict(proxy),)))

SCANNED_CHARS = 8192  # characters of a message searched for triggers (Telegram allows 4096)


@dataclass(frozen=True, slots=True)
class Query:
    """A message in the forms the matcher compares: normalised, without fillers, as sound keys."""

    text: str
    core: str
    key: str
    exact_key: str = ""
    breaks: tuple[int, ...] = ()  # where in `core` each clause starts, when known (bot.matching.clauses)
    whole: int = -1  # the whole message's length in syllables, kept by a story's tail (-1: len(key))

    def __reduce__(self) -> tuple[type[Query], tuple[str, str, str, str, tuple[int, ...], int]]:
        return Query, (self.text, self.core, self.key, self.exact_key, self.breaks, self.whole)

    @property
    def length(self) -> int:
        """The whole message's length in syllables (the unit of every length cut-off): a story's
        tail is still a story."""
        return len(self.key) if self.whole < 0 else self.whole

    def syllables_from(self, position: int) -> int:
        """Syllables from `position` of `core` to its end; pinyin typed in letters is one per syllable."""
        if len(self.core) == len(self.key):
            return len(self.key) - position
        return len(sound_keys(self.core[position:])[0])

    def clause_start(self, position: int) -> int | None:
        """Where the clause holding `position` of `core` starts; None when clauses are unknown."""
        starts = [b for b in self.breaks if b <= position]
        return starts[-1] if starts else None


@dataclass(frozen=True, slots=True, weakref_slot=True)  # weakly held by the match pool (bot.service.matchpool)
class Index:
    """Examples prepared once per catalogue: sound keys, owners and an n-gram prefilter."""

    keys: tuple[str, ...]
    exact_keys: tuple[str, ...]
    texts: tuple[str, ...]
    owners: tuple[str, ...]  # the intent of each row; "" for out-of-scope and follow-up phrases
    kinds: tuple[RowKind, ...]
    is_keyword: tuple[bool, ...]
    prefilter: Prefilter
    triggers: tuple[Trigger, ...]
    vocabulary: frozenset[str]
    by_owner: Mapping[str, tuple[int, ...]]  # intent rows only
    keyword_spread: Mapping[int, int]
    keyword_heads: Mapping[str, tuple[int, ...]]
    keyword_grams: Mapping[str, tuple[int, ...]]
    trigger_starts: Mapping[str, tuple[int, ...]]
    settings: MatcherSettings
    whole_message: frozenset[str] = frozenset()  # intents answered only as the whole message (Role.WHOLE_MESSAGE)
    learned: LearnedModel | None = None  # the second opinion trained from the same rows (bot.matching.learned)
    # The lexicon's everyday nouns no intent uses (bot.matching.lexicon), which the model learned as out
    # of scope: kept so a reload retrains from them without searching the old examples again (1 s at 100k).
    foreign: tuple[str, ...] = ()
    domains: Domains | None = None  # the dictionary's words and the nouns no intent uses (bot.matching.domains)
    general: frozenset[str] = frozenset()  # general intents (Role.GENERAL), which a story's question overrules

    def __len__(self) -> int:
        return len(self.keys)

    def keywords_near(self, query: Query, within: bool = False) -> list[int]:
        """Topic word rows whose first two characters or sounds the message has (a superset of those
        it contains, or spreads apart); with `within`, also those that contain the whole message."""
        heads = _heads(query.core) | _heads(query.key)
        # Only the few heads some topic word has (a set operation), not a lookup for every piece of a story.
        near = {i for head in self.keyword_heads.keys() & heads for i in self.keyword_heads[head]}
        if within and query.core:
            near.update(self.keyword_grams.get(query.core[:2], ()))
        return sorted(near)

    def says_whole(self, text: str) -> bool:
        """Whether `text`, as written, is an example of an intent said only as a whole message ("88",
        "886": goodbye): such a number is a message, not a button pressed. Asked rarely: a full scan."""
        return any(t == text and o in self.whole_message for t, o in zip(self.texts, self.owners, strict=True))

    def triggers_near(self, query: Query) -> list[Trigger]:
        """Triggers that start with a character or sound of the message, in catalogue order."""
        symbols = self.trigger_starts.keys() & (set(query.text) | set(query.key))
        near = {n for symbol in symbols for n in self.trigger_starts[symbol]}
        return [self.triggers[n] for n in sorted(near)]


def analyse(text: str, settings: MatcherSettings) -> Query:
    """Normalise a message once. Matching reads max_message_chars of it; `text`, which emergency
    triggers are looked for in, keeps up to SCANNED_CHARS characters, so danger at the end of a long
    story is not cut off."""
    return analyse_prepared(prepare(text[:SCANNED_CHARS]), settings)


def analyse_prepared(prepared: str, settings: MatcherSettings) -> Query:
    """analyse() of a message already prepare()d (bot.matching.ranking.examine also splits it into clauses)."""
    core = canonical(prepared[: settings.max_message_chars * 4], settings)[: settings.max_message_chars]
    return Query(squash(prepared)[:SCANNED_CHARS], core, *sound_keys(core))


def clause_breaks(core: str, clauses: Iterable[str], settings: MatcherSettings) -> tuple[int, ...]:
    """Where each clause (prepare()d text) starts in the message's core, found in order."""
    breaks, position = [], 0
    # All clauses at once (a story has dozens); clause texts hold no line breaks.
    for part in canonical_lines("\n".join(clauses), settings.synonyms, settings.fillers):
        found = core.find(part, position) if part else -1
        if found >= 0:
            breaks.append(found)
            position = found + len(part)
    return tuple(breaks)


def canonical(prepared: str, settings: MatcherSettings) -> str:
    """Prepared text with synonyms mapped to their canonical words, squashed, fillers removed."""
    return strip_fillers(squash(drop_latin_fillers(rewrite(prepared, settings.synonyms), settings.fillers)), settings.fillers)


def _heads(text: str) -> set[str]:
    """Every one- and two-symbol piece a word found in `text` can begin with."""
    return {text[i: i + 2] for i in range(len(text))} | set(text)


def build_index(
    intents: Collection[Intent], out_of_scope: Iterable[str], followups: Iterable[str], settings: MatcherSettings,
    prepared: MutableMapping[str, tuple[str, str, str]] | None = None, previous: Index | None = None,
) -> Index:
    """Prepare every example for matching; done once when a catalogue loads.

    `prepared` maps an example to its (core, sound key, exact sound key) under these settings: rows
    found there are reused (a reload after one file changed), and every row is written back. The
    learned model is retrained from the `previous` index's (bot.matching.retrain), if there is one.
    """
    before = _blocks_before(previous, settings)
    blocks = blocks_of(intents, out_of_scope, followups, lambda example: _prepare_row(example, settings), prepared,
                       before)
    triggers = tuple(
        Trigger(intent.id, t, sound_keys(t)[0]) for intent in intents for t in intent.triggers
    )
    keys: list[str] = []
    exact_keys: list[str] = []
    texts: list[str] = []
    owners: list[str] = []
    kinds: list[RowKind] = []
    flags: list[bool] = []
    by_owner: dict[str, tuple[int, ...]] = {}
    for block in blocks:  # a block at a time: extending lists is not a Python loop over rows
        if block.kind is RowKind.INTENT and block.keys:
            by_owner[block.owner] = tuple(range(len(keys), len(keys) + len(block.keys)))
        keys += block.keys
        exact_keys += block.exact_keys
        texts += block.texts
        owners += [block.owner] * len(block.keys)
        kinds += [block.kind] * len(block.keys)
        flags += block.flags
    sizes = [len(block.keys) for block in blocks]

    def per_row(holds: Callable[[Block], bool]) -> npt.NDArray[np.bool_]:
        return np.array([holds(block) for block in blocks], dtype=bool).repeat(sizes)

    keyword_rows = np.array(flags, dtype=bool)
    # Stories' background (奶茶店, 旁边) is no topic's vocabulary: only shorter examples count.
    grams = grams_after(keys, blocks, kept_of(previous))  # once for the prefilter and the vocabulary
    lengths = np.fromiter(map(len, keys), np.intp, len(keys))
    vocabulary = grams.bigrams(per_row(lambda b: b.kind is not RowKind.OUT_OF_SCOPE)
                               & (lengths <= settings.weights.story_length))
    prefilter = Prefilter.build(keys, flags, per_row(lambda b: b.kind is not RowKind.INTENT), grams)
    keyword_heads: dict[str, set[int]] = defaultdict(set)
    keyword_grams: dict[str, set[int]] = defaultdict(set)
    keyword_list: list[int] = np.flatnonzero(keyword_rows).tolist()
    for i in keyword_list:
        keyword_heads[texts[i][:2]].add(i)
        keyword_heads[keys[i][:2]].add(i)
        for gram in gram_set(texts[i]):
            keyword_grams[gram].add(i)
    # Emergency examples mention every topic on purpose and do not count (bot.matching.spread).
    counted = ~keyword_rows & per_row(lambda b: b.kind is RowKind.INTENT and b.owner != EMERGENCY)
    documents, known, counted_rows = gathered(blocks)
    keyword_spread = spread_of(texts, keys, owners, keyword_list, counted,
                               prefilter.rows, _spread_before(previous, counted_rows))
    trigger_starts: dict[str, list[int]] = defaultdict(list)
    for n, trigger in enumerate(triggers):
        for symbol in starts(trigger):
            trigger_starts[symbol].append(n)
    kept = kept_of(previous)
    known_before = kept.known if kept is not None else _known(previous)
    foreign = tuple(foreign_words(known) if previous is None else foreign_words_after(previous.foreign, known_before,
                                                                                         known))
    documents += ((OUT_OF_SCOPE_CLASS, word, sound_keys(word)[0]) for word in foreign)
    index = Index(
        tuple(keys), tuple(exact_keys), tuple(texts), tuple(owners), tuple(kinds), tuple(flags),
        prefilter, triggers, vocabulary,
        MappingProxyType(by_owner),
        MappingProxyType(keyword_spread),
        MappingProxyType({s: tuple(sorted(ix)) for s, ix in keyword_heads.items()}),
        MappingProxyType({g: tuple(sorted(ix)) for g, ix in keyword_grams.items()}),
        MappingProxyType({s: tuple(ts) for s, ts in trigger_starts.items()}), settings,
        frozenset(intent.id for intent in intents if Role.WHOLE_MESSAGE in intent.roles),
        retrain(previous.learned, kept.documents if kept is not None else learned_documents(
            previous.kinds, previous.owners, previous.texts, previous.keys, previous.foreign), documents)
        if previous is not None else train(documents),
        foreign,
        build_domains(known) if previous is None or previous.domains is None else build_domains(
            known, previous.domains, known_before),
        frozenset(intent.id for intent in intents if Role.GENERAL in intent.roles),
    )
    remember(index, blocks, documents, known, counted_rows, grams)
    return index


def _blocks_before(previous: Index | None, settings: MatcherSettings) -> dict[tuple[RowKind, str], Block]:
    """The blocks of `previous`, if it was built in this process under the same settings."""
    kept = kept_of(previous)
    if kept is None or previous is None or previous.settings != settings:
        return {}
    return {(b.kind, b.owner): b for b in kept.blocks}


def keep(index: Index, intents: Collection[Intent], out_of_scope: Iterable[str], followups: Iterable[str],
         prepared: Mapping[str, tuple[str, str, str]]) -> bool:
    """Keep for the next reload what build_index() keeps, for an `index` read from the cache (built by
    another process) from the rows `prepared` there: a serving process does this in its read-ahead, so
    that its first reload reuses blocks as later ones do. False (nothing kept) unless every row is in
    `prepared` and the blocks give the index's rows."""
    try:
        blocks = blocks_of(intents, out_of_scope, followups, prepared.__getitem__, None, {})
    except KeyError:
        return False
    keys: list[str] = []
    texts: list[str] = []
    for block in blocks:
        keys += block.keys
        texts += block.texts
    if keys != list(index.keys) or texts != list(index.texts):
        return False
    documents, known, counted = gathered(blocks)
    documents += ((OUT_OF_SCOPE_CLASS, word, sound_keys(word)[0]) for word in index.foreign)
    remember(index, blocks, documents, known, counted, Grams.of(keys, [True] * len(keys)))
    return True


def _known(index: Index | None) -> list[str]:
    if index is None:
        return []
    return [t for t, kind in zip(index.texts, index.kinds, strict=True) if kind is RowKind.INTENT]


def _prepare_row(example: str, settings: MatcherSettings) -> tuple[str, str, str]:
    core = canonical(prepare(example), settings)
    return (core, *sound_keys(core)) if core else ("", "", "")


def _counted_rows(texts: Sequence[str], keys: Sequence[str], owners: Sequence[str],
                  counted: Iterable[bool]) -> list[Counted]:
    return [(owner, text, key) for owner, text, key, c in zip(owners, texts, keys, counted, strict=True) if c]


def _spread_before(previous: Index | None,
                   counted: list[Counted]) -> tuple[dict[Counted, int], list[Counted], list[Counted]] | None:
    """The index before's topic word spreads and counted rows, with this index's, for spread_of()."""
    if previous is None:
        return None
    kept = kept_of(previous)
    if kept is not None:
        counted_before = kept.counted
    else:
        was_counted = (not is_keyword and kind is RowKind.INTENT and owner != EMERGENCY for is_keyword, kind, owner
                       in zip(previous.is_keyword, previous.kinds, previous.owners, strict=True))
        counted_before = _counted_rows(previous.texts, previous.keys, previous.owners, was_counted)
    known = {(previous.owners[i], previous.texts[i], previous.keys[i]): n for i, n in previous.keyword_spread.items()}
    return known, counted_before, counted


def learned_documents(kinds: Iterable[RowKind], owners: Iterable[str], texts: Iterable[str],
                      keys: Iterable[str], foreign: Iterable[str]) -> list[tuple[str, str, str]]:
    """What the learned model learns from: (class, core, key) of each row but follow-up phrases, and
    the `foreign` nouns as out of scope: what look-alikes are about (bot.matching.lexicon)."""
    topics: dict[str, str] = {}  # an intent's topic, worked out once an intent, not once a row
    rows = [(topics.get(owner) or topics.setdefault(owner, topic_of(owner)) if kind is RowKind.INTENT
             else OUT_OF_SCOPE_CLASS, text, key)
            for kind, owner, text, key in zip(kinds, owners, texts, keys, strict=True)
            if kind is not RowKind.FOLLOWUP]
    return [*rows, *((OUT_OF_SCOPE_CLASS, word, sound_keys(word)[0]) for word in foreign)]


def candidates(key: str, index: Index) -> list[int]:
    """Example rows sharing the rarest n-grams with the message, best first (all of them for small
    catalogues), and the follow-up and out-of-scope phrases sharing the most with it."""
    prefilter, w = index.prefilter, index.settings.weights
    is_story = len(key) > w.story_length
    limit = w.story_candidates if is_story else w.candidates
    if len(key) > w.aligned_length:
        # Each alignment costs in proportion to the story's length: a longer one meets fewer, best first.
        limit = max(w.story_candidates // 4, limit * w.aligned_length // len(key))
    if prefilter.examples <= limit:
        return [i for i in range(len(index)) if not index.is_keyword[i]]
    common = max(50, int(prefilter.examples * w.common_gram_share))
    grams = gram_set(key)
    # Each gram's rows located once, rarest gram first; equally rare grams by their number, not in the
    # set's order, which follows the process's hash seed: every process meets the same candidates.
    located = sorted(prefilter.rows.located(grams), key=lambda span: (span[2] - span[1], span[0]))
    used = []
    for n, span in enumerate(located):
        if span[2] - span[1] > common and n >= 3:
            break  # rarer grams already found the candidates; the common ones only add noise
        used.append(span)
    if not used:
        return []
    postings = prefilter.rows.flat
    hits = np.concatenate([postings[start:end] for _, start, end in used])
    per_hit = prefilter.numbered[[n for n, _, _ in used]].repeat([end - start for _, start, end in used])
    weights = np.bincount(hits, weights=per_hit, minlength=prefilter.size)
    found = (weights != 0).nonzero()[0]  # the same rows: a float array's nonzero() is several times slower
    if len(found) > limit:
        found = (-weights).argpartition(limit - 1)[:limit]
        found.sort()
    # Best first, ties by row (a stable sort of rows in order), so a message always meets the same candidates.
    best: list[int] = found[np.argsort(-weights[found], kind="stable")].tolist()
    if is_story:
        return best  # a story is no follow-up phrase, and its own words find out-of-scope ones
    taken = set(best)
    return best + [i for i in _reserved(grams, prefilter, w.reserved) if i not in taken]


def _reserved(grams: set[str], prefilter: Prefilter, limit: int) -> list[int]:
    """The follow-up and out-of-scope rows sharing the most of the message's n-grams, best first."""
    postings = prefilter.reserved.flat
    held = [postings[start:end] for _, start, end in prefilter.reserved.located(grams)]
    if not held:
        return []
    shared = np.bincount(np.concatenate(held), minlength=prefilter.size)
    found = (shared != 0).nonzero()[0]
    if len(found) > limit:
        found = (-shared).argpartition(limit - 1)[:limit]
        found.sort()
    return found[np.argsort(-shared[found], kind="stable")].tolist()  # type: ignore[no-any-return]
