"""Start-up and shutdown of the long-running commands: `legalbot serve` and `legalbot telegram`.

Both run on one event loop with the background services (hot reload, event log, match workers)
and stop cleanly on SIGTERM or SIGINT. The channels only translate; this module wires them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from bot.channels import web as web_page
from bot.channels.http import create_app
from bot.channels.http_limits import GuardedSite, runner_options
from bot.channels.telegram import webhook
from bot.channels.telegram.app import build_application, poll
from bot.channels.wechat import webhook as wechat
from bot.catalogue.cache import catalogue_loader
from bot.config import Settings
from bot.engine import Engine
from bot.errors import BotError
from bot.service.delivery import DeliveryCounts
from bot.service.ratelimit import RateLimiter
from bot.service.runtime import services

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def stop_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by SIGTERM or SIGINT while the block runs."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def _serve(settings: Settings, engine: Engine, host: str, port: int) -> int:
    limiter = RateLimiter(settings.rate_limit_per_minute)
    delivery = DeliveryCounts()
    telegram = None
    if settings.telegram_token:
        telegram = build_application(settings, engine, limiter=limiter, with_updater=False, counts=delivery)
    else:
        logger.warning("TELEGRAM_BOT_TOKEN is not set: serving the HTTP API only, without the Telegram webhook")
    async with stop_signals() as stop, services(engine, settings, limiter=limiter) as running:
        app = create_app(engine, settings, limiter=limiter, events=running.events, pool=running.pool,
                         mounts=[webhook.mount(telegram, settings, engine.conversations), wechat.mount(engine, limiter, settings),
                                 web_page.mount(settings)],
                         delivery=delivery)
        runner = web.AppRunner(app, handle_signals=False, **runner_options())
        await runner.setup()
        try:
            site = GuardedSite(runner, host, port)  # slow clients' headers are cut after 5 s
            try:
                await site.start()
            except OSError as exc:
                raise BotError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
            logger.info("serving on %s", ", ".join(f"http://{h}:{p}" for h, p, *_ in runner.addresses))
            await stop.wait()
        finally:
            await runner.cleanup()
    return 0


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080) -> int:
    """`legalbot serve`: the chat page and HTTP API (and, with their settings, the Telegram webhook and WeChat) until SIGTERM/SIGINT."""
    webhook.check_webhook_settings(settings)
    settings.check_wechat()
    engine = Engine.from_paths(settings.intents_dir, settings.content_dir, loader=catalogue_loader(settings))
    return asyncio.run(_serve(settings, engine, host, port))


async def _run_polling(settings: Settings, engine: Engine) -> int:
    limiter = RateLimiter(settings.rate_limit_per_minute)
    application = build_application(settings, engine, limiter=limiter)
    async with stop_signals() as stop, services(engine, settings, limiter=limiter):
        await poll(application, stop)
    logger.info("stopped")
    return 0


def run_polling(settings: Settings) -> int:
    """`legalbot telegram`: answer Telegram messages by long polling until SIGTERM/SIGINT."""
    settings.require_token()
    engine = Engine.from_paths(settings.intents_dir, settings.content_dir, loader=catalogue_loader(settings))
    return asyncio.run(_run_polling(settings, engine))
