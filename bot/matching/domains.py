"""Other domains' nouns in a message: evidence that a service word is said in another sense.

A look-alike pairs a service's word with the object of another domain: 签证材料里的在职证明,
驾校教练能投诉到哪, 青花瓷想鉴定一下. The service word matches an intent; the rest of the message is
made of nouns that no intent's examples or topic words use (签证, 驾校, 青花瓷). The message is
segmented with jieba's dictionary (its words and counts, bot.matching.lexicon; jieba itself is never
imported), so a noun read across two words (江郎山|门票 holds 山门) is not counted; the nouns no
intent text contains are the other domain's. bot.matching.decision weighs them: an answer resting on
little of the message, next to such a noun, is offered rather than answered.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.catalogue.model import Weights
from bot.matching.lexicon import dictionary

_LONGEST = 4  # the dictionary's words used are 2-4 characters long


@dataclass(frozen=True, slots=True)
class Domains:
    """The dictionary's nouns that some intent text holds; every other noun is another domain's.

    Only these few thousand words are kept with the index (and cached with the catalogue): the
    dictionary itself (~290,000 words) is read once per process, and only when a message needs it
    (`table`), so `legalbot ask` does not pay for it on every start."""

    held: frozenset[str]

    def is_strange(self, word: str) -> bool:
        return word in table()[1] and word not in self.held

    def nouns_elsewhere(self, core: str) -> tuple[str, ...]:
        """The nouns of other domains in a canonical message, in order, as segmentation reads it."""
        words, nouns, alone = table()
        if not nouns:
            return ()
        return tuple(word for word in segment(core, words, alone) if word in nouns and word not in self.held)


Table = tuple[Mapping[str, float], frozenset[str], float]
# Where the catalogue cache keeps the table (bot.catalogue.cache.CatalogueLoader): reading it back
# is a third of building it from jieba's dictionary file.
_kept: tuple[Callable[[], object], Callable[[Table], object]] | None = None


def keep_table(read: Callable[[], object] | None, write: Callable[[Table], object] | None) -> None:
    """Read the table from `read` (a stored one, or None) and store a built one with `write`."""
    global _kept
    _kept = (read, write) if read is not None and write is not None else None


@functools.cache
def table() -> Table:
    """The segmenting words (log share of the dictionary's counts), its nouns, and what a character
    alone costs (as much as the rarest word, less one); empty when jieba is not installed."""
    kept = _kept
    stored = kept[0]() if kept is not None else None
    if isinstance(stored, tuple) and len(stored) == 3:
        return stored
    built = _built()
    if kept is not None and built[0]:
        kept[1](built)
    return built


def _built() -> Table:
    entries = dictionary()
    if not entries:
        return {}, frozenset(), 0.0
    total = sum(count for _, count, _ in entries)
    words = {word: math.log(count / total) for word, count, _ in entries}
    return words, frozenset(word for word, _, is_noun in entries if is_noun), min(words.values()) - 1.0


def nouns_elsewhere(domains: Domains | None, core: str, length: int, w: Weights) -> Callable[[], tuple[str, ...]]:
    """Other domains' nouns in a message, to be read only if the decision weighs them (a phrase of
    at most `elsewhere_length` syllables, not a story, whose answer rests on little of it)."""
    if domains is None or length > w.elsewhere_length:
        return tuple
    return functools.partial(domains.nouns_elsewhere, core)


def build(known: Iterable[str], previous: Domains | None = None, before: Iterable[str] = ()) -> Domains:
    """Domains for the intents' texts (`known`: examples and topic words, canonical). Given the
    `previous` domains, built from the texts `before`, only the texts that changed are searched (a
    reload at 100,000 examples)."""
    nouns = table()[1]
    if previous is None:
        return Domains(_pieces(known) & nouns)
    old, new = set(before), set(known)
    added, removed = _pieces(new - old) & nouns, _pieces(old - new) & nouns
    everything = "\n".join(new) if removed else ""  # texts hold no line break
    return Domains((previous.held | added) - {w for w in removed if w not in everything})


def _pieces(texts: Iterable[str]) -> frozenset[str]:
    """Every 2-4 character piece of the texts: a word is in some text exactly when it is a piece."""
    return frozenset(text[i:i + n] for text in texts for n in range(2, _LONGEST + 1)
                     for i in range(len(text) - n + 1))


def segment(text: str, words: Mapping[str, float], alone: float) -> list[str]:
    """The most likely split of `text` into dictionary words and single characters (a unigram
    model, as jieba's own), a character alone costing `alone` (log share)."""
    best = [0.0] + [-math.inf] * len(text)
    back = [0] * (len(text) + 1)
    for end in range(1, len(text) + 1):
        for n in range(1, min(_LONGEST, end) + 1):
            piece = text[end - n:end]
            weight = alone if n == 1 else words.get(piece)
            if weight is not None and best[end - n] + weight > best[end]:
                best[end], back[end] = best[end - n] + weight, n
    out: list[str] = []
    end = len(text)
    while end > 0:
        out.append(text[end - back[end]:end])
        end -= back[end]
    return out[::-1]
