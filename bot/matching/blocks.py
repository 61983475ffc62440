"""The index's rows in blocks, one per intent (and one for the out-of-scope and one for the follow-up
phrases), kept for the next reload.

After an operator saved one file almost every intent has the same examples and topic words as
before, so its block (its rows, prepared, in order) is reused whole and a reload's row loops run
over the changed intents only: a Python loop over every row was ~0.8 s of a reload at 100,000
examples. A block's rows depend only on its own examples and topic words (intent ids are unique) and
on the matcher settings, so a reused block is the one computed afresh.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass

from bot.catalogue.model import EMERGENCY, Intent, topic_of
from bot.matching.learned import OUT_OF_SCOPE as OUT_OF_SCOPE_CLASS
from bot.matching.prefilter import Grams

Prepared = tuple[str, str, str]  # an example's (core, sound key, exact sound key)
Document = tuple[str, str, str]  # (class, core, key) the learned model learns from
Counted = tuple[str, str, str]  # (owner, text, key) of a row that counts towards topic word spreads (bot.matching.spread)


class RowKind(enum.Enum):
    """What a row of the index is: an intent's example or topic word, or a phrase owned by no intent."""

    INTENT = "intent"
    OUT_OF_SCOPE = "out_of_scope"  # a phrase the bot must not answer ("天气怎么样")
    FOLLOWUP = "followup"  # an elliptical follow-up ("那要多久") about the previous turn's topic


@dataclass(frozen=True, slots=True)
class Block:
    """One intent's rows (or the phrases of one kind), in row order; rows with an empty core are left out."""

    kind: RowKind
    owner: str  # "" for out-of-scope and follow-up phrases
    source: tuple[tuple[str, ...], tuple[str, ...]]  # the examples and topic words it was made from
    prepared: tuple[tuple[str, Prepared], ...]  # every example's and topic word's preparation, empty ones too
    keys: tuple[str, ...]
    exact_keys: tuple[str, ...]
    texts: tuple[str, ...]
    flags: tuple[bool, ...]  # is a topic word
    documents: tuple[Document, ...]  # what the learned model learns from these rows
    counted: tuple[Counted, ...]  # the rows that count towards topic word spreads


def blocks_of(intents: Iterable[Intent], out_of_scope: Iterable[str], followups: Iterable[str],
              prepare: Callable[[str], Prepared], prepared: MutableMapping[str, Prepared] | None,
              before: Mapping[tuple[RowKind, str], Block]) -> list[Block]:
    """Every block, reusing those of `before` (made under the same settings) whose source is the same.

    `prepared` maps an example to its preparation: rows found there are reused, and every row is
    written back (a reused block's all at once, through update())."""
    sources = [(RowKind.INTENT, i.id, (i.examples, i.keywords)) for i in intents]
    sources += [(RowKind.OUT_OF_SCOPE, "", (tuple(out_of_scope), ())), (RowKind.FOLLOWUP, "", (tuple(followups), ()))]
    blocks = []
    for kind, owner, source in sources:
        block = before.get((kind, owner))
        if block is not None and block.source == source:
            if prepared is not None:
                prepared.update(block.prepared)
        else:
            block = _block(kind, owner, source, prepare, prepared)
        blocks.append(block)
    return blocks


def _block(kind: RowKind, owner: str, source: tuple[tuple[str, ...], tuple[str, ...]],
           prepare: Callable[[str], Prepared], prepared: MutableMapping[str, Prepared] | None) -> Block:
    examples, keywords = source
    rows = dict.fromkeys(examples, False)  # an example written twice is one row, where it first is
    for keyword in keywords:
        rows[keyword] = True  # a topic word that is also an example is one row, a topic word
    made, keys, exact_keys, texts, flags = [], [], [], [], []
    for example, is_keyword in rows.items():
        known = prepared.get(example) if prepared is not None else None
        if known is None:
            known = prepare(example)
        if prepared is not None:
            prepared[example] = known
        made.append((example, known))
        core, folded, exact = known
        if core:
            keys.append(folded)
            exact_keys.append(exact)
            texts.append(core)
            flags.append(is_keyword)
    label = topic_of(owner) if kind is RowKind.INTENT else OUT_OF_SCOPE_CLASS
    documents = () if kind is RowKind.FOLLOWUP else tuple((label, t, k) for t, k in zip(texts, keys, strict=True))
    # Emergency examples mention every topic on purpose and do not count (bot.matching.spread).
    counts = kind is RowKind.INTENT and owner != EMERGENCY
    counted = tuple((owner, t, k) for t, k, f in zip(texts, keys, flags, strict=True) if not f) if counts else ()
    return Block(kind, owner, source, tuple(made), tuple(keys), tuple(exact_keys), tuple(texts), tuple(flags),
                 documents, counted)


def changed_rows(before: list[Block], after: list[Block]) -> tuple[int, int, int]:
    """The first row that is not in the same block before and after, and where the rows that differ
    end before and after (every row past them is in the same block)."""
    shorter = min(len(before), len(after))
    start = 0
    while start < shorter and before[start] is after[start]:
        start += 1
    end = 0
    while end < shorter - start and before[-1 - end] is after[-1 - end]:
        end += 1
    first = sum(len(b.keys) for b in before[:start])
    return (first, first + sum(len(b.keys) for b in before[start: len(before) - end]),
            first + sum(len(b.keys) for b in after[start: len(after) - end]))


@dataclass(frozen=True, slots=True)
class Kept:
    """What the next reload takes from the index built last rather than from its rows again (listing
    the learned model's documents from them was ~0.2 s of each reload at 100,000 examples). Only the
    last index's is kept: nothing older."""

    index: weakref.ReferenceType[object]  # the Index (bot.matching.index)
    blocks: list[Block]  # its rows, block by block
    documents: list[Document]  # what its learned model learned from
    known: list[str]  # its intents' example texts
    counted: list[Counted]  # its rows that count towards topic word spreads
    grams: Grams  # every row's grams (~30 MB at 100,000 examples)


_built: list[Kept] = []


def remember(index: object, blocks: list[Block], documents: list[Document], known: list[str],
             counted: list[Counted], grams: Grams) -> None:
    """Keep these for the next reload from `index`, in place of what was kept before."""
    _built[:] = [Kept(weakref.ref(index), blocks, documents, known, counted, grams)]


def kept_of(index: object | None) -> Kept | None:
    """What was kept of `index`, if it was the index built (or kept, bot.matching.index.keep) last."""
    for kept in _built:
        if index is not None and kept.index() is index:
            return kept
    return None


def gathered(blocks: list[Block]) -> tuple[list[Document], list[str], list[Counted]]:
    """The blocks' learned documents, intent example texts and counted rows, a block at a time."""
    known: list[str] = []
    documents: list[Document] = []
    counted: list[Counted] = []
    for block in blocks:
        documents += block.documents
        counted += block.counted
        if block.kind is RowKind.INTENT:
            known += block.texts
    return documents, known, counted


def grams_after(keys: list[str], blocks: list[Block], kept: Kept | None) -> Grams:
    """Every row's grams: those of the index before with its changed rows replaced, if it was kept."""
    if kept is not None:
        first, end_before, end_now = changed_rows(kept.blocks, blocks)
        grams = kept.grams.replaced(first, end_before, keys[first:end_now])
        if grams is not None:
            return grams
    return Grams.of(keys, [True] * len(keys))
