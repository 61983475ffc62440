"""The WeChat Official Account channel: GET and POST /wechat, which `legalbot serve` mounts with WECHAT_TOKEN.

WeChat waits 5 seconds for a passive reply and otherwise sends the message again (same MsgId, up
to three times), so each message is answered once, within REPLY_SECONDS, and a resend gets the
same text back without a second turn in the event log or the metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.channels.http import error_response
from bot.channels.wechat.protocol import MAX_XML_BYTES, NOTHING, Incoming, Protocol, Refused
from bot.channels.wechat.render import (
    HELPFUL,
    UNHELPFUL,
    menu_choice,
    numbered,
    reply_text,
    welcome_intent,
)
from bot.config import Settings
from bot.engine import Engine, Reply
from bot.service.conversations import ConversationStore
from bot.service.ratelimit import RateLimiter, Verdict

logger = logging.getLogger(__name__)

CHANNEL = "wechat"
PATH = "/wechat"
REPLY_SECONDS = 3.0  # well inside WeChat's 5 s, leaving time for the network both ways
_RECENT = 4096  # messages whose replies are kept for resends; WeChat resends within about 15 s
_GREETED = frozenset({"subscribe", "subscribe_scan"})
_NON_TEXT = frozenset({"image", "voice", "video", "shortvideo", "location", "link", "file"})


class RecentReplies:
    """The replies to the last messages by key: a resend is answered with the first reply, awaiting it if need be."""

    def __init__(self, size: int = _RECENT, store: ConversationStore | None = None) -> None:
        self._replies: OrderedDict[str, asyncio.Future[str]] = OrderedDict()
        self._size = size
        self._store = store  # shared by replicas: a resend may reach another one
        self.resends = 0  # messages answered from here rather than by a turn of their own

    async def once(self, key: str, make: Callable[[], Awaitable[str]]) -> str:
        """make()'s text for the first message with this key; the same text for every resend."""
        known = self._replies.get(key)
        if known is not None:
            self.resends += 1
            logger.info("a WeChat message was sent again; answered once")
            return await asyncio.shield(known)
        if self._store is not None and not await self._store.claim("wx-msg", key):
            self.resends += 1
            return await self._elsewhere(key)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._replies[key] = future
        if len(self._replies) > self._size:
            self._replies.popitem(last=False)
        try:
            text = await make()
        except BaseException:
            self._replies.pop(key, None)  # not answered: a resend may try again
            future.cancel()
            raise
        future.set_result(text)
        if self._store is not None:
            await self._store.put("wx-reply", key, text)
        return text

    async def _elsewhere(self, key: str) -> str:
        assert self._store is not None
        """The reply another replica gives (or gave) the first copy of this message; "" if none comes in time."""
        try:
            async with asyncio.timeout(REPLY_SECONDS):
                while (text := await self._store.get("wx-reply", key)) is None:
                    await asyncio.sleep(0.05)
                return text
        except TimeoutError:
            return ""


