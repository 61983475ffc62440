"""A story answered with, or offered between, a general intent goes to the service its question names
(bot.matching.decision._told_at_end; Role.GENERAL in intents/*.yaml)."""

from __future__ import annotations

from bot.catalogue.loader import Catalogue
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
