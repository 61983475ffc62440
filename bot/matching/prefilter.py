"""The n-gram prefilter: which example rows hold each one- and two-sound gram of their sound keys.

Built with numpy over all rows at once (a set of grams per row in Python was most of a reload's
time at 100,000 examples); looked up with gram_set() of a message (bot.matching.index.candidates).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt


class Postings(Mapping[str, "npt.NDArray[np.intp]"]):
    """The rows holding each n-gram, all in one array (a gram's rows are a slice of it).

    One array, not one per gram, so that building, pickling (to the cache and the match workers)
    and unpickling cost a few numpy calls rather than one per gram (~100,000 at a province's size).
    """

    __slots__ = ("_slot", "_starts", "flat", "_bounds")

    def __init__(self, slot: dict[str, int], starts: npt.NDArray[np.intp], rows: npt.NDArray[np.intp]) -> None:
        self._slot = slot  # gram -> its number; its rows are rows[starts[n]:starts[n + 1]]
        self._starts = starts
        self.flat = rows  # every gram's rows, one gram after the other
        self._bounds: list[int] | None = None  # starts as Python ints, made on first use (lookups per message)

    @classmethod
    def of(cls, grams: Grams, rows: npt.NDArray[np.bool_] | None = None) -> tuple[Postings, npt.NDArray[np.intp]]:
        """The postings of `grams` (of the rows `rows` selects, all if None), and each gram's row count."""
        width, height = grams.width, max(1, grams.rows)
        row, gram = np.divmod(grams.pairs if rows is None else grams.pairs[rows[grams.pairs // width]], width)
        by_gram = np.sort(gram * height + row)  # by gram, then row: each gram's rows are a run, in row order
        present, starts = _runs(by_gram // height)
        bounds = np.append(starts, len(by_gram)).astype(np.intp)
        slot = dict(zip(grams.texts(present), range(len(present)), strict=True))
        return cls(slot, bounds, (by_gram % height).astype(np.intp)), np.diff(bounds)

    def located(self, grams: Iterable[str]) -> list[tuple[int, int, int]]:
        """(number, start, end) of each of `grams` that rows hold, in the order given: its rows are flat[start:end].
        Plain ints: a message looks up a hundred grams, and numpy scalars or slices cost more than the lookups."""
        bounds = self._bounds
        if bounds is None:
            bounds = self._bounds = self._starts.tolist()
        slot = self._slot
        return [(n, bounds[n], bounds[n + 1]) for g in grams if (n := slot.get(g)) is not None]

    def __getitem__(self, gram: str) -> npt.NDArray[np.intp]:
        n = self._slot[gram]
        return self.flat[self._starts[n]: self._starts[n + 1]]

    def __contains__(self, gram: object) -> bool:
        return gram in self._slot

    def __iter__(self) -> Iterator[str]:
        return iter(self._slot)

    def __len__(self) -> int:
        return len(self._slot)

    def __reduce__(self) -> tuple[type[Postings], tuple[dict[str, int], npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
        return Postings, (self._slot, self._starts, self.flat)


@dataclass(frozen=True, slots=True)
class Prefilter:
    """The example rows (not topic words, which are looked up directly) holding each n-gram of sound keys.

    Rows are numpy arrays so a message's n-gram weights add up in one bincount rather than a
    Python loop over every posting: the prefilter runs on every message.
    """

    rows: Mapping[str, npt.NDArray[np.intp]]
    weights: Mapping[str, float]  # rarity (idf) times length: a rare two-sound gram says most
    numbered: npt.NDArray[np.float64]  # the same weights by each gram's number in `rows` (Postings.located)
    size: int  # rows in the index
    examples: int  # example rows among them
    # The follow-up and out-of-scope phrases holding each n-gram. The best few of them are always
    # scored, so that a message sharing common words (多少, 去年) with many examples still meets
    # "一共多少" or "天气怎么样", which share only those words with it.
    reserved: Mapping[str, npt.NDArray[np.intp]]

    @classmethod
    def build(cls, keys: list[str], flags: list[bool], is_reserved: Sequence[bool] | npt.NDArray[np.bool_],
              grams: Grams | None = None) -> Prefilter:
        """The prefilter of rows with sound keys `keys`, topic words (`flags`) left out; `grams`, if
        given, are the grams of these keys (Grams.of), of every row or of the rows not flagged."""
        if grams is None:
            grams = Grams.of(keys, [not f for f in flags])
        examples_only = ~np.array(flags, dtype=bool)
        rows, counts = Postings.of(grams, examples_only)
        reserved, _ = Postings.of(grams, np.asarray(is_reserved, dtype=bool) & examples_only)
        examples = flags.count(False)
        weights = {g: math.log(examples / count) * len(g) for g, count in zip(rows, counts.tolist(), strict=True)}
        return cls(rows, MappingProxyType(weights), np.fromiter(weights.values(), np.float64, len(weights)),
                   len(keys), examples, reserved)


@dataclass(frozen=True, slots=True)
class Grams:
    """Every row's distinct n-grams (_grams) as numbers, computed with numpy rather than a set per row.

    Sound keys use a few hundred characters (`alphabet`, sorted); with A of them, a gram's number
    is its character's place for one character, A + A * first + second for two. `pairs` are
    row * width + the gram's number, distinct and sorted (so in row order).
    """

    alphabet: npt.NDArray[np.int64]  # code points
    pairs: npt.NDArray[np.int64]
    rows: int

    @property
    def width(self) -> int:
        """How many gram numbers there can be."""
        return max(1, len(self.alphabet) * (len(self.alphabet) + 1))

    @classmethod
    def of(cls, keys: list[str], taken: list[bool]) -> Grams:
        """The grams of the rows whose `taken` is true (the others hold none)."""
        lengths = np.fromiter((len(k) if t else 0 for k, t in zip(keys, taken, strict=True)), np.intp, len(keys))
        text = "".join(k for k, t in zip(keys, taken, strict=True) if t)
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        seen = np.zeros(_CODE_POINTS, bool)
        seen[points] = True
        alphabet = np.flatnonzero(seen)
        place = np.zeros(_CODE_POINTS, np.int64)
        place[alphabet] = np.arange(len(alphabet))
        return cls(alphabet.astype(np.int64), _pairs(place[points], lengths, len(alphabet)), len(keys))

    def replaced(self, start: int, end: int, keys: list[str]) -> Grams | None:
        """These grams with rows start..end replaced by the grams of `keys` (every one taken): after one
        saved file, a few rows, where computing every row's again was ~0.25 s at 100,000 examples. None
        when `keys` use a character the alphabet lacks. A gram's number may differ from Grams.of()'s (its
        alphabet may hold characters no row uses now), never the order of the numbers, which is all that
        postings and texts depend on."""
        lengths = np.fromiter(map(len, keys), np.intp, len(keys))
        points = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        letters = np.searchsorted(self.alphabet, points)
        if len(points) and (letters.max() >= len(self.alphabet) or (self.alphabet[letters] != points).any()):
            return None
        width = self.width
        below, above = np.searchsorted(self.pairs, [start * width, end * width])
        middle = _pairs(letters, lengths, len(self.alphabet)) + start * width
        after = self.pairs[above:] + (len(keys) - (end - start)) * width  # the rows after move up or down
        return Grams(self.alphabet, np.concatenate([self.pairs[:below], middle, after]), self.rows + len(keys) - (end - start))

    def bigrams(self, rows: npt.NDArray[np.bool_] | None = None) -> frozenset[str]:
        """The distinct two-character grams (of the rows `rows` selects, all if None)."""
        pairs = self.pairs if rows is None else self.pairs[rows[self.pairs // self.width]]
        numbers = _runs(np.sort(pairs % self.width))[0]
        return frozenset(self.texts(numbers[numbers >= len(self.alphabet)]))

    def texts(self, numbers: npt.NDArray[np.int64]) -> list[str]:
        """The grams with these numbers, as text."""
        size, letters = len(self.alphabet), self.alphabet.tolist()
        return [chr(letters[n]) if n < size else chr(letters[(n - size) // size]) + chr(letters[(n - size) % size])
                for n in numbers.tolist()]


_CODE_POINTS = 0x110000


def _pairs(letters: npt.NDArray[np.int64], lengths: npt.NDArray[np.intp], size: int) -> npt.NDArray[np.int64]:
    """Grams.pairs of keys whose characters are `letters` (places in an alphabet of `size`), `lengths` each."""
    row = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    same = row[:-1] == row[1:]  # neighbours in one key make a two-character gram
    numbers = np.concatenate([letters, size + size * letters[:-1][same] + letters[1:][same]])
    width = max(1, size * (size + 1))
    return _runs(np.sort(np.concatenate([row, row[:-1][same]]) * width + numbers))[0]


def _runs(ordered: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """The distinct values of a sorted array and where each one's run starts."""
    first = np.ones(len(ordered), bool)
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return ordered[starts], starts


def gram_set(key: str) -> set[str]:
    """The n-grams the prefilter indexes: every sound and every two sounds in a row."""
    if len(key) <= 1:
        return {key} if key else set()
    return {key[i: i + 2] for i in range(len(key) - 1)} | set(key)
