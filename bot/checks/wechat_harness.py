"""Talk to the real WeChat channel over HTTP as WeChat's servers do: signed XML, encrypted in safe mode.

    async with wechat_server(engine, settings) as wx:  # the aiohttp app on 127.0.0.1, port 0
        posted = await wx.send_text("oCitizen1", "法律援助怎么申请")
        posted.fields["Content"]

Signatures and encryption are wechatpy's (WeChatSigner, WeChatCrypto), built as WeChat builds them.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner, random_string

from bot.channels.http import create_app
from bot.channels.wechat.render import RATE
from bot.channels.wechat.webhook import PATH, REPLY_SECONDS, WECHAT, WeChatChannel, mount
from bot.checks.conversation_format import FEEDBACK_BUTTONS
from bot.checks.conversation_runner import ButtonMissing, Said, offered
from bot.checks.http_harness import loopback
from bot.config import Settings
from bot.engine import Engine, Feedback, Turn
from bot.service.ratelimit import RateLimiter

TOKEN = "legalbotTest2024"
APP_ID = "wx0123456789abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_0123456789ab"  # the Official Account's own id: ToUserName of what citizens send
UNLIMITED = 1_000_000
_CHOICE = re.compile(r"^(\d+)\. (.+)$")


def wechat_settings(base: Settings | None = None, *, is_safe: bool = True) -> Settings:
    """Settings with the test account's Token and, in safe mode, its AppID and EncodingAESKey."""
    base = base or Settings.from_env({})
    return replace(base, wechat_token=TOKEN, wechat_app_id=APP_ID if is_safe else "",
                   wechat_aes_key=AES_KEY if is_safe else "")


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted parts, concatenated."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def message_xml(kind: str, openid: str, msg_id: int | None = None, *, created: int | None = None,
                **fields: str) -> str:
    """A message as WeChat posts it: <xml> with To/FromUserName, CreateTime, MsgType, the fields, MsgId."""
    created = int(time.time()) if created is None else created
    parts = [f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>", f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
             f"<CreateTime>{created}</CreateTime>", f"<MsgType><![CDATA[{kind}]]></MsgType>"]
    parts += [f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items()]
    if msg_id is not None:
        parts.append(f"<MsgId>{msg_id}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass(frozen=True, slots=True)
class Posted:
    """The channel's answer: status, body as sent, and the reply's fields (decrypted in safe mode)."""

    status: int
    body: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def content(self) -> str:
        return str(self.fields.get("Content", ""))


class WeChatClient:
    """Posts to /wechat what WeChat's servers would, signed with the account's Token."""

    def __init__(self, session: aiohttp.ClientSession, url: str, settings: Settings,
                 channel: WeChatChannel | None = None) -> None:
        self.session = session
        self.url = url
        self.channel = channel  # the channel answering, when it runs in this process
        self.token = settings.wechat_token
        self.crypto = (WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
                       if settings.wechat_aes_key else None)
        self._ids = itertools.count(7_100_000_000_000_000_001)

    def next_id(self) -> int:
        return next(self._ids)

    def query(self, *, timestamp: int | None = None, token: str | None = None) -> dict[str, str]:
        """signature, timestamp and nonce, as on every request WeChat sends."""
        stamp, nonce = str(int(time.time()) if timestamp is None else timestamp), random_string(10)
        return {"signature": signature(token or self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}

    async def verify(self, echo: str, **signing: Any) -> tuple[int, str]:
        """GET /wechat as WeChat checks a server URL; (status, body)."""
        async with self.session.get(self.url, params={**self.query(**signing), "echostr": echo}) as response:
            return response.status, await response.text()

    async def post(self, xml: str | bytes, *, is_encrypted: bool | None = None, msg_token: str | None = None,
                   **signing: Any) -> Posted:
        """POST xml as WeChat does: in safe mode (the default when there is a key) encrypted and msg_signature'd."""
        params = self.query(**signing)
        body = xml.encode() if isinstance(xml, str) else xml
        encrypted = self.crypto is not None if is_encrypted is None else is_encrypted
        if encrypted:
            assert self.crypto is not None, "safe mode needs the AES key"
            envelope = xmltodict.parse(self.crypto.encrypt_message(body, params["nonce"], params["timestamp"]))
            encrypt = envelope["xml"]["Encrypt"]
            params |= {"encrypt_type": "aes", "openid": "o",
                       "msg_signature": signature(msg_token or self.token, params["timestamp"], params["nonce"], encrypt)}
            body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
        async with self.session.post(self.url, params=params, data=body,
                                     headers={"Content-Type": "text/xml"}) as response:
            text = await response.text()
        if response.status != 200 or not text.startswith("<xml>"):
            return Posted(response.status, text)
        fields = xmltodict.parse(text)["xml"]
        if "Encrypt" in fields:
            assert self.crypto is not None
            plain = self.crypto.decrypt_message(text, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
            fields = xmltodict.parse(plain)["xml"]
        return Posted(response.status, text, fields)

    async def send_text(self, openid: str, text: str, msg_id: int | None = None, **posting: Any) -> Posted:
        """A citizen's text message (a new MsgId unless one is given: the same one is a resend)."""
        msg_id = self.next_id() if msg_id is None else msg_id
        return await self.post(message_xml("text", openid, msg_id, Content=text), **posting)


@asynccontextmanager
async def wechat_server(engine: Engine, settings: Settings, *, limiter: RateLimiter | None = None,
                        reply_seconds: float = REPLY_SECONDS) -> AsyncIterator[WeChatClient]:
    """The HTTP app with /wechat mounted, on a free loopback port, and a client posting to it."""
    limiter = limiter if limiter is not None else RateLimiter(settings.rate_limit_per_minute)
    app = create_app(engine, settings, limiter=limiter,
                     mounts=[mount(engine, limiter, settings, reply_seconds=reply_seconds)])
    async with loopback(app) as (session, base):
        yield WeChatClient(session, f"{base}{PATH}", settings, app.get(WECHAT))


def choices(content: str) -> tuple[str, ...]:
    """The titles of the numbered lines that end a reply (before its 👍/👎 line): what a number picks."""
    lines = [line for line in content.strip().splitlines() if line != RATE]
    while lines and not lines[-1].strip():
        lines.pop()
    found: list[str] = []
    for line in reversed(lines):
        match = _CHOICE.match(line)
        if match is None:
            break
        found.insert(0, match[2])
    return tuple(found)


class WeChatCitizen:
    """Turns are text messages over HTTP; a button is pressed by sending its number, 👍/👎 by sending the emoji."""

    def __init__(self, client: WeChatClient, openid: str, turns: list[Turn], rated: list[Feedback]) -> None:
        self._client = client
        self._openid = openid
        self._turns = turns
        self._rated = rated
        self._buttons: tuple[str, ...] = ()

    async def send(self, text: str) -> Said:
        self._turns.clear()
        self._rated.clear()
        posted = await self._client.send_text(self._openid, text)
        if posted.status != 200:
            raise AssertionError(f"/wechat answered {posted.status}: {posted.body}")
        content = posted.content
        picks = choices(content)
        self._buttons = picks + (tuple(FEEDBACK_BUTTONS) if RATE in content else ())
        if self._rated:
            return Said(content, (), self._rated[-1].intent, 1.0, "feedback")
        reply = self._turns[-1].reply if self._turns else None
        if reply is None:  # a fixed text (rate limit, error): no engine turn behind it
            return Said(content, self._buttons, None, 0.0, "none")
        return Said(content, self._buttons, reply.intent, reply.confidence, reply.kind)

    async def press(self, title: str) -> Said:
        if title not in self._buttons:
            raise ButtonMissing(f"上一轮回复没有 [{title}] 这一项；实际可选：{offered(self._buttons)}")
        return await self.send(title if title in FEEDBACK_BUTTONS else str(self._buttons.index(title) + 1))


@asynccontextmanager
async def conversation_harness(engine: Engine) -> AsyncIterator[Callable[[int], WeChatCitizen]]:
    """Citizens talking to /wechat in safe mode, each under an openid of their own."""
    turns: list[Turn] = []
    rated: list[Feedback] = []
    engine.subscribe(turns.append, rated.append)
    async with wechat_server(engine, wechat_settings(), limiter=RateLimiter(UNLIMITED)) as client:
        yield lambda n: WeChatCitizen(client, f"oConversationTest{n:06d}", turns, rated)
