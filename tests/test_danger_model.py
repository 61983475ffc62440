"""The danger model (intents/safety.yaml: each group's `situations`, `mentions`): danger told as a
situation no trigger names gets the emergency answer with the right number first; a now word whose
danger is past, over or only a thing named is a mention; harmless phrases are no danger. The
sentences here are written for this test: neither training data nor any evaluation set."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.catalogue import danger as danger_module
from bot.catalogue.danger import NEITHER_PER_INTENT, NEITHER_ROWS, balanced, share_of, trained
from bot.catalogue.loader import Catalogue
from bot.engine import Engine
from bot.matching.danger import danger_opinion
from bot.matching.index import Index, RowKind, analyse
from bot.matching.learned import LearnedModel
from bot.matching.ranking import examine

_NUMBER = re.compile("110|120|119")


def first_number(text: str) -> str | None:
    found = _NUMBER.search(text)
    return found.group() if found else None


@pytest.fixture
def engine(shipped_catalogue: Catalogue) -> Engine:
    return Engine(shipped_catalogue)


SITUATIONS = [  # no trigger is in any of them
    ("我老婆从阳台翻出去了，挂在外面", "110"),
    ("孩子在浴缸里沉下去了", "110"),  # drowning: 110 first (the spec), 120 once a medical danger is named
    ("师傅摸了漏电的电箱，手一直在抖说不出话", "120"),
    ("老人吃汤圆堵住了嗓子", "120"),
    ("厨房的锅烧干了冒火", "119"),
]


@pytest.mark.parametrize(("text", "number"), SITUATIONS)
def test_a_situation_no_trigger_names_gets_the_emergency_answer_and_its_number(
        shipped_catalogue: Catalogue, engine: Engine, text: str, number: str) -> None:
    assert examine(text, shipped_catalogue.index).trigger is None
    reply = engine.respond("citizen", text)
    assert (reply.intent, first_number(reply.text)) == ("emergency", number), text


@pytest.mark.parametrize(("text", "number"), [
    ("我爸心脏病犯了 药找不到", "120"),  # 我爸…找不到 (a person missing) across two clauses
    ("他拿刀砍我，流了好多血", "110"),  # the danger named first, written out in one clause
    ("救命", "110"),  # a bare cry reads a little like every danger
])
def test_the_model_moves_the_number_only_from_loose_evidence(engine: Engine, text: str, number: str) -> None:
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


def test_the_danger_model_reads_a_message_without_its_harmless_phrases(shipped_catalogue: Catalogue,
                                                                      engine: Engine) -> None:
    text = "哎呀 吓我一跳 你回复得真快"  # 吓我一跳 is a harmless phrase: a start, no danger
    examined = examine(text, shipped_catalogue.index)
    danger = shipped_catalogue.danger
    whole = danger_opinion(examined.query, replace(danger, harmless=()), shipped_catalogue.settings, examined.grams)
    without = danger_opinion(examined.query, danger, shipped_catalogue.settings, examined.grams)
    assert whole is not None and whole.guesses[0] != ""  # read whole, its n-grams lean to a danger
    assert without is not None and without.guesses[0] == ""
    assert engine.respond("citizen", text).intent != "emergency"


@pytest.mark.parametrize(("text", "intent"), [
    ("救护车把我爸接走了，医生说没事了，谢谢你", "thanks"),
    ("落水的小孩捞上来了，没事了，谢谢", "thanks"),
    ("消防车到了，谢谢你们，再见", "goodbye"),  # help has come (help_arrived)
    ("谢谢你们，刚打过电话了，我现在好一点了", "thanks"),  # the thanks said first
    ("我妈赶过来了，在陪着我，谢谢你", "thanks"),  # someone is with them now (recovered_words)
])
def test_thanks_once_the_danger_is_over_gets_its_answer_with_the_safety_line(engine: Engine, text: str,
                                                                            intent: str) -> None:
    reply = engine.respond("citizen", text)
    assert (reply.intent, reply.safety) == (intent, True), text
    assert reply.text.startswith("如果现在有危险，请马上拨打 110")


@pytest.mark.parametrize("text", [
    "他又来砸门了，上次说没事了，谢谢",  # a now word: the danger is back
    "他刚才打我了，现在没事了，谢谢",  # danger timed now in its own clause
    "救护车来了，可我爸还是叫不醒，谢谢",  # help has come, the danger is not over
    "警察到了，他又开始踹门了，谢谢",  # 开始 right before it: happening now
])
def test_thanks_with_danger_now_still_gets_the_emergency_answer(engine: Engine, text: str) -> None:
    assert engine.respond("citizen", text).intent == "emergency", text


@pytest.mark.parametrize("text", [
    "厂里着火以后老板就不发工资了，能找法律援助吗",  # past_after: 以后 right after it
    "被人打了之后一直耳鸣，能做伤情鉴定吗",  # 了 between
])
def test_danger_followed_by_after_is_past(engine: Engine, text: str) -> None:
    reply = engine.respond("citizen", text)
    assert reply.intent != "emergency" and reply.safety, (text, reply.intent)


def test_danger_said_to_come_after_something_else_is_still_now(engine: Engine) -> None:
    assert engine.respond("citizen", "他说等我睡着以后就弄死我").intent == "emergency"


@pytest.mark.parametrize(("text", "intent"), [
    # 刚才 times the clauses after its own: the story's end is danger now, whatever it asked first
    ("我想问问离婚的事，刚才他喝了酒回来，把门反锁了，一直砸东西", "emergency"),
    # 现在 tells how things stand: the danger told after it keeps its own time
    ("以前被他打过，现在搬出来住了，被打的事能申请法律援助吗", "legal_aid"),
])
def test_a_time_of_this_moment_times_the_clauses_after_it(engine: Engine, text: str, intent: str) -> None:
    assert engine.respond("citizen", text).intent == intent, text


@pytest.mark.parametrize("text", [
    "我以前被打过，他现在拿着刀在门口",  # its own clause is now
    "同学跟我说她想死，如果我不告诉老师会怎么样",  # a supposition said after it is about something else
])
def test_a_now_word_still_decides_unless_its_own_time_is_past(engine: Engine, text: str) -> None:
    reply = engine.respond("citizen", text)
    assert (reply.intent, first_number(reply.text)) == ("emergency", "110"), text


def test_what_the_model_finds_comes_from_the_situations_operators_write(shipped_catalogue: Catalogue) -> None:
    text = "孩子在浴缸里沉下去了"
    groups = tuple(replace(g, situations=()) for g in shipped_catalogue.danger.groups)
    unwritten = replace(shipped_catalogue.danger, groups=groups, model=None)
    without = Engine(replace(shipped_catalogue, danger=trained(unwritten, shipped_catalogue.index)))
    assert without.respond("citizen", text).intent != "emergency"
    assert Engine(shipped_catalogue).respond("citizen", text).intent == "emergency"


def test_the_model_learns_a_situation_written_in_safety_yaml(shipped_catalogue: Catalogue) -> None:
    """A kind of danger no situation tells yet is found once an operator writes one like it."""
    asked = "师傅的胳膊被绞肉机绞进去了"
    assert Engine(shipped_catalogue).respond("citizen", asked).intent != "emergency"
    danger = shipped_catalogue.danger
    told = ["绞肉机把厨师的手绞进去了，拔不出来", "机器的滚筒把工人的袖子卷进去了", "搅拌机绞住了师傅的手"]
    groups = tuple(replace(g, situations=(*g.situations, *told)) if g.answer.id == "emergency_medical" else g
                   for g in danger.groups)
    engine = Engine(replace(shipped_catalogue, danger=trained(replace(danger, groups=groups), shipped_catalogue.index)))
    reply = engine.respond("citizen", asked)
    assert (reply.intent, first_number(reply.text)) == ("emergency", "120")


def test_a_province_gives_neither_an_even_bounded_share_that_an_edit_barely_moves() -> None:
    """At 100,000 rows the danger model learns "neither" from about NEITHER_ROWS of them (training on
    all would take seconds on every reload), and an edit changes the choice only by its own rows."""
    rows = [("", f"第{n}个关于办事的问题", f"k{n}") for n in range(100_000)]
    chosen = share_of(rows, NEITHER_ROWS)
    assert 0.8 * NEITHER_ROWS <= len(chosen) <= 1.2 * NEITHER_ROWS
    edited = share_of(rows[1:] + [("", "新加的一个问题", "k")], NEITHER_ROWS)
    assert len(set(chosen) ^ set(edited)) <= 2
    small = rows[:NEITHER_ROWS]
    assert share_of(small, NEITHER_ROWS) == small  # a county's catalogue is taken whole


def test_a_reload_keeps_the_danger_model_that_learned_from_the_same_documents(shipped_catalogue: Catalogue) -> None:
    danger, index = shipped_catalogue.danger, shipped_catalogue.index
    again = trained(danger, index, before=danger)
    assert again.model is danger.model and again.trained_on == danger.trained_on
    fewer = replace(danger, mentions=danger.mentions[1:])
    retrained = trained(fewer, index, before=danger)
    assert retrained.model is not danger.model and retrained.trained_on != danger.trained_on


def test_a_reload_that_changes_a_few_documents_counts_them_into_the_model_train_would_give(
        shipped_catalogue: Catalogue) -> None:
    """After an edit that adds or drops a few of the danger model's documents, the model before is
    updated (bot.matching.retrain) to the weights training afresh gives, so every reply stays the same."""
    danger, index = shipped_catalogue.danger, shipped_catalogue.index
    danger_module._learned.clear()  # as in a process that read the catalogue from the cache
    base = trained(danger, index, before=danger)
    assert base.model is danger.model  # the same documents: kept, and now known for the next reload
    fewer = replace(danger, mentions=danger.mentions[1:])
    updated, fresh = trained(fewer, index, before=base), trained(fewer, index)
    assert updated.trained_on == fresh.trained_on != base.trained_on
    assert updated.model is not None and fresh.model is not None and updated.model.classes == fresh.model.classes
    assert _weights(updated.model) == _weights(fresh.model)
    for text in (*danger.mentions[:3], *(t for g in danger.groups for t in g.situations[:2])):
        query = analyse(text, index.settings)
        assert updated.model.guesses(query.core, query.key) == fresh.model.guesses(query.core, query.key)


def _weights(model: LearnedModel) -> dict[str, dict[int, float]]:
    """Each n-gram's weight per class, whatever its column numbers."""
    return {gram: dict(zip(model.posted[model.starts[col]: model.starts[col + 1]].tolist(),
                           model.lift[model.starts[col]: model.starts[col + 1]].tolist(), strict=True))
            for gram, col in model.columns.items()}


