"""The matcher's rules, one behaviour each, on the shipped catalogue."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.catalogue.loader import Catalogue
from bot.matching.clauses import split
from bot.engine import Engine, Reply
from bot.matching.index import analyse
from bot.matching.ranking import examine, rank
from bot.matching.scoring import negation_discount
from bot.matching.normalize import prepare


def ask(catalogue: Catalogue, text: str) -> Reply:
    return Engine(catalogue).respond("rules", text)


@pytest.mark.parametrize(("text", "intent"), [
    ("公租房排到我了吗", "public_rental_housing"),  # 租房 (consultation) yields to the longer 公租房
    ("我要投诉我请的律师", "lawyer_complaint"),  # 投诉…律师 with words inserted
    ("xingzheng fuyi 怎么申请", "admin_reconsideration"),  # typed pinyin keyed like the characters
    ("is there legal aid here", "legal_aid"),  # English synonyms
    ("营业执照能在线办吗", "online_gov_services"),  # 在线 is 网上
    ("自书遗嘱没签日期还有效吗", "legal_consultation"),  # personal legal questions get the advice channels
    ("民间借贷利息太高违法吗", "legal_consultation"),
    ("老板让我走人 还不给结工资", "legal_consultation"),
    ("法律缘助咋申请", "legal_aid"),  # homophone typo and dialect word
    ("請問怎麼申請法律援助", "legal_aid"),  # 繁體
    ("商标被人抄了想维权", "ip_protection"),  # the specific topic word (商标) over a common one (维权)
    ("我想离婚", "legal_consultation"),  # an emergency example (…家暴我想离婚) does not make it uncertain
])
def test_rule_answers_the_intent(shipped_catalogue: Catalogue, text: str, intent: str) -> None:
    reply = ask(shipped_catalogue, text)
    assert reply.intent == intent, (reply.kind, reply.suggestions)


def test_a_topic_word_modifying_an_unknown_word_is_not_answered(shipped_catalogue: Catalogue) -> None:
    # 律师资格证 is about an exam, not about lawyers' services.
    assert ask(shipped_catalogue, "律师资格证好考吗").intent is None


def test_small_talk_phrases_inside_a_question_are_not_offered(shipped_catalogue: Catalogue) -> None:
    reply = ask(shipped_catalogue, "有没有人能告诉我，邻居占了我家的地，能不能找人来调解一下")
    assert "greeting" not in reply.suggestions
    assert reply.intent in {"people_mediation", None}


def test_a_negated_topic_word_in_a_story_is_background(shipped_catalogue: Catalogue) -> None:
    story = ("我妈去年过世了，留了些存款和一间铺面，姐弟俩想提前问清楚遗产该怎么分。眼下大家还没起纠纷，"
             "只是想找个懂法律的人问问，免得以后闹僵。")
    reply = ask(shipped_catalogue, story)
    assert reply.intent != "people_mediation"
    assert reply.intent == "legal_consultation" or "legal_consultation" in reply.suggestions


def test_a_lone_follow_up_is_not_guessed(shipped_catalogue: Catalogue) -> None:
    reply = ask(shipped_catalogue, "要多久")
    assert reply.intent is None


@pytest.mark.parametrize(("typo", "right", "intent"), [
    ("隔壁占我家地，人民调节管不管", "隔壁占我家地，人民调解管不管", "people_mediation"),
    ("行政复意能管这个吗", "行政复议能管这个吗", "admin_reconsideration"),
])
def test_a_homophone_typo_costs_only_the_homophone_discount(shipped_catalogue: Catalogue, typo: str, right: str,
                                                            intent: str) -> None:
    # A verb after the topic word (管, 能) starts a new phrase whether the word was typed right or not.
    def score(text: str) -> float:
        ranked = rank(analyse(text, shipped_catalogue.settings), shipped_catalogue.index).intents
        return next((s.score for s in ranked if s.intent == intent), 0.0)

    assert score(typo) >= 0.9 * score(right) > 0


@pytest.mark.parametrize(("text", "intent"), [
    ("老婆跟别人跑了，我要离婚，我该咋办？", "legal_consultation"),  # background, then the question
    ("营业执照快过期了 手机上能续吗 不想跑大厅", "online_gov_services"),  # a remark after the question
    ("邻居欠我两万块一直不还，我家是低保户，能申请法律援助吗", "legal_aid"),  # the question, not the debt
])
def test_a_clear_clause_answers_a_message_unclear_as_a_whole(shipped_catalogue: Catalogue, text: str,
                                                             intent: str) -> None:
    query = analyse(text, shipped_catalogue.settings)
    whole = rank(query, shipped_catalogue.index)
    assert whole.intents[0].intent != intent or whole.intents[0].score < shipped_catalogue.settings.answer_threshold
    assert ask(shipped_catalogue, text).intent == intent


@pytest.mark.parametrize("text", ["说来话长，是什么意思", "我那个事 怎么申请", "邻居家的狗，有用吗"])
def test_a_clause_that_names_no_topic_lifts_nothing(shipped_catalogue: Catalogue, text: str) -> None:
    query = analyse(text, shipped_catalogue.index.settings)
    assert examine(text, shipped_catalogue.index).ranking == rank(query, shipped_catalogue.index)
    assert len(split(prepare(text), shipped_catalogue.settings.words.question_words)) == 2


@pytest.mark.parametrize(("first", "expected", "going_on"), [
    ("法律援助怎么申请", "legal_aid", "那去年一共办了多少件"),
    ("人民调解", "people_mediation", "那成功率高不高"),
])
def test_a_question_going_on_with_na_stays_in_the_topic(shipped_catalogue: Catalogue, first: str, expected: str,
                                                        going_on: str) -> None:
    engine = Engine(shipped_catalogue)
    # "那…" goes on from the last answer, though it shares few words with that topic's examples.
    assert engine.respond("u", first).intent == expected
    reply = engine.respond("u", going_on)
    assert (reply.kind, reply.intent) == ("followup", expected)


@pytest.mark.parametrize(("first", "expected", "going_on"), [
    ("法律援助怎么申请", "legal_aid", "我不是本地人，也能申请吗"),
    ("公证处在哪", "notarization", "如果本人来不了呢"),
    ("司法鉴定去哪做", "judicial_appraisal", "做这个贵不贵"),  # a follow-up phrase about cost
])
def test_a_clause_opened_with_ye_or_ruguo_goes_on_in_the_topic(shipped_catalogue: Catalogue, first: str,
                                                                expected: str, going_on: str) -> None:
    engine = Engine(shipped_catalogue)
    assert engine.respond("u", first).intent == expected
    assert engine.respond("u", going_on).intent == expected


def test_going_on_with_na_does_not_carry_a_new_topic_or_an_unrelated_question(shipped_catalogue: Catalogue) -> None:
    engine = Engine(shipped_catalogue)
    engine.respond("u", "行政复议")
    assert engine.respond("u", "那我还能去法院告吗").intent == "admin_litigation"
    engine.respond("v", "公证处在哪")
    assert engine.respond("v", "那明天天气怎么样").intent is None
    engine.respond("w", "公证处在哪")
    assert engine.respond("w", "那个，失信黑名单怎么查").intent == "social_credit"  # 那个 is a filler


@pytest.mark.parametrize("text", ["公证员资格考试难不难", "想报法律专业 以后好找工作吗", "调解员证书怎么考", "行政复议这门课期末考什么"])
def test_exams_school_and_careers_beside_a_topic_word_are_out_of_scope(shipped_catalogue: Catalogue,
                                                                       text: str) -> None:
    assert ask(shipped_catalogue, text).intent is None


def test_an_intent_whose_examples_use_the_word_still_answers(shipped_catalogue: Catalogue) -> None:
    words = shipped_catalogue.settings.out_of_scope_words
    own = " ".join(shipped_catalogue.intents["judicial_assistant_recruitment"].examples)
    assert any(word in own for word in words)  # the recruitment intent talks of exams
    assert ask(shipped_catalogue, "司法助理员招聘考试考什么").intent == "judicial_assistant_recruitment"


def test_what_the_citizen_fears_in_a_story_is_background(shipped_catalogue: Catalogue) -> None:
    story = ("我爷爷九十了，想把老屋留给小孙子。家里人多，担心以后几个叔叔闹矛盾，说老人写的东西不算。"
             "听说把遗嘱拿去公证就稳了，真的吗？")
    ranked = examine(story, shipped_catalogue.index).ranking.intents
    assert ranked[0].intent == "notarization"  # the feared 闹矛盾 does not lift mediation above it
    # The learned model, misled by the inheritance background, makes the bot ask: 公证 comes first.
    reply = ask(shipped_catalogue, story)
    assert reply.intent == "notarization" or reply.suggestions[:1] == ("notarization",)


def test_what_the_citizen_does_not_want_is_background_through_its_clause(shipped_catalogue: Catalogue) -> None:
    story = ("镇上罚了我家三千块，说是违建，我们觉得不公平，也问过村干部。我们不想跟镇政府去法院打官司，"
             "听说还有别的办法，想问问怎么弄？")
    examined = examine(story, shipped_catalogue.index)
    start = examined.query.core.find("打官司")
    assert examined.query.clause_start(start) == examined.query.core.find("我们不想")
    assert negation_discount(examined.query, start, shipped_catalogue.settings) < 1.0
    assert negation_discount(replace(examined.query, breaks=()), start, shipped_catalogue.settings) == 1.0  # too far for the old window


@pytest.mark.parametrize(("text", "intent"), [
    ("想找个专业律师咨询一下离婚的事", "legal_consultation"),  # 专业 is no exam word
    ("就业困难人员能申请法律援助吗", "legal_aid"),
])
def test_ordinary_words_near_exam_words_do_not_make_a_question_out_of_scope(shipped_catalogue: Catalogue,
                                                                            text: str, intent: str) -> None:
    assert ask(shipped_catalogue, text).intent == intent


STORY_WITH_YE = ("我是外地来打工的，在厂里做了两年，上个月手被机器压伤了，厂里不肯赔。"
                 "我一个人在这边，没什么钱，也不懂法律。想问问能不能有政府出钱帮我请律师？")


@pytest.mark.parametrize("going_on", ["那你吃饭了吗", "也不知道该说什么", STORY_WITH_YE])
def test_chat_and_stories_opened_with_na_or_ye_are_not_taken_for_follow_ups(shipped_catalogue: Catalogue,
                                                                           going_on: str) -> None:
    engine = Engine(shipped_catalogue)
    engine.respond("u", "公证怎么办")
    assert engine.respond("u", going_on).intent != "notarization"


def test_a_topic_word_mentioned_again_outside_the_feared_clause_counts(shipped_catalogue: Catalogue) -> None:
    story = "邻居家装修把我家墙弄裂了，我怕以后还要调解好几次，调解要怎么申请，要带什么材料，多久能有结果"
    examined = examine(story, shipped_catalogue.index)
    feared, asked = examined.query.core.find("调解"), examined.query.core.rfind("调解")
    assert negation_discount(examined.query, feared, shipped_catalogue.settings) < 1.0
    assert negation_discount(examined.query, asked, shipped_catalogue.settings) == 1.0
    assert examined.ranking.intents[0].intent == "people_mediation"


@pytest.mark.parametrize("text", ["What are the plans for 2021 in the report?", "what's the weather like tomorrow",
                                  "Who checks the lifts in old flats?"])
def test_english_question_words_are_question_words_not_the_bots_own_small_talk(shipped_catalogue: Catalogue,
                                                                               text: str) -> None:
    # "what" and "who" read as 什么 and 谁: as question words they do not tie a question to "what can you do".
    reply = ask(shipped_catalogue, text)
    assert "bot_capabilities" not in (reply.intent, *reply.suggestions), (reply.kind, reply.intent, reply.suggestions)


def test_asking_what_the_bot_can_help_with_in_english_gets_its_capabilities(shipped_catalogue: Catalogue) -> None:
    assert ask(shipped_catalogue, "hi, what can you help me with?").intent == "bot_capabilities"


def test_latin_words_keep_their_spaces_so_english_synonyms_still_apply(shipped_catalogue: Catalogue) -> None:
    text = "老板拖欠了我们半年工资一直不给，我不想跟他闹僵，找 legal aid 帮忙要什么条件"
    examined = examine(text, shipped_catalogue.index)
    assert len(examined.query.breaks) == 3
    assert ask(shipped_catalogue, text).intent == "legal_aid"


@pytest.mark.parametrize(("character", "starts"), [("吗", True), ("哪", True), ("啥", True), ("的", True), ("资", False)])
def test_one_character_question_words_start_a_phrase_after_a_topic_word(shipped_catalogue: Catalogue,
                                                                       character: str, starts: bool) -> None:
    words = shipped_catalogue.settings.words
    assert "吗" not in words.linking_words  # listed once, among the question words
    assert words.starts_phrase(character) is starts
