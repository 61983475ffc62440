"""A learned second opinion: a multinomial naive Bayes model over character and sound n-grams,
trained from the catalogue's examples, topic words and out-of-scope phrases when it loads.

Fuzzy matching reads typos, pinyin and short messages well; the model weighs every n-gram a
message shares with each intent's examples, and knows the out-of-scope phrases as a class of
their own. Training is counting (milliseconds for a county's catalogue, linear in its size),
and the weights are stored sparse, so a province's catalogue costs memory in proportion to its
examples.

Measured on the project's sets (README, Evaluation): alone, its first guess is right more often
than the fuzzy matcher's answers, but it answers nearly every look-alike. So it never answers on
its own: its `Opinion` (first guesses and how far ahead the first is) is weighed by
bot.matching.decision.combined against what the fuzzy matcher decided.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

OUT_OF_SCOPE = ""  # the class of the out-of-scope phrases
_SMOOTHING = 0.3  # additive smoothing of n-gram counts
_LATIN = re.compile("[a-z]")
_SLICED = 64  # postings per n-gram above which slices are copied rather than gathered (measured)


def features(core: str, key: str) -> set[str]:
    """Character 1-3-grams of the canonical text and sound 1-2-grams of its key. Latin letters
    (typed pinyin, 'xingzheng fuyi') are read by their sound only: as characters they would tie a
    message to whichever intent's few examples happen to hold Latin letters."""
    if _LATIN.search(core):
        grams = {"c" + gram for n in (1, 2, 3) for i in range(len(core) - n + 1)
                 if not _LATIN.search(gram := core[i:i + n])}
    else:  # the usual message: no gram to leave out, and no search per gram (a story has hundreds)
        grams = {"c" + core[i:i + n] for n in (1, 2, 3) for i in range(len(core) - n + 1)}
    grams |= {"k" + key[i:i + n] for n in (1, 2) for i in range(len(key) - n + 1)}
    return grams


@dataclass(frozen=True, slots=True)
class Opinion:
    """The model's view of one message: its first two classes and how sure it is of the first."""

    guesses: tuple[str, ...] = ()  # best first; "" is out of scope; () when it shares no n-gram
    margin: float = 0.0  # log-odds of the first guess over the second
    over_out_of_scope: float = 0.0  # log-odds of the first guess over out of scope (0 when it is that)
    # A story's question is at its end: the first guess for its tail alone (bot.matching.ranking.tail),
    # None for a message that is no story. Background words lean the whole story's guess elsewhere.
    at_end: str | None = None

    def __reduce__(self) -> tuple[type[Opinion], tuple[tuple[str, ...], float, float, str | None]]:
        return Opinion, (self.guesses, self.margin, self.over_out_of_scope, self.at_end)


@dataclass(frozen=True, slots=True)
class LearnedModel:
    """Multinomial naive Bayes, stored sparse: an n-gram's weight differs from its class's default
    only where the class's examples hold it, so memory grows with the examples, not classes x n-grams."""

    classes: tuple[str, ...]
    columns: dict[str, int] = field(repr=False)
    starts: npt.NDArray[np.int64] = field(repr=False)  # n-gram j's postings are [starts[j], starts[j + 1])
    posted: npt.NDArray[np.int32] = field(repr=False)  # the classes holding each n-gram
    lift: npt.NDArray[np.float32] = field(repr=False)  # log((count + s) / s): above the class's default
    default: npt.NDArray[np.float32] = field(repr=False)  # log-probability of an n-gram a class never saw
    prior: npt.NDArray[np.float32] = field(repr=False)

    def guesses(self, core: str, key: str) -> tuple[str, ...]:
        """The model's first two classes for a message, best first; () when it shares no n-gram."""
        return self.opinion(core, key).guesses

    def opinion(self, core: str, key: str) -> Opinion:
        """The model's first two classes for a message and its margins (log-odds)."""
        return self.read(features(core, key))

    def read(self, grams: Iterable[str]) -> Opinion:
        """opinion() of a message whose features() are given: the learned and the danger model read
        the same n-grams, built once (a story's are hundreds, and cost most of a reading)."""
        columns = self.columns
        cols = [n for f in grams if (n := columns.get(f)) is not None]
        if not cols:
            return Opinion()
        at = np.array(cols, np.int64)
        begins, ends = self.starts[at], self.starts[at + 1]
        lengths = ends - begins
        total = int(lengths.sum())
        # Every posting of the message's n-grams, n-gram by n-gram, gathered by one index array; where
        # n-grams have many postings each (a province's catalogue: ~1,000), copying each one's slice
        # whole costs less. The same postings in the same order either way, so the same sums.
        if total > _SLICED * len(cols):
            spans = list(zip(begins.tolist(), ends.tolist(), strict=True))
            classes = np.concatenate([self.posted[b:e] for b, e in spans])
            lifts = np.concatenate([self.lift[b:e] for b, e in spans])
        else:
            runs = np.arange(total) + np.repeat(begins - np.cumsum(lengths) + lengths, lengths)
            classes, lifts = self.posted[runs], self.lift[runs]
        lifted = np.bincount(classes, weights=lifts, minlength=len(self.classes))
        scores = self.prior + len(cols) * self.default + lifted
        # The first two, ties to the earlier class (as a stable sort would give them), without sorting them all.
        first = int(np.argmax(scores))
        rest = scores.copy()
        rest[first] = -np.inf
        second = int(np.argmax(rest))
        if second == first:  # every other class at -inf: the earliest of them
            second = 1 if first == 0 else 0
        out_of_scope = self.classes.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.classes else first
        return Opinion((self.classes[first], self.classes[second]), float(scores[first] - scores[second]),
                       float(scores[first] - scores[out_of_scope]))


def train(documents: Iterable[tuple[str, str, str]]) -> LearnedModel | None:
    """Train on (class, core, key) documents; None when there is nothing to learn from. Counting
    only: linear in the n-grams of the documents."""
    docs = [(label, features(core, key)) for label, core, key in documents if core]
    classes = tuple(sorted({label for label, _ in docs}))
    if len(classes) < 2:
        return None
    row_of = {label: i for i, label in enumerate(classes)}
    columns: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for label, grams in docs:
        for gram in grams:
            rows.append(row_of[label])
            cols.append(columns.setdefault(gram, len(columns)))
    n_classes, n_columns = len(classes), len(columns)
    # Count each (n-gram, class) pair: sort the pairs by n-gram, then class, and run-length them.
    pairs = np.array(cols, np.int64) * n_classes + np.array(rows, np.int64)
    unique, counts = np.unique(pairs, return_counts=True)
    posted_cols, posted = np.divmod(unique, n_classes)
    per_class = np.bincount(posted, weights=counts, minlength=n_classes)
    total = per_class + _SMOOTHING * n_columns  # every n-gram seen, smoothed, per class
    starts = np.zeros(n_columns + 1, np.int64)
    np.cumsum(np.bincount(posted_cols, minlength=n_columns), out=starts[1:])
    sizes = np.bincount([row_of[label] for label, _ in docs], minlength=n_classes).astype(np.float64)
    return LearnedModel(
        classes, columns, starts, posted.astype(np.int32),
        np.log((counts + _SMOOTHING) / _SMOOTHING).astype(np.float32),
        np.log(_SMOOTHING / total).astype(np.float32),
        np.log(sizes / sizes.sum()).astype(np.float32),
    )
