"""Catalogue-wide warnings for `legalbot validate`: intents whose examples the matcher will confuse."""

from __future__ import annotations

from rapidfuzz import fuzz, process

from bot.catalogue.loader import Catalogue
from bot.errors import Problem
from bot.matching.index import RowKind
from bot.catalogue.model import topic_of

CONFUSABLE = 0.9  # examples of two topics this alike (by sound) are a coin toss for the matcher


def confusable_pairs(catalogue: Catalogue, threshold: float = CONFUSABLE) -> list[Problem]:
    """One warning per pair of topics that have examples at least `threshold` alike."""
    index = catalogue.index
    rows = [i for i, kind in enumerate(index.kinds) if kind is RowKind.INTENT and not index.is_keyword[i]]
    keys = [index.keys[i] for i in rows]
    seen: set[tuple[str, str]] = set()
    problems = []
    for n, i in enumerate(rows):
        owner = index.owners[i]
        topic = topic_of(owner)
        for _, score, m in process.extract(keys[n], keys, scorer=fuzz.ratio, score_cutoff=threshold * 100, limit=8):
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