@pytest.mark.parametrize(("text", "number"), [
    ("有人落水了", "110"),
    ("有个孩子掉进水塘里了，捞上来的时候已经没有呼吸了", "120"),  # the group named after it decides
    ("楼梯间全是烟，我们出不去了", "119"),  # 出不去 gives way to the model's reading of a fire
    ("他把我反锁在仓库里，我出不来了", "110"),
])
def test_a_group_gives_way_to_the_groups_it_yields_to(engine: Engine, text: str, number: str) -> None:
    reply = engine.respond("citizen", text)
    assert (reply.intent, first_number(reply.text)) == ("emergency", number), text


def test_yielding_is_the_catalogues_choice(shipped_catalogue: Catalogue) -> None:
    """Without `yields_to` the danger named first decides, as for any other group."""
    text = "有个孩子掉进水塘里了，捞上来的时候已经没有呼吸了"
    danger = shipped_catalogue.danger
    groups = tuple(replace(g, yields_to=()) for g in danger.groups)
    unyielding = Engine(replace(shipped_catalogue, danger=replace(danger, groups=groups)))
    assert first_number(unyielding.respond("citizen", text).text) == "110"
    assert first_number(Engine(shipped_catalogue).respond("citizen", text).text) == "120"


@pytest.mark.parametrize("text", [
    "物业的人上个月跟我吵架，还放话要收拾我，这种情况能找哪里调解",  # told, not happening
    "对方早前扬言要报复我，现在我想申请调解把钱要回来",
])
def test_a_threat_reported_from_the_past_is_a_mention(engine: Engine, text: str) -> None:
    reply = engine.respond("citizen", text)
    assert reply.intent != "emergency" and reply.safety, text


