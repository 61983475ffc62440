"""The fake Bot API is the oracle of the Telegram tests, so check that it refuses what Telegram refuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.checks.fakebotapi import DROP, DROP_AFTER, STALL, BadRequest, FakeBotApi, flood, render_html


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


async def call(fake: FakeBotApi, method: str, token: str | None = None, **params: Any) -> tuple[int, Any]:
    async with ClientSession() as session, session.post(
            f"{fake.base_url}{token or fake.token}/{method}", data={k: str(v) for k, v in params.items()}) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(("html", "shown"), [
    ("a &lt;b&gt; &amp; c", "a <b> & c"),
    ("<b>粗体</b> 和 <i>斜体</i>", "粗体 和 斜体"),
    ("&#20320;好", "你好"),
])
def test_render_html_shows_what_the_client_would(html: str, shown: str) -> None:
    assert render_html(html) == shown


@pytest.mark.parametrize("html", ["<具体材料>", "a < b", "a & b", "x > y"])
def test_render_html_refuses_unescaped_markup(html: str) -> None:
    with pytest.raises(BadRequest, match="can't parse entities"):
        render_html(html)


async def test_send_message_is_recorded_and_checked(fake: FakeBotApi) -> None:
    status, body = await call(fake, "sendMessage", chat_id=5, text="公证 &amp; 调解", parse_mode="HTML")
    assert status == 200
    assert body["result"]["text"] == "公证 & 调解"
    assert fake.calls_to("sendMessage")[0].params == {"chat_id": 5, "text": "公证 &amp; 调解", "parse_mode": "HTML"}
    assert (await call(fake, "sendMessage", chat_id=5, text="x" * 4097))[0] == 400
    assert (await call(fake, "sendMessage", chat_id=5, text=" "))[0] == 400
    markup = '{"inline_keyboard": [[{"text": "长", "callback_data": "i:' + "x" * 70 + '"}]]}'
    status, body = await call(fake, "sendMessage", chat_id=5, text="hi", reply_markup=markup)
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")


async def test_wrong_token_and_unknown_method(fake: FakeBotApi) -> None:
    assert (await call(fake, "getMe", token="1:wrong"))[0] == 401
    assert (await call(fake, "noSuchMethod"))[0] == 404


async def test_faults_are_served_in_order(fake: FakeBotApi) -> None:
    fake.add_fault("getMe", flood(retry_after=3))
    status, body = await call(fake, "getMe")
    assert (status, body["parameters"]) == (429, {"retry_after": 3})
    fake.add_fault("getMe", DROP)
    with pytest.raises(Exception, match="disconnected"):
        await call(fake, "getMe")
    assert (await call(fake, "getMe"))[0] == 200
    assert [c.status for c in fake.calls] == [429, 0, 200]


async def test_a_call_dropped_after_it_took_effect_is_stored_but_never_answered(fake: FakeBotApi) -> None:
    fake.add_fault("sendMessage", DROP_AFTER)
    with pytest.raises(Exception, match="disconnected"):
        await call(fake, "sendMessage", chat_id=7, text="到了吗")
    [sent] = fake.calls_to("sendMessage")
    assert sent.dropped
    assert fake.message(7, sent.result["message_id"])["text"] == "到了吗"


async def test_a_stalled_call_takes_effect_and_is_not_answered_until_close(fake: FakeBotApi) -> None:
    fake.add_fault("sendMessage", STALL)
    stalled = asyncio.create_task(call(fake, "sendMessage", chat_id=7, text="慢"))
    [sent] = await asyncio.wait_for(fake.wait_for("sendMessage"), 5)
    assert sent.dropped and not stalled.done()
    await fake.close()
    with pytest.raises(Exception, match="disconnected"):
        await asyncio.wait_for(stalled, 5)


async def test_get_updates_long_polls_and_confirms_by_offset(fake: FakeBotApi) -> None:
    poll = asyncio.create_task(call(fake, "getUpdates", timeout=5))
    first = await fake.push_update(fake.text_update(1, "你好"))
    status, body = await asyncio.wait_for(poll, 5)
    assert status == 200
    assert [u["update_id"] for u in body["result"]] == [first]
    second = await fake.push_update(fake.text_update(1, "再见"))
    _, body = await call(fake, "getUpdates", offset=first + 1, timeout=0)
    assert [u["update_id"] for u in body["result"]] == [second]


async def test_a_held_call_is_answered_once_released(fake: FakeBotApi) -> None:
    held = fake.hold("sendMessage", where=lambda params: params.get("chat_id") == 1)
    first = asyncio.create_task(call(fake, "sendMessage", chat_id=1, text="慢"))
    await asyncio.wait_for(held.arrived.wait(), 5)
    assert (await call(fake, "sendMessage", chat_id=2, text="快"))[0] == 200  # other chats pass
    assert [c.params["chat_id"] for c in fake.calls] == [2]
    held.released.set()
    assert (await asyncio.wait_for(first, 5))[0] == 200
    assert (await call(fake, "sendMessage", chat_id=1, text="再来"))[0] == 200  # a hold holds one call
    assert [c.params["chat_id"] for c in fake.calls] == [2, 1, 1]


async def test_an_edit_that_changes_nothing_is_refused(fake: FakeBotApi) -> None:
    markup = '{"inline_keyboard": [[{"text": "公证", "callback_data": "i:notarization"}]]}'
    _, sent = await call(fake, "sendMessage", chat_id=5, text="hi", reply_markup=markup)
    message_id = sent["result"]["message_id"]
    status, body = await call(fake, "editMessageReplyMarkup", chat_id=5, message_id=message_id, reply_markup=markup)
    assert (status, body["description"].split(":")[:2]) == (400, ["Bad Request", " message is not modified"])
    assert (await call(fake, "editMessageReplyMarkup", chat_id=5, message_id=message_id))[0] == 200
    assert "reply_markup" not in fake.message(5, message_id)
    assert (await call(fake, "editMessageReplyMarkup", chat_id=5, message_id=message_id))[0] == 400
    assert (await call(fake, "editMessageText", chat_id=5, message_id=message_id, text="hi"))[0] == 400
    assert (await call(fake, "editMessageText", chat_id=5, message_id=message_id, text="hello"))[0] == 200
    assert fake.message(5, message_id)["text"] == "hello"
