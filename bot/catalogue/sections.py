"""The report's sections (一、 parts, (一) sub-parts, 一是 items), so an answer's source.section can be checked."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

_NUM = "一二三四五六七八九十"
_PART = re.compile(rf"^([{_NUM}]+)、")
_SUB = re.compile(rf"^\(([{_NUM}]+)\)")
_ITEM = re.compile(rf"([{_NUM}]+)是")
_REF = re.compile(rf"^(?P<part>[{_NUM}]+)(?:\((?P<sub>[{_NUM}]+)\))?(?P<item>[{_NUM}]+)?$")
OPENING = "开头"  # the text before the first part
_SEPARATORS = re.compile(r"[、,，;；]\s*|\s+")


@dataclass(frozen=True, slots=True)
class Sections:
    """Parts by number (一, 二, 三), each with its sub-parts (一, 二, …) and the items (一是, 二是) of each."""

    parts: Mapping[str, Mapping[str, frozenset[str]]]

    def problem(self, ref: str) -> str | None:
        """Why a reference such as 一(六)四 names no section of the report, or None when it does."""
        ref = unicodedata.normalize("NFKC", ref).strip()
        if ref == OPENING:
            return None
        m = _REF.match(ref)
        if m is None:
            return f"章节 '{ref}' 的写法不对；请照报告的标题写，如 一(六)四（第一部分第(六)条的“四是”）、二(一)、三，或“{OPENING}”"
        part, sub, item = m["part"], m["sub"], m["item"]
        if part not in self.parts:
            return f"章节 '{ref}' 在报告中不存在；报告只有 {self.outline()}"
        subs = self.parts[part]
        if sub is None:
            return None if item is None else f"章节 '{ref}' 的写法不对；条目前要写小标题，如 {part}(一){item}"
        if sub not in subs:
            shown = f"只有 {'、'.join(f'({s})' for s in subs)}" if subs else "没有小标题"
            return f"章节 '{ref}' 在报告中不存在；报告第{part}部分{shown}"
        if item is not None and item not in subs[sub]:
            items = "、".join(f"{i}是" for i in sorted(subs[sub], key=_number)) or "（没有分条）"
            return f"章节 '{ref}' 在报告中不存在；{part}({sub}) 里只有 {items}"
        return None

    def outline(self) -> str:
        """The parts and their sub-parts, as an operator would write them: 一(一)至(六)、二(一)至(三)."""
        shown = []
        for part, subs in self.parts.items():
            keys = list(subs)
            shown.append(f"{part}({keys[0]})至({keys[-1]})" if len(keys) > 1 else
                         f"{part}({keys[0]})" if keys else part)
        return "、".join(shown) + f"，以及“{OPENING}”"


def section_refs(section: str) -> list[str]:
    """The references in an answer's section field: 一(三)三、一(六)二 → [一(三)三, 一(六)二]."""
    return [r for r in _SEPARATORS.split(unicodedata.normalize("NFKC", section).strip()) if r]


def _number(numeral: str) -> int:
    if numeral.startswith("十"):
        return 10 + (_NUM.index(numeral[1]) + 1 if len(numeral) > 1 else 0)
    if len(numeral) > 1:
        return (_NUM.index(numeral[0]) + 1) * 10 + (_NUM.index(numeral[-1]) + 1 if numeral[-1] != "十" else 0)
    return _NUM.index(numeral) + 1


@functools.lru_cache(maxsize=4)
def report_sections(text: str) -> Sections:
    """Parse the headings of a report: lines starting 一、 open a part, lines starting (一) a sub-part."""
    parts: dict[str, dict[str, set[str]]] = {}
    current: dict[str, set[str]] | None = None
    for raw in unicodedata.normalize("NFKC", text).splitlines():
        line = raw.strip()
        if (m := _PART.match(line)) is not None:
            current = parts.setdefault(m[1], {})
        elif current is not None and (m := _SUB.match(line)) is not None:
            current[m[1]] = {i for i in _ITEM.findall(line)}
    return Sections(MappingProxyType({p: MappingProxyType({s: frozenset(i) for s, i in subs.items()})
                                      for p, subs in parts.items()}))