@pytest.mark.parametrize("text", [
    "上个月他打过我，今天他又说要收拾我，怎么办",  # its own time word makes it now
    "他以前威胁过我，现在他拿着刀在楼下，能报警吗",
])
def test_a_threat_with_a_time_of_its_own_stays_now(engine: Engine, text: str) -> None:
    assert engine.respond("citizen", text).intent == "emergency", text


@pytest.mark.parametrize("text", ["再说一遍", "我儿子想去留学", "我被骗了两万块"])
def test_a_short_message_needs_more_than_the_small_classes_default_to_read_as_danger(
        engine: Engine, text: str) -> None:
    assert engine.respond("citizen", text).intent != "emergency", text


def test_a_short_situation_is_still_danger(engine: Engine) -> None:
    reply = engine.respond("citizen", "有人掉塘里了")
    assert (reply.intent, first_number(reply.text)) == ("emergency", "110")


def _grown(index: Index, owner: str, texts: list[str]) -> Index:
    """The index with `texts` added as later examples of `owner` (the danger model reads only rows)."""
    return replace(index, texts=(*index.texts, *texts), keys=(*index.keys, *texts),
                   owners=(*index.owners, *[owner] * len(texts)), kinds=(*index.kinds, *[RowKind.INTENT] * len(texts)),
                   is_keyword=(*index.is_keyword, *[False] * len(texts)))


def test_neither_takes_the_same_number_of_examples_from_every_intent(shipped_catalogue: Catalogue) -> None:
    index = shipped_catalogue.index
    rows = balanced(index, NEITHER_PER_INTENT)
    owners = [o for o, k in zip(index.owners, index.kinds, strict=True) if k is not RowKind.FOLLOWUP]
    words = sum(index.is_keyword)
    assert words < len(rows) <= words + NEITHER_PER_INTENT * len(set(owners))
    assert len(balanced(index, 0)) > len(rows)  # 0: every example, as before


def test_an_intent_growing_elsewhere_leaves_the_danger_model_as_it_was(shipped_catalogue: Catalogue) -> None:
    """Two hundred more examples of one service (written here, about paperwork) neither retrain the danger
    model nor move its reading of a danger told in words no trigger names; a new intent adds only its share."""
    danger, index = shipped_catalogue.danger, shipped_catalogue.index
    paperwork = [f"第{n}号窗口办{what}要带什么材料" for n in range(40) for what in ("居住证", "营业执照", "社保卡", "护照", "低保")]
    grown = trained(danger, _grown(index, "legal_consultation", paperwork), before=danger)
    assert grown.model is danger.model and grown.trained_on == danger.trained_on
    new_intent = balanced(_grown(index, "a_new_service", paperwork), NEITHER_PER_INTENT)
    assert len(new_intent) == len(balanced(index, NEITHER_PER_INTENT)) + NEITHER_PER_INTENT
