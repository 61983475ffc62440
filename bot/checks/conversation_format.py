"""Conversation test files (tests/conversations/*.yaml) read into Conversation objects, problems with file:line."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.catalogue.collector import Collector, check_keys, line_of
from bot.catalogue.model import ID_PATTERN
from bot.engine import Kind
from bot.errors import BotError, Problem, Source
from bot.catalogue.yamlfile import LineDict, LineList, read_yaml

# Telegram puts these two under every answer; pressing one rates the answer above it.
FEEDBACK_BUTTONS = {"👍": True, "👎": False}
# Reply.kind values, plus "feedback" for the thank-you after a 👍/👎.
KINDS = (*(kind.value for kind in Kind), "feedback")

_ID = ID_PATTERN
_FILE_KEYS = {"conversations"}
_CONVERSATION_KEYS = {"name", "turns"}
_TURN_KEYS = {"user", "press", "bot"}
_EXPECT_KEYS = {"intent", "topic", "kind", "contains", "not_contains", "matches", "buttons"}


@dataclass(frozen=True, slots=True)
class Message:
    """The citizen types a message."""

    text: str
    source: Source


@dataclass(frozen=True, slots=True)
class Press:
    """The citizen taps a button offered by the bot's previous reply, named by its title."""

    title: str
    source: Source


UserTurn = Message | Press


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the bot's reply to one user turn must be; empty fields are not checked."""

    source: Source
    intent: str | None = None
    topic: str | None = None
    kinds: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    matches: tuple[str, ...] = ()
    buttons: tuple[str, ...] = ()

    def describe(self) -> str:
        """The expectation in one line of plain Chinese, for failure reports."""
        parts = []
        if self.intent:
            parts.append(f"意图 {self.intent}")
        if self.topic:
            parts.append(f"话题 {self.topic}（含 {self.topic}.*）")
        if self.kinds:
            parts.append("类型 " + " 或 ".join(self.kinds))
        parts += [f"回复包含“{t}”" for t in self.contains]
        parts += [f"回复不含“{t}”" for t in self.not_contains]
        parts += [f"回复匹配 /{p}/" for p in self.matches]
        if self.buttons:
            parts.append("有按钮 " + "、".join(f"[{b}]" for b in self.buttons))
        return "；".join(parts)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One user turn and the expectation on the bot's reply to it."""

    said: UserTurn
    expect: Expectation


@dataclass(frozen=True, slots=True)
class Conversation:
    """A named conversation: the exchanges in order, and where it starts."""

    name: str
    exchanges: tuple[Exchange, ...]
    source: Source


