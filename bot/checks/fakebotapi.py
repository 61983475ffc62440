"""A fake Telegram Bot API: a real aiohttp server on 127.0.0.1 that PTB reaches through base_url.

Shaped like aiohttp's examples/fake_server.py: one route, /bot{token}/{method}, answering the
methods the bot uses with canned but well-formed JSON. It queues updates for getUpdates (long
polling included), records every call with its decoded parameters, renders HTML the way Telegram
does (and rejects what Telegram would reject), and injects faults on request: 429 with
retry_after, 500, or a dropped connection. `legalbot test --channel telegram` and the tests use it.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Any, Self

from aiohttp import web

TOKEN = "123456789:TEST-token-for-the-fake-bot-api_00"
BOT_ID = int(TOKEN.split(":", 1)[0])
BOT_USERNAME = "jiangshan_test_bot"
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
# Parameters PTB sends as plain strings; every other value arrives JSON-encoded.
_TEXT_PARAMS = frozenset({"text", "caption", "parse_mode", "secret_token", "url", "callback_query_id",
                          "action", "inline_message_id", "ip_address", "language_code", "emoji"})
_TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
                   "code", "pre", "blockquote", "tg-emoji"})
_MARKUP = re.compile(r"<(/?)([a-zA-Z-]*)[^>]*>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[<>&]")


class BadRequest(Exception):
    """What Telegram answers with 400 and a description."""


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected failure: an HTTP error (429 carries retry_after) or, with status 0, a dropped connection."""

    status: int
    description: str = ""
    retry_after: float | None = None


def flood(retry_after: float = 1.0) -> Fault:
    """Telegram's flood-control answer: 429 with parameters.retry_after (seconds)."""
    return Fault(429, f"Too Many Requests: retry after {retry_after:g}", retry_after)


SERVER_ERROR = Fault(500, "Internal Server Error")
DROP = Fault(0, "connection dropped")


@dataclass(frozen=True, slots=True)
class Hold:
    """A call held back: `arrived` is set when it comes in, and it is answered once `released` is set."""

    method: str
    where: Callable[[Mapping[str, Any]], bool] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        """True when this hold is for a call of `method` with these parameters."""
        return method == self.method and (self.where is None or self.where(params))


@dataclass(frozen=True, slots=True)
class Call:
    """One request the bot made: method, decoded parameters, the status it got and the result sent."""

    method: str
    params: Mapping[str, Any]
    status: int
    result: Any = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.status == 200


def render_html(text: str) -> str:
    """The text a user sees for parse_mode HTML; raises BadRequest where Telegram would refuse it."""
    out: list[str] = []
    pos = 0
    for found in _MARKUP.finditer(text):
        out.append(text[pos:found.start()])
        pos = found.end()
        token = found.group(0)
        if found.group(3) is not None:
            out.append(html.unescape(token))
        elif found.group(2) and found.group(2).lower() in _TAGS:
            continue
        else:
            offset = len(text[:found.start()].encode())
            raise BadRequest(f"Bad Request: can't parse entities: unsupported start tag or "
                             f"unescaped {token[:1]!r} at byte offset {offset}")
    out.append(text[pos:])
    return "".join(out)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(slots=True)
class _State:
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    webhook: dict[str, Any] = field(default_factory=dict)
    holds: list[Hold] = field(default_factory=list)


class FakeBotApi:
    """The fake server; use `async with FakeBotApi() as fake:` and give PTB `fake.base_url`."""

    def __init__(self, token: str = TOKEN, *, username: str = BOT_USERNAME) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.calls: list[Call] = []
        self._state = _State()
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._closing = False
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

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as getMe describes it."""
        return {"id": self.bot_id, "is_bot": True, "first_name": "江山法律服务", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

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

    def user(self, user_id: int) -> dict[str, Any]:
        """A citizen's User object."""
        return {"id": user_id, "is_bot": False, "first_name": f"用户{user_id}", "language_code": "zh-hans"}

    def chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        """A Chat object; negative ids are groups."""
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": f"用户{chat_id}"}
        return {"id": chat_id, "type": chat_type, "title": "测试群"}

    def text_update(self, user_id: int, text: str, *, chat_id: int | None = None, chat_type: str = "private",
                    reply_to: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A message update; /commands and @mentions get the entities a client would add."""
        message = self._message_from(user_id, chat_id, chat_type)
        message["text"] = text
        entities = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        for found in re.finditer(r"@[A-Za-z0-9_]{5,32}", text):
            entities.append({"type": "mention", "offset": utf16_len(text[:found.start()]),
                             "length": utf16_len(found.group(0))})
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = dict(reply_to)
        return {"message": message}

    def media_update(self, user_id: int, kind: str, *, chat_id: int | None = None,
                     chat_type: str = "private") -> dict[str, Any]:
        """A non-text message: photo, voice, sticker, document or location."""
        file = {"file_id": f"{kind}-file", "file_unique_id": f"{kind}-unique"}
        payloads: dict[str, Any] = {
            "photo": [{**file, "width": 90, "height": 90}],
            "voice": {**file, "duration": 3},
            "sticker": {**file, "type": "regular", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False},
            "document": {**file, "file_name": "材料.pdf"},
            "location": {"latitude": 28.74, "longitude": 118.62},
        }
        message = self._message_from(user_id, chat_id, chat_type)
        message[kind] = payloads[kind]
        return {"message": message}

    def callback_update(self, user_id: int, message: Mapping[str, Any], data: str) -> dict[str, Any]:
        """A tap on an inline button of `message` (a message the bot sent)."""
        return {"callback_query": {"id": f"cq{next(self._ids)}", "from": self.user(user_id),
                                   "chat_instance": "fake-chat-instance", "message": dict(message), "data": data}}

    def _message_from(self, user_id: int, chat_id: int | None, chat_type: str) -> dict[str, Any]:
        chat = self.chat(user_id if chat_id is None else chat_id, chat_type)
        return {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat,
                "from": self.user(user_id)}

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
        if fault is not None:
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
