"""Other domains' nouns (bot.matching.domains) and the decision they move (bot.matching.decision)."""

from __future__ import annotations

from bot.catalogue.loader import Catalogue
from bot.catalogue.model import MatcherSettings
from bot.engine import Engine
from bot.matching.decision import Match, Outcome, combined
from bot.matching.domains import build, segment, table
from bot.matching.learned import OUT_OF_SCOPE, Opinion
from bot.matching.scoring import Ranking, Scored

SETTINGS = MatcherSettings()
KNOWN = ["投诉窗口工作人员态度差", "司法鉴定去哪里做", "证明事项怎么办"]


def test_nouns_no_intent_text_holds_are_strange() -> None:
    domains = build(KNOWN)
    assert all(domains.is_strange(noun) for noun in ("驾校", "麻将", "鸭子"))
    assert not domains.is_strange("窗口") and not domains.is_strange("证明")  # the known texts use them


def test_a_message_is_segmented_as_words_so_a_noun_read_across_two_words_does_not_count() -> None:
    domains = build(KNOWN)
    assert domains.is_strange("山门")
    words, _, alone = table()
    assert "山门" not in segment("江郎山门票多少钱", words, alone)  # 江郎山|门票, not 江郎|山门
    assert domains.nouns_elsewhere("驾校工作人员态度差去哪投诉") == ("驾校",)
    assert domains.nouns_elsewhere("工作人员态度差去哪投诉") == ()


def test_a_reload_searches_only_the_changed_texts_and_gets_what_a_fresh_build_gets() -> None:
    first = build(KNOWN)
    grown = [*KNOWN, "打麻将输了钱"]
    again = build(grown, first, KNOWN)
    assert first.is_strange("麻将") and not again.is_strange("麻将")
    assert again.held == build(grown).held
    back = build(KNOWN, again, grown)  # the text holding 麻将 removed: strange again
    assert back.is_strange("麻将") and back.held == first.held


WORD = Scored("service_evaluation", 0.6, "投诉", 0.25)  # the service word, a quarter of the message
ANSWER = Match(Outcome.ANSWER, "service_evaluation", 0.6, None, (WORD,))
UNSURE = Opinion(("service_evaluation", "lawyer_complaint"), 3.0, 10.0)  # out of scope not among its guesses


def test_an_answer_explaining_little_of_a_phrase_about_another_domain_is_asked() -> None:
    asked = combined(ANSWER, Ranking((WORD,)), UNSURE, SETTINGS, length=12, elsewhere=lambda: ("驾校",))
    assert (asked.outcome, [s.intent for s in asked.candidates]) == (Outcome.CLARIFY, ["service_evaluation"])


def test_it_is_answered_without_another_domain_sure_model_more_coverage_or_a_story() -> None:
    ranking = Ranking((WORD,))
    assert combined(ANSWER, ranking, UNSURE, SETTINGS, length=12) is ANSWER
    sure = Opinion(("service_evaluation", "lawyer_complaint"), 3.0, SETTINGS.weights.model_doubts + 1)
    assert combined(ANSWER, ranking, sure, SETTINGS, length=12, elsewhere=lambda: ("驾校",)) is ANSWER
    assert combined(ANSWER, ranking, UNSURE, SETTINGS, length=SETTINGS.weights.elsewhere_length + 1,
                    elsewhere=lambda: ("驾校",)) is ANSWER
    covered = Scored("service_evaluation", 0.6, "投诉", SETTINGS.weights.elsewhere_coverage)
    answer = Match(Outcome.ANSWER, "service_evaluation", 0.6, None, (covered,))
    assert combined(answer, Ranking((covered,)), UNSURE, SETTINGS, length=12, elsewhere=lambda: ("驾校",)) is answer


def test_a_sure_model_does_not_settle_a_question_on_an_intent_said_about_another_domain() -> None:
    other = Scored("lawyer_complaint", 0.55, "投诉律师", 0.2)
    clarify = Match(Outcome.CLARIFY, None, 0.6, other, (WORD, other))
    sure = Opinion(("service_evaluation", "lawyer_complaint"), 25.0, 25.0)
    assert combined(clarify, Ranking((WORD, other)), sure, SETTINGS, length=12).outcome is Outcome.ANSWER
    assert combined(clarify, Ranking((WORD, other)), sure, SETTINGS, length=12, elsewhere=lambda: ("驾校",)) is clarify


def test_the_shipped_catalogue_asks_about_a_look_alike_and_answers_the_service(shipped_catalogue: Catalogue) -> None:
    engine = Engine(shipped_catalogue)
    assert shipped_catalogue.index.domains is not None and shipped_catalogue.index.domains.is_strange("鸭子")
    assert engine.respond("a", "健身房的私教课 能开个证明吗", channel="test").intent is None
    assert engine.respond("b", "证明事项告知承诺制是什么", channel="test").intent == "certificate_reduction"
