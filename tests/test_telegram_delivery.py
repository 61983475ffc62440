"""Every answer delivered: the Telegram channel against a Bot API that fails, drops, stalls and floods."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from mini_catalogue import MESSAGES, mini_engine

from bot.channels.telegram.app import build_application, poll
from bot.channels.telegram.render import HELPFUL
from bot.checks.fakebotapi import (
    BAD_GATEWAY,
    DROP,
    DROP_AFTER,
    SERVER_ERROR,
    STALL,
    Call,
    FakeBotApi,
    Fault,
    flood,
)
from bot.checks.telegram_harness import TelegramHarness
from bot.config import Settings
from bot.engine import Engine
from bot.service.delivery import DeliveryCounts, DeliveryPolicy
from bot.service.metrics import Metrics

USER = 1001
FAST = DeliveryPolicy(base_delay=0.01, max_delay=0.05, deadline=5.0)
QUESTIONS = ("公证", "法律援助怎么申请", "邻居吵架能调解吗")


@pytest.fixture
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB 22's timedelta time periods: building a RetryAfter otherwise warns that int ones are deprecated."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return mini_engine(tmp_path)


@pytest.fixture
async def tg(engine: Engine) -> AsyncIterator[TelegramHarness]:
    async with TelegramHarness(engine, delivery=FAST, read_timeout=0.5) as harness:
        yield harness


def delivered(fake: FakeBotApi, chat_id: int) -> list[Call]:
    """The messages that reached the chat, in order (dropped calls included: the citizen saw them)."""
    return [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == chat_id]


def without_explained_duplicates(calls: list[Call]) -> list[str]:
    """The texts, each resend after a dropped call removed: a dropped call's text may come again next."""
    texts = []
    for n, call in enumerate(calls):
        resent = n + 1 < len(calls) and calls[n + 1].result["text"] == call.result["text"]
        if not (call.dropped and resent):
            texts.append(call.result["text"])
    return texts


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.usefixtures("timedelta_periods")
async def test_every_chat_gets_its_answers_in_order_from_a_misbehaving_bot_api(
        engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    chats = range(2001, 2033)  # 32 chats at once, three questions each
    reference = mini_engine(tmp_path / "reference")
    expected = {chat: [(await reference.reply(f"tg:{chat}", q, "telegram")).text for q in QUESTIONS] for chat in chats}
    faults = [SERVER_ERROR, DROP, DROP_AFTER, flood(0.05), BAD_GATEWAY, STALL, SERVER_ERROR, DROP_AFTER, DROP,
              SERVER_ERROR, DROP_AFTER, SERVER_ERROR]
    counts = DeliveryCounts()
    async with FakeBotApi() as fake:
        settings = replace(Settings.from_env({}), telegram_token=fake.token, telegram_base_url=fake.base_url)
        app = build_application(settings, engine, delivery=FAST, counts=counts, read_timeout=0.5)
        fake.add_fault("getUpdates", BAD_GATEWAY, times=2)
        for fault in faults:
            fake.add_fault("sendMessage", fault)
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(app, stop, poll_timeout=5, poll_interval=0.01))
        try:
            async with asyncio.timeout(60):
                for question in QUESTIONS:
                    for chat in chats:
                        await fake.push_update(fake.text_update(chat, question))
                for chat in chats:
                    last = expected[chat][-1]
                    await fake.wait_for("sendMessage", where=lambda c, chat=chat, last=last:  # type: ignore[misc]
                                        c.params["chat_id"] == chat and c.result["text"] == last)
                # Still serving afterwards.
                await fake.push_update(fake.text_update(USER, "公证"))
                await fake.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == USER)
        finally:
            stop.set()
            await asyncio.wait_for(polling, 10)
        for chat in chats:
            assert without_explained_duplicates(delivered(fake, chat)) == expected[chat], chat
        sends = fake.calls_to("sendMessage", include_failed=True)
        assert len([c for c in sends if not c.ok or c.dropped]) == len(faults)  # every fault was met
        assert MESSAGES["error"] not in [c.result["text"] for c in sends if c.ok]
    assert {cause for _, _, cause in counts.retries} >= {"server_error", "network", "timeout"}
    assert not counts.gave_up
    assert errors(caplog) == []


async def test_server_errors_on_a_send_are_retried_and_the_answer_delivered_once(
        tg: TelegramHarness, caplog: pytest.LogCaptureFixture) -> None:
    tg.fake.add_fault("sendMessage", Fault(500, f"Internal Server Error for /bot{tg.fake.token}/sendMessage"), times=3)
    [answer] = await tg.send(USER, "公证")
    assert answer.text != MESSAGES["error"]
    assert [c.status for c in tg.fake.calls_to("sendMessage", include_failed=True)] == [500, 500, 500, 200]
    assert tg.counts.retries == {("telegram", "sendMessage", "server_error"): 3}
    exposed = Metrics(tg.engine, delivery=tg.counts).render().decode()
    assert ('legalbot_delivery_retries_total{cause="server_error",channel="telegram",method="sendMessage"} 3.0'
            in exposed)
    assert errors(caplog) == []
    assert tg.fake.token.split(":", 1)[1] not in caplog.text


