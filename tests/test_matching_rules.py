"""The matcher's rules, one behaviour each, on the shipped catalogue."""

from __future__ import annotations

import pytest

from bot.catalogue import Catalogue
from bot.engine import Engine, Reply
from bot.matcher import analyse, rank


def ask(catalogue: Catalogue, text: str) -> Reply:
    return Engine(catalogue).respond("rules", text)


@pytest.mark.parametrize(("text", "intent"), [
    ("公租房排到我了吗", "public_rental_housing"),  # 租房 (consultation) yields to the longer 公租房
    ("我要投诉我请的律师", "lawyer_complaint"),  # 投诉…律师 with words inserted
    ("xingzheng fuyi 怎么申请", "admin_reconsideration"),  # typed pinyin keyed like the characters
    ("is there legal aid here", "legal_aid"),  # English synonyms
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
        return rank(analyse(text, shipped_catalogue.settings), shipped_catalogue.index).score_of(intent)

    assert score(typo) >= 0.9 * score(right) > 0
