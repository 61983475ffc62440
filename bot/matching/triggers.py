"""Danger-now detection, checked before any fuzzy matching: recall matters more than precision."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Trigger:
    """A phrase that always selects its intent when a message contains it (as text or by sound)."""

    intent: str
    text: str
    key: str


def find_trigger(text: str, key: str, triggers: Iterable[Trigger]) -> Trigger | None:
    """The first trigger the message contains: by characters, or by sound for three syllables or more.

    Two-syllable homophones are too often everyday words across a word boundary (拿到 for 拿刀,
    留学 for 流血), so common two-character typos are listed as triggers of their own instead.
    """
    for trigger in triggers:
        if trigger.text in text or (len(trigger.key) >= 3 and trigger.key in key):
            return trigger
    return None
