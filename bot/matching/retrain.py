"""Retraining the learned model after a reload by counting only the documents that changed.

A naive Bayes model is counts: how many documents of each class hold each n-gram. Training from
scratch computes every document's n-grams (most of a reload's time at 100,000 examples); after an
operator saved one file almost every document is the same, so the counts of the model before are
taken back from its weights, the changed documents' n-grams are added or subtracted, and the
weights are computed from the counts as train() computes them. The result is the model train()
would give (the same n-grams, classes and weights; tests/test_retrain.py compares them), only its
column numbers differ, which no guess depends on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np

from bot.matching.learned import _SMOOTHING, LearnedModel, features, train

Document = tuple[str, str, str]  # (class, core, key), as train() takes them
T = TypeVar("T")
_CHANGED_SHARE = 0.2  # above this share of changed documents, training afresh is as quick


def retrain(model: LearnedModel | None, before: Iterable[Document], documents: Iterable[Document]) -> LearnedModel | None:
    """train(documents), from `model`, which train() or retrain() made from the documents `before`."""
    docs = [d for d in documents if d[1]]
    if model is None:
        return train(docs)
    old, new = (Counter(part) for part in differing([d for d in before if d[1]], docs))
    added, removed = new - old, old - new
    classes = tuple(sorted({label for label, _, _ in docs}))
    changed = sum(added.values()) + sum(removed.values())
    if classes != model.classes or changed > _CHANGED_SHARE * max(1, len(docs)):
        return train(docs)
    counts = _counts(model)
    if counts is None:
        return train(docs)
    if not changed:
        return model
    return _apply(model, counts, _delta(added, removed, {label: n for n, label in enumerate(classes)}),
                  Counter(label for label, _, _ in docs))


def differing(before: list[T], after: list[T]) -> tuple[list[T], list[T]]:
    """What lies between the common start and the common end of two lists (of documents, of rows):
    after one file was saved, a few items, so counting the changes need not hash 100,000 of them twice."""
    shorter = min(len(before), len(after))
    start = _longest(lambda n: before[:n] == after[:n], shorter)
    end = _longest(lambda n: before[len(before) - n:] == after[len(after) - n:], shorter - start)
    return before[start: len(before) - end], after[start: len(after) - end]


def _longest(same: Callable[[int], bool], most: int) -> int:
    """The largest n <= most for which same(n) holds (it holds for every smaller n too), found by halving:
    each test compares whole slices in C, where a Python loop over 100,000 items was ~20 ms a call."""
    low, high = 0, most
    while low < high:
        middle = (low + high + 1) // 2
        if same(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _counts(model: LearnedModel) -> np.ndarray | None:  # type: ignore[type-arg]
    """Each posting's document count, taken back from its weight; None if that is not exact."""
    lift = model.lift.astype(np.float64)
    counts = np.rint(_SMOOTHING * np.expm1(lift)).astype(np.int64)
    if not np.array_equal(np.log((counts + _SMOOTHING) / _SMOOTHING).astype(np.float32), model.lift):
        return None  # counts too large for float32 weights to tell apart: train afresh
    return counts


def _delta(added: Counter[Document], removed: Counter[Document], class_of: dict[str, int]) -> Counter[tuple[str, int]]:
    delta: Counter[tuple[str, int]] = Counter()
    for docs, sign in ((added, 1), (removed, -1)):
        for (label, core, key), times in docs.items():
            n = class_of[label]
            for gram in features(core, key):
                delta[(gram, n)] += sign * times
    return delta


def _apply(model: LearnedModel, counts: np.ndarray, delta: Counter[tuple[str, int]],  # type: ignore[type-arg]
           sizes: Counter[str]) -> LearnedModel | None:
    starts, posted, n_classes = model.starts, model.posted.astype(np.int64), len(model.classes)
    columns = dict(model.columns)  # the model before stays intact: it serves until the swap
    column_of = np.repeat(np.arange(len(starts) - 1, dtype=np.int64), np.diff(starts))
    extra_cols: list[int] = []
    extra_classes: list[int] = []
    extra_counts: list[int] = []
    old_columns = next_column = len(starts) - 1
    for (gram, n), change in delta.items():
        if change == 0:
            continue
        col = columns.get(gram)
        if col is None:
            col = columns[gram] = next_column
            next_column += 1
        elif col < old_columns:
            begin, end = int(starts[col]), int(starts[col + 1])
            at = begin + int(np.searchsorted(posted[begin:end], n))
            if at < end and posted[at] == n:
                counts[at] += change
                continue
        extra_cols.append(col)
        extra_classes.append(n)
        extra_counts.append(change)
    if extra_cols:
        # Postings are laid out by n-gram, then class, as train() lays them out; the few new ones are
        # inserted where they belong (sorting all of them again was half a second at 100,000 examples).
        extra = np.array(extra_cols, np.int64) * n_classes + np.array(extra_classes, np.int64)
        order = np.argsort(extra, kind="stable")
        at = np.searchsorted(column_of * n_classes + posted, extra[order])
        column_of = np.insert(column_of, at, np.array(extra_cols, np.int64)[order])
        posted = np.insert(posted, at, np.array(extra_classes, np.int64)[order])
        counts = np.insert(counts, at, np.array(extra_counts, np.int64)[order])
    if (counts < 0).any():
        return None  # the documents before were not the model's: should not happen
    kept = counts > 0
    column_of, posted, counts = column_of[kept], posted[kept], counts[kept]
    per_column = np.bincount(column_of, minlength=next_column)
    for gram in {gram for (gram, _), change in delta.items() if change < 0}:
        if per_column[columns[gram]] == 0:
            del columns[gram]  # no document holds it any more (its column number stays unused)
    new_starts = np.zeros(next_column + 1, np.int64)
    np.cumsum(per_column, out=new_starts[1:])
    per_class = np.bincount(posted, weights=counts, minlength=n_classes)
    total = per_class + _SMOOTHING * len(columns)
    size = np.array([sizes[label] for label in model.classes], np.float64)
    return LearnedModel(
        model.classes, columns, new_starts, posted.astype(np.int32),
        np.log((counts + _SMOOTHING) / _SMOOTHING).astype(np.float32),
        np.log(_SMOOTHING / total).astype(np.float32),
        np.log(size / size.sum()).astype(np.float32),
    )
