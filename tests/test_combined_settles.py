"""The learned model's guess answered outright when it is sure enough (bot.matching.decision._settled)."""

from __future__ import annotations

from bot.catalogue.model import MatcherSettings
from bot.matching.decision import Match, Outcome, combined
from bot.matching.learned import OUT_OF_SCOPE, Opinion
from bot.matching.scoring import Ranking, Scored

SETTINGS = MatcherSettings()
W = SETTINGS.weights
PAO, ONLINE = Scored("zuiduo_paoyici", 0.7, "跑一次", 0.8), Scored("online_gov_services", 0.45, "网上办", 0.1)
AID = Scored("legal_aid", 0.42, "法律援助", 0.0)
RANKING = Ranking((PAO, ONLINE, AID))
ANSWER = Match(Outcome.ANSWER, "zuiduo_paoyici", 0.7, ONLINE, (PAO,))


def _sure(intent: str, lead: float, at_end: str | None = None, in_scope: float | None = None) -> Opinion:
    second = "zuiduo_paoyici" if intent != "zuiduo_paoyici" else "legal_aid"
    return Opinion((intent, second), lead, lead if in_scope is None else in_scope, at_end)


def test_a_very_sure_model_answers_its_guess_over_fuzzy_matchings_answer() -> None:
    settled = combined(ANSWER, RANKING, _sure("online_gov_services", W.model_answers), SETTINGS)
    assert (settled.outcome, settled.intent, settled.candidates) == (Outcome.ANSWER, "online_gov_services", (ONLINE,))
    # Less sure: the disagreement is asked about, as before.
    asked = combined(ANSWER, RANKING, _sure("online_gov_services", W.model_answers - 1), SETTINGS)
    assert asked.outcome is Outcome.CLARIFY


def test_a_very_sure_model_answers_its_guess_over_a_question_that_did_not_offer_it() -> None:
    clarify = Match(Outcome.CLARIFY, None, 0.7, ONLINE, (PAO, ONLINE))
    settled = combined(clarify, RANKING, _sure("legal_aid", W.model_answers + 5), SETTINGS)
    assert (settled.outcome, settled.intent) == (Outcome.ANSWER, "legal_aid")


def test_sure_over_the_second_guess_but_not_over_out_of_scope_is_not_enough() -> None:
    near_out = Opinion(("online_gov_services", "legal_aid"), W.model_answers + 20, W.model_answers - 20)
    assert combined(ANSWER, RANKING, near_out, SETTINGS).intent != "online_gov_services"


def test_a_guess_fuzzy_matching_did_not_rank_or_out_of_scope_is_never_answered() -> None:
    unranked = combined(ANSWER, RANKING, _sure("notarization", W.model_answers + 50), SETTINGS)
    assert unranked.intent != "notarization"
    out = Opinion((OUT_OF_SCOPE, "zuiduo_paoyici"), W.model_answers + 50, 0.0)
    assert combined(ANSWER, RANKING, out, SETTINGS).intent != OUT_OF_SCOPE


def test_a_story_whose_end_and_whole_agree_is_answered_at_a_smaller_margin() -> None:
    lead, scope = W.story_answers, W.model_in_scope
    agreeing = combined(ANSWER, RANKING, _sure("online_gov_services", lead, "online_gov_services", scope), SETTINGS)
    assert (agreeing.outcome, agreeing.intent) == (Outcome.ANSWER, "online_gov_services")
    # Its second guess near out of scope: the story may be a look-alike, and is asked about.
    near_out = _sure("online_gov_services", lead, "online_gov_services", scope - 1)
    assert combined(ANSWER, RANKING, near_out, SETTINGS).outcome is Outcome.CLARIFY
    # Its end read as another topic: the whole reading alone is not enough at this margin.
    split = combined(ANSWER, RANKING, _sure("online_gov_services", lead, at_end="legal_aid"), SETTINGS)
    assert split.outcome is Outcome.CLARIFY
    # Ranked by fuzzy matching below its first `story_ranked`: too faint a likeness to answer.
    filler = tuple(Scored(f"filler_{n}", 0.6 - n / 100, "x", 0.0) for n in range(W.story_ranked))
    low = Ranking((PAO, *filler, ONLINE))
    kept = combined(ANSWER, low, _sure("online_gov_services", lead, "online_gov_services", scope), SETTINGS)
    assert kept.intent != "online_gov_services"


def test_the_story_margin_sits_below_the_general_one() -> None:
    assert 0 < W.model_settles <= W.story_answers < W.model_answers


def test_a_model_very_sure_of_scope_settles_a_question_with_a_smaller_lead_between_intents() -> None:
    clarify = Match(Outcome.CLARIFY, None, 0.7, ONLINE, (PAO, ONLINE))
    between = W.model_picks
    assert between < W.model_settles
    in_scope = Opinion(("online_gov_services", "zuiduo_paoyici"), between, W.model_in_scope)
    settled = combined(clarify, RANKING, in_scope, SETTINGS)
    assert (settled.outcome, settled.intent) == (Outcome.ANSWER, "online_gov_services")
    # The same lead between intents, less sure of scope: still asked.
    doubtful = Opinion(("online_gov_services", "zuiduo_paoyici"), between, W.model_in_scope - 1)
    assert combined(clarify, RANKING, doubtful, SETTINGS) is clarify
    assert combined(clarify, RANKING, Opinion(in_scope.guesses, between - 1, 99.0), SETTINGS) is clarify


def test_an_emergency_answer_is_never_vetoed_as_out_of_scope() -> None:
    # In doubt, now: a message fuzzy matching answers with the emergency examples stays answered,
    # however sure the model is that it is out of scope; a service answer the model vetoes falls back.
    danger = Scored("emergency", 0.7, "我好害怕", 0.6)
    match = Match(Outcome.ANSWER, "emergency", 0.7, PAO, (danger,))
    out = Opinion((OUT_OF_SCOPE, "legal_aid"), W.model_vetoes + 5, 0.0)
    assert combined(match, Ranking((danger, PAO)), out, SETTINGS).intent == "emergency"
    assert combined(ANSWER, RANKING, out, SETTINGS).outcome is Outcome.FALLBACK
