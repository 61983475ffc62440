"""The channels' topic menu (intents/menu.yaml): its areas read and checked against the intents."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.catalogue.collector import (
    Collector,
    check_keys,
    did_you_mean,
    line_of,
    string_list,
    text_value,
)
from bot.catalogue.model import EMERGENCY, Intent, Menu, MenuArea, Role
from bot.catalogue.yamlfile import LineDict, LineList
from bot.errors import Source

_MENU_KEYS = {"areas", "unlisted"}
_AREA_KEYS = {"key", "title", "intents"}
# An area key travels in a button's data (m:<key>), which Telegram caps at 64 bytes.
_AREA_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass
class RawMenu:
    """A menu as written, with the line of each intent it names; checked once every intent is known."""

    src: str
    line: int
    areas: list[tuple[str, str, list[tuple[str, int]], int]] = field(default_factory=list)
    unlisted: list[tuple[str, int]] = field(default_factory=list)


def read_menu(c: Collector, src: str, data: Any) -> RawMenu:
    """`menu: {areas: [{key, title, intents}], unlisted: [...]}`; malformed parts are errors at their line."""
    menu = RawMenu(src, line_of(data))
    if not isinstance(data, LineDict):
        c.error(src, line_of(data), "'menu' 下面应该写 areas:（菜单分区列表），可选 unlisted:")
        return menu
    check_keys(c, src, data, _MENU_KEYS, "menu ")
    areas = data.get("areas")
    if not isinstance(areas, LineList):
        c.error(src, line_of(data, "areas"), "'menu' 的 'areas' 应该是分区列表（每个分区以“- key:”开头）")
        areas = LineList()
        areas.item_lines = []
    for item, line in zip(areas, areas.item_lines, strict=True):
        if not isinstance(item, LineDict):
            c.error(src, line, "'areas' 列表里的每一项都应是一个菜单分区（含 key、title、intents）")
            continue
        check_keys(c, src, item, _AREA_KEYS, "菜单分区")
        key = text_value(c, src, item, "key", "菜单分区")
        if key is None:
            continue
        if not _AREA_KEY.match(key):
            c.error(src, line_of(item, "key"),
                    f"菜单分区 key '{key}' 格式不对；只用小写字母、数字和下划线，不超过 32 个字符，如 legal")
            continue
        label = f"菜单分区 '{key}' "
        title = text_value(c, src, item, "title", label) or key
        menu.areas.append((key, title, string_list(c, src, item, "intents", label), line))
    menu.unlisted = string_list(c, src, data, "unlisted", "menu ")
    return menu


def link_menu(c: Collector, raw: RawMenu | None, ids: Collection[str], intents: Mapping[str, Intent],
              intents_shown: str) -> Menu:
    """The Menu, after checking that every intent it names exists and that every service intent has a place."""
    if raw is None:
        if any(_needs_place(intent) for intent in intents.values()):
            c.warn(intents_shown, 0, "没有菜单（menu:）；Telegram 的 /menu 将没有按钮。请写 intents/menu.yaml，见 docs/operator-guide.md")
        return Menu()
    areas: list[MenuArea] = []
    seen_at: dict[str, int] = {}
    placed: dict[str, str] = {}  # intent id -> the area listing it (or "unlisted")
    for key, title, listed, line in raw.areas:
        if key in seen_at:
            c.error(raw.src, line, f"菜单分区 key '{key}' 重复；第一次出现在 {raw.src}:{seen_at[key]}")
            continue
        seen_at[key] = line
        if not listed:
            c.error(raw.src, line, f"菜单分区 '{key}' 没有列出任何意图；请在它的 intents: 下至少写一个意图 id")
        kept = _known(c, raw.src, listed, ids, placed, f"菜单分区 '{key}'")
        areas.append(MenuArea(key, title, tuple(kept), Source(raw.src, line)))
    unlisted = _known(c, raw.src, raw.unlisted, ids, placed, "unlisted")
    for intent in sorted(intents.values(), key=lambda i: i.source):
        if intent.id not in placed and _needs_place(intent):
            c.warn(intent.source.path, intent.source.line,
                   f"意图 '{intent.id}' 不在任何菜单分区里，群众在 Telegram 的 /menu 里找不到它；"
                   f"请把它加到 {raw.src} 的一个分区，或写进 unlisted（有意不放进菜单）")
    return Menu(tuple(areas), frozenset(unlisted))


def _known(c: Collector, src: str, listed: list[tuple[str, int]], ids: Collection[str],
           placed: dict[str, str], where: str) -> list[str]:
    """The listed ids that exist, each once; the others are errors at their line.

    An intent may stand in two areas, but not twice in one, nor in an area and in unlisted.
    """
    kept: list[str] = []
    for intent_id, line in listed:
        first = placed.get(intent_id)
        if intent_id not in ids and c.may_define(intent_id):
            continue  # its file could not be read: that error says enough
        if intent_id not in ids:
            hint = did_you_mean(intent_id, ids) or "；请写已有的意图 id"
            c.error(src, line, f"{where} 里的意图 '{intent_id}' 不存在{hint}")
        elif intent_id in kept:
            c.error(src, line, f"{where} 里的意图 '{intent_id}' 写了两次；请只留一处")
        elif first is not None and where == "unlisted":  # unlisted is read after every area
            c.error(src, line, f"意图 '{intent_id}' 已经在 {first} 里，又写进了 unlisted；请删去其中一处")
        else:
            placed.setdefault(intent_id, where)
            kept.append(intent_id)
    return kept


def _needs_place(intent: Intent) -> bool:
    """Service intents belong in the menu; conversation (small talk) and emergency do not."""
    return intent.id != EMERGENCY and Role.SMALL_TALK not in intent.roles
