"""Text normalisation: one canonical form for examples and citizens' messages alike."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable

import opencc

# Zero-width and bidi controls survive NFKC and would split words invisibly; lone surrogates
# (from broken clients) cannot be encoded at all.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad\ud800-\udfff]")
# Everything that is not a letter or digit of some script: punctuation, emoji, spaces, symbols.
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


@functools.lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    # Loaded on first use: the converter reads its dictionaries from disk.
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Convert Traditional Chinese characters to Simplified ones."""
    return str(_t2s().convert(text))


@functools.lru_cache(maxsize=512)
def prepare(text: str) -> str:
    """NFKC, Simplified and casefolded, but with spaces and punctuation still in place. The last
    few are kept: a message is prepared for matching, and again for the parts of an answer it asks
    about (bot.facets) and for its danger checks."""
    # NFKC first: citizens and operators paste full-width digits and letters.
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return to_simplified(text).casefold()


def squash(text: str) -> str:
    """Drop punctuation, emoji, symbols and spaces."""
    return _NON_WORD.sub("", text)


def normalize(text: str) -> str:
    """Canonical form: NFKC, Simplified, casefolded, without punctuation, emoji or spaces."""
    return squash(prepare(text))


def is_latin_word(word: str) -> bool:
    """A word of Latin letters or digits ("lawyer", "law"), matched only whole."""
    return word.isascii() and word.isalnum()


def _alternative(word: str) -> str:
    # Latin words only match whole ("law" must not rewrite inside "lawyer" or "flaw").
    if is_latin_word(word):
        return rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])"
    return re.escape(word)


@functools.lru_cache(maxsize=8)
def _alternation(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(longest_first(words, _alternative))


def longest_first(words: Iterable[str], pattern: Callable[[str], str]) -> str:
    """An alternation trying longer words first, behind a look at the first character: the
    regex engine then skips the many positions no word starts at (ten times faster on a story)."""
    words = sorted(set(words), key=len, reverse=True)
    starts = "".join(sorted({re.escape(w[0]) for w in words}))
    return f"(?=[{starts}])(?:{'|'.join(pattern(w) for w in words)})"


def rewrite(text: str, synonyms: tuple[tuple[str, str], ...]) -> str:
    """Replace variant words by their canonical form in one pass (咋 -> 怎么, lawyer -> 律师).

    Works on prepare()d text, whose spaces still separate Latin words.
    """
    if not synonyms or not text:
        return text
    table = dict(synonyms)
    return _alternation(tuple(table)).sub(lambda m: table[m.group(0)], text)


def canonical_lines(prepared: str, synonyms: tuple[tuple[str, str], ...], fillers: tuple[str, ...]) -> list[str]:
    """The canonical form of each line of prepare()d text, as each line alone would get it: a few
    passes over all the lines, not four per line (a story's clauses are dozens of lines). No synonym
    or filler holds a line break, so none is found across one."""
    lines = rewrite(prepared, synonyms).split("\n")
    latin = _latin_fillers(fillers)
    if latin is not None:
        dropped = latin.sub(" ", "\n".join(lines)).split("\n")
        squashed = [squash(d) or squash(line) for d, line in zip(dropped, lines, strict=True)]
    else:
        squashed = [squash(line) for line in lines]
    pattern = _fillers(fillers)
    if pattern is None:
        return squashed
    stripped = pattern.sub("", "\n".join(squashed)).split("\n")
    return [out or line for out, line in zip(stripped, squashed, strict=True)]


def strip_fillers(text: str, fillers: tuple[str, ...]) -> str:
    """Remove filler words ("请问", "那个", "嗯") from normalised text, keeping it non-empty.
    Latin fillers ("please", "the") are not removed here: without spaces they would be cut out of
    other words; drop_latin_fillers() removes them before the text is squashed."""
    pattern = _fillers(fillers)
    return (pattern.sub("", text) or text) if pattern is not None else text


def drop_latin_fillers(prepared: str, fillers: tuple[str, ...]) -> str:
    """Remove the Latin filler words ("can", "i", "the") of prepare()d text, whole words only,
    keeping the text when nothing else is left ("hi", "thanks" stay)."""
    pattern = _latin_fillers(fillers)
    if pattern is None:
        return prepared
    dropped = pattern.sub(" ", prepared)
    return dropped if squash(dropped) else prepared


@functools.lru_cache(maxsize=8)
def _fillers(fillers: tuple[str, ...]) -> re.Pattern[str] | None:
    # One pass, longest first: "请问一下" goes whole, not as "请问" and a stray "一下".
    others = [f for f in fillers if not is_latin_word(f)]
    return re.compile(longest_first(others, re.escape)) if others else None


@functools.lru_cache(maxsize=8)
def _latin_fillers(fillers: tuple[str, ...]) -> re.Pattern[str] | None:
    latin = [f for f in fillers if is_latin_word(f)]
    return re.compile(longest_first(latin, _alternative)) if latin else None

