"""Telegram's HTML as a user sees it: what parse_mode HTML renders to, and what Telegram refuses."""

from __future__ import annotations

import html
import re

MAX_TEXT = 4096
_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                   "code", "pre", "blockquote", "tg-emoji"})
_MARKUP = re.compile(r"<(/?)([a-zA-Z-]*)[^>]*>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[<>&]")


class BadRequest(Exception):
    """What Telegram answers with 400 and a description."""


def render_html(text: str) -> str:
    """The text a user sees for parse_mode HTML; raises BadRequest where Telegram would refuse it."""
    out: list[str] = []
    pos = 0
    for found in _MARKUP.finditer(text):
        out.append(text[pos:found.start()])
        pos = found.end()
        token = found.group(0)
        if found.group(3) is not None:
            out.append(html.unescape(token))
        elif found.group(2) and found.group(2).lower() in _TAGS:
            continue
        else:
            offset = len(text[:found.start()].encode())
            raise BadRequest(f"Bad Request: can't parse entities: unsupported start tag or "
                             f"unescaped {token[:1]!r} at byte offset {offset}")
    out.append(text[pos:])
    return "".join(out)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2
