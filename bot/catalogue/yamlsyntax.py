"""YAML syntax errors told in Chinese, at the line the mistake most likely is (not where the parser noticed it)."""

from __future__ import annotations

import re
from collections import Counter

import yaml

NEAR = 3  # lines before the parser's line in which a mis-indented line is looked for
_BLOCK_SCALAR = re.compile(r":\s*[|>][-+0-9]*\s*(#.*)?$")
_OPENS = re.compile(r"(:|^-|\s-)\s*(#.*)?$")  # a key with its value below, or a bare "-"
_ITEM = re.compile(r"^-\s+")
_KEY = re.compile(r"^(\s*(?:-\s+)?)([^\s:#'\"\[{-][^:#]*):(\s|$)")
# The parser's words, and what they mean to someone editing the file.
_REASONS = (
    ("'\\t'", "这一行用了 Tab 键缩进；请全部改用空格"),
    ("mapping values are not allowed", "这一行多了一个冒号“:”，或者缩进不对；如果文字里要写冒号，请把整段文字放进引号里"),
    ("could not find expected ':'", "这一行缺少冒号“:”；键和内容之间要写冒号和一个空格，如 title: 法律援助"),
    ("while scanning a quoted scalar", "这一行的引号没有配对；请补上结尾的引号"),
    ("while parsing a flow", "这一行的方括号 [ ] 或大括号 { } 没有配对；请补上结尾的括号"),
    ("expected <block end>", "这一行的缩进和上下文对不齐；同一层的内容要上下对齐，列表的每一项以“- ”开头"),
    ("did not find expected", "这一行的缩进和上下文对不齐；同一层的内容要上下对齐，列表的每一项以“- ”开头"),
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _over_indented(lines: list[str], upto: int) -> tuple[int, int] | None:
    """The last line (1-based) before `upto` indented deeper than the line above allows, and by how much."""
    found = None
    previous: str | None = None
    block_at: int | None = None  # indent of the key whose | or > text we are inside
    for number, line in enumerate(lines[:upto], 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = _indent(line)
        if block_at is not None:
            if indent > block_at:
                continue
            block_at = None
        if previous is not None and indent > _indent(previous):
            body = previous.strip()
            allowed = _indent(previous) + (len(_ITEM.match(body)[0]) if _ITEM.match(body) else 0)
            opens = _OPENS.search(body) is not None or body.count("[") > body.count("]")
            if not opens and indent != allowed:
                found = (number, indent - allowed)
        if _BLOCK_SCALAR.search(stripped):
            block_at = indent + (len(_ITEM.match(stripped)[0]) if _ITEM.match(stripped) else 0)
        previous = line
    if found is not None and found[0] >= upto - NEAR:
        return found
    return None


def _out_of_line(lines: list[str], upto: int) -> tuple[int, int, str] | None:
    """The line near `upto` whose key stands at another column than the same key everywhere else in the file.

    Catalogue files repeat one shape (every answer has text:, source:, section:), so the odd one out is the
    mistake, even where the parser only notices it a line later.
    """
    columns: dict[str, Counter[int]] = {}
    keyed: dict[int, tuple[str, int]] = {}
    for number, line in enumerate(lines, 1):
        if (m := _KEY.match(line)) is not None:
            key, column = m[2].strip(), len(m[1])
            columns.setdefault(key, Counter())[column] += 1
            keyed[number] = (key, column)
    for number in range(upto, max(0, upto - NEAR) - 1, -1):
        if number not in keyed:
            continue
        key, column = keyed[number]
        usual, seen = columns[key].most_common(1)[0]
        if column != usual and seen >= 2:
            return number, column - usual, key
    return None


def parser_line(exc: yaml.YAMLError) -> int:
    """The 1-based line a YAML error points at, or 0.

    An error found at the end of the file (an unclosed quote or bracket) points where the
    unclosed thing began, which is the line the operator has to fix.
    """
    problem, context = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    if context is not None and "end of stream" in str(getattr(exc, "problem", "")):
        return int(context.line) + 1
    mark = problem or context
    return int(mark.line) + 1 if mark else 0


def explain(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, str]:
    """The line to fix and why, in Chinese."""
    line = parser_line(exc)
    lines = text.splitlines()
    if line and "'\\t'" not in str(exc.problem):
        odd = _out_of_line(lines, line)
        if odd is not None:
            more = f"多缩进了 {odd[1]} 格" if odd[1] > 0 else f"少缩进了 {-odd[1]} 格"
            return odd[0], f"这一行的 '{odd[2]}:' 比文件里其他的 '{odd[2]}:' {more}；请和它们对齐"
        over = _over_indented(lines, line)
        if over is not None:
            return over[0], f"这一行比上一行多缩进了 {over[1]} 格；同一层的内容要上下对齐"
    said = f"{exc.context or ''} {exc.problem or ''}"
    reason = next((why for words, why in _REASONS if words in said), "请检查这一行的缩进、冒号和引号")
    return line, reason
