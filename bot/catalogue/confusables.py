"""Catalogue-wide warnings for `legalbot validate`: intents whose examples the matcher will confuse."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from bot.catalogue.loader import Catalogue
from bot.errors import Problem
from bot.matching.index import RowKind
from bot.catalogue.model import topic_of

CONFUSABLE = 0.9  # examples of two topics this alike (by sound) are a coin toss for the matcher
EXHAUSTIVE_ROWS = 5000  # up to this many examples every pair is compared; above, only prefilter candidates
_RARE_GRAMS = 8  # a row meets the rows sharing most of its rarer n-grams: alike examples share most of theirs
_COMMON_GRAM = 1000  # a gram in more rows says little (unless a row has no rarer one)
_NEAREST = 64  # rows compared with each example: those sharing the most of its rarer grams


def confusable_pairs(catalogue: Catalogue, threshold: float = CONFUSABLE,
                     exhaustive_rows: int = EXHAUSTIVE_ROWS) -> list[Problem]:
    """One warning per pair of topics that have examples at least `threshold` alike.

    A small catalogue compares every example with every other; a large one (100,000 examples would
    be 10^10 pairs) compares each example only with those sharing the most of its rarer sound n-grams,
    found through the index's prefilter, so the check stays close to linear."""
    index = catalogue.index
    rows = [i for i, kind in enumerate(index.kinds) if kind is RowKind.INTENT and not index.is_keyword[i]]
    keys = [index.keys[i] for i in rows]
    position = np.full(len(index), -1, dtype=np.intp)  # each index row's place in `rows`
    position[rows] = np.arange(len(rows), dtype=np.intp)
    is_large = len(rows) > exhaustive_rows
    seen: set[tuple[str, str]] = set()
    problems = []
    for n, i in enumerate(rows):
        owner = index.owners[i]
        topic = topic_of(owner)
        near = _sharing_rare_grams(index.prefilter.rows, keys[n], position, n) if is_large else None
        for _, score, m in process.extract(keys[n], [keys[k] for k in near] if near is not None else keys,
                                           scorer=fuzz.ratio, score_cutoff=threshold * 100, limit=8):
            m = near[m] if near is not None else m
            other = index.owners[rows[m]]
            if topic_of(other) == topic:
                continue
            pair = (min(owner, other), max(owner, other))
            if pair in seen:
                continue
            seen.add(pair)
            intent = catalogue.intents[owner]
            problems.append(Problem(
                intent.source,
                f"意图 '{owner}' 的例句 '{index.texts[i]}' 与意图 '{other}' 的例句 '{index.texts[rows[m]]}' "
                f"非常相似（{score:.0f}%），机器人可能会混淆；请改写其中一句或删去",
                is_warning=True,
            ))
    return sorted(problems)


def _sharing_rare_grams(postings: Mapping[str, npt.NDArray[np.intp]], key: str,
                        position: npt.NDArray[np.intp], n: int) -> list[int]:
    """Positions (among the compared rows) of the rows sharing the most of `key`'s rarer two-sound grams."""
    grams = sorted((g for g in {key[j: j + 2] for j in range(len(key) - 1)} if g in postings),
                   key=lambda g: len(postings[g]))
    used = [g for g in grams[:_RARE_GRAMS] if len(postings[g]) <= _COMMON_GRAM] or grams[:2]
    if not used:
        return [n]
    found, shared = np.unique(np.concatenate([postings[g] for g in used]), return_counts=True)
    if len(found) > _NEAREST:
        found = found[np.argpartition(-shared, _NEAREST - 1)[:_NEAREST]]
    at = position[found]
    return at[at >= 0].tolist()  # type: ignore[no-any-return]
