"""A story answered with, or offered between, a general intent goes to the service its question names
(bot.matching.decision._told_at_end; Role.GENERAL in intents/*.yaml)."""

from __future__ import annotations

from typing import Any

from bot.catalogue.loader import Catalogue
from bot.engine import Engine
from bot.catalogue.model import MatcherSettings, Role
from bot.matching.decision import Match, Outcome, combined
from bot.matching.learned import OUT_OF_SCOPE, Opinion
from bot.matching.scoring import Ranking, Scored

SETTINGS = MatcherSettings()
GENERAL = frozenset({"legal_consultation"})
ADVICE = Scored("legal_consultation", 0.71, "问律师", 0.5)
PAO = Scored("zuiduo_paoyici", 0.38, "跑一次", 0.1)
CENTRE = Scored("mediation_center", 0.33, "矛调中心", 0.1)
RANKING = Ranking((ADVICE, PAO, CENTRE))
ANSWERED = Match(Outcome.ANSWER, "legal_consultation", 0.71, PAO, (ADVICE,))


def _story(second: str, at_end: str | None) -> Opinion:
    # Not sure enough of anything to settle it alone (bot.matching.decision._settled).
    return Opinion(("legal_consultation", second), 1.0, 1.0, at_end)


def test_a_story_answered_with_the_general_intent_goes_to_the_service_its_end_names() -> None:
    told = combined(ANSWERED, RANKING, _story("mediation_center", "mediation_center"), SETTINGS, general=GENERAL)
    assert (told.outcome, told.intent) == (Outcome.ANSWER, "mediation_center")


def test_not_without_the_role_nor_for_a_service_only_the_end_names() -> None:
    opinion = _story("mediation_center", "mediation_center")
    assert combined(ANSWERED, RANKING, opinion, SETTINGS).intent == "legal_consultation"  # no general intent
    # The end alone reads 最多跑一次; the whole story's second reading is another: the answer stands.
    alone = combined(ANSWERED, RANKING, _story("mediation_center", "zuiduo_paoyici"), SETTINGS, general=GENERAL)
    assert alone.intent == "legal_consultation"
    for end in (None, OUT_OF_SCOPE):  # no story, or a story whose question reads as out of scope
        assert combined(ANSWERED, RANKING, _story("mediation_center", end), SETTINGS, general=GENERAL).intent == (
            "legal_consultation")


def test_not_for_a_story_the_model_takes_for_out_of_scope() -> None:
    out = Opinion((OUT_OF_SCOPE, "mediation_center"), 1.0, 0.0, "mediation_center")
    assert combined(ANSWERED, RANKING, out, SETTINGS, general=GENERAL).intent != "mediation_center"


def test_a_question_between_the_general_intent_and_a_service_is_answered_only_with_one_offered() -> None:
    asked = Match(Outcome.CLARIFY, None, 0.71, CENTRE, (ADVICE, CENTRE))
    told = combined(asked, RANKING, _story("mediation_center", "mediation_center"), SETTINGS, general=GENERAL)
    assert (told.outcome, told.intent) == (Outcome.ANSWER, "mediation_center")
    not_offered = combined(asked, RANKING, _story("zuiduo_paoyici", "zuiduo_paoyici"), SETTINGS, general=GENERAL)
    assert not_offered.intent != "zuiduo_paoyici"


def test_the_general_intents_are_read_from_the_catalogues_roles(shipped_catalogue: Catalogue) -> None:
    assert shipped_catalogue.index.general == frozenset(
        i.id for i in shipped_catalogue.intents.values() if Role.GENERAL in i.roles)
    assert "legal_consultation" in shipped_catalogue.index.general


def test_a_mention_found_as_the_general_intent_is_answered_with_the_service_the_message_decides(
        shipped_catalogue: Catalogue) -> None:
    # Past violence in a story asking for someone to bring the family together: the danger's reading finds
    # 法律咨询 (the background), the decision any message gets (decide, then combined) finds 人民调解.
    engine = Engine(shipped_catalogue)
    story = ("小时候我爸经常打我妈，现在他老了，生病住院要我们出钱。我们兄妹几个意见不一样，有的人说不管。"
             "他们吵来吵去，我想找人把大家叫到一起，把赡养的事说清楚，谁能出面调解？")
    reply = engine.respond("citizen", story)
    assert (reply.intent, reply.safety) == ("people_mediation", True)
    # A mention that asks a legal question keeps the general intent.
    asked = engine.respond("other", "以前被老公打过好几次，现在分居了。他把家里的存款都转走了，我想知道离婚的时候财产怎么分")
    assert (asked.intent, asked.safety) == ("legal_consultation", True)


def test_a_mention_found_as_a_named_service_keeps_it() -> None:
    from types import SimpleNamespace

    from bot.matching.decision import mentioned_service
    index: Any = SimpleNamespace(general=GENERAL, whole_message=frozenset())  # what it reads of an Index
    aid = Scored("legal_aid", 0.7, "法律援助", 0.5)
    opinion = _story("mediation_center", "mediation_center")
    assert mentioned_service(aid, RANKING, opinion, SETTINGS, index, 60, "", lambda _: True) is aid
    # Found as the general intent, and the message decided as a story whose end names 矛调中心: that service.
    told = mentioned_service(ADVICE, RANKING, opinion, SETTINGS, index, 60, "", lambda _: True)
    assert told.intent == "mediation_center"
    # Unless that service is no service (small talk).
    assert mentioned_service(ADVICE, RANKING, opinion, SETTINGS, index, 60, "", lambda i: i != "mediation_center") is ADVICE
