"""Replies as WeChat shows them: one text of at most 2048 bytes, buttons as numbered lines."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.catalogue.loader import Catalogue
from bot.catalogue.model import Role
from bot.engine import Reply
from bot.matching.decision import Outcome

# A passive text reply's Content may hold 2048 bytes of UTF-8; WeChat shows nothing for a longer one.
MAX_REPLY_BYTES = 2048
HOTLINE = "12348"  # the public legal service hotline: a shortened answer keeps the line that gives it
PICK = "回复序号继续了解："
HELPFUL = ("👍", "[强]", "/:strong")  # the emoji, and what WeChat's own 强/弱 stickers send as text
UNHELPFUL = ("👎", "[弱]", "/:weak")
RATE = "这个回答有帮助吗？回复 👍 或 👎"
_SENTENCE_END = re.compile(r"[。！？；!?;\n]")


@dataclass(frozen=True, slots=True)
class MenuChoice:
    """What a menu click opens: one intent's answer, or a list of intents to pick from by number."""

    intent: str | None = None
    title: str = ""
    intents: tuple[str, ...] = ()


def welcome_intent(catalogue: Catalogue) -> str | None:
    """The intent a new follower is greeted with: the one with the `welcome` role, if any."""
    welcoming = catalogue.with_role(Role.WELCOME)
    return welcoming[0].id if welcoming else None


def menu_choice(catalogue: Catalogue, key: str) -> MenuChoice | None:
    """What the menu button with EventKey `key` opens, from intents/menu.yaml: an area's key lists
    its intents, an intent listed in an area answers it; None for any other key."""
    area = catalogue.menu.area(key)
    if area is not None:
        return MenuChoice(title=area.title, intents=tuple(i for i in area.intents if i in catalogue.intents))
    listed = any(key in area.intents for area in catalogue.menu.areas)
    return MenuChoice(intent=key) if listed and key in catalogue.intents else None


def numbered(titles: tuple[str, ...]) -> str:
    """Choices as the lines "1. title", "2. title"…, which a bare number picks."""
    return "\n".join(f"{n}. {title}" for n, title in enumerate(titles, 1))


def reply_text(reply: Reply, catalogue: Catalogue) -> str:
    """The engine's reply with its buttons as numbered lines and, under an answer, the 👍/👎 line."""
    extra = []
    # A clarify reply already lists its options as numbered lines, in the buttons' order.
    if reply.buttons and reply.outcome is not Outcome.CLARIFY:
        extra.append(f"{PICK}\n{numbered(tuple(b.title for b in reply.buttons))}")
    if reply.is_rateable:
        extra.append(RATE)
    return fitted(reply.text, "\n\n".join(extra), catalogue)


def fitted(text: str, extra: str, catalogue: Catalogue, limit: int = MAX_REPLY_BYTES) -> str:
    """`text` then `extra` within `limit` bytes: text is cut after a sentence, its hotline line kept."""
    text = text.strip()
    whole = f"{text}\n\n{extra}" if extra else text
    if _size(whole) <= limit:
        return whole
    lines = text.splitlines()
    hotline = next((line for line in reversed(lines) if HOTLINE in line), None)
    if hotline is None:
        hotline = catalogue.messages["legal_notice"].strip()
    body = "\n".join(line for line in lines if line != hotline)
    tail = "\n\n".join(part for part in (hotline, extra) if part)
    room = limit - _size(tail) - _size("……\n\n")
    head = body.encode()[:max(room, 0)].decode("utf-8", "ignore")
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    head = head[:ends[-1]].rstrip() if ends else head.rstrip() + "……"
    return f"{head}\n\n{tail}"


def _size(text: str) -> int:
    return len(text.encode())
