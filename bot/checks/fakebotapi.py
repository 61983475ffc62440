"""A fake Telegram Bot API: a real aiohttp server on 127.0.0.1 that PTB reaches through base_url.

Shaped like aiohttp's examples/fake_server.py: one route, /bot{token}/{method}, answering the
methods the bot uses with canned but well-formed JSON. It queues updates for getUpdates (long
polling included), records every call with its decoded parameters, renders HTML the way Telegram
does (and rejects what Telegram would reject), and injects faults on request: 429 with
retry_after, 500, 502, a dropped connection (before or after the call took effect) or a stall. `legalbot test --channel telegram` and the tests use it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Any, Self

from aiohttp import web

from bot.checks.faults import BAD_GATEWAY, DROP, DROP_AFTER, SERVER_ERROR, STALL, Call, Fault, Hold, flood
from bot.checks.telegram_updates import UpdateFactory
from bot.checks.telegram_markup import MAX_TEXT, BadRequest, render_html, utf16_len

__all__ = ["BAD_GATEWAY", "BOT_USERNAME", "DROP", "DROP_AFTER", "MAX_TEXT", "SERVER_ERROR", "STALL", "TOKEN",
           "BadRequest", "Call", "FakeBotApi", "Fault", "Hold", "flood", "render_html", "utf16_len"]

TOKEN = "123456789:TEST-token-for-the-fake-bot-api_00"
BOT_ID = int(TOKEN.split(":", 1)[0])
BOT_USERNAME = "jiangshan_test_bot"
MAX_CALLBACK_BYTES = 64
# Parameters PTB sends as plain strings; every other value arrives JSON-encoded.
_TEXT_PARAMS = frozenset({"text", "caption", "parse_mode", "secret_token", "url", "callback_query_id",
                          "action", "inline_message_id", "ip_address", "language_code", "emoji"})


@dataclass(slots=True)
class _State:
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    webhook: dict[str, Any] = field(default_factory=dict)
    holds: list[Hold] = field(default_factory=list)


class FakeBotApi(UpdateFactory):
    """The fake server; use `async with FakeBotApi() as fake:` and give PTB `fake.base_url`."""

    def __init__(self, token: str = TOKEN, *, username: str = BOT_USERNAME) -> None:
        super().__init__(int(token.split(":", 1)[0]), username)
        self.token = token
        self.calls: list[Call] = []
        self._state = _State()
        self._changed = asyncio.Condition()
        self._closing = False
        self._closed = asyncio.Event()  # ends stalled calls
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._methods: dict[str, Callable[[Mapping[str, Any]], Any]] = {
            "getMe": lambda p: self.bot_user,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "sendChatAction": lambda p: True,
            "answerCallbackQuery": lambda p: True,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info,
            "setMyCommands": lambda p: True,
            "deleteMyCommands": lambda p: True,
            "getMyCommands": lambda p: [],
            "close": lambda p: True,
            "logOut": lambda p: True,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application: one route for every method."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        return app

    async def start(self) -> str:
        """Listen on 127.0.0.1 on a free port; return the server's URL."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self.url

    async def close(self) -> None:
        """Wake long polls and stop the server."""
        self._closing = True
        self._closed.set()
        for held in self._state.holds:
            held.released.set()
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What PTB's ApplicationBuilder.base_url() (and TELEGRAM_BASE_URL) takes."""
        return f"{self.url}/bot"

    # -- what tests drive ----------------------------------------------------------------------

    def add_fault(self, method: str, fault: Fault, times: int = 1) -> None:
        """Fail the next `times` calls of `method` with `fault`."""
        self._state.faults[method].extend([fault] * times)

    def hold(self, method: str, where: Callable[[Mapping[str, Any]], bool] | None = None) -> Hold:
        """Hold back the next call of `method` (whose parameters match `where`) until the hold is released.

        A slow Telegram answer, without sleeping: `await hold.arrived.wait()`, act, then `hold.released.set()`.
        close() releases every hold.
        """
        held = Hold(method, where)
        self._state.holds.append(held)
        return held

    async def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (waking a long poll); returns its update_id."""
        update_id = next(self._ids)
        self._state.updates.append({"update_id": update_id, **update})
        await self._notify()
        return update_id

    def calls_to(self, method: str, *, include_failed: bool = False) -> list[Call]:
        """The calls of one method, by default only those that succeeded."""
        return [c for c in self.calls if c.method == method and (include_failed or c.ok)]

    async def wait_for(self, method: str, count: int = 1, *,
                       where: Callable[[Call], bool] | None = None) -> list[Call]:
        """Wait until at least `count` successful calls of `method` (matching `where`) were made.

        Bound it with asyncio.wait_for / asyncio.timeout; it never sleeps.
        """
        def matching() -> list[Call]:
            return [c for c in self.calls_to(method) if where is None or where(c)]

        async with self._changed:
            await self._changed.wait_for(lambda: len(matching()) >= count)
        return matching()

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A message the bot sent, as it stands now (edits applied)."""
        return self._state.messages[(chat_id, message_id)]

    @property
    def webhook(self) -> Mapping[str, Any]:
        """The parameters of the last setWebhook (empty after deleteWebhook)."""
        return MappingProxyType(self._state.webhook)

    # -- updates as Telegram's clients would produce them --------------------------------------

    # -- the HTTP side -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params = await _params(request)
        if request.match_info["token"] != self.token:
            await self._record(Call(method, MappingProxyType(params), 401))
            return _failure(401, "Unauthorized")
        if method == "getUpdates":
            await self._long_poll(params)
        await self._held(method, params)
        faults = self._state.faults.get(method)
        fault = faults.popleft() if faults else None
        if fault is not None and not fault.takes_effect:
            await self._record(Call(method, MappingProxyType(params), fault.status))
            if fault.status == 0:
                assert request.transport is not None
                request.transport.abort()
                return web.Response()
            extra = {"retry_after": fault.retry_after} if fault.retry_after is not None else None
            return _failure(fault.status, fault.description, extra)
        action = self._get_updates if method == "getUpdates" else self._methods.get(method)
        if action is None:
            await self._record(Call(method, MappingProxyType(params), 404))
            return _failure(404, "Not Found: method not found")
        try:
            result = action(params)
        except BadRequest as exc:
            await self._record(Call(method, MappingProxyType(params), 400))
            return _failure(400, str(exc))
        if fault is not None:  # it took effect; the bot never hears so
            await self._record(Call(method, MappingProxyType(params), 200, result, dropped=True))
            if fault.stalls:
                await self._closed.wait()
            if request.transport is not None:  # None when the bot timed out and hung up first
                request.transport.abort()
            return web.Response()
        await self._record(Call(method, MappingProxyType(params), 200, result))
        return web.json_response({"ok": True, "result": result})

    async def _held(self, method: str, params: Mapping[str, Any]) -> None:
        held = next((h for h in self._state.holds if not h.arrived.is_set() and h.matches(method, params)), None)
        if held is not None:
            held.arrived.set()
            await held.released.wait()

    async def _record(self, call: Call) -> None:
        self.calls.append(call)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _long_poll(self, params: Mapping[str, Any]) -> None:
        self._confirm(params.get("offset"))
        timeout = float(params.get("timeout") or 0)
        if self._state.updates or timeout <= 0:
            return
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._state.updates) or self._closing),
                                       timeout)
            except TimeoutError:
                pass

    def _confirm(self, offset: Any) -> None:
        updates = self._state.updates
        if isinstance(offset, int):
            while updates and updates[0]["update_id"] < offset:
                updates.popleft()

    def _get_updates(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        self._confirm(params.get("offset"))
        limit = int(params.get("limit") or 100)
        return list(itertools.islice(self._state.updates, limit))

    def _send_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        chat_id = _chat_id(params)
        text = self._text(params)
        message_id = next(self._message_ids)
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time()),
                                   "chat": self.chat(chat_id, "private" if chat_id > 0 else "supergroup"),
                                   "from": self.bot_user, "text": text}
        self._attach_markup(message, params.get("reply_markup"))
        self._state.messages[(chat_id, message_id)] = message
        return message

    def _edit_message_text(self, params: Mapping[str, Any]) -> dict[str, Any]:
        message = self._stored(params)
        edited = {**message, "text": self._text(params)}
        edited.pop("reply_markup", None)
        self._attach_markup(edited, params.get("reply_markup"))
        return self._replace(message, edited)

    def _edit_reply_markup(self, params: Mapping[str, Any]) -> dict[str, Any]:
        message = self._stored(params)
        edited = dict(message)
        edited.pop("reply_markup", None)
        self._attach_markup(edited, params.get("reply_markup"))
        return self._replace(message, edited)

    def _replace(self, message: dict[str, Any], edited: dict[str, Any]) -> dict[str, Any]:
        """Store an edit; an edit that changes nothing is refused, as Telegram does (a double tap's second edit)."""
        if edited == message:
            raise BadRequest("Bad Request: message is not modified: specified new message content and reply "
                             "markup are exactly the same as a current content and reply markup of the message")
        message.clear()
        message.update(edited)
        return message

    def _stored(self, params: Mapping[str, Any]) -> dict[str, Any]:
        message_id = params.get("message_id")
        key = (_chat_id(params), message_id if isinstance(message_id, int) else 0)
        if key not in self._state.messages:
            raise BadRequest("Bad Request: message to edit not found")
        return self._state.messages[key]

    def _text(self, params: Mapping[str, Any]) -> str:
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise BadRequest("Bad Request: message text is empty")
        text = render_html(raw) if str(params.get("parse_mode", "")).upper() == "HTML" else raw
        if utf16_len(text) > MAX_TEXT:
            raise BadRequest("Bad Request: message is too long")
        return text

    def _attach_markup(self, message: dict[str, Any], markup: Any) -> None:
        if not markup:
            return
        if not isinstance(markup, dict):
            raise BadRequest("Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_BYTES:
                    raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
        if markup.get("inline_keyboard"):
            message["reply_markup"] = markup

    def _set_webhook(self, params: Mapping[str, Any]) -> bool:
        self._state.webhook = dict(params)
        return True

    def _delete_webhook(self, params: Mapping[str, Any]) -> bool:
        self._state.webhook = {}
        return True

    def _webhook_info(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"url": self._state.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._state.updates)}


def _chat_id(params: Mapping[str, Any]) -> int:
    chat_id = params.get("chat_id")
    if not isinstance(chat_id, int):
        raise BadRequest("Bad Request: chat not found")
    return chat_id


def _failure(status: int, description: str, parameters: Mapping[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = dict(parameters)
    return web.json_response(body, status=status)


def _decode(name: str, value: str) -> Any:
    if name in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _params(request: web.Request) -> dict[str, Any]:
    """Query string and body (form, multipart or JSON), decoded as the Bot API decodes them."""
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.body_exists:
        form = await request.post()
        params.update({k: _decode(k, v) for k, v in form.items() if isinstance(v, str)})
    return params
