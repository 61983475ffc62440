"""The HTTP service: POST /api/chat, the Telegram webhook, /healthz and /metrics, on aiohttp.

`legalbot serve` runs it with AppRunner/TCPSite on one event loop. With TELEGRAM_BOT_TOKEN set,
the PTB Application (built without an updater) starts with the app and registers WEBHOOK_URL
with WEBHOOK_SECRET; Telegram's posts are checked, de-duplicated and queued for PTB.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, TelegramError

from bot.channels.telegram.app import (
    ALLOWED_UPDATES,
    TelegramApp,
    build_application,
    running,
    stop_signals,
)
from bot.channels.telegram.handlers import RecentKeys, without_token
from bot.config import Settings
from bot.engine import Engine
from bot.errors import BotError, ConfigError
from bot.service.eventlog import EventLog
from bot.service.metrics import CONTENT_TYPE, Metrics
from bot.service.ratelimit import RateLimiter, Verdict
from bot.service.runtime import services

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# A chat message is a few hundred bytes and a Telegram update a few KiB; refuse anything bigger early.
MAX_BODY_BYTES = 64 * 1024
MAX_USER_CHARS = 128
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_dumps = functools.partial(json.dumps, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Webhook:
    """The Telegram side of the app: the PTB application and where Telegram is told to post."""

    application: TelegramApp
    url: str
    secret: str = field(repr=False)
    seen: RecentKeys[int] = field(default_factory=RecentKeys)


@dataclass(frozen=True, slots=True)
class State:
    """Everything the handlers need, fixed when the app is created."""

    engine: Engine
    limiter: RateLimiter
    metrics: Metrics
    webhook: Webhook | None


STATE = web.AppKey("state", State)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status, dumps=_dumps)


@web.middleware
async def json_errors(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Every error leaves as JSON {"error": ...} with its status; unexpected ones are logged."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.status == 413 and exc.text else exc.reason
        response = _error(exc.status, message)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return _error(500, "internal error")


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(reason="malformed JSON") from None
    except RecursionError:  # "[[[[…" a few thousand deep: the decoder recurses once per level
        raise web.HTTPBadRequest(reason="malformed JSON: nested too deeply") from None


async def chat(request: web.Request) -> web.Response:
    """POST /api/chat {"user", "text"} -> the reply object of the evaluation contract."""
    state = request.app[STATE]
    body = await _json_body(request)
    if not isinstance(body, dict):
        return _error(400, 'expected a JSON object {"user": "...", "text": "..."}')
    user, text = body.get("user"), body.get("text")
    if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_CHARS:
        return _error(400, f"'user' must be a non-empty string of at most {MAX_USER_CHARS} characters")
    if not isinstance(text, str):
        return _error(400, "'text' must be a string")
    key = f"api:{user}"
    if state.limiter.check(key) is not Verdict.ALLOW:
        retry = str(math.ceil(state.limiter.window / state.limiter.capacity))
        response = _error(429, "too many messages from this user; slow down",
                          reply=state.engine.catalogue.messages["rate_limited"])
        response.headers["Retry-After"] = retry
        return response
    reply = await state.engine.reply(key, text, channel="api")
    return web.json_response(reply.to_dict(), dumps=_dumps)


async def telegram_webhook(request: web.Request) -> web.Response:
    """POST /telegram/webhook: Telegram's updates, checked against WEBHOOK_SECRET and queued for PTB."""
    webhook = request.app[STATE].webhook
    if webhook is None:
        return _error(404, "the Telegram webhook is off: TELEGRAM_BOT_TOKEN is not set")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), webhook.secret.encode()):
        return _error(403, f"missing or wrong {SECRET_HEADER}")
    data = await _json_body(request)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return _error(400, "not a Telegram update: expected an object with an integer update_id")
    application = webhook.application
    try:
        update = Update.de_json(data, application.bot)
    except Exception as exc:  # noqa: BLE001
        # de_json trusts the shape of its input: a wrong type anywhere raises whatever the access hits
        # (AttributeError, KeyError, TypeError, OverflowError, RecursionError…). It is the sender's fault.
        logger.info("webhook body is not a Telegram update: %s", type(exc).__name__)
        return _error(400, "not a Telegram update")
    if webhook.seen.add(update.update_id):
        await application.update_queue.put(update)
    else:
        logger.info("update %s was sent again; handled once", update.update_id)
    return web.json_response({"ok": True})


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: 200 while serving; "degraded", with the problems, when the last reload failed."""
    engine = request.app[STATE].engine
    body: dict[str, Any] = {"status": "ok", "intents": len(engine.catalogue.intents), "catalogue": "ok"}
    if engine.last_reload_problems:
        # Still serving the previous catalogue; say which lines the operator must fix.
        body |= {"status": "degraded", "catalogue": "degraded",
                 "problems": [str(p) for p in engine.last_reload_problems]}
    return web.json_response(body, dumps=_dumps)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text format."""
    return web.Response(body=request.app[STATE].metrics.render(), headers={"Content-Type": CONTENT_TYPE})


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Start PTB and register the webhook with the app; stop it and the metrics listeners after."""
    state = app[STATE]
    try:
        if state.webhook is None:
            yield
            return
        webhook = state.webhook
        async with running(webhook.application) as application:
            try:
                await application.bot.set_webhook(webhook.url, secret_token=webhook.secret,
                                                  allowed_updates=list(ALLOWED_UPDATES))
            except InvalidToken:
                # PTB's message may quote the token; say only which variable to fix.
                raise ConfigError("TELEGRAM_BOT_TOKEN was rejected by the Bot API") from None
            except TelegramError as exc:
                detail = without_token(str(exc), application.bot.token)
                raise BotError(f"Telegram refused WEBHOOK_URL {webhook.url}: {detail}") from None
            logger.info("Telegram webhook registered at %s", webhook.url)
            yield
    finally:
        state.metrics.close()


def create_app(engine: Engine, settings: Settings, *, telegram: TelegramApp | None = None,
               limiter: RateLimiter | None = None, events: EventLog | None = None,
               client_max_size: int = MAX_BODY_BYTES) -> web.Application:
    """The aiohttp application; pass `telegram` (built with_updater=False) to serve the webhook, and
    the running `events` log to show its health in /metrics."""
    limiter = limiter if limiter is not None else RateLimiter(settings.rate_limit_per_minute)
    webhook = Webhook(telegram, settings.webhook_url, settings.webhook_secret) if telegram is not None else None
    app = web.Application(client_max_size=client_max_size, middlewares=[json_errors])
    app[STATE] = State(engine, limiter, Metrics(engine, limiter, events), webhook)
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_routes([
        web.post("/api/chat", chat),
        web.post("/telegram/webhook", telegram_webhook),
        web.get("/healthz", healthz),
        web.get("/metrics", metrics),
    ])
    return app


def check_webhook_settings(settings: Settings) -> None:
    """Raise ConfigError, naming the variable, when serve cannot run the webhook it was asked for."""
    if not settings.telegram_token:
        return
    settings.require_token()
    if not settings.webhook_url:
        raise ConfigError("WEBHOOK_URL is not set: `legalbot serve` with TELEGRAM_BOT_TOKEN needs the public "
                          "https URL of /telegram/webhook (or run `legalbot telegram` to poll)")
    if not settings.webhook_url.startswith(("https://", "http://")):
        raise ConfigError(f"WEBHOOK_URL has value {settings.webhook_url!r}: expected an https:// URL")
    if not _SECRET.match(settings.webhook_secret):
        raise ConfigError("WEBHOOK_SECRET is not set or not valid: 1-256 characters of A-Z, a-z, 0-9, _ and -")


async def _serve(settings: Settings, engine: Engine, host: str, port: int) -> int:
    limiter = RateLimiter(settings.rate_limit_per_minute)
    telegram = None
    if settings.telegram_token:
        telegram = build_application(settings, engine, limiter=limiter, with_updater=False)
    else:
        logger.warning("TELEGRAM_BOT_TOKEN is not set: serving the HTTP API only, without the Telegram webhook")
    async with stop_signals() as stop, services(engine, settings) as running:
        app = create_app(engine, settings, telegram=telegram, limiter=limiter, events=running.events)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
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
    """`legalbot serve`: the HTTP API (and, with a token, the Telegram webhook) until SIGTERM/SIGINT."""
    check_webhook_settings(settings)
    engine = Engine.from_paths(settings.intents_dir, settings.content_dir)
    return asyncio.run(_serve(settings, engine, host, port))
