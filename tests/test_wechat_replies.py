"""What the WeChat channel answers: resends, the 5-second bound, events, other message types, long answers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from mini_catalogue import LEGAL_AREA, MESSAGES, mini_engine
from test_http import parse_metrics

from bot.channels.wechat.render import MAX_REPLY_BYTES
from bot.channels.wechat.webhook import RecentReplies
from bot.checks.conversation_format import load_conversations
from bot.checks.wechat_harness import WeChatClient, conversation_harness, message_xml, wechat_server, wechat_settings
from bot.cli import main
from bot.engine import Engine, Turn
from bot.matching.index import Index
from bot.matching.ranking import Examined, examine
from bot.service.ratelimit import RateLimiter
from bot.service.runtime import services

OPENID = "oCitizen0000000000000000002"


class GatedMatcher:
    """Matches only once `open` is set, so a test decides when a turn ends."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.entered = asyncio.Event()  # a turn is matching
        self.calls = 0

    async def examine(self, text: str, index: Index) -> Examined:
        self.calls += 1
        self.entered.set()
        await self.open.wait()
        return examine(text, index)


async def until(condition: Callable[[], bool]) -> None:
    """Return once condition() holds, letting the server's handlers run meanwhile (no timed waits:
    each check yields to the event loop once; the resend counter has no event of its own)."""
    while not condition():
        await asyncio.sleep(0)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return mini_engine(tmp_path)


@pytest.fixture
def turns(engine: Engine) -> list[Turn]:
    recorded: list[Turn] = []
    engine.listeners.append(recorded.append)
    return recorded


@pytest.fixture
async def wx(engine: Engine) -> AsyncIterator[WeChatClient]:
    async with wechat_server(engine, wechat_settings()) as client:
        yield client


