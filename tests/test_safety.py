"""Danger now comes first: emergency messages are answered with 110 before anything else, never merely clarified."""

from __future__ import annotations

import pytest

from bot.catalogue import Catalogue
from bot.engine import Engine
from bot.matcher import Outcome
from bot.normalize import normalize
from bot.phonetic import sound_key
from bot.safety import Trigger, find_trigger

EMERGENCIES = [
    "他又在打我",
    "老公天天打我",
    "我老公喝醉了又在打我和孩子",
    "我被家暴了",
    "家暴",
    "我不想活了",
    "我不想活了😭😭",
    "活着没意思",
    "我想自杀",
    "想跳楼",
    "有人拿刀要砍我",
    "有人拿刀在我家门口",
    "他拿着菜刀追我",
    "他说要杀了我",
    "他說要殺了我",  # 繁體
    "有人威胁要弄死我",
    "他掐我脖子",
    "外面有人在打架",
    "我被人打伤了流了很多血",
    "救命",
    "救　命！！",  # full-width space and punctuation
    "救救我",
    "我不想或了",  # homophone typo of 不想活了
]


@pytest.fixture
def shipped_engine(shipped_catalogue: Catalogue) -> Engine:
    return Engine(shipped_catalogue)


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergency_is_answered_first_with_110(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", (text, reply.kind, reply.suggestions)
    assert reply.outcome is Outcome.ANSWER  # never merely "did you mean …?"
    assert "110" in reply.text


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("他又在打我，我想申请法律援助", "legal_aid"),
        ("我老公喝醉了又在打我和孩子，我能申请法律援助吗", "legal_aid"),
        ("有人拿刀威胁我，我想找人民调解", "people_mediation"),
        ("老公家暴，我想咨询律师离婚的事", "legal_consultation"),
    ],
)
def test_emergency_comes_before_the_service_also_asked_about(shipped_engine: Engine, text: str, service: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent == "emergency", (text, reply.kind, reply.suggestions)
    assert "110" in reply.text
    # the service the citizen also asked about is offered next, as a button
    assert service in reply.suggestions, reply.suggestions


def test_emergency_wins_over_the_topic_of_the_previous_turn(shipped_engine: Engine) -> None:
    first = shipped_engine.respond("citizen", "公证处在哪里")
    assert first.intent is not None
    assert first.intent.startswith("notarization")
    reply = shipped_engine.respond("citizen", "他又在打我")
    assert reply.intent == "emergency"
    assert "110" in reply.text


@pytest.mark.parametrize(
    "text",
    ["打官司", "打官司要多少钱", "打工", "在外地打工被拖欠工资", "打听一下公证怎么办", "打印材料", "砍价"],
)
def test_look_alikes_are_not_emergencies(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent != "emergency", text
    assert reply.kind != "emergency"


def _trigger(text: str) -> Trigger:
    t = normalize(text)
    return Trigger("emergency", t, sound_key(t))


TRIGGERS = (_trigger("打我"), _trigger("不想活"), _trigger("拿刀"))


@pytest.mark.parametrize(
    ("message", "hit"),
    [
        ("他又在打我", "打我"),
        ("我真的不想活了", "不想活"),
        ("我不想或了", "不想活"),  # by sound: three syllables or more
        ("有人拿刀", "拿刀"),
        ("打官司", None),
        ("我想打工", None),
        ("法律援助怎么申请", None),
        ("", None),
    ],
)
def test_find_trigger(message: str, hit: str | None) -> None:
    text = normalize(message)
    found = find_trigger(text, sound_key(text), TRIGGERS)
    assert (found.text if found else None) == hit
