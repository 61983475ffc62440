"""Danger-now detection, checked before any fuzzy matching: recall matters more than precision."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.matching.phonetic import sound_keys

SPREAD = "…"  # "孩子…不见": the parts in this order, each within SPREAD_GAP characters of the one before
ALTERNATIVE = "|"  # "孩子|儿子…不见|丢了": any word of a part (a combination of safety.yaml's `combos`)
NOT_BETWEEN = "¦"  # "孩子|儿子…不见|丢了¦的": no 的 between the parts ("孩子的出生证明找不到了" is about a paper)
SPREAD_GAP = 8
EXPERIENCED = "过"  # the aspect of having done something once: a phrase is also found with it inside


@dataclass(frozen=True, slots=True)
class Trigger:
    """A phrase that always selects its intent when a message contains it (as text or by sound)."""

    intent: str
    text: str
    key: str


def is_pattern(text: str) -> bool:
    """A spread ("孩子…不见") or a combination of words ("孩子|儿子…不见|丢了"), not a plain phrase."""
    return SPREAD in text or ALTERNATIVE in text


def starts(trigger: Trigger) -> set[str]:
    """The characters and sounds a message must hold for the trigger to be found (its first ones)."""
    if not is_pattern(trigger.text):
        return {trigger.text[0], trigger.key[0]}
    firsts = trigger.text.split(SPREAD)[0].split(ALTERNATIVE) + trigger.key.split(SPREAD)[0].split(ALTERNATIVE)
    return {word[0] for word in firsts if word}


def find_trigger(text: str, key: str, triggers: Iterable[Trigger]) -> Trigger | None:
    """The trigger the message names first: by characters, or by sound for three syllables or more.

    The first danger named decides which number comes first ("孩子误喝了农药": a poisoning, 120;
    "他拿刀砍我，流了好多血": violence, 110); at one place, the phrase as written, then the longer.
    Two-syllable homophones are too often everyday words across a word boundary (拿到 for 拿刀,
    留学 for 流血), so common two-character typos are listed as triggers of their own instead.
    In a spread or a combination each part is its own evidence, so there a word of two syllables
    or more is also found by sound ("孩子不剪了" for 孩子…不见).
    """
    best: tuple[int, bool, int] | None = None
    found = None
    symbols: set[str] | None = None
    has_experienced = EXPERIENCED in text
    for trigger in triggers:
        phrase = trigger.text
        if SPREAD in phrase or ALTERNATIVE in phrase:
            symbols = symbols if symbols is not None else set(text) | set(key)
            if symbols.isdisjoint(_last_starts(phrase, trigger.key)):
                continue  # no word of its last part can start anywhere: the usual case, and cheap
            at, by_sound = trigger_at(text, key, trigger)
        else:  # inline: most triggers are plain phrases, and this loop runs on every message
            at, by_sound = text.find(phrase), False
            if at < 0 and has_experienced and len(phrase) >= 2:
                at = text.find(experienced(phrase))
            if at < 0 and len(trigger.key) >= 3:
                at, by_sound = key.find(trigger.key), True
        # At one place, the phrase written out beats its homophone (大出血 is not 打出血).
        rank = (at, by_sound, -len(trigger.text))
        if at >= 0 and (best is None or rank < best):
            best, found = rank, trigger
    return found


def folded_only(text: str, key: str, exact_key: str, trigger: Trigger) -> bool:
    """The trigger is in the message only by its folded sound key (zh/z, ang/an…), not as written nor
    by its exact sound: a typo keeps the syllable (打 typed 大), an accent fold changes it (欠 for 抢)."""
    at, by_sound = trigger_at(text, key, trigger)
    if at < 0 or not by_sound or not exact_key:
        return False
    return trigger_at("", exact_key, Trigger(trigger.intent, trigger.text, _exact_key(trigger.text)))[0] < 0


@functools.lru_cache(maxsize=4096)
def _exact_key(text: str) -> str:
    return sound_keys(text)[1]


def experienced(phrase: str) -> str:
    """A phrase with 过 after its first character: what was done once (割腕: 割过腕, 跳楼: 跳过楼)."""
    return phrase[0] + EXPERIENCED + phrase[1:]


def trigger_at(text: str, key: str, trigger: Trigger) -> tuple[int, bool]:
    """Where the trigger starts in text (or, failing that, in the sound key), and whether by sound; -1 if absent."""
    if not is_pattern(trigger.text):
        at = text.find(trigger.text)
        if at < 0 and len(trigger.text) >= 2 and EXPERIENCED in text:
            at = text.find(experienced(trigger.text))
        if at < 0 and len(trigger.key) >= 3:
            return key.find(trigger.key), True  # one symbol a syllable: about the same place as in the text
        return at, False
    by_text, by_sound = _patterns(trigger.text, trigger.key)
    found = by_text.search(text)
    if found is not None:
        return found.start(), False
    found = by_sound.search(key) if by_sound is not None else None
    return (found.start(), True) if found is not None else (-1, False)


def spans(text: str, key: str, trigger: Trigger) -> list[tuple[int, int]]:
    """Every place (start, end) the trigger is found in text, or when nowhere there, in the sound key."""
    if not is_pattern(trigger.text):
        found = _found(trigger.text, text)
        if len(trigger.text) >= 2 and EXPERIENCED in text:
            found += _found(experienced(trigger.text), text)
        if not found and len(trigger.key) >= 3:
            found = _found(trigger.key, key)
        return found
    by_text, by_sound = _patterns(trigger.text, trigger.key)
    found = [(m.start(), m.end()) for m in by_text.finditer(text)]
    if not found and by_sound is not None:
        found = [(m.start(), m.end()) for m in by_sound.finditer(key)]
    return found


def _found(phrase: str, text: str) -> list[tuple[int, int]]:
    """Every place of a plain phrase, left to right and not overlapping, as re.finditer finds them:
    a pattern per phrase would be compiled anew whenever the danger checks' phrases outnumber re's cache."""
    if not phrase:
        return [(at, at) for at in range(len(text) + 1)]
    out = []
    at = text.find(phrase)
    while at >= 0:
        out.append((at, at + len(phrase)))
        at = text.find(phrase, at + len(phrase))
    return out


@functools.lru_cache(maxsize=4096)
def _last_starts(text: str, key: str) -> frozenset[str]:
    """The characters and sounds the words of a pattern's last part begin with."""
    last = text.partition(NOT_BETWEEN)[0].split(SPREAD)[-1], key.partition(NOT_BETWEEN)[0].split(SPREAD)[-1]
    words = last[0].split(ALTERNATIVE) + last[1].split(ALTERNATIVE)
    return frozenset(word[0] for word in words if word)


