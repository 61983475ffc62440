"""Problems gathered while catalogue files are read, and readers of checked values from YAML nodes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.catalogue.yamlfile import LineDict, LineList, read_yaml
from bot.errors import Problem, Source


class Collector:
    """Gathers problems while files are read, so validate can print them all at once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.unreadable: list[str] = []  # files that could not be parsed, as shown
        self.unreadable_ids: set[str] = set()  # ids written in those files, found line by line

    def shown(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def read_yaml(self, path: Path, src: str) -> Any:
        """Parse a file (see yamlfile.read_yaml); remember a file that cannot be parsed and the ids it names."""
        before = len(self.problems)
        data = read_yaml(path, src, self.problems)
        if data is None and len(self.problems) > before:
            self.unreadable.append(src)
            self.unreadable_ids |= _ids_in(path)
        return data

    def may_define(self, ident: str) -> bool:
        """Whether a file that could not be read may define this id: then "not found" would mislead."""
        return ident in self.unreadable_ids

    def error(self, src: str, line: int, message: str) -> None:
        self.problems.append(Problem(Source(src, line), message))

    def warn(self, src: str, line: int, message: str) -> None:
        self.problems.append(Problem(Source(src, line), message, is_warning=True))


_ID_LINE = re.compile(r"^\s*(?:-\s+)?id:\s*[\"']?([\w.]+)", re.MULTILINE)


def _ids_in(path: Path) -> set[str]:
    try:
        return set(_ID_LINE.findall(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return set()


def line_of(obj: Any, key: str | None = None) -> int:
    """The line of a YAML node, or of one of its keys."""
    if key is not None and isinstance(obj, LineDict):
        return obj.key_lines.get(key, obj.line)
    return int(getattr(obj, "line", 0))


def check_keys(c: Collector, src: str, obj: LineDict, allowed: set[str], what: str) -> None:
    """An error for each key of obj that is not allowed."""
    for key in obj:
        if key not in allowed:
            known = "、".join(sorted(allowed))
            c.error(src, line_of(obj, key), f"{what}中有未知的键 '{key}'；可用的键：{known}")


def string_list(c: Collector, src: str, parent: LineDict, key: str, what: str) -> list[tuple[str, int]]:
    """A list of non-empty strings under key, with their lines; problems are collected."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, LineList):
        c.error(src, line_of(parent, key), f"{what}的 '{key}' 应该是一个列表（每行以“- ”开头）")
        return []
    out = []
    for item, line in zip(value, value.item_lines, strict=True):
        if isinstance(item, (str, int, float)) and not isinstance(item, bool) and str(item).strip():
            out.append((str(item).strip(), line))
        else:
            c.error(src, line, f"{what}的 '{key}' 里有一项不是文字或为空；请写成一行文字")
    return out


def text_value(c: Collector, src: str, obj: LineDict, key: str, what: str) -> str | None:
    """The text under key, stripped; None (with an error collected) when missing or not text."""
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        c.error(src, line_of(obj, key), f"{what}缺少 '{key}'；请补上")
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        c.error(src, line_of(obj, key), f"{what}的 '{key}' 应该是一段文字")
        return None
    return str(value).strip()


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The known name a typo most likely stands for (a few letters off), or None."""
    found = process.extractOne(name, list(known), scorer=Levenshtein.distance,
                               score_cutoff=max(2, len(name) // 3))
    return str(found[0]) if found else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """"；您是不是想写 'x'？" when a known name is close to `name`, else ""."""
    guess = nearest(name, known)
    return f"；您是不是想写 '{guess}'？" if guess else ""
