"""Conversation tests for operators: `legalbot test` runs tests/conversations/*.yaml and prints transcripts."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.catalogue.loader import load_catalogue
from bot.config import Settings
from bot.checks.conversation_format import (
    Conversation,
    ConversationFileError,
    Message,
    load_conversations,
    read_conversations,
)
from bot.checks.conversation_runner import ConversationResult, Said, run_conversations

__all__ = [
    "DEFAULT_PATH", "Conversation", "ConversationFileError", "ConversationResult",
    "format_failure", "format_line", "load_conversations", "read_conversations", "run_cli",
]

DEFAULT_PATH = Path("tests/conversations")
_INDENT = "  "


def _bot_lines(said: Said) -> list[str]:
    # Blank lines inside a reply are dropped so that each failure prints as one block.
    lines = [line for line in said.text.splitlines() if line.strip()] or ["（没有文字）"]
    out = [f"{_INDENT}机器人：{lines[0]}"] + [f"{_INDENT}        {line}".rstrip() for line in lines[1:]]
    if said.buttons:
        out.append(f"{_INDENT}        按钮：" + " ".join(f"[{b}]" for b in said.buttons))
    out.append(f"{_INDENT}        （意图 {said.intent or '无'}，置信度 {said.confidence:.2f}，类型 {said.kind}）")
    return out


def format_failure(result: ConversationResult) -> str:
    """The transcript up to the failing turn, what was expected there and what went wrong."""
    conversation = result.conversation
    last = result.steps[-1] if result.steps else None
    number = len(result.steps)
    lines = [f"{conversation.source}: 对话「{conversation.name}」第 {number} 轮不符合期望"]
    for step in result.steps:
        said_by_user = step.exchange.said
        if isinstance(said_by_user, Message):
            lines.append(f"{_INDENT}用户：{said_by_user.text}")
        else:
            lines.append(f"{_INDENT}用户按下：[{said_by_user.title}]")
        if step.said is not None:
            lines += _bot_lines(step.said)
    if last is not None:
        lines.append(f"{_INDENT}期望（{last.exchange.expect.source}）：{last.exchange.expect.describe()}")
        lines.append(f"{_INDENT}问题：")
        lines += [f"{_INDENT}{_INDENT}- {failure}" for failure in last.failures]
    return "\n".join(lines)


def format_line(result: ConversationResult) -> str:
    """One line per conversation: PASS or FAIL, where it is, its name."""
    word = "PASS" if result.is_passed else "FAIL"
    return f"{word} {result.conversation.source}  {result.conversation.name}"


def run_cli(settings: Settings, paths: Sequence[Path], channel: str = "engine", out: TextIO | None = None) -> int:
    """`legalbot test`: check the files, run every conversation, print lines, transcripts, a summary; 1 on any failure."""
    out = out or sys.stdout
    try:
        conversations = load_conversations(list(paths) or [DEFAULT_PATH])
    except ConversationFileError as exc:
        for problem in exc.problems:
            print(problem, file=out)
        print(f"对话文件有 {len(exc.problems)} 个错误，没有运行任何对话；请按提示修改后再运行 legalbot test。", file=out)
        return 1
    catalogue = load_catalogue(settings.intents_dir, settings.content_dir)

    def show(result: ConversationResult) -> None:
        print(format_line(result), file=out, flush=True)

    results = asyncio.run(run_conversations(conversations, catalogue, channel, on_result=show))
    failed = [r for r in results if not r.is_passed]
    for result in failed:
        print(file=out)
        print(format_failure(result), file=out)
    print(file=out)
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed", file=out)
    return 1 if failed else 0
