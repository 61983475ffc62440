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

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.catalogue.model import Weights
from bot.matching.lexicon import dictionary

_LONGEST = 4  # the dictionary's words used are 2-4 characters long


@dataclass(frozen=True, slots=True)
class Domains:
    """The segmenting words (log share of the dictionary's counts) and the nouns no intent uses."""

    words: Mapping[str, float]
    strange: frozenset[str]
    alone: float = 0.0  # a character alone costs as much as the rarest word, less one


    def nouns_elsewhere(self, core: str) -> tuple[str, ...]:
        """The nouns of other domains in a canonical message, in order, as segmentation reads it."""
        if not self.strange:
            return ()
        return tuple(word for word in segment(core, self.words, self.alone) if word in self.strange)


def nouns_elsewhere(domains: Domains | None, core: str, length: int, w: Weights) -> tuple[str, ...]:
    """Other domains' nouns in a message, read only where the decision weighs them: in a phrase of
    at most `elsewhere_length` syllables, not a story."""
    return domains.nouns_elsewhere(core) if domains is not None and length <= w.elsewhere_length else ()


def build(known: Iterable[str], previous: Domains | None = None, before: Iterable[str] = ()) -> Domains:
    """Domains for the intents' texts (`known`: examples and topic words, canonical). A noun is
    strange when no known text contains it. Given the `previous` domains, built from the texts
    `before`, only the texts that changed are searched (a reload at 100,000 examples)."""
    entries = dictionary()
    if not entries:
        return Domains({}, frozenset())
    if previous is None:
        held = _pieces(known)
        words = _log_shares(entries)
        return Domains(words, frozenset(w for w, _, is_noun in entries if is_noun and w not in held),
                       min(words.values()) - 1.0)
    old, new = set(before), set(known)
    added, removed = _pieces(new - old), _pieces(old - new)
    everything = "\n".join(new) if removed else ""  # texts hold no line break
    strange = {w for w in previous.strange if w not in added}
    strange |= {w for w, _, is_noun in entries if is_noun and w in removed and w not in everything}
    return Domains(previous.words, frozenset(strange), previous.alone)


def _log_shares(entries: Iterable[tuple[str, int, bool]]) -> Mapping[str, float]:
    listed = list(entries)
    total = sum(count for _, count, _ in listed)
    return {word: math.log(count / total) for word, count, _ in listed}


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
