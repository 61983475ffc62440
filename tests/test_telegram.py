"""The Telegram channel end to end: the real PTB Application against the fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from mini_catalogue import LEGAL_AREA, MESSAGES, clarifying, mini_engine, write_mini_catalogue
from serve_process import legalbot_command
from telegram import Update

from bot.channels.telegram.app import build_application, poll, running
from bot.channels.telegram.render import HELPFUL, UNHELPFUL, split_text
from bot.cli import main
from bot.config import Settings
from bot.engine import Engine, Feedback
from bot.errors import BotError, ConfigError
from bot.checks.fakebotapi import DROP, SERVER_ERROR, Call, FakeBotApi, Fault, flood
from bot.service.ratelimit import RateLimiter
from bot.checks.telegram_harness import TelegramHarness

USER, OTHER, GROUP = 1001, 1002, -100200


@pytest.fixture
def timedelta_periods(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB 22's timedelta time periods: building a RetryAfter otherwise warns that int ones are deprecated."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return mini_engine(tmp_path)


@pytest.fixture
async def tg(engine: Engine) -> AsyncIterator[TelegramHarness]:
    async with TelegramHarness(engine) as harness:
        yield harness


def answer_text(engine: Engine, intent: str) -> str:
    """The text the engine gives for an intent (a fresh user, so no follow-up prefix)."""
    return engine.choose("reference", intent, channel="test").text


def sent_to(fake: FakeBotApi, chat_id: int) -> list[Call]:
    return [c for c in fake.calls_to("sendMessage") if c.params["chat_id"] == chat_id]


async def test_start_greets_and_shows_topic_areas(tg: TelegramHarness) -> None:
    [menu] = await tg.send(USER, "/start")
    assert menu.chat_id == USER
    assert menu.text == MESSAGES["welcome"]
    assert menu.buttons == ((LEGAL_AREA, "m:legal"),)  # the only area the mini catalogue has

    [area] = await tg.press(USER, menu, LEGAL_AREA)
    assert area.labels == ("法律援助", "人民调解", "公证")  # in the order the menu lists them

    [answer] = await tg.press(USER, area, "公证")
    assert answer.text == answer_text(tg.engine, "notarization")


async def test_a_number_picks_from_the_topic_area_last_shown(tg: TelegramHarness) -> None:
    [first] = await tg.send(USER, "法律援助怎么申请")  # an answer with its own follow-up buttons
    assert first.labels
    [menu] = await tg.send(USER, "/menu")
    [area] = await tg.press(USER, menu, LEGAL_AREA)
    assert area.labels[1] == "人民调解"
    [answer] = await tg.send(USER, "2")
    assert answer.text.startswith(answer_text(tg.engine, "people_mediation")[:20])


APPRAISAL_INTENT = """\
  - id: judicial_appraisal
    title: 司法鉴定
    keywords: [司法鉴定]
    examples: [伤情鉴定去哪做, 司法鉴定怎么申请]
"""
APPRAISAL_ANSWER = """\
  - id: judicial_appraisal
    text: 伤情、笔迹等可以申请司法鉴定。2020年办理司法鉴定486件。请拨打 12348 咨询。
    source:
      section: 一(六)四
      excerpt: 司法鉴定486件
