"""Questions about another city's or country's services are not answered with Jiangshan's."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from catalogue_factory import SETTINGS, write_catalogue

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.engine import Engine
from bot.errors import CatalogueError
from bot.matching.ranking import examine


def ask(catalogue: Catalogue, text: str) -> tuple[str | None, str, str]:
    reply = Engine(catalogue).respond("places", text)
    return reply.intent, reply.kind, reply.text


@pytest.mark.parametrize(("text", "place"), [
    ("温州的公租房怎么申请", "温州"),
    ("在北京怎么办公证", "北京"),
    ("南京那边的矛调中心几点开门", "南京"),
    ("新加坡的法律援助谁能申请", "新加坡"),
    ("在國外簽的合同要公證嗎", "国外"),  # 繁體
    ("美国那边离婚要走什么程序", "美国"),  # another country's law: even a personal legal question
    ("苏州的公证处周末上班吗", "苏州"),  # 上班 after the topic word is about the office
    ("荷兰的公证处在哪里", "荷兰"),
    ("how to get legal aid in canada", "canada"),  # English: the place after the topic word
    ("can I find a notary office in New York", "new york"),  # listed as newyork: read without spaces
    ("is legal aid in the US free for students", "US"),  # listed as intheus ("us" alone is a pronoun)
])
def test_a_service_elsewhere_is_referred_to_the_local_authorities(shipped_catalogue: Catalogue, text: str,
                                                                 place: str) -> None:
    intent, kind, reply = ask(shipped_catalogue, text)
    assert (intent, kind) == (None, "fallback")
    assert reply == shipped_catalogue.messages["elsewhere"].format(place=place)


@pytest.mark.parametrize(("text", "intent"), [
    ("我在苏州打工 老家的房子要公证 怎么办", "notarization"),  # where the citizen is, not the service
    ("在武汉上班的时候被拖欠工资 怎么办", "legal_consultation"),  # personal legal question, Chinese law
    ("人在成都 江山的公租房能网上申请吗", "public_rental_housing"),  # names Jiangshan
    ("贺村的司法所在哪", "judicial_office"),
    ("在杭州上班的人能申请公租房吗", "public_rental_housing"),
    ("I live in Jiangshan, how to apply for legal aid", "legal_aid"),
    ("can you tell us how legal aid works", "legal_aid"),  # us, the pronoun
])
def test_a_citizen_elsewhere_asking_about_home_is_answered(shipped_catalogue: Catalogue, text: str,
                                                           intent: str) -> None:
    assert ask(shipped_catalogue, text)[0] == intent


def test_danger_comes_before_the_place(shipped_catalogue: Catalogue) -> None:
    # Violence mentioned with a question about a service: the safety line leads, whatever the place.
    reply = Engine(shipped_catalogue).respond("u", "在上海被老公打了 公证处能帮我吗")
    assert reply.safety and "110" in reply.text.splitlines()[0]
    assert ask(shipped_catalogue, "在上海 他现在又在打我")[1] == "emergency"


def test_the_place_travels_with_the_examined_message(shipped_catalogue: Catalogue) -> None:
    examined = examine("广州的公证处在哪", shipped_catalogue.index)
    assert examined.place is not None
    assert examined.place.name == "广州"
    assert pickle.loads(pickle.dumps(examined)) == examined  # match workers send it back


def test_operators_can_add_places(tmp_path: Path) -> None:
    settings = """\
        matcher:
          other_places: [临安]
        followups: [在哪里办]
        """
    intents, content = write_catalogue(tmp_path, {SETTINGS: settings})
    catalogue = load_catalogue(intents, content)
    assert ask(catalogue, "临安的公证处在哪里")[1] == "fallback"
    assert ask(catalogue, "公证处在哪里")[0] == "notarization"


def test_a_place_list_that_is_not_a_list_is_reported_in_chinese(tmp_path: Path) -> None:
    settings = """\
        matcher:
          other_places: 杭州
        """
    intents, content = write_catalogue(tmp_path, {SETTINGS: settings})
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(intents, content)
    assert any("other_places" in str(p) and "列表" in str(p) for p in caught.value.problems)


@pytest.mark.parametrize("text", [
    "周日本人能去办公证吗",  # 周日|本人, not 日本
    "节假日本地公证处上班吗",
    "这些材料准备完成都需要公证吗",  # 完成|都, not 成都
    "东西藏起来了能公证吗",
    "中国外企拖欠工资能申请法律援助吗",  # 中国|外企, not 国外
    "外国人能申请法律援助吗",  # a person, living here
    "温州户口能申请公租房吗",  # where the citizen comes from
    "上海搬过来的能申请公租房吗",
    "不用去杭州也能办公证吗",
])
def test_a_place_name_that_is_not_the_place_of_the_service_is_ignored(shipped_catalogue: Catalogue,
                                                                       text: str) -> None:
    assert examine(text, shipped_catalogue.index).place is None
    assert ask(shipped_catalogue, text)[0] is not None
