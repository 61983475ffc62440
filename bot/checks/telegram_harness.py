"""Drive the real Telegram channel (PTB + handlers) against the fake Bot API, one update at a time.

    async with TelegramHarness(engine) as tg:
        replies = await tg.send(1001, "法律援助怎么申请")
        more = await tg.press(1001, replies[-1], "人民调解")

Each call feeds one update through `Application.process_update`, which returns once every
handler has finished, so the replies are all recorded when the call returns; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self

from telegram import Update

from bot.channels.telegram.app import TelegramApp, build_application
from bot.config import Settings
from bot.checks.conversation_format import FEEDBACK_BUTTONS
from bot.checks.conversation_runner import ButtonMissing, Said, offered
from bot.engine import Engine, Feedback, Turn
from bot.checks.fakebotapi import Call, FakeBotApi
from bot.service.delivery import DeliveryCounts, DeliveryPolicy
from bot.service.ratelimit import RateLimiter

# Conversation files send many turns per user in a burst; the rate limit has its own tests.
UNLIMITED = 1_000_000


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the bot sent, as the citizen sees it: rendered text and (label, callback_data) buttons."""

    chat_id: int
    message_id: int
    text: str
    buttons: tuple[tuple[str, str], ...]

    @property
    def labels(self) -> tuple[str, ...]:
        """The button labels, in order."""
        return tuple(label for label, _ in self.buttons)


def sent_message(message: Mapping[str, Any]) -> SentMessage:
    """A SentMessage from a Message object as the fake Bot API returned it."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    buttons = tuple((b["text"], b.get("callback_data", "")) for row in rows for b in row)
    return SentMessage(message["chat"]["id"], message["message_id"], message.get("text", ""), buttons)


class TelegramHarness:
    """An async context manager: starts FakeBotApi and the real PTB Application wired to the engine."""

    def __init__(self, engine: Engine, *, settings: Settings | None = None,
                 limiter: RateLimiter | None = None, delivery: DeliveryPolicy | None = None,
                 read_timeout: float | None = None) -> None:
        self.engine = engine
        self.fake = FakeBotApi()
        self.counts = DeliveryCounts()  # the delivery policy's retries and give-ups
        self._settings = settings
        self._limiter = limiter if limiter is not None else RateLimiter(UNLIMITED)
        self._delivery = delivery
        self._read_timeout = read_timeout
        self._app: TelegramApp | None = None
        self.toasts: list[str] = []

    @property
    def app(self) -> TelegramApp:
        """The running PTB Application."""
        if self._app is None:
            raise RuntimeError("use TelegramHarness as `async with TelegramHarness(engine) as tg:`")
        return self._app

    async def __aenter__(self) -> Self:
        await self.fake.start()
        base = self._settings or Settings.from_env({})
        settings = replace(base, telegram_token=self.fake.token, telegram_base_url=self.fake.base_url)
        app = build_application(settings, self.engine, limiter=self._limiter, with_updater=False,
                                delivery=self._delivery, counts=self.counts, read_timeout=self._read_timeout)
        try:
            await app.initialize()
        except BaseException:
            await self.fake.close()
            raise
        self._app = app
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if self._app is not None:
                await self._app.shutdown()
        finally:
            self._app = None
            await self.fake.close()

    async def send(self, user_id: int, text: str) -> list[SentMessage]:
        """A private-chat text message from user_id; returns what the bot sent in reply."""
        return await self.feed(self.fake.text_update(user_id, text))

    async def press(self, user_id: int, message: SentMessage, label: str) -> list[SentMessage]:
        """Tap the inline button labelled `label` on `message` (as it stands now, edits applied)."""
        current = sent_message(self.fake.message(message.chat_id, message.message_id))
        data = dict(current.buttons).get(label)
        if data is None:
            raise LookupError(f"no button {label!r} on message {message.message_id}; it has {list(current.labels)}")
        stored = self.fake.message(message.chat_id, message.message_id)
        return await self.feed(self.fake.callback_update(user_id, stored, data))

    async def feed(self, update: Mapping[str, Any]) -> list[SentMessage]:
        """Process one raw update (as fake.*_update builds it); returns the messages sent meanwhile."""
        mark = len(self.fake.calls)
        await self.app.process_update(Update.de_json({"update_id": 0, **update}, self.app.bot))
        calls = self.fake.calls[mark:]
        self.toasts.extend(str(c.params["text"]) for c in calls
                           if c.ok and c.method == "answerCallbackQuery" and c.params.get("text"))
        return [sent_message(c.result) for c in calls if _is_sent(c)]


def _is_sent(call: Call) -> bool:
    return call.ok and call.method == "sendMessage"


class TelegramCitizen:
    """Turns go through PTB to the fake Bot API; intent and score come from the engine's own turn record."""

    def __init__(self, harness: TelegramHarness, user_id: int, turns: list[Turn], rated: list[Feedback]) -> None:
        self._harness = harness
        self._user_id = user_id
        self._turns = turns
        self._rated = rated
        self._last: list[SentMessage] = []

    async def send(self, text: str) -> Said:
        self._turns.clear()
        self._last = await self._harness.send(self._user_id, text)
        return self._said(self._last)

    async def press(self, title: str) -> Said:
        message = next((m for m in reversed(self._last) if any(label == title for label, _ in m.buttons)), None)
        if message is None:
            labels = [label for m in self._last for label, _ in m.buttons]
            raise ButtonMissing(f"上一轮回复没有 [{title}] 按钮；实际按钮：{offered(labels)}")
        self._turns.clear()
        self._rated.clear()
        toasts = len(self._harness.toasts)
        self._last = await self._harness.press(self._user_id, message, title)
        if title in FEEDBACK_BUTTONS:
            # The thank-you is a toast (answerCallbackQuery), not a message.
            intent = self._rated[-1].intent if self._rated else None
            thanks = "\n".join([*self._harness.toasts[toasts:], *(m.text for m in self._last)])
            return Said(thanks, tuple(label for m in self._last for label, _ in m.buttons), intent, 1.0, "feedback")
        return self._said(self._last)

    def _said(self, messages: Sequence[SentMessage]) -> Said:
        text = "\n".join(m.text for m in messages)
        buttons = tuple(label for m in messages for label, _ in m.buttons)
        reply = self._turns[-1].reply if self._turns else None
        if reply is None:  # a fixed text (rate limit, error): no engine turn behind it
            return Said(text, buttons, None, 0.0, "none")
        return Said(text, buttons, reply.intent, reply.confidence, reply.kind)


@asynccontextmanager
async def conversation_harness(engine: Engine) -> AsyncIterator[Callable[[int], TelegramCitizen]]:
    """Citizens talking through PTB and the fake Bot API, each in a chat of their own."""
    turns: list[Turn] = []
    rated: list[Feedback] = []
    engine.subscribe(turns.append, rated.append)
    async with TelegramHarness(engine) as tg:
        yield lambda n: TelegramCitizen(tg, 7_000_001 + n, turns, rated)