class ConversationFileError(BotError):
    """One or more conversation files cannot be used; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def shown_path(path: Path) -> str:
    """The path as an operator would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def conversation_files(paths: Iterable[Path], problems: list[Problem]) -> list[Path]:
    """The .yaml/.yml files named, or found under the folders named; a missing path is a problem."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            problems.append(Problem(Source(str(path)), "找不到这个文件或文件夹"))
    return list(dict.fromkeys(found))


def load_conversations(paths: Iterable[Path]) -> list[Conversation]:
    """Every conversation in the files; raises ConversationFileError listing all problems at once."""
    paths = list(paths)
    problems: list[Problem] = []
    files = conversation_files(paths, problems)
    conversations = [c for path in files for c in read_conversations(path, shown_path(path), problems)]
    if not problems and not conversations:
        problems.append(Problem(Source(", ".join(str(p) for p in paths)), "没有找到任何对话；对话文件应为 *.yaml"))
    if problems:
        raise ConversationFileError(problems)
    return conversations


def read_conversations(path: Path, shown_as: str, problems: list[Problem]) -> list[Conversation]:
    """The conversations of one file; problems are appended (the result is partial when any)."""
    reader = _Reader(shown_as, problems)
    before = len(problems)
    data = read_yaml(path, shown_as, problems)
    if data is None:
        if len(problems) == before:
            reader.error(1, "文件是空的；请在最上层写 'conversations:'，下面列出对话")
        return []
    if not isinstance(data, LineDict) or not isinstance(data.get("conversations"), LineList):
        reader.error(line_of(data) or 1, "对话文件的最上层应该是 'conversations:'，下面是对话列表（每个以“- name:”开头）")
        return []
    reader.keys(data, _FILE_KEYS, "对话文件")
    if not data["conversations"]:
        reader.error(line_of(data, "conversations"), "'conversations' 下面还没有对话；每个对话以“- name:”开头")
    out: list[Conversation] = []
    names: dict[str, int] = {}
    items = data["conversations"]
    for item, line in zip(items, items.item_lines, strict=True):
        conversation = reader.conversation(item, line)
        if conversation is None:
            continue
        if conversation.name in names:
            reader.error(conversation.source.line,
                         f"对话名称 '{conversation.name}' 重复；第一次出现在第 {names[conversation.name]} 行")
            continue
        names[conversation.name] = conversation.source.line
        out.append(conversation)
    return out


class _Reader:
    """Reads one file's conversations, collecting problems instead of stopping at the first."""

    def __init__(self, src: str, problems: list[Problem]) -> None:
        self.src = src
        self.problems = problems

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(Source(self.src, line), message))

    def keys(self, obj: LineDict, allowed: set[str], what: str) -> bool:
        """An error for each key of obj that is not allowed (as the catalogue's files get); True when none."""
        c = Collector(Path("."))
        check_keys(c, self.src, obj, allowed, what)
        self.problems.extend(c.problems)
        return not c.problems

    def text(self, value: Any, line: int, what: str) -> str | None:
        """A scalar as text (12348 reads as a number; it is meant as text)."""
        if isinstance(value, bool):
            self.error(line, f"{what}被读成了是/否；请给这段文字加上引号，例如 \"yes\"")
            return None
        if isinstance(value, (str, int, float)) and str(value).strip():
            return str(value).strip()
        self.error(line, f"{what}应该是一段文字，不能为空")
        return None

    def texts(self, obj: LineDict, key: str, what: str) -> tuple[str, ...]:
        """One text or a list of texts under key."""
        value = obj[key]
        if isinstance(value, LineList):
            found = [self.text(v, n, what) for v, n in zip(value, value.item_lines, strict=True)]
            if not value:
                self.error(line_of(obj, key), f"{what}的列表是空的")
            return tuple(t for t in found if t is not None)
        one = self.text(value, line_of(obj, key), what)
        return (one,) if one is not None else ()

    def conversation(self, item: Any, line: int) -> Conversation | None:
        if not isinstance(item, LineDict):
            self.error(line, "'conversations' 下的每一项都应是一个对话，含 name 和 turns")
            return None
        self.keys(item, _CONVERSATION_KEYS, "对话")
        name = self.text(item.get("name"), line_of(item, "name"), "对话的 name（名称）")
        turns = item.get("turns")
        if not isinstance(turns, LineList) or not turns:
            self.error(line_of(item, "turns"), "对话缺少 'turns'：请列出对话的每一轮（- user: …，- bot: …）")
            return None
        exchanges = self.exchanges(turns)
        if name is None or exchanges is None:
            return None
        return Conversation(name, exchanges, Source(self.src, item.line))

    def exchanges(self, turns: LineList) -> tuple[Exchange, ...] | None:
        """Pairs each user turn with the bot turn after it; every rule on the order is checked here."""
        out: list[Exchange] = []
        pending: UserTurn | None = None
        offered: tuple[str, ...] = ()
        is_ok = True
        after_bad = False  # the turn before was unreadable: do not pile order errors on top
        for turn, line in zip(turns, turns.item_lines, strict=True):
            parsed = self.turn(turn, line)
            if parsed is None:
                is_ok, pending, after_bad = False, None, True
                continue
            checks_order, after_bad = not after_bad, False
            if isinstance(parsed, Expectation):
                if pending is None and checks_order:
                    self.error(line, "这一轮 bot 前面没有用户的话；每个 bot 都要紧跟在一个 user 或 press 后面")
                    is_ok = False
                elif pending is not None:
                    out.append(Exchange(pending, parsed))
                offered, pending = parsed.buttons, None
                continue
            if pending is not None:
                self.error(pending.source.line, "用户这一轮后面没有写期望；请在它下面加一轮 bot: 写明机器人应该怎么回答")
                is_ok = False
            elif (isinstance(parsed, Press) and checks_order and parsed.title not in offered
                    and parsed.title not in FEEDBACK_BUTTONS):
                listed = "、".join(offered) if offered else "（没有写 buttons）"
                self.error(line, f"按下的按钮 '{parsed.title}' 不在上一轮 bot 的 buttons 里（上一轮写的是：{listed}）；"
                                 "请先在上一轮 bot 下写 buttons: [" + parsed.title + "]")
                is_ok = False
            pending, offered = parsed, ()
        if pending is not None:
            self.error(pending.source.line, "用户这一轮后面没有写期望；请在它下面加一轮 bot: 写明机器人应该怎么回答")
            is_ok = False
        return tuple(out) if is_ok else None

    def turn(self, turn: Any, line: int) -> UserTurn | Expectation | None:
        if not isinstance(turn, LineDict) or not turn:
            self.error(line, "每一轮应写成 '- user: 用户的话'、'- press: 按钮标题' 或 '- bot:' 加期望")
            return None
        if not self.keys(turn, _TURN_KEYS, "这一轮"):
            return None
        if len(turn) > 1:
            self.error(line, "一轮只能写 user、press、bot 中的一个；机器人的期望请另起一行 '- bot:'")
            return None
        key = next(iter(turn))
        if key == "bot":
            return self.expectation(turn["bot"], line_of(turn, "bot"))
        what = "user（用户说的话）" if key == "user" else "press（按钮标题）"
        raw = turn[key]
        # A message of spaces is a real citizen input (the bot asks to rephrase); keep it as written.
        text = raw if key == "user" and isinstance(raw, str) and raw else self.text(raw, line, what)
        if text is None:
            return None
        return Message(text, Source(self.src, line)) if key == "user" else Press(text, Source(self.src, line))

    def expectation(self, value: Any, line: int) -> Expectation | None:
        if value is not None and not isinstance(value, LineDict):
            self.error(line, "bot 下面要另起一行写“键: 值”，例如 topic: legal_aid；可用的键："
                             + "、".join(sorted(_EXPECT_KEYS)))
            return None
        if not value:
            self.error(line, "bot 下面没有写期望；至少写一项："
                             + "、".join(sorted(_EXPECT_KEYS)) + "（例如 topic: legal_aid）")
            return None
        ok = self.keys(value, _EXPECT_KEYS, "bot 的期望")
        fields: dict[str, Any] = {}
        for key in ("intent", "topic"):
            if key in value:
                ident = self.text(value[key], line_of(value, key), key)
                if ident is not None and not _ID.match(ident):
                    self.error(line_of(value, key), f"'{ident}' 不是意图 id 的写法"
                                                  "（小写字母、数字、下划线，可用点分层，如 legal_aid.apply）")
                    ident = None
                ok = ok and ident is not None
                fields[key] = ident
        for key in ("kind", "contains", "not_contains", "matches", "buttons"):
            if key in value:
                fields[key] = self.texts(value, key, key)
                ok = ok and bool(fields[key])
        for kind in fields.get("kind", ()):
            if kind not in KINDS:
                self.error(line_of(value, "kind"), f"未知的 kind '{kind}'；可用的：{'、'.join(KINDS)}")
                ok = False
        for pattern in fields.get("matches", ()):
            try:
                re.compile(pattern)
            except re.error as exc:
                self.error(line_of(value, "matches"), f"正则表达式 '{pattern}' 写错了：{exc}")
                ok = False
        if not ok:
            return None
        return Expectation(Source(self.src, line), fields.get("intent"), fields.get("topic"),
                           fields.get("kind", ()), fields.get("contains", ()), fields.get("not_contains", ()),
                           fields.get("matches", ()), fields.get("buttons", ()))