class WeChatChannel:
    """Turns one WeChat message into at most one engine call and its reply into one text."""

    def __init__(self, engine: Engine, limiter: RateLimiter, protocol: Protocol, *,
                 reply_seconds: float = REPLY_SECONDS) -> None:
        self.engine = engine
        self.limiter = limiter
        self.protocol = protocol
        self.reply_seconds = reply_seconds
        self.replies = RecentReplies(store=engine.conversations)
        self._late: set[asyncio.Task[Reply]] = set()

    async def answer(self, incoming: Incoming) -> str:
        """The text to send back ("" for nothing): greeting, menu, non-text note or the engine's reply.

        Never raises: WeChat would resend the message, and a failure is the citizen's "try again" text.
        """
        try:
            return await self._answer(incoming)
        except Exception:
            logger.exception("answering a message failed (WeChat)")
            return self.engine.catalogue.messages["error"]

    async def _answer(self, incoming: Incoming) -> str:
        message, user = incoming.message, incoming.user
        kind = message.type
        event = str(getattr(message, "event", "")).lower()
        if kind == "event" and event not in _GREETED and event != "click":
            return ""  # unsubscribe, VIEW, location reports…: nothing to say
        verdict = await self.limiter.admit(user, "wechat")
        if verdict is not Verdict.ALLOW:
            return self.engine.catalogue.messages["rate_limited"] if verdict is Verdict.NOTIFY else ""
        if kind == "text":  # xmltodict reads an all-blank Content as None
            return await self._text(user, message.content if isinstance(message.content, str) else "")
        if event in _GREETED:
            async with self.engine.turn(user):
                return await self._greet(user)
        if event == "click":
            async with self.engine.turn(user):
                return await self._menu(user, str(message.key or ""))
        if kind in _NON_TEXT or kind != "event":
            return self.engine.catalogue.messages["non_text"]
        return ""

    async def _text(self, user: str, text: str) -> str:
        said = text.strip()
        rated = await self.engine.conversations.get("wx-rated", user, remove=True)  # the answer a 👍/👎 rates
        if rated is not None and said in HELPFUL + UNHELPFUL:
            return self.engine.feedback(user, rated, said in HELPFUL, CHANNEL)
        reply = await self._bounded(self.engine.reply(user, text, CHANNEL))  # a bare "2" picks choice 2
        return await self._render(user, reply) if reply is not None else self.engine.catalogue.messages["error"]

    async def _greet(self, user: str) -> str:
        intent = welcome_intent(self.engine.catalogue)
        if intent is not None:
            return await self._render(user, self.engine.choose(user, intent, CHANNEL))
        self.engine.offer(user, ())
        return self.engine.catalogue.messages["welcome"].strip()

    async def _menu(self, user: str, key: str) -> str:
        cat = self.engine.catalogue
        choice = menu_choice(cat, key)
        if choice is None:
            logger.info("menu click with an unknown key; is the account's menu older than the catalogue?")
            return cat.messages["stale_button"]
        if choice.intent is not None:
            return await self._render(user, self.engine.choose(user, choice.intent, CHANNEL))
        self.engine.offer(user, choice.intents)
        lines = numbered(tuple(cat.title(i) for i in choice.intents))
        return f"{cat.messages['menu_area'].format(title=choice.title).strip()}\n{lines}"

    async def _render(self, user: str, reply: Reply) -> str:
        if reply.is_rateable and reply.intent is not None:
            await self.engine.conversations.put("wx-rated", user, reply.intent)
        return reply_text(reply, self.engine.catalogue)

    async def _bounded(self, turn: Awaitable[Reply]) -> Reply | None:
        """The reply if it comes within reply_seconds; else None, and the turn finishes (and is recorded) later."""
        task = asyncio.ensure_future(turn)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.reply_seconds)
        except TimeoutError:
            logger.warning("a WeChat reply took over %.1f s; the citizen was asked to try again", self.reply_seconds)
            self._late.add(task)
            task.add_done_callback(self._finished)
            return None

    def _finished(self, task: asyncio.Task[Reply]) -> None:
        self._late.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a late WeChat turn failed", exc_info=task.exception())

    async def close(self) -> None:
        """Stop turns that outlived their reply."""
        for task in list(self._late):
            task.cancel()
        await asyncio.gather(*self._late, return_exceptions=True)


WECHAT = web.AppKey("wechat", WeChatChannel)


async def verify(request: web.Request) -> web.Response:
    """GET /wechat: WeChat checking the server URL; the echostr comes back when the signature is right."""
    try:
        request.app[WECHAT].protocol.verify(request.query)
    except Refused as exc:
        logger.info("WeChat URL check refused: %s", exc.reason)
        return error_response(exc.status, exc.reason)
    echo = request.query.get("echostr")
    if not echo:
        return error_response(400, "echostr is missing")
    return web.Response(text=echo)


async def receive(request: web.Request) -> web.Response:
    """POST /wechat: one message or event, answered with a passive reply (encrypted in safe mode)."""
    channel = request.app[WECHAT]
    try:
        signed = channel.protocol.verify(request.query)
        body = await request.read()
        if len(body) > MAX_XML_BYTES:
            raise Refused(413, f"a WeChat message is at most {MAX_XML_BYTES} bytes")
        incoming = channel.protocol.open(body, signed)
    except Refused as exc:
        logger.info("WeChat post refused: %s", exc.reason)
        return error_response(exc.status, exc.reason)
    text = await channel.replies.once(incoming.key, lambda: channel.answer(incoming))
    sealed = channel.protocol.seal(text, incoming.message, signed)
    return web.Response(text=sealed, content_type="text/plain" if sealed == NOTHING else "application/xml")


async def _off(request: web.Request) -> web.Response:
    return error_response(404, "the WeChat channel is off: WECHAT_TOKEN is not set")


def mount(engine: Engine, limiter: RateLimiter, settings: Settings, *,
          reply_seconds: float = REPLY_SECONDS) -> Callable[[web.Application], None]:
    """What the HTTP app calls to add /wechat (a 404 saying why when WECHAT_TOKEN is not set)."""

    def install(app: web.Application) -> None:
        if not settings.wechat_token:
            app.router.add_route("*", PATH, _off)
            return
        channel = WeChatChannel(engine, limiter, Protocol(settings), reply_seconds=reply_seconds)
        app[WECHAT] = channel
        logger.info("WeChat Official Account at %s (%s)", PATH,
                    "safe mode: AES" if settings.wechat_aes_key else "plaintext mode")

        async def close(_: web.Application) -> None:
            await channel.close()

        app.on_cleanup.append(close)
        app.router.add_get(PATH, verify)
        app.router.add_post(PATH, receive)

    return install
