"""The WeChat channel's protocol: signed XML posted to the real aiohttp server, plaintext and safe mode."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import ClientSession
from wechatpy.parser import parse_message
from mini_catalogue import MESSAGES, mini_engine, write_mini_catalogue
from serve_process import clean_env, serving

from bot.channels.wechat.protocol import MAX_XML_BYTES
from bot.checks.wechat_harness import (
    ACCOUNT,
    AES_KEY,
    APP_ID,
    TOKEN,
    WeChatClient,
    message_xml,
    signature,
    wechat_server,
    wechat_settings,
)
from bot.cli import main
from bot.config import Settings
from bot.engine import Engine, Turn
from bot.errors import ConfigError
from bot.matching.index import Index
from bot.matching.ranking import Examined

OPENID = "oCitizen0000000000000000001"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return mini_engine(tmp_path)


@pytest.fixture
def turns(engine: Engine) -> list[Turn]:
    recorded: list[Turn] = []
    engine.listeners.append(recorded.append)
    return recorded


@pytest.fixture(params=[True, False], ids=["safe", "plaintext"])
async def wx(request: pytest.FixtureRequest, engine: Engine) -> AsyncIterator[WeChatClient]:
    async with wechat_server(engine, wechat_settings(is_safe=request.param)) as client:
        yield client


@pytest.fixture
async def plain(engine: Engine) -> AsyncIterator[WeChatClient]:
    async with wechat_server(engine, wechat_settings(is_safe=False)) as client:
        yield client


async def test_url_check_echoes_echostr_only_with_the_right_signature(wx: WeChatClient) -> None:
    assert await wx.verify("8231741098") == (200, "8231741098")
    status, body = await wx.verify("8231741098", token="someoneElse")
    assert status == 403 and "8231741098" not in body
    status, _ = await wx.verify("8231741098", timestamp=int(time.time()) - 301)
    assert status == 403


async def test_a_text_message_gets_a_passive_text_reply(wx: WeChatClient, turns: list[Turn]) -> None:
    posted = await wx.send_text(OPENID, "法律援助怎么申请")
    assert posted.status == 200
    assert posted.fields["ToUserName"] == OPENID and posted.fields["FromUserName"] == ACCOUNT
    assert posted.fields["MsgType"] == "text"
    assert posted.content.startswith("法律援助是为请不起律师的群众提供的帮助。")
    assert "回复序号继续了解：\n1. 人民调解\n2. 公证" in posted.content
    assert [(t.channel, t.user, t.reply.intent) for t in turns] == [("wechat", f"wx:{OPENID}", "legal_aid")]
    # Safe mode: nothing readable travels; the reply is an <Encrypt> envelope signed with the Token.
    assert ("<Encrypt>" in posted.body) == (wx.crypto is not None)
    assert ("法律援助" in posted.body) == (wx.crypto is None)


async def test_a_bare_number_presses_a_numbered_suggestion(wx: WeChatClient) -> None:
    await wx.send_text(OPENID, "法律援助怎么申请")
    posted = await wx.send_text(OPENID, "2")
    assert posted.content.startswith("公证证明合同")


async def test_a_wrong_signature_is_refused_and_nothing_is_processed(wx: WeChatClient, turns: list[Turn]) -> None:
    posted = await wx.send_text(OPENID, "法律援助怎么申请", token="someoneElse")
    assert posted.status == 403 and "error" in posted.body
    if wx.crypto is not None:  # the query is right, the Encrypt was signed by someone else
        posted = await wx.send_text(OPENID, "法律援助怎么申请", msg_token="someoneElse")
        assert posted.status == 403 and "msg_signature" in posted.body
    assert turns == []


@pytest.mark.parametrize("age", [301, 3600, -400])
async def test_a_replayed_or_future_timestamp_is_refused(wx: WeChatClient, turns: list[Turn], age: int) -> None:
    posted = await wx.send_text(OPENID, "法律援助怎么申请", timestamp=int(time.time()) - age)
    assert posted.status == 403
    assert turns == []


@pytest.mark.parametrize("body", [b"", b"<xml><MsgType>text", b"not xml at all", b"<root><MsgType>text</MsgType></root>",
                                  b"<xml><ToUserName>a</ToUserName></xml>", "<xml>\udc80</xml>".encode("utf-8", "surrogatepass")],
                         ids=["empty", "cut", "text", "root", "no-type", "bad-utf8"])
async def test_broken_or_empty_xml_is_a_400(wx: WeChatClient, turns: list[Turn], body: bytes) -> None:
    posted = await wx.post(body)
    assert posted.status == 400, posted.body
    assert turns == []


def entity_bodies(secret: Path) -> dict[str, str]:
    text = message_xml("text", OPENID, 1, Content="&xxe;").replace("<![CDATA[&xxe;]]>", "&xxe;")
    laughs = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    return {
        "external": f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{secret}">]>{text}',
        "parameter": f'<!DOCTYPE xml [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>{text}',
        "internal": f'<!DOCTYPE xml [<!ENTITY l0 "ha">{laughs}<!ENTITY xxe "&l9;">]>{text}',
        "doctype only": f'<!DOCTYPE xml SYSTEM "file://{secret}">{message_xml("text", OPENID, 1, Content="hi")}',
    }


@pytest.mark.parametrize("kind", ["external", "parameter", "internal", "doctype only"])
async def test_a_doctype_or_entity_is_refused_unresolved(wx: WeChatClient, turns: list[Turn], tmp_path: Path,
                                                         kind: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    posted = await wx.post(entity_bodies(secret)[kind])  # in safe mode the DOCTYPE is inside the ciphertext
    assert posted.status == 400, posted.body
    assert "DTDForbidden" in posted.body  # refused for its DOCTYPE, before any parser could resolve it
    assert "TOP-SECRET" not in posted.body
    assert turns == []


@pytest.mark.parametrize("kind", ["external", "parameter", "internal"])
def test_wechatpys_own_parser_resolves_no_entity_either(tmp_path: Path, kind: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    # xmltodict (expat) refuses any entity declaration: a second wall behind defusedxml's.
    with pytest.raises(ValueError, match="entities are disabled"):
        parse_message(entity_bodies(secret)[kind])


async def test_a_doctype_around_the_encrypted_envelope_is_refused(engine: Engine, turns: list[Turn]) -> None:
    async with wechat_server(engine, wechat_settings()) as wx:
        params = wx.query()
        body = '<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>'
        async with wx.session.post(wx.url, params={**params, "encrypt_type": "aes",
                                                   "msg_signature": signature(TOKEN, params["timestamp"],
                                                                              params["nonce"], "x")},
                                   data=body) as response:
            assert response.status == 400
    assert turns == []


@pytest.mark.parametrize("size", [MAX_XML_BYTES + 1, 200 * 1024])
async def test_an_oversized_body_is_refused(plain: WeChatClient, turns: list[Turn], size: int) -> None:
    xml = message_xml("text", OPENID, 1, Content="问" * (size // 3 + 1))
    posted = await plain.post(xml)
    assert posted.status == 413
    assert turns == []


class BrokenMatcher:
    async def examine(self, text: str, index: Index) -> Examined:
        raise RuntimeError("matcher down")


async def test_an_unexpected_failure_is_never_a_5xx(plain: WeChatClient, engine: Engine,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    engine.matcher = BrokenMatcher()
    posted = await plain.send_text(OPENID, "法律援助怎么申请")
    assert (posted.status, posted.content) == (200, MESSAGES["error"])
    assert "answering a message failed (WeChat)" in caplog.text


async def test_wechat_is_off_without_a_token(engine: Engine) -> None:
    async with wechat_server(engine, Settings.from_env({})) as wx, wx.session.get(wx.url) as response:
        assert response.status == 404
        assert "WECHAT_TOKEN" in (await response.json())["error"]


@pytest.mark.parametrize(("environ", "variable"), [
    ({"WECHAT_TOKEN": "a b"}, "WECHAT_TOKEN"),
    ({"WECHAT_AES_KEY": AES_KEY, "WECHAT_APP_ID": APP_ID}, "WECHAT_TOKEN"),
    ({"WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY[:-1], "WECHAT_APP_ID": APP_ID}, "WECHAT_AES_KEY"),
    ({"WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY[:-1] + "=", "WECHAT_APP_ID": APP_ID}, "WECHAT_AES_KEY"),
    ({"WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY}, "WECHAT_APP_ID"),
    ({"WECHAT_TOKEN": TOKEN, "WECHAT_AES_KEY": AES_KEY, "WECHAT_APP_ID": "gh_123"}, "WECHAT_APP_ID"),
])
def test_wechat_settings_name_the_bad_variable(environ: dict[str, str], variable: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(environ).check_wechat()
    assert main(["serve"], environ=environ) == 2
    err = capsys.readouterr().err
    assert variable in err and AES_KEY not in err
    replace(Settings.from_env({}), wechat_token=TOKEN).check_wechat()  # plaintext mode needs the Token only


async def test_legalbot_serve_answers_wechat_in_safe_mode(tmp_path: Path) -> None:
    intents, content = write_mini_catalogue(tmp_path)
    env = clean_env(LEGALBOT_INTENTS=str(intents), LEGALBOT_CONTENT=str(content), WECHAT_TOKEN=TOKEN,
                    WECHAT_APP_ID=APP_ID, WECHAT_AES_KEY=AES_KEY)
    async with serving(env, tmp_path) as served, ClientSession() as session:
        wx = WeChatClient(session, f"{served.url}/wechat", wechat_settings())
        assert await wx.verify("echo-1") == (200, "echo-1")
        posted = await wx.send_text(OPENID, "法律援助怎么申请")
        assert posted.status == 200 and posted.content.startswith("法律援助")
    assert served.returncode == 0, served.log
    assert AES_KEY not in served.log and TOKEN not in served.log
