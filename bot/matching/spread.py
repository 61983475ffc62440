"""How many intents' examples use each topic word (the index's `keyword_spread`), and how a reload
reuses the spreads of the index before.

维权 or 调解 turn up under many topics, 商标 or 跟政府 under one, and the specific word is the surer
evidence. Emergency examples mention every topic (家暴…离婚) on purpose and do not count. A topic
word's spread depends only on the counted rows (intent examples, not topic words, not emergency)
whose sound key holds the word's first two sounds and whose text holds the word; after an operator
saved one file, a few rows changed, so only the words those rows hold are searched again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from bot.matching.prefilter import Postings, gram_set
from bot.matching.retrain import differing

Counted = tuple[str, str, str]  # (owner, text, key) of a row that counts


class _Texts:
    """Rows' texts, searched for a word many rows at a time (a Python loop over every row holding a
    topic word's first two sounds was a tenth of a reload at 100,000 examples)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = np.array(texts, dtype=object)
        self.lengths = np.fromiter(map(len, texts), np.intp, len(texts))

    def holding(self, word: str, rows: npt.NDArray[np.intp]) -> list[int]:
        """The rows among `rows` whose text contains `word` (texts hold no line break: squash())."""
        joined = "\n".join(self.texts[rows].tolist())
        ends = np.cumsum(self.lengths[rows] + 1)  # where each text's line ends, its break included
        found = [m.start() for m in re.finditer(re.escape(word), joined)]
        return rows[np.searchsorted(ends, found, side="right")].tolist()  # type: ignore[no-any-return]


def keyword_spread(texts: Sequence[str], keys: Sequence[str], owners: Sequence[str], keywords: Sequence[int],
                   counted: npt.NDArray[np.bool_], rows: Postings,
                   before: tuple[Mapping[Counted, int], list[Counted], list[Counted]] | None = None) -> dict[int, int]:
    """Each topic word row's spread: the intents whose counted rows (among the prefilter's `rows`)
    hold it, its own included. `before` is the index before's spreads by (owner, text, key) and its
    counted rows, with this index's counted rows: a word no changed row holds keeps its spread."""
    changed: list[Counted] = []
    if before is not None:
        removed, added = differing(before[1], before[2])
        changed = [*removed, *added]
    no_rows = np.empty(0, np.intp)
    texts_of: _Texts | None = None
    spread = {}
    for i in keywords:
        word, head = texts[i], keys[i][:2]
        if before is not None:
            known = before[0].get((owners[i], word, keys[i]))
            if known is not None and not any(word in text and head in gram_set(key) for _, text, key in changed):
                spread[i] = known
                continue
        texts_of = texts_of or _Texts(texts)
        held = rows.get(head, no_rows)
        spread[i] = len({owners[j] for j in texts_of.holding(word, held[counted[held]])} | {owners[i]})
    return spread

