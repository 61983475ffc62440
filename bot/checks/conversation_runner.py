"""Runs conversations through a channel (the engine itself, Telegram through PTB, the HTTP API, WeChat) and checks each reply."""

from __future__ import annotations

import importlib
import re
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.catalogue.loader import Catalogue
from bot.checks.conversation_format import (
    FEEDBACK_BUTTONS,
    Conversation,
    Exchange,
    Expectation,
    Message,
)
from bot.engine import Engine, Reply

# Where each channel's conversation harness lives, imported only when asked for, so running the
# conversations on the engine does not load python-telegram-bot. A harness is an async context
# manager around one engine that yields a function giving citizen n their own Channel.
HARNESSES = {
    "engine": "bot.checks.conversation_runner:engine_harness",
    "telegram": "bot.checks.telegram_harness:conversation_harness",
    "wechat": "bot.checks.wechat_harness:conversation_harness",
    "http": "bot.checks.http_harness:conversation_harness",
}
CHANNELS = tuple(HARNESSES)
Harness = Callable[[Engine], AbstractAsyncContextManager[Callable[[int], "Channel"]]]


@dataclass(frozen=True, slots=True)
class Said:
    """What the bot said back to one user turn, as the channel showed it."""

    text: str
    buttons: tuple[str, ...]
    intent: str | None
    confidence: float
    kind: str


class ButtonMissing(Exception):
    """The citizen cannot press that button: the bot's last reply did not offer it."""


class Channel(Protocol):
    """One citizen talking to the bot through some channel."""

    async def send(self, text: str) -> Said:
        """Type a message."""
        ...

    async def press(self, title: str) -> Said:
        """Tap a button of the last reply by its title; raises ButtonMissing when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class Step:
    """One exchange as it ran: what the bot said (None when the press was impossible) and what failed."""

    exchange: Exchange
    said: Said | None
    failures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConversationResult:
    """A conversation and its steps, up to the first that failed."""

    conversation: Conversation
    steps: tuple[Step, ...]

    @property
    def is_passed(self) -> bool:
        """Every exchange ran and met its expectation."""
        return len(self.steps) == len(self.conversation.exchanges) and not any(s.failures for s in self.steps)


def _said(reply: Reply, *, with_feedback: bool = False) -> Said:
    buttons = tuple(b.title for b in reply.buttons)
    if with_feedback and reply.is_rateable:
        buttons += tuple(FEEDBACK_BUTTONS)
    return Said(reply.text, buttons, reply.intent, reply.confidence, reply.kind)


def offered(titles: Sequence[str]) -> str:
    return "、".join(f"[{t}]" for t in titles) if titles else "没有按钮"


class EngineChannel:
    """Turns go straight to Engine.reply / choose / feedback; 👍/👎 are offered where Telegram offers them."""

    def __init__(self, engine: Engine, user: str = "conversation-test") -> None:
        self._engine = engine
        self._user = user
        self._last: Reply | None = None

    async def send(self, text: str) -> Said:
        self._last = await self._engine.reply(self._user, text, channel="test")
        return _said(self._last, with_feedback=True)

    async def press(self, title: str) -> Said:
        last = self._last
        if title in FEEDBACK_BUTTONS:
            if last is None or last.intent is None or not last.is_rateable:
                raise ButtonMissing(f"上一轮回复下面没有 [{title}]：只有关于服务的回答下面才有 👍/👎")
            self._last = None
            thanks = self._engine.feedback(self._user, last.intent, FEEDBACK_BUTTONS[title], channel="test")
            return Said(thanks, (), last.intent, 1.0, "feedback")
        buttons = last.buttons if last else ()
        button = next((b for b in buttons if b.title == title), None)
        if button is None:
            raise ButtonMissing(f"上一轮回复没有 [{title}] 按钮；实际按钮：{offered([b.title for b in buttons])}")
        self._last = self._engine.choose(self._user, button.intent, channel="test")
        return _said(self._last, with_feedback=True)


def _is_in(intent: str | None, topic: str) -> bool:
    return intent is not None and (intent == topic or intent.startswith(topic + "."))


def check(expect: Expectation, said: Said, known: Collection[str] = ()) -> tuple[str, ...]:
    """Every way the reply misses the expectation, in plain Chinese (empty when it meets it)."""
    got = said.intent or "无（没有匹配到意图）"
    failures = []
    if expect.intent and said.intent != expect.intent:
        failures.append(f"意图应为 {expect.intent}，实际是 {got}" + _unknown_hint(expect.intent, known, exact=True))
    if expect.topic and not _is_in(said.intent, expect.topic):
        failures.append(f"意图应属于话题 {expect.topic}，实际是 {got}" + _unknown_hint(expect.topic, known, exact=False))
    if expect.kinds and said.kind not in expect.kinds:
        failures.append(f"回复类型应为 {' 或 '.join(expect.kinds)}，实际是 {said.kind}")
    failures += [f"回复里没有“{t}”" for t in expect.contains if t not in said.text]
    failures += [f"回复里不应该有“{t}”" for t in expect.not_contains if t in said.text]
    failures += [f"回复不匹配正则 /{p}/" for p in expect.matches if not re.search(p, said.text)]
    missing = [b for b in expect.buttons if b not in said.buttons]
    if missing:
        failures.append(f"缺少按钮 {offered(missing)}；实际按钮：{offered(said.buttons)}")
    return tuple(failures)


def _unknown_hint(ident: str, known: Collection[str], *, exact: bool) -> str:
    if not known or any((k == ident if exact else _is_in(k, ident)) for k in known):
        return ""
    return f"（意图目录里没有 '{ident}'：是写错了，还是这个意图还没有写？）"


async def run_conversation(conversation: Conversation, channel: Channel, known: Collection[str] = ()) -> ConversationResult:
    """Play the user turns in order, checking each reply; stop at the first that fails."""
    steps: list[Step] = []
    for exchange in conversation.exchanges:
        said_by_user = exchange.said
        try:
            if isinstance(said_by_user, Message):
                said = await channel.send(said_by_user.text)
            else:
                said = await channel.press(said_by_user.title)
        except ButtonMissing as exc:
            steps.append(Step(exchange, None, (str(exc),)))
            break
        failures = check(exchange.expect, said, known)
        steps.append(Step(exchange, said, failures))
        if failures:
            break
    return ConversationResult(conversation, tuple(steps))


OnResult = Callable[[ConversationResult], Any]


@asynccontextmanager
async def engine_harness(engine: Engine) -> AsyncIterator[Callable[[int], Channel]]:
    """Citizens talking to the engine itself, each under a user of their own."""
    yield lambda n: EngineChannel(engine, f"conversation-test-{n}")


def harness(channel: str) -> Harness:
    """The conversation harness of a channel named in HARNESSES."""
    if channel not in HARNESSES:
        raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    module, name = HARNESSES[channel].split(":")
    found: Harness = getattr(importlib.import_module(module), name)
    return found


async def run_conversations(conversations: Sequence[Conversation], catalogue: Catalogue, channel: str = "engine",
                            on_result: OnResult | None = None) -> list[ConversationResult]:
    """Run each conversation as a new citizen (empty context) on the given channel."""
    start = harness(channel)
    known = frozenset(catalogue.intents)
    results: list[ConversationResult] = []
    async with start(Engine(catalogue)) as citizen:
        for n, conversation in enumerate(conversations):
            # A user of its own per conversation, so no context carries over from the one before.
            result = await run_conversation(conversation, citizen(n), known)
            results.append(result)
            if on_result:
                on_result(result)
    return results
