"""WeChat's side of the exchange: signatures, safe-mode encryption and message XML, done by wechatpy.

Every body is read by defusedxml first, which refuses a DOCTYPE (so no entity, internal or
external, is ever declared, let alone resolved) before wechatpy's xmltodict sees the same text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml.ElementTree import fromstring
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.parser import parse_message
from wechatpy.replies import create_reply
from wechatpy.utils import check_signature

from bot.config import Settings

MAX_AGE = 300  # seconds: a request signed longer ago (or further ahead) than this is a replay
MAX_XML_BYTES = 16 * 1024  # an encrypted text message of WeChat's longest is about 4 KiB
NOTHING = "success"  # what WeChat takes as "no reply", without sending the message again


class Refused(Exception):
    """A request this channel will not process: the HTTP status and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Signed:
    """The query of a request whose signature and timestamp were checked."""

    timestamp: str
    nonce: str
    is_encrypted: bool
    msg_signature: str = ""


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message or event as wechatpy parsed it, its sender and the key its resends share."""

    message: Any
    user: str
    key: str


def read_xml(data: bytes | str) -> dict[str, str]:
    """The children of WeChat's <xml> root as tag -> text; Refused(400) on anything else, a DOCTYPE included."""
    try:
        root = fromstring(data, forbid_dtd=True)
    except (ParseError, ValueError) as exc:  # defusedxml's refusals are ValueErrors
        raise Refused(400, f"not a WeChat message: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise Refused(400, "not a WeChat message: the root element is not <xml>")
    return {child.tag: child.text or "" for child in root}


class Protocol:
    """The account's Token (and, in safe mode, AppID and EncodingAESKey) applied to requests and replies."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self._token = settings.wechat_token
        self._crypto = (WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
                        if settings.wechat_aes_key else None)
        self._clock = clock

    def verify(self, query: Mapping[str, str]) -> Signed:
        """The signed query, or Refused(403) when the signature is wrong or the timestamp stale."""
        signature, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        try:
            check_signature(self._token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Refused(403, "missing or wrong signature") from None
        if not timestamp.isdecimal() or abs(self._clock() - int(timestamp)) > MAX_AGE:
            raise Refused(403, "timestamp missing or more than 5 minutes away")
        is_encrypted = query.get("encrypt_type", "raw") == "aes"
        return Signed(timestamp, nonce, is_encrypted, query.get("msg_signature", ""))

    def open(self, body: bytes, signed: Signed) -> Incoming:
        """The message in a body: decrypted in safe mode; Refused(403/400) when it cannot be."""
        fields = read_xml(body)
        if signed.is_encrypted:
            if self._crypto is None:
                raise Refused(400, "an encrypted message, but WECHAT_AES_KEY is not set")
            if "Encrypt" not in fields:
                raise Refused(400, "encrypt_type=aes without an <Encrypt> element")
            try:
                xml = self._crypto.decrypt_message(fields, signed.msg_signature, signed.timestamp, signed.nonce)
            except InvalidSignatureException:
                raise Refused(403, "missing or wrong msg_signature") from None
            except Exception as exc:  # noqa: BLE001
                # A forged or garbled <Encrypt> fails anywhere in base64, AES, padding or the AppID
                # check, each with its own exception type; it is the sender's fault either way.
                raise Refused(400, f"cannot decrypt the message: {type(exc).__name__}") from None
            read_xml(xml)
        else:
            xml = body.decode("utf-8", "replace")
        try:
            message = parse_message(xml)
            sender, msg_id, sent_at = message.source, message.id, message.time
        except Exception as exc:  # noqa: BLE001
            # parse_message indexes what it expects (MsgType, Event) and calls str methods on it;
            # wechatpy's fields convert MsgId and CreateTime with int() when they are read.
            raise Refused(400, f"not a WeChat message: {type(exc).__name__}") from None
        if not isinstance(sender, str) or not sender:
            raise Refused(400, "not a WeChat message: no FromUserName")
        # A message is resent with its MsgId; an event has none, and WeChat's advice is sender + CreateTime.
        key = f"msg:{msg_id}" if msg_id else f"event:{sender}:{sent_at}:{getattr(message, 'event', '')}"
        return Incoming(message, f"wx:{sender}", key)

    def seal(self, text: str, message: Any, signed: Signed) -> str:
        """The passive reply to `message` (From/To swapped), encrypted in safe mode; `success` for none."""
        if not text:
            return NOTHING
        # The text goes into CDATA unescaped: a literal "]]>" would end it early.
        xml = create_reply(text.replace("]]>", "]] >"), message, render=True)
        if signed.is_encrypted and self._crypto is not None:
            return str(self._crypto.encrypt_message(xml, signed.nonce, signed.timestamp))
        return str(xml)
