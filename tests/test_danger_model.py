"""The danger model (intents/safety.yaml: each group's `situations`, `mentions`): danger told as a
situation no trigger names gets the emergency answer with the right number first; a now word whose
danger is past, over or only a thing named is a mention; harmless phrases are no danger. The
sentences here are written for this test: neither training data nor any evaluation set."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.catalogue.danger import trained
from bot.catalogue.loader import Catalogue
from bot.engine import Engine

_NUMBER = re.compile("110|120|119")


def first_number(text: str) -> str | None:
    found = _NUMBER.search(text)
    return found.group() if found else None


@pytest.fixture
def engine(shipped_catalogue: Catalogue) -> Engine:
    return Engine(shipped_catalogue)


SITUATIONS = [
    ("我老婆从阳台翻出去了，挂在外面", "110"),
    ("有人在取款机旁边抢钱还捅人", "110"),
    ("他把汽油泼在我家门上了", "110"),
    ("我儿子被几个人围住往死里打", "110"),
    ("我被电打了手麻得动不了", "120"),
    ("孩子在浴缸里沉下去了", "120"),
    ("我吃了一整盒安眠药", "120"),
    ("奶奶喘不过气来，嘴巴发紫", "120"),
    ("厨房的锅烧干了冒火", "119"),
]


@pytest.mark.parametrize(("text", "number"), SITUATIONS)
def test_a_situation_no_trigger_names_gets_the_emergency_answer_and_its_number(
        engine: Engine, text: str, number: str) -> None:
    reply = engine.respond("citizen", text)
    assert (reply.intent, first_number(reply.text)) == ("emergency", number), text


@pytest.mark.parametrize("text", [
    "以前想不开住过院，现在好多了，想问医保报销的事",  # a now word, and the danger is over
    "他以前威胁过我，现在想离婚，能申请法律援助吗",  # a now word in a past clause
    "他威胁我的那些录音能拿去公证吗",  # the threat as a thing: 威胁我的…
])
def test_danger_past_or_over_is_a_mention_with_the_safety_line(engine: Engine, text: str) -> None:
    reply = engine.respond("citizen", text)
    assert reply.intent != "emergency" and reply.safety, (text, reply.intent)
    assert reply.text.startswith("如果现在有危险，请马上拨打 110")


def test_a_harmless_phrase_holding_a_danger_word_is_no_danger(engine: Engine) -> None:
    reply = engine.respond("citizen", "法律援助是我的救命稻草，怎么申请")
    assert (reply.intent, reply.safety) == ("legal_aid", False)


def test_a_now_word_still_decides_when_its_own_clause_is_now(engine: Engine) -> None:
    reply = engine.respond("citizen", "我以前被打过，他现在拿着刀在门口")
    assert (reply.intent, first_number(reply.text)) == ("emergency", "110")


def test_what_the_model_finds_comes_from_the_situations_operators_write(shipped_catalogue: Catalogue) -> None:
    text = "孩子在浴缸里沉下去了"
    groups = tuple(replace(g, situations=()) for g in shipped_catalogue.danger.groups)
    unwritten = replace(shipped_catalogue.danger, groups=groups, model=None)
    without = Engine(replace(shipped_catalogue, danger=trained(unwritten, shipped_catalogue.intents.values(),
                                                               shipped_catalogue.settings)))
    assert without.respond("citizen", text).intent != "emergency"
    assert Engine(shipped_catalogue).respond("citizen", text).intent == "emergency"


def test_the_model_learns_a_situation_written_in_safety_yaml(shipped_catalogue: Catalogue) -> None:
    """A kind of danger no situation tells yet is found once an operator writes one like it."""
    asked = "师傅被锅炉里喷出来的蒸汽冲到了"
    assert Engine(shipped_catalogue).respond("citizen", asked).intent != "emergency"
    danger = shipped_catalogue.danger
    told = ["锅炉喷出的蒸汽烫到了工人，整条胳膊通红", "蒸汽管子爆了，喷到师傅身上", "开锅炉的时候被蒸汽冲到脸"]
    groups = tuple(replace(g, situations=(*g.situations, *told)) if g.answer.id == "emergency_medical" else g
                   for g in danger.groups)
    engine = Engine(replace(shipped_catalogue, danger=trained(replace(danger, groups=groups),
                                                              shipped_catalogue.intents.values(),
                                                              shipped_catalogue.settings)))
    reply = engine.respond("citizen", asked)
    assert (reply.intent, first_number(reply.text)) == ("emergency", "120")
