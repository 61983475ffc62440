"""The PTB Application around the engine: building it, running it, and long polling.

Polling runs on one event loop (initialize → start → updater.start_polling, and the reverse in
`finally`, as PTB's starlettebot example does). The webhook builds the same Application without
an updater and feeds it updates (`webhook.py`); `bot.service.serving` wires both.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from telegram import Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    TypeHandler,
)

from bot.channels.telegram.failures import classify
from bot.channels.telegram.handlers import CHANNEL, TelegramChannel, without_token
from bot.config import Settings
from bot.engine import Engine
from bot.errors import BotError, ConfigError
from bot.service.delivery import Delivery, DeliveryCounts, DeliveryPolicy
from bot.service.keyedlocks import KeyedLocks
from bot.service.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY)
TelegramApp = Application[Any, Any, Any, Any, Any, Any]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; one chat's updates run in order.

    So one slow or flooding chat does not hold up the others, and a citizen's replies never
    overtake each other. An update waits for its chat's lock before it takes one of the
    `max_concurrent_updates` slots: PTB's process_update takes the slot first, so a chat's queued
    updates would each sit on a slot while they wait for that chat, and other chats would starve.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats = KeyedLocks()

    async def process_update(self, update: object,  # type: ignore[misc]  # final in PTB; see the docstring
                             coroutine: Awaitable[Any]) -> None:
        """Await the update's handlers holding its chat's lock, then a slot."""
        chat = update.effective_chat if isinstance(update, Update) else None
        async with self._chats.hold(chat.id if chat is not None else None):
            await super().process_update(update, coroutine)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the handlers (the chat's lock and a slot are held by now)."""
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def quiet_library_logs() -> None:
    """Keep PTB's loggers at INFO and httpx's at WARNING or above, even under `legalbot -v`.

    At DEBUG, PTB logs the Bot API URL (token included) and every update and API call in full:
    citizens' names, ids and questions. httpx logs each request URL, token included, at INFO.
    """
    for name, floor in (("telegram", logging.INFO), ("httpx", logging.WARNING)):
        library = logging.getLogger(name)
        if library.getEffectiveLevel() < floor:
            library.setLevel(floor)


def build_application(settings: Settings, engine: Engine, *, limiter: RateLimiter | None = None,
                      with_updater: bool = True, max_retries: int = 3,
                      concurrent_updates: int = 64, delivery: DeliveryPolicy | None = None,
                      counts: DeliveryCounts | None = None, read_timeout: float | None = None) -> TelegramApp:
    """The PTB Application for this engine: handlers, error handler, Telegram flood limits, base_url.

    Every send goes through the `delivery` policy (retries and give-ups counted in `counts`);
    PTB's AIORateLimiter waits out up to `max_retries` flood answers before the policy sees one.
    `read_timeout` (seconds) bounds each Bot API call; PTB's default is 5.
    Raises ConfigError when TELEGRAM_BOT_TOKEN is missing or malformed.
    """
    quiet_library_logs()
    builder = (ApplicationBuilder()
               .token(settings.require_token())
               .base_url(settings.telegram_base_url)
               .rate_limiter(AIORateLimiter(max_retries=max_retries))
               .concurrent_updates(PerChatUpdateProcessor(concurrent_updates)))
    if read_timeout is not None:
        builder = builder.read_timeout(read_timeout)
    if not with_updater:
        builder = builder.updater(None)
    application = builder.build()
    channel = TelegramChannel(engine, limiter if limiter is not None else RateLimiter(settings.rate_limit_per_minute),
                              Delivery(CHANNEL, classify, delivery, counts=counts))
    application.add_handler(TypeHandler(Update, channel.begin), group=-1)
    application.add_handlers(channel.handlers())
    application.add_error_handler(channel.on_error)
    return application


@contextlib.asynccontextmanager
async def running(application: TelegramApp) -> AsyncIterator[TelegramApp]:
    """initialize() and start() the application, and stop() and shutdown() it on the way out.

    Turns PTB's start-up failures into BotError (ConfigError for a token Telegram rejects).
    """
    try:
        await application.initialize()
    except TelegramError as exc:
        # A failed initialize() leaves the bot "not initialized", so shutdown() would skip closing
        # the connection getMe opened; close it here.
        await application.bot.request.shutdown()
        if isinstance(exc, InvalidToken):
            # PTB's message quotes the token itself ("The token `…` was rejected by the server.").
            raise ConfigError("TELEGRAM_BOT_TOKEN was rejected by the Bot API") from None
        detail = without_token(str(exc), application.bot.token)
        raise BotError(f"cannot reach the Telegram Bot API: {detail}") from None
    try:
        await application.start()
        yield application
    finally:
        if application.running:
            await application.stop()
        await application.shutdown()


def _polling_failed(token: str, error: TelegramError) -> None:
    """One line for a failed getUpdates (PTB retries it), instead of PTB's ERROR with a traceback."""
    logger.warning("polling Telegram failed, retrying: %s: %s", type(error).__name__, without_token(str(error), token))


async def poll(application: TelegramApp, stop: asyncio.Event, *, poll_timeout: float = 10.0,
               poll_interval: float = 0.0) -> None:
    """Long-poll until `stop` is set; network errors are retried by PTB's updater."""
    updater = application.updater
    if updater is None:
        raise ValueError("polling needs an Application built with its updater")
    async with running(application):
        await updater.start_polling(timeout=dt.timedelta(seconds=poll_timeout), poll_interval=poll_interval,
                                    allowed_updates=list(ALLOWED_UPDATES),
                                    error_callback=functools.partial(_polling_failed, application.bot.token))
        try:
            logger.info("polling Telegram for updates; stop with Ctrl-C or SIGTERM")
            await stop.wait()
        finally:
            if updater.running:
                await updater.stop()
