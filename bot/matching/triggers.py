"""Danger-now detection, checked before any fuzzy matching: recall matters more than precision."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SPREAD = "…"  # "孩子…不见": the parts in this order, each within SPREAD_GAP characters of the one before
SPREAD_GAP = 8


@dataclass(frozen=True, slots=True)
class Trigger:
    """A phrase that always selects its intent when a message contains it (as text or by sound)."""

    intent: str
    text: str
    key: str


def find_trigger(text: str, key: str, triggers: Iterable[Trigger]) -> Trigger | None:
    """The trigger the message names first: by characters, or by sound for three syllables or more.

    The first danger named decides which number comes first ("孩子误喝了农药": a poisoning, 120;
    "他拿刀砍我，流了好多血": violence, 110); at one place, the phrase as written, then the longer.
    Two-syllable homophones are too often everyday words across a word boundary (拿到 for 拿刀,
    留学 for 流血), so common two-character typos are listed as triggers of their own instead.
    """
    best: tuple[int, bool, int] | None = None
    found = None
    for trigger in triggers:
        at = text.find(trigger.text) if SPREAD not in trigger.text else _spread_at(text, trigger.text)
        by_sound = at < 0
        if by_sound and SPREAD not in trigger.text and len(trigger.key) >= 3:
            at = key.find(trigger.key)  # one symbol a syllable: about the same place as in the text
        # At one place, the phrase written out beats its homophone (大出血 is not 打出血).
        rank = (at, by_sound, -len(trigger.text))
        if at >= 0 and (best is None or rank < best):
            best, found = rank, trigger
    return found


def _spread_at(text: str, spread: str) -> int:
    """Where a spread trigger starts in text, or -1: its parts in order, close together."""
    first, *rest = spread.split(SPREAD)
    start = text.find(first)
    while start >= 0:
        end = start + len(first)
        for part in rest:
            at = text.find(part, end, end + SPREAD_GAP + len(part))
            if at < 0:
                break
            end = at + len(part)
        else:
            return start
        start = text.find(first, start + 1)
    return -1
