"""Everyday words the catalogue never uses, from jieba's dictionary: negative evidence for the
learned model (bot.matching.learned).

The out-of-scope phrases of intents/out_of_scope.yaml are a few dozen sentences; the look-alikes
citizens send pair a service's words with an everyday object (网上办张健身卡, 玉石鉴定去哪做). The
model's out-of-scope class learns such objects from the common nouns of a real lexicon that no
example or topic word of an intent contains, so a message made of them leans out of scope. Only
the dictionary file is read (once a process, when a catalogue is built and cached); jieba itself
is never imported, so its 1.5 s start-up costs nothing.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Iterator
from pathlib import Path

# Common nouns only: other parts of speech (verbs, idioms) are how citizens ask about services too.
# Frequent ones only (jieba's counts): rare words add n-grams, not evidence. Fitted on holdout.yml
# and jiangshan.yml; 3,000 leaves about 600 nouns.
_TAGS = frozenset({"n"})
_MIN_FREQUENCY = 3000
_LENGTHS = range(2, 5)


def _read_dictionary() -> Iterator[tuple[str, int, str]]:
    """jieba's dictionary file, word by word (word, count, tag), 2-4 characters only; nothing when
    jieba is not installed."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        return
    path = Path(spec.origin).parent / "dict.txt"
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, frequency, tag = line.split()
            if len(word) in _LENGTHS:
                yield word, int(frequency), tag


@functools.lru_cache(maxsize=1)
def _common_nouns() -> tuple[str, ...]:
    """The dictionary's frequent common nouns; () when jieba is not installed."""
    return tuple(word for word, count, tag in _read_dictionary() if tag in _TAGS and count >= _MIN_FREQUENCY)


# Words of other domains (bot.matching.domains): every word the dictionary counts at least this often,
# to segment a message as jieba would; its nouns no intent uses are a look-alike's other domain.
_SEGMENTING_FREQUENCY = 3
_NOUN_TAGS = frozenset({"n", "ns", "nz", "nrt"})  # common nouns, places, other proper nouns, transliterations


@functools.lru_cache(maxsize=1)
def dictionary() -> tuple[tuple[str, int, bool], ...]:
    """The dictionary's words of 2-4 characters counted at least _SEGMENTING_FREQUENCY times:
    (word, count, is a noun); () when jieba is not installed."""
    return tuple((word, count, tag in _NOUN_TAGS) for word, count, tag in _read_dictionary()
                 if count >= _SEGMENTING_FREQUENCY)


def foreign_words(known: Iterable[str]) -> list[str]:
    """The lexicon's common nouns that none of the `known` texts (intent examples and topic words,
    canonical) contains: 健身, 玉石, 评委, 公里 — not 律师, 房子 or 工资."""
    text = "\n".join(known)
    return [word for word in _common_nouns() if word not in text]


def foreign_words_after(previous: Iterable[str], before: Iterable[str], known: Iterable[str]) -> list[str]:
    """foreign_words(known), given `previous` = foreign_words(before): a reload searches only the
    texts that changed (searching 100,000 examples for 600 nouns takes seconds). A noun stays
    foreign unless an added text contains it; one that was not comes back only if a removed text
    held it and no text holds it now."""
    old, new = set(before), set(known)
    added, removed = "\n".join(new - old), "\n".join(old - new)
    was = set(previous)
    everything: str | None = None
    words = []
    for word in _common_nouns():
        if word in was:
            if word not in added:
                words.append(word)
        elif word in removed:
            everything = "\n".join(new) if everything is None else everything  # nouns hold no line break
            if word not in everything:
                words.append(word)
    return words