async def test_a_send_failing_past_the_deadline_is_given_up_logged_once_and_counted(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    policy = replace(FAST, deadline=0.2)
    async with TelegramHarness(engine, delivery=policy) as tg:
        tg.fake.add_fault("sendMessage", SERVER_ERROR, times=1000)
        with caplog.at_level(logging.INFO, logger="bot"):
            assert await tg.send(USER, "公证") == []
        assert tg.counts.gave_up == {("telegram", "sendMessage", "server_error"): 1}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "sendMessage" in warnings[0] and "server_error" in warnings[0]
    assert "公证" not in caplog.text  # neither the question nor the answer's text
    assert tg.fake.token.split(":", 1)[1] not in caplog.text


async def test_a_citizen_who_blocked_the_bot_is_not_retried_nor_apologised_to(
        tg: TelegramHarness, caplog: pytest.LogCaptureFixture) -> None:
    tg.fake.add_fault("sendMessage", Fault(403, "Forbidden: bot was blocked by the user"))
    assert await tg.send(USER, "公证") == []
    assert [c.status for c in tg.fake.calls_to("sendMessage", include_failed=True)] == [403]
    assert tg.counts.gave_up == {("telegram", "sendMessage", "forbidden"): 1}
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1


async def test_a_request_telegram_refuses_gets_the_apology(tg: TelegramHarness) -> None:
    tg.fake.add_fault("sendMessage", Fault(400, "Bad Request: can't parse entities"))
    [apology] = await tg.send(USER, "公证")
    assert apology.text == MESSAGES["error"]


async def test_no_apology_after_an_answer_that_may_have_arrived(tg: TelegramHarness) -> None:
    tg.fake.add_fault("sendMessage", DROP_AFTER)
    tg.fake.add_fault("sendMessage", Fault(400, "Bad Request: can't parse entities"))
    await tg.send(USER, "公证")
    [seen] = delivered(tg.fake, USER)
    assert seen.dropped and seen.result["text"] != MESSAGES["error"]


async def test_a_failure_in_the_bot_itself_is_logged_and_apologised_for(
        tg: TelegramHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("matcher broke")

    monkeypatch.setattr(Engine, "reply", broken)
    [apology] = await tg.send(USER, "公证")
    assert apology.text == MESSAGES["error"]
    assert any("matcher broke" in e for e in errors(caplog))


async def test_a_dropped_connection_is_retried_and_may_show_the_answer_twice(tg: TelegramHarness) -> None:
    tg.fake.add_fault("sendMessage", DROP)
    tg.fake.add_fault("sendMessage", DROP_AFTER)
    await tg.send(USER, "公证")
    calls = delivered(tg.fake, USER)
    assert [c.dropped for c in calls] == [True, False]  # at least once: the citizen sees it twice
    assert calls[0].result["text"] == calls[1].result["text"]
    assert tg.counts.retries == {("telegram", "sendMessage", "network"): 2}


async def test_a_stalled_send_times_out_and_is_sent_again(tg: TelegramHarness) -> None:
    tg.fake.add_fault("sendMessage", STALL)
    await tg.send(USER, "公证")
    assert [c.dropped for c in delivered(tg.fake, USER)] == [True, False]
    assert tg.counts.retries == {("telegram", "sendMessage", "timeout"): 1}


async def test_typing_is_best_effort(tg: TelegramHarness) -> None:
    tg.fake.add_fault("sendChatAction", SERVER_ERROR, times=5)
    [answer] = await tg.send(USER, "公证")
    assert answer.text != MESSAGES["error"]
    assert len(tg.fake.calls_to("sendChatAction", include_failed=True)) == 2


@pytest.mark.usefixtures("timedelta_periods")
async def test_button_acknowledgements_and_edits_are_retried(tg: TelegramHarness) -> None:
    [menu] = await tg.send(USER, "/menu")
    tg.fake.add_fault("answerCallbackQuery", flood(0.05))
    tg.fake.add_fault("answerCallbackQuery", SERVER_ERROR)
    [area] = await tg.press(USER, menu, tg.engine.catalogue.menu.areas[0].title)
    assert area.labels == ("法律援助", "人民调解", "公证")
    assert [c.status for c in tg.fake.calls_to("answerCallbackQuery", include_failed=True)] == [429, 500, 200]

    [answer] = await tg.press(USER, area, "公证")
    tg.fake.add_fault("editMessageReplyMarkup", SERVER_ERROR, times=2)
    assert await tg.press(USER, answer, HELPFUL) == []
    assert tg.toasts[-1] == MESSAGES["feedback_thanks"]
    assert "reply_markup" not in tg.fake.message(USER, answer.message_id) or HELPFUL not in str(
        tg.fake.message(USER, answer.message_id)["reply_markup"])
    assert [c.status for c in tg.fake.calls_to("editMessageReplyMarkup", include_failed=True)] == [500, 500, 200]
