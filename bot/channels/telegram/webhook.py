"""The Telegram webhook: a route the HTTP app mounts when `legalbot serve` has a bot token.

Telegram's posts are checked against WEBHOOK_SECRET, de-duplicated by update_id and queued for
the PTB Application (built without an updater), which registers WEBHOOK_URL when the app starts.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, TelegramError

from bot.channels.http import error_response, json_body
from bot.channels.telegram.app import ALLOWED_UPDATES, TelegramApp, running
from bot.channels.telegram.handlers import without_token
from bot.config import Settings
from bot.errors import BotError, ConfigError
from bot.service.conversations import ConversationStore, MemoryConversations

logger = logging.getLogger(__name__)

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True, slots=True)
class Webhook:
    """The PTB application and where Telegram is told to post."""

    application: TelegramApp
    url: str
    secret: str = field(repr=False)
    seen: ConversationStore = field(default_factory=MemoryConversations)  # update_ids handled, by any replica


WEBHOOK = web.AppKey("telegram_webhook", Webhook)


async def receive(request: web.Request) -> web.Response:
    """POST /telegram/webhook: Telegram's updates, checked against WEBHOOK_SECRET and queued for PTB."""
    webhook = request.app[WEBHOOK]
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), webhook.secret.encode()):
        return error_response(403, f"missing or wrong {SECRET_HEADER}")
    data = await json_body(request)
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return error_response(400, "not a Telegram update: expected an object with an integer update_id")
    application = webhook.application
    try:
        update = Update.de_json(data, application.bot)
    except Exception as exc:  # noqa: BLE001
        # de_json trusts the shape of its input: a wrong type anywhere raises whatever the access hits
        # (AttributeError, KeyError, TypeError, OverflowError, RecursionError…). It is the sender's fault.
        logger.info("webhook body is not a Telegram update: %s", type(exc).__name__)
        return error_response(400, "not a Telegram update")
    if await webhook.seen.claim("tg-update", str(update.update_id)):
        await application.update_queue.put(update)
    else:
        logger.info("update %s was sent again; handled once", update.update_id)
    return web.json_response({"ok": True})


async def _off(request: web.Request) -> web.Response:
    return error_response(404, "the Telegram webhook is off: TELEGRAM_BOT_TOKEN is not set")


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Start PTB and register the webhook with the app; stop PTB after."""
    webhook = app[WEBHOOK]
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


def mount(application: TelegramApp | None, settings: Settings,
          seen: ConversationStore | None = None) -> Callable[[web.Application], None]:
    """What the HTTP app calls to add the webhook route (a 404 saying why when there is no bot);
    `seen` is where handled update_ids are kept (Redis, shared by replicas)."""

    def install(app: web.Application) -> None:
        if application is None:
            app.router.add_post(PATH, _off)
            return
        app[WEBHOOK] = Webhook(application, settings.webhook_url, settings.webhook_secret,
                               seen if seen is not None else MemoryConversations())
        app.cleanup_ctx.append(_lifecycle)
        app.router.add_post(PATH, receive)

    return install


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