"""


async def test_an_intent_an_operator_adds_to_the_menu_file_appears_in_the_menu(tg: TelegramHarness, tmp_path: Path) -> None:
    intents, answers = tmp_path / "intents" / "mini.yaml", tmp_path / "content" / "answers" / "mini.yaml"
    text = intents.read_text(encoding="utf-8").replace(
        "      intents: [legal_aid, people_mediation, notarization]\n",
        "      intents: [legal_aid, judicial_appraisal, people_mediation, notarization]\n"
        "    - key: appraisal\n      title: 🔬 鉴定\n      intents: [judicial_appraisal]\n")
    intents.write_text(text.replace("intents:\n  - id: legal_aid\n", "intents:\n" + APPRAISAL_INTENT + "  - id: legal_aid\n"),
                       encoding="utf-8")
    answers.write_text(answers.read_text(encoding="utf-8") + APPRAISAL_ANSWER, encoding="utf-8")
    assert await tg.engine.reload() == ()

    [menu] = await tg.send(USER, "/menu")
    assert menu.buttons == ((LEGAL_AREA, "m:legal"), ("🔬 鉴定", "m:appraisal"))
    [area] = await tg.press(USER, menu, LEGAL_AREA)
    assert area.labels == ("法律援助", "司法鉴定", "人民调解", "公证")
    [answer] = await tg.press(USER, area, "司法鉴定")
    assert answer.text == answer_text(tg.engine, "judicial_appraisal")
    [area] = await tg.press(USER, menu, "🔬 鉴定")
    assert area.labels == ("司法鉴定",)


async def test_a_menu_area_removed_from_the_catalogue_is_a_stale_button(tg: TelegramHarness, tmp_path: Path) -> None:
    [menu] = await tg.send(USER, "/menu")
    intents = tmp_path / "intents" / "mini.yaml"
    intents.write_text(intents.read_text(encoding="utf-8").replace("    - key: legal\n", "    - key: legal_services\n"),
                       encoding="utf-8")
    assert await tg.engine.reload() == ()
    [stale] = await tg.press(USER, menu, LEGAL_AREA)  # the button still carries m:legal
    assert stale.text == MESSAGES["stale_button"]


@pytest.mark.parametrize(("command", "key"), [("/help", "help"), ("/about", "about"), ("/whatever", "help")])
async def test_commands_send_their_fixed_texts(tg: TelegramHarness, command: str, key: str) -> None:
    [reply] = await tg.send(USER, command)
    assert reply.text == MESSAGES[key]


async def test_menu_lists_topic_areas(tg: TelegramHarness) -> None:
    [menu] = await tg.send(USER, "/menu")
    assert menu.labels == (LEGAL_AREA,)
    assert "选择" in menu.text


async def test_question_gets_answer_with_follow_ups_feedback_and_typing(tg: TelegramHarness) -> None:
    [reply] = await tg.send(USER, "法律援助怎么申请")
    assert reply.chat_id == USER
    assert reply.text == answer_text(tg.engine, "legal_aid")
    assert MESSAGES["legal_notice"] in reply.text
    assert reply.labels == ("人民调解", "公证", HELPFUL, UNHELPFUL)
    assert dict(reply.buttons)[HELPFUL] == "f:1:legal_aid"
    methods = [c.method for c in tg.fake.calls if c.method in {"sendChatAction", "sendMessage"}]
    assert methods == ["sendChatAction", "sendMessage"]
    assert tg.fake.calls_to("sendChatAction")[0].params == {"chat_id": USER, "action": "typing"}


async def test_ambiguous_question_offers_did_you_mean_and_a_press_answers(tg: TelegramHarness) -> None:
    text, expected = clarifying(tg.engine)
    [clarify] = await tg.send(USER, text)
    assert clarify.text == expected.text
    assert clarify.buttons == tuple((b.title, f"i:{b.intent}") for b in expected.buttons)

    chosen = expected.buttons[1]
    [answer] = await tg.press(USER, clarify, chosen.title)
    assert answer.text == answer_text(tg.engine, chosen.intent)
    assert answer.labels[-2:] == (HELPFUL, UNHELPFUL)
    assert len(tg.fake.calls_to("answerCallbackQuery")) == 1  # the client's spinner stops


async def test_replying_with_a_number_picks_that_choice(tg: TelegramHarness) -> None:
    text, expected = clarifying(tg.engine)
    chosen = expected.buttons[1].intent
    await tg.send(USER, text)
    [answer] = await tg.send(USER, "２。")  # full-width, as phone keyboards type it
    assert answer.text == answer_text(tg.engine, chosen)
    [follow_up] = await tg.send(USER, "1")  # the answer's own buttons are the choices now
    assert follow_up.text == answer_text(tg.engine, tg.engine.catalogue.intents[chosen].suggest[0])


@pytest.mark.parametrize("data", ["i:retired_intent", "m:no_such_area", "f:1:retired_intent", "zzz", "i:" + "x" * 80,
                                  "i:Bad-Id"])
async def test_stale_or_forged_button_gets_a_polite_reply(tg: TelegramHarness, caplog: pytest.LogCaptureFixture,
                                                          data: str) -> None:
    [shown] = await tg.send(USER, "法律援助怎么申请")
    message = tg.fake.message(USER, shown.message_id)
    sent = await tg.feed(tg.fake.callback_update(USER, message, data))
    assert [(s.chat_id, s.text) for s in sent] == [(USER, MESSAGES["stale_button"])]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_feedback_is_recorded_once_and_its_buttons_removed(tg: TelegramHarness) -> None:
    events: list[Feedback] = []
    tg.engine.feedback_listeners.append(events.append)
    [answer] = await tg.send(USER, "公证")

    assert await tg.press(USER, answer, UNHELPFUL) == []
    assert tg.toasts == [MESSAGES["feedback_thanks"]]
    assert events == [Feedback(f"tg:{USER}", "telegram", "notarization", False)]
    edited = tg.fake.message(USER, answer.message_id)
    assert [b["text"] for row in edited["reply_markup"]["inline_keyboard"] for b in row] == ["法律援助"]
    with pytest.raises(LookupError, match="no button"):
        await tg.press(USER, answer, HELPFUL)


QUERY_TOO_OLD = Fault(400, "Bad Request: query is too old and response timeout expired or query id is invalid")


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_press_too_old_to_acknowledge_still_gets_its_answer(tg: TelegramHarness,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    [menu] = await tg.send(USER, "/menu")
    tg.fake.add_fault("answerCallbackQuery", QUERY_TOO_OLD)
    [area] = await tg.press(USER, menu, LEGAL_AREA)
    assert area.labels == ("法律援助", "人民调解", "公证")
    tg.fake.add_fault("answerCallbackQuery", QUERY_TOO_OLD)
    [answer] = await tg.press(USER, area, "公证")
    assert answer.text == answer_text(tg.engine, "notarization")
    assert [c.status for c in tg.fake.calls_to("answerCallbackQuery", include_failed=True)] == [400, 400]
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("failing", ["answerCallbackQuery", "editMessageReplyMarkup"])
async def test_feedback_is_recorded_when_telegram_refuses_the_toast_or_the_edit(
        tg: TelegramHarness, caplog: pytest.LogCaptureFixture, failing: str) -> None:
    events: list[Feedback] = []
    tg.engine.feedback_listeners.append(events.append)
    [answer] = await tg.send(USER, "公证")
    tg.fake.add_fault(failing, QUERY_TOO_OLD if failing == "answerCallbackQuery" else Fault(
        400, "Bad Request: message is not modified"))
    assert await tg.press(USER, answer, HELPFUL) == []  # no apology
    assert events == [Feedback(f"tg:{USER}", "telegram", "notarization", True)]
    assert [c.status for c in tg.fake.calls_to(failing, include_failed=True)] == [400]
    assert errors_logged(caplog) == []


async def test_a_double_tap_on_feedback_counts_once(tg: TelegramHarness, caplog: pytest.LogCaptureFixture) -> None:
    events: list[Feedback] = []
    tg.engine.feedback_listeners.append(events.append)
    [answer] = await tg.send(USER, "公证")
    shown = tg.fake.message(USER, answer.message_id)
    # Both taps leave the phone before the first edit removes the buttons, so both carry them.
    taps = [tg.fake.callback_update(USER, shown, data) for data in ("f:1:notarization", "f:0:notarization")]
    for tap in taps:
        assert await tg.feed(tap) == []
    assert events == [Feedback(f"tg:{USER}", "telegram", "notarization", True)]
    assert tg.toasts == [MESSAGES["feedback_thanks"]] * 2
    assert errors_logged(caplog) == []
    [other] = await tg.send(OTHER, "公证")  # the same intent from someone else still counts
    await tg.press(OTHER, other, UNHELPFUL)
    assert events[1:] == [Feedback(f"tg:{OTHER}", "telegram", "notarization", False)]


@pytest.mark.parametrize("kind", ["photo", "voice", "sticker", "document", "location"])
async def test_non_text_messages_get_a_text_only_notice(tg: TelegramHarness, kind: str) -> None:
    sent = await tg.feed(tg.fake.media_update(USER, kind))
    assert [(s.chat_id, s.text, s.buttons) for s in sent] == [(USER, MESSAGES["non_text"], ())]


async def test_group_messages_are_answered_only_when_addressed(tg: TelegramHarness) -> None:
    fake = tg.fake
    ignored = [
        fake.text_update(USER, "法律援助怎么申请", chat_id=GROUP, chat_type="supergroup"),
        fake.text_update(USER, "@someone_else 法律援助怎么申请", chat_id=GROUP, chat_type="supergroup"),
        fake.media_update(USER, "photo", chat_id=GROUP, chat_type="supergroup"),
    ]
    for update in ignored:
        assert await tg.feed(update) == []
    assert fake.calls_to("sendChatAction") == []

    mention = fake.text_update(USER, f"@{fake.username} 法律援助怎么申请", chat_id=GROUP, chat_type="supergroup")
    [reply] = await tg.feed(mention)
    assert (reply.chat_id, reply.text) == (GROUP, answer_text(tg.engine, "legal_aid"))
    assert sent_to(fake, GROUP)[0].params["reply_parameters"]["message_id"] == mention["message"]["message_id"]

    bot_message = fake.message(GROUP, reply.message_id)
    [again] = await tg.feed(fake.text_update(OTHER, "公证", chat_id=GROUP, chat_type="supergroup",
                                             reply_to=bot_message))
    assert again.text == answer_text(tg.engine, "notarization")


async def test_text_is_escaped_for_html(tg: TelegramHarness) -> None:
    [reply] = await tg.send(USER, "公证")
    assert "<具体材料>" in reply.text
    assert "&" in reply.text
    raw = tg.fake.calls_to("sendMessage")[-1].params
    assert raw["parse_mode"] == "HTML"
    assert "&lt;具体材料&gt;" in raw["text"]
    assert "&amp;" in raw["text"]


async def test_long_replies_are_split_under_the_limit(tmp_path: Path) -> None:
    long_help = "\n".join(["直接用一句话说说您想办什么事，我会告诉您下一步可以去哪里问。"] * 250)
    async with TelegramHarness(mini_engine(tmp_path, help=long_help)) as tg:
        sent = await tg.send(USER, "/help")
    assert len(sent) == 2
    assert all(len(s.text) <= 4096 for s in sent)
    assert "\n".join(s.text for s in sent) == long_help


@pytest.mark.parametrize(("text", "limit", "chunks"), [
    ("短", 10, ["短"]),
    ("一二三\n四五六七八九", 5, ["一二三", "四五六七八", "九"]),
    ("ab cd ef", 5, ["ab cd", "ef"]),
    ("", 5, [""]),
])
def test_split_text(text: str, limit: int, chunks: list[str]) -> None:
    assert split_text(text, limit) == chunks


async def test_a_flood_gets_one_notice_and_other_users_are_unaffected(engine: Engine) -> None:
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    async with TelegramHarness(engine, limiter=limiter) as tg:
        replies = [await tg.send(USER, "法律援助怎么申请") for _ in range(6)]
        assert [len(r) for r in replies] == [1, 1, 1, 1, 0, 0]
        assert replies[3][0].text == MESSAGES["rate_limited"]
        [other] = await tg.send(OTHER, "公证")
        assert other.text == answer_text(engine, "notarization")
        now[0] += 20.0  # one message's worth of the window has freed
        [back] = await tg.send(USER, "公证")
        assert back.text == answer_text(engine, "notarization")


@pytest.mark.usefixtures("timedelta_periods")
async def test_flood_control_429_is_retried_and_delivered_once(tg: TelegramHarness) -> None:
    tg.fake.add_fault("sendMessage", flood(retry_after=0.05))
    [reply] = await tg.send(USER, "公证")
    assert reply.text == answer_text(tg.engine, "notarization")
    attempts = tg.fake.calls_to("sendMessage", include_failed=True)
    assert [c.status for c in attempts] == [429, 200]
    assert len(sent_to(tg.fake, USER)) == 1


async def test_polling_answers_and_recovers_from_a_dropped_connection(engine: Engine) -> None:
    async with FakeBotApi() as fake:
        settings = replace(Settings.from_env({}), telegram_token=fake.token, telegram_base_url=fake.base_url)
        app = build_application(settings, engine)
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(app, stop, poll_timeout=5, poll_interval=0.01))
        try:
            async with asyncio.timeout(10):
                await fake.push_update(fake.text_update(USER, "/start"))
                [menu] = await fake.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == USER)
                assert menu.result["text"] == MESSAGES["welcome"]

                fake.add_fault("getUpdates", DROP)
                await fake.push_update(fake.text_update(OTHER, "公证"))
                [answer] = await fake.wait_for("sendMessage", where=lambda c: c.params["chat_id"] == OTHER)
                assert answer.result["text"] == answer_text(engine, "notarization")
        finally:
            stop.set()
            await asyncio.wait_for(polling, 10)
        assert [c.status for c in fake.calls_to("getUpdates", include_failed=True) if not c.ok] == [0]
        assert len(sent_to(fake, OTHER)) == 1
        assert fake.calls_to("deleteWebhook")  # polling starts by clearing any webhook


async def test_server_errors_while_polling_are_retried(engine: Engine) -> None:
    async with FakeBotApi() as fake:
        settings = replace(Settings.from_env({}), telegram_token=fake.token, telegram_base_url=fake.base_url)
        stop = asyncio.Event()
        fake.add_fault("getUpdates", SERVER_ERROR, times=2)
        polling = asyncio.create_task(poll(build_application(settings, engine), stop, poll_timeout=5,
                                           poll_interval=0.01))
        try:
            async with asyncio.timeout(10):
                await fake.push_update(fake.text_update(USER, "公证"))
                await fake.wait_for("sendMessage")
        finally:
            stop.set()
            await asyncio.wait_for(polling, 10)
        assert [c.status for c in fake.calls_to("getUpdates", include_failed=True)][:2] == [500, 500]


async def test_a_token_the_bot_api_rejects_is_a_config_error(engine: Engine) -> None:
    async with FakeBotApi() as fake:
        settings = replace(Settings.from_env({}), telegram_token="987654321:" + "B" * 35,
                           telegram_base_url=fake.base_url)
        with pytest.raises(ConfigError, match="rejected"):
            async with running(build_application(settings, engine)):
                pass
        assert [c.status for c in fake.calls] == [401]


async def test_an_unreachable_bot_api_is_a_bot_error(engine: Engine) -> None:
    async with FakeBotApi() as fake:
        base_url = fake.base_url  # the port is closed once the fake has stopped
    settings = replace(Settings.from_env({}), telegram_token=fake.token, telegram_base_url=base_url)
    with pytest.raises(BotError, match="cannot reach"):
        async with running(build_application(settings, engine)):
            pass


@pytest.mark.parametrize(("token", "complaint"), [("", "TELEGRAM_BOT_TOKEN is not set"),
                                                  ("not-a-token", "TELEGRAM_BOT_TOKEN is malformed")])
def test_telegram_without_a_valid_token_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], token: str,
                                                              complaint: str) -> None:
    assert main(["telegram"], {"TELEGRAM_BOT_TOKEN": token}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert complaint in err
    assert "Traceback" not in err


async def test_legalbot_telegram_subprocess_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    intents, content = write_mini_catalogue(tmp_path)
    async with FakeBotApi() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "LEGALBOT_"))}
        env |= {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url,
                "LEGALBOT_INTENTS": str(intents), "LEGALBOT_CONTENT": str(content)}
        process = await asyncio.create_subprocess_exec(*legalbot_command(), "telegram", env=env, cwd=tmp_path,
                                                       stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(30):
                await fake.push_update(fake.text_update(USER, "/start"))
                [menu] = await fake.wait_for("sendMessage")
            assert (menu.params["chat_id"], menu.result["text"]) == (USER, MESSAGES["welcome"])
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(15):
                _, err = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.returncode == 0, err.decode()
        assert fake.token not in err.decode()


async def run_legalbot(tmp_path: Path, args: list[str], environ: dict[str, str]) -> tuple[int, str]:
    """Run `legalbot *args` with a mini catalogue and `environ`; its exit code and stderr once it exits."""
    intents, content = write_mini_catalogue(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "LEGALBOT_"))}
    env |= {"LEGALBOT_INTENTS": str(intents), "LEGALBOT_CONTENT": str(content), **environ}
    process = await asyncio.create_subprocess_exec(*legalbot_command(), *args, env=env, cwd=tmp_path,
                                                   stdout=asyncio.subprocess.DEVNULL,
                                                   stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(30):
            _, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, err.decode()


REJECTED_TOKEN = "987654321:" + "Rejected-key_" * 3


@pytest.mark.parametrize("verbose", [[], ["-v"]])
async def test_legalbot_telegram_with_a_rejected_token_never_prints_it(tmp_path: Path, verbose: list[str]) -> None:
    async with FakeBotApi() as fake:  # answers 401 to any other token, as Telegram does
        code, err = await run_legalbot(tmp_path, ["telegram", *verbose],
                                       {"TELEGRAM_BOT_TOKEN": REJECTED_TOKEN, "TELEGRAM_BASE_URL": fake.base_url})
        assert [c.status for c in fake.calls] == [401]
    assert code == 2, err
    assert "legalbot: TELEGRAM_BOT_TOKEN was rejected by the Bot API" in err
    assert REJECTED_TOKEN.split(":", 1)[1] not in err
    assert "Traceback" not in err


async def test_ptb_never_logs_updates_or_the_token_even_at_debug(engine: Engine,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root level `legalbot -v` sets
    for name in ("telegram", "httpx"):
        caplog.set_level(logging.NOTSET, logger=name)  # as a fresh process has them
    question = "公证 我叫张三，住在城南"
    async with FakeBotApi() as fake:
        settings = replace(Settings.from_env({}), telegram_token=fake.token, telegram_base_url=fake.base_url)
        stop = asyncio.Event()
        polling = asyncio.create_task(poll(build_application(settings, engine), stop, poll_timeout=5,
                                           poll_interval=0.01))
        try:
            async with asyncio.timeout(10):
                await fake.push_update(fake.text_update(USER, question))
                [answer] = await fake.wait_for("sendMessage")
                assert logging.getLogger("telegram").getEffectiveLevel() >= logging.INFO
        finally:
            stop.set()
            await asyncio.wait_for(polling, 10)
    assert answer.params["chat_id"] == USER
    library = [r for r in caplog.records if r.name.split(".")[0] in {"telegram", "httpx", "httpcore"}]
    assert not [r.getMessage() for r in library if r.name.startswith("telegram") and r.levelno < logging.INFO]
    assert not [r.getMessage() for r in library if "张三" in r.getMessage()]
    assert fake.token.split(":", 1)[1] not in caplog.text


FOLLOWING = ("法律援助怎么申请", "要钱吗", "要带什么")


async def test_a_slow_chat_does_not_hold_up_other_chats(engine: Engine) -> None:
    async with FakeBotApi() as fake:
        settings = replace(Settings.from_env({}), telegram_token=fake.token, telegram_base_url=fake.base_url)
        app = build_application(settings, engine, with_updater=False, concurrent_updates=2)

        async def queue(user: int, text: str) -> None:
            await app.update_queue.put(Update.de_json({"update_id": 0, **fake.text_update(user, text)}, app.bot))

        async with running(app):
            slow = fake.hold("sendChatAction", where=lambda params: params["chat_id"] == USER)
            try:
                async with asyncio.timeout(10):
                    await queue(USER, "公证")
                    await slow.arrived.wait()  # USER's first update is stuck on a slow Telegram answer
                    for question in FOLLOWING:
                        await queue(USER, question)  # wait for USER's chat, not for a slot
                    await queue(OTHER, "公证")
                    [first] = await fake.wait_for("sendMessage")
                    assert first.params["chat_id"] == OTHER, "the other chat waited for the slow one"
                    slow.released.set()
                    await fake.wait_for("sendMessage", 5)
            finally:
                slow.released.set()
        texts = [c.result["text"] for c in sent_to(fake, USER)]
        # In order: each reply is the one a conversation in that order gets (no part is given twice).
        reference = Engine(engine.catalogue)
        assert texts == [reference.respond("reference", text).text for text in ("公证", *FOLLOWING)]
