"""Danger now comes first: emergency messages are answered with 110 before anything else, never merely clarified."""

from __future__ import annotations

import pytest
from catalogue_factory import write_catalogue

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.engine import Engine
from bot.matching.decision import Outcome

EMERGENCIES = [
    "他又在打我",
    "工友爬到楼顶上，说再不发工资就跳下来",
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
    "我被家报了",  # homophone typo of 家暴
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
    [
        "打官司", "打官司要多少钱", "打工", "在外地打工被拖欠工资", "打听一下公证怎么办", "打印材料", "砍价",
        "我儿子想去留学",  # 留学 sounds like 流血
    ],
)
def test_look_alikes_are_not_emergencies(shipped_engine: Engine, text: str) -> None:
    reply = shipped_engine.respond("citizen", text)
    assert reply.intent != "emergency", text
    assert reply.kind != "emergency"


@pytest.fixture(scope="module")
def small_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    # triggers: 打我, 家暴, 想死, 不想活, 自杀, 拿刀, 救命 (see catalogue_factory)
    return Engine(load_catalogue(*write_catalogue(tmp_path_factory.mktemp("small"))))


@pytest.mark.parametrize(
    ("message", "is_emergency"),
    [
        ("他又在打我", True),
        ("我真的不想活了", True),
        ("我不想或了", True),  # a trigger of three syllables, typed with a homophone
        ("有人拿刀", True),
        ("救命啊！！", True),
        ("我老公家暴", True),
        ("打官司", False),
        ("我想打工", False),
        ("法律援助怎么申请", False),
        ("我儿子想去留学", False),
    ],
)
def test_triggers_select_emergency_before_matching(small_engine: Engine, message: str, is_emergency: bool) -> None:
    reply = small_engine.respond(f"user-{message}", message)
    assert (reply.intent == "emergency") is is_emergency, (message, reply.intent, reply.kind)
    if is_emergency:
        assert "110" in reply.text


def test_danger_at_the_end_of_a_very_long_story_is_still_found(shipped_catalogue: Catalogue) -> None:
    # Matching reads the first max_message_chars characters; triggers are looked for in all of it.
    story = "我家和邻居因为宅基地的事情吵了好多年，村里调解过几次也没有用。" * 30 + "他现在拿刀要砍我，快救命"
    assert len(story) > shipped_catalogue.settings.max_message_chars
    reply = Engine(shipped_catalogue).respond("u", story)
    assert reply.intent == "emergency"
    assert "110" in reply.text
