"""Replies as Telegram sees them: callback data, inline keyboards, the topic menu, escaped text chunks."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import Enum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from bot.catalogue.loader import Catalogue
from bot.catalogue.model import MenuArea
from bot.engine import Reply

PARSE_MODE = "HTML"
MAX_TEXT = int(MessageLimit.MAX_TEXT_LENGTH)
MAX_CALLBACK_BYTES = int(InlineKeyboardButtonLimit.MAX_CALLBACK_DATA)
HELPFUL, UNHELPFUL = "👍", "👎"


class Action(Enum):
    """What a button asks for: an intent's answer, feedback on an answer, or a topic area."""

    INTENT = "i"
    FEEDBACK = "f"
    AREA = "m"


@dataclass(frozen=True, slots=True)
class Press:
    """A parsed button press; `target` is an intent id or an area key."""

    action: Action
    target: str
    is_helpful: bool = False


_ID = r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*"
_CALLBACK = re.compile(rf"^(?:(?P<action>[im]):(?P<target>{_ID})|f:(?P<vote>[01]):(?P<voted>{_ID}))$")


def callback_data(press: Press) -> str:
    """The short string a button carries: `i:<intent>`, `m:<area>`, `f:1:<intent>` or `f:0:<intent>`."""
    if press.action is Action.FEEDBACK:
        return f"f:{int(press.is_helpful)}:{press.target}"
    return f"{press.action.value}:{press.target}"


def parse_callback(data: str | None) -> Press | None:
    """The press a button's data stands for, or None when it is not one of ours (stale or forged)."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        return None
    found = _CALLBACK.match(data)
    if found is None:
        return None
    if found["voted"] is not None:
        return Press(Action.FEEDBACK, found["voted"], is_helpful=found["vote"] == "1")
    return Press(Action(found["action"]), found["target"])


def _button(title: str, press: Press) -> InlineKeyboardButton | None:
    data = callback_data(press)
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        return None  # an id this long cannot travel in a button; the text still names it
    return InlineKeyboardButton(title, callback_data=data)


def _markup(rows: list[list[InlineKeyboardButton | None]]) -> InlineKeyboardMarkup | None:
    kept = [[b for b in row if b is not None] for row in rows]
    kept = [row for row in kept if row]
    return InlineKeyboardMarkup(kept) if kept else None


def reply_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Follow-up or "did you mean" buttons, one a row, then the feedback row when the reply is an answer."""
    rows: list[list[InlineKeyboardButton | None]] = [
        [_button(b.title, Press(Action.INTENT, b.intent))] for b in reply.buttons
    ]
    if reply.is_rateable and reply.intent is not None:
        rows.append([_button(HELPFUL, Press(Action.FEEDBACK, reply.intent, is_helpful=True)),
                     _button(UNHELPFUL, Press(Action.FEEDBACK, reply.intent, is_helpful=False))])
    return _markup(rows)


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard minus its feedback row, so an answer can be rated once."""
    if markup is None:
        return None
    rows: list[list[InlineKeyboardButton | None]] = [
        [b for b in row if not (isinstance(b.callback_data, str) and b.callback_data.startswith("f:"))]
        for row in markup.inline_keyboard
    ]
    return _markup(rows)


def menu_keyboard(catalogue: Catalogue) -> InlineKeyboardMarkup | None:
    """One button per topic area of the catalogue's menu, two a row."""
    buttons = [_button(area.title, Press(Action.AREA, area.key)) for area in catalogue.menu.areas]
    return _markup([buttons[n:n + 2] for n in range(0, len(buttons), 2)])


def area_keyboard(catalogue: Catalogue, area: MenuArea) -> InlineKeyboardMarkup | None:
    """The area's intents that exist in the catalogue, by title, two a row."""
    buttons = [_button(catalogue.title(i), Press(Action.INTENT, i)) for i in area.intents if i in catalogue.intents]
    return _markup([buttons[n:n + 2] for n in range(0, len(buttons), 2)])


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` characters, cut at a line break (or a space) when there is one."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def escape(text: str) -> str:
    """Text made safe for parse_mode HTML: &, < and > become entities."""
    return html.escape(text, quote=False)