async def test_a_resend_is_answered_identically_and_counted_once(engine: Engine, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    settings = replace(wechat_settings(), db_path=db, intents_dir=tmp_path, content_dir=tmp_path)
    async with services(engine, settings, watch=False) as running, wechat_server(engine, settings) as wx:
        msg_id = wx.next_id()
        answers = [await wx.send_text(OPENID, "法律援助怎么申请", msg_id) for _ in range(3)]
        async with wx.session.get(wx.url.removesuffix("/wechat") + "/metrics") as response:
            metrics = parse_metrics(await response.text())
        assert running.events is not None and running.events.flush(10)
    assert {a.content for a in answers} == {answers[0].content} and answers[0].content.startswith("法律援助")
    assert metrics['legalbot_messages_total{channel="wechat",outcome="answer"}'] == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT channel, intent FROM events").fetchall() == [("wechat", "legal_aid")]


async def test_a_resend_while_the_first_is_answered_awaits_the_same_reply(engine: Engine, wx: WeChatClient,
                                                                         turns: list[Turn]) -> None:
    gate = GatedMatcher()
    engine.matcher = gate
    msg_id = wx.next_id()
    assert wx.channel is not None
    replies = wx.channel.replies
    first = asyncio.create_task(wx.send_text(OPENID, "法律援助怎么申请", msg_id))
    await asyncio.wait_for(gate.entered.wait(), 10)
    second = asyncio.create_task(wx.send_text(OPENID, "法律援助怎么申请", msg_id))
    await asyncio.wait_for(until(lambda: replies.resends == 1), 10)
    assert not first.done() and not second.done()  # both wait on the one turn
    gate.open.set()
    assert (await first).content == (await second).content
    assert gate.calls == 1 and len(turns) == 1


async def test_recent_replies_make_each_key_once() -> None:
    recent = RecentReplies(size=2)
    release = asyncio.Event()
    made: list[str] = []

    async def make(text: str) -> str:
        made.append(text)
        await release.wait()
        return text

    first = asyncio.create_task(recent.once("a", lambda: make("A")))
    resend = asyncio.create_task(recent.once("a", lambda: make("A again")))
    await asyncio.sleep(0)
    release.set()
    assert (await first, await resend) == ("A", "A")
    assert await recent.once("b", lambda: make("B")) == "B"
    assert await recent.once("c", lambda: make("C")) == "C"
    assert await recent.once("a", lambda: make("A later")) == "A later"  # only the last 2 keys are kept
    assert made == ["A", "B", "C", "A later"]


async def test_a_slow_reply_becomes_try_again_within_the_bound(engine: Engine, turns: list[Turn]) -> None:
    gate = GatedMatcher()
    engine.matcher = gate
    finished = asyncio.Event()
    engine.listeners.append(lambda turn: finished.set())
    async with wechat_server(engine, wechat_settings(), reply_seconds=0.2) as wx:
        posted = await wx.send_text(OPENID, "法律援助怎么申请")
        assert posted.status == 200 and "稍后再试" in posted.content
        assert posted.content == MESSAGES["error"]
        gate.open.set()
        await asyncio.wait_for(finished.wait(), 10)
    assert [t.reply.intent for t in turns] == ["legal_aid"]  # the turn still finished and was recorded


@pytest.mark.parametrize(("kind", "fields"), [
    ("image", {"PicUrl": "http://mmbiz.qpic.cn/x", "MediaId": "m1"}),
    ("voice", {"MediaId": "m2", "Format": "amr"}),
    ("location", {"Location_X": "28.74", "Location_Y": "118.62", "Scale": "15", "Label": "江山市"}),
    ("video", {"MediaId": "m3", "ThumbMediaId": "t3"}),
])
async def test_other_message_types_get_one_sentence(wx: WeChatClient, turns: list[Turn], kind: str,
                                                    fields: dict[str, str]) -> None:
    posted = await wx.post(message_xml(kind, OPENID, wx.next_id(), **fields))
    assert posted.fields["MsgType"] == "text"
    assert posted.content == MESSAGES["non_text"]
    assert turns == []


async def test_a_follow_gets_the_greeting_of_the_welcome_role(wx: WeChatClient, turns: list[Turn]) -> None:
    posted = await wx.post(message_xml("event", OPENID, Event="subscribe", EventKey=""))
    assert posted.fields["ToUserName"] == OPENID
    assert posted.content == "您好！请直接说说您想问什么。"  # the answer of the intent with roles: [welcome]
    assert [t.reply.intent for t in turns] == ["greeting"]
    left = await wx.post(message_xml("event", OPENID, Event="unsubscribe"))
    assert (left.status, left.body) == (200, "success")


async def test_a_follow_without_a_welcome_role_gets_the_welcome_text(tmp_path: Path) -> None:
    engine = mini_engine(tmp_path)
    assert engine.intents_dir is not None
    intents = engine.intents_dir / "mini.yaml"
    intents.write_text(intents.read_text(encoding="utf-8").replace(", welcome]", "]"), encoding="utf-8")
    assert not await engine.reload()
    async with wechat_server(engine, wechat_settings()) as wx:
        posted = await wx.post(message_xml("event", OPENID, Event="subscribe"))
    assert posted.content == MESSAGES["welcome"]


async def test_a_menu_click_answers_through_the_catalogues_menu(wx: WeChatClient, turns: list[Turn]) -> None:
    posted = await wx.post(message_xml("event", OPENID, Event="CLICK", EventKey="people_mediation"))
    assert posted.content.startswith("邻里、家庭纠纷可以申请人民调解")
    assert [(t.channel, t.reply.intent) for t in turns] == [("wechat", "people_mediation")]
    area = await wx.post(message_xml("event", OPENID, created=1, Event="CLICK", EventKey="legal"))
    assert area.content == f"「{LEGAL_AREA}」里可以问这些：\n1. 法律援助\n2. 人民调解\n3. 公证"
    assert (await wx.send_text(OPENID, "3")).content.startswith("公证证明")  # a number picks from the area
    for n, key in enumerate(["greeting", "retired_topic"], 2):  # an intent outside the menu, an unknown key
        stale = await wx.post(message_xml("event", OPENID, created=n, Event="CLICK", EventKey=key))
        assert stale.content == MESSAGES["stale_button"]


async def test_a_long_answer_is_cut_at_a_sentence_keeping_the_hotline(tmp_path: Path) -> None:
    sentence = "法律援助是为请不起律师的群众提供的帮助。"
    engine = mini_engine(tmp_path)
    assert engine.content_dir is not None
    answers = engine.content_dir / "answers" / "mini.yaml"
    long_text = sentence * 60 + "\n      请拨打 12348 咨询。"
    answers.write_text(answers.read_text(encoding="utf-8").replace(
        "text: 法律援助是为请不起律师的群众提供的帮助。江山建立健全了法律援助“全程代办”工作机制。请拨打 12348 咨询。",
        f"text: |\n      {long_text}"), encoding="utf-8")
    assert not await engine.reload()
    async with wechat_server(engine, wechat_settings()) as wx:
        content = (await wx.send_text(OPENID, "法律援助怎么申请")).content
    assert len(content.encode()) <= MAX_REPLY_BYTES < len((sentence * 60).encode())
    body, _, rest = content.partition("\n\n")
    assert body.startswith(sentence) and body.endswith("。") and sentence * 60 not in body
    assert rest.startswith("请拨打 12348 咨询。")
    assert "1. 人民调解\n2. 公证" in rest  # the numbered choices survive the cut


async def test_a_flooding_openid_is_limited_and_others_are_not(engine: Engine) -> None:
    async with wechat_server(engine, wechat_settings(), limiter=RateLimiter(2)) as wx:
        said = [await wx.send_text(OPENID, "公证怎么办") for _ in range(4)]
        other = await wx.send_text("oSomeoneElse", "公证怎么办")
    assert [p.content.startswith("公证证明") for p in said[:2]] == [True, True]
    assert said[2].content == MESSAGES["rate_limited"]
    assert (said[3].status, said[3].body) == (200, "success")
    assert other.content.startswith("公证证明")


async def test_a_thumb_after_an_answer_is_feedback(engine: Engine, wx: WeChatClient) -> None:
    rated: list[tuple[str, bool]] = []
    engine.feedback_listeners.append(lambda f: rated.append((f.intent, f.is_helpful)))
    answer = await wx.send_text(OPENID, "公证怎么办")
    assert answer.content.endswith("这个回答有帮助吗？回复 👍 或 👎")
    assert (await wx.send_text(OPENID, "[强]")).content == MESSAGES["feedback_thanks"]
    assert rated == [("notarization", True)]
    again = await wx.send_text(OPENID, "👍")  # one vote per answer: now it is just a message
    assert again.content != MESSAGES["feedback_thanks"] and rated == [("notarization", True)]


async def test_the_harness_presses_a_choice_by_sending_its_number(engine: Engine, turns: list[Turn]) -> None:
    async with conversation_harness(engine) as citizen:
        wx = citizen(1)
        first = await wx.send("法律援助怎么申请")
        assert first.buttons == ("人民调解", "公证", "👍", "👎")
        pressed = await wx.press("公证")
    assert pressed.intent == "notarization" and pressed.text.startswith("公证证明")
    assert turns[-1].text == "[button] notarization"  # the engine read "2" as a press of the second choice


def test_shipped_conversations_pass_through_wechat(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parent.parent
    shipped = root / "tests" / "conversations"
    environ = {"LEGALBOT_INTENTS": str(root / "intents"), "LEGALBOT_CONTENT": str(root / "content")}
    assert main(["test", "--channel", "wechat", str(shipped)], environ=environ) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    count = len(load_conversations([shipped]))
    assert out.splitlines()[-1] == f"{count} passed, 0 failed", out