@functools.lru_cache(maxsize=4096)
def _patterns(text: str, key: str) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    """A spread or combination as a regular expression over the text, and over the sound key
    (only its words of two syllables or more: a single sound is too often another word)."""
    text, _, text_barred = text.partition(NOT_BETWEEN)
    key, _, key_barred = key.partition(NOT_BETWEEN)
    by_text = _joined([part.split(ALTERNATIVE) for part in text.split(SPREAD)], text_barred)
    sounds = [[w for w in part.split(ALTERNATIVE) if len(w) >= 2] for part in key.split(SPREAD)]
    return by_text, _joined(sounds, key_barred) if all(sounds) else None


def _joined(parts: list[list[str]], barred: str = "") -> re.Pattern[str]:
    # Lazy gaps: the parts as close together as they come; a gap never crosses a line break.
    alternations = ["(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True) if w) + ")"
                    for words in parts]
    # A look at the first character lets the regex engine skip the many places no first word starts at.
    firsts = "".join(sorted({re.escape(w[0]) for w in parts[0] if w}))
    gap = f"[^\\n{re.escape(barred)}]{{0,{SPREAD_GAP}}}?" if barred else f".{{0,{SPREAD_GAP}}}?"
    return re.compile(f"(?=[{firsts}])" + gap.join(alternations))
