"""The learned second opinion: trained from the catalogue when it loads, weighed with fuzzy matching, never answering alone."""

from __future__ import annotations

import pickle

from bot.catalogue.loader import Catalogue
from bot.cli import main
from bot.engine import Engine
from bot.catalogue.model import MatcherSettings
from bot.matching.decision import Match, Outcome, combined
from bot.matching.learned import OUT_OF_SCOPE, Opinion, train
from bot.matching.lexicon import foreign_words
from bot.matching.scoring import Ranking, Scored
from bot.matching.phonetic import sound_keys
from bot.matching.ranking import examine


def _doc(label: str, text: str) -> tuple[str, str, str]:
    return label, text, sound_keys(text)[0]


def test_the_model_learns_each_class_from_its_examples() -> None:
    model = train([_doc("notarization", "公证处在哪里"), _doc("notarization", "办公证要带什么"),
                   _doc("legal_aid", "法律援助怎么申请"), _doc("legal_aid", "请不起律师"),
                   _doc(OUT_OF_SCOPE, "今天天气怎么样"), _doc(OUT_OF_SCOPE, "跑步五公里要多久")])
    assert model is not None
    assert model.guesses("公证要多久", sound_keys("公证要多久")[0])[0] == "notarization"
    assert model.guesses("天气好不好", sound_keys("天气好不好")[0])[0] == OUT_OF_SCOPE
    assert model.guesses("xyz", sound_keys("xyz")[0]) == ()  # nothing in common: no guess


def test_one_class_is_nothing_to_learn() -> None:
    assert train([_doc("legal_aid", "法律援助")]) is None


SETTINGS = MatcherSettings()
# Examples that explain most of the message: an answer resting on more than one word.
PAO, ONLINE = Scored("zuiduo_paoyici", 0.7, "跑一次", 0.8), Scored("online_gov_services", 0.66, "网上办", 0.8)
RANKING = Ranking((PAO, ONLINE))


def test_an_answer_the_model_takes_for_out_of_scope_without_its_topic_falls_back() -> None:
    answer = Match(Outcome.ANSWER, "zuiduo_paoyici", 0.7, ONLINE, (PAO,))
    assert combined(answer, RANKING, Opinion((OUT_OF_SCOPE, "online_gov_services"), 5.0), SETTINGS).outcome is Outcome.FALLBACK
    assert combined(answer, RANKING, Opinion((OUT_OF_SCOPE, "zuiduo_paoyici"), 3.0), SETTINGS) is answer
    assert combined(answer, RANKING, Opinion(("zuiduo_paoyici", OUT_OF_SCOPE), 30.0, 30.0), SETTINGS) is answer
    assert combined(answer, RANKING, Opinion(), SETTINGS) is answer


def test_an_answer_resting_on_the_service_word_alone_is_asked_when_the_model_leans_out_of_scope() -> None:
    word_only = Scored("online_gov_services", 0.6, "网上办", 0.25)  # 网上办信用卡哪个银行好批
    answer = Match(Outcome.ANSWER, "online_gov_services", 0.6, None, (word_only,))
    ranking = Ranking((word_only,))
    leaning_out = Opinion(("online_gov_services", OUT_OF_SCOPE), 1.5, 1.5)
    asked = combined(answer, ranking, leaning_out, SETTINGS, length=12)
    assert (asked.outcome, [s.intent for s in asked.candidates]) == (Outcome.CLARIFY, ["online_gov_services"])
    assert combined(answer, ranking, Opinion(("online_gov_services", OUT_OF_SCOPE), 30.0, 30.0), SETTINGS,
                    length=12) is answer  # the model sure it is in scope
    assert combined(answer, ranking, Opinion(("online_gov_services", "legal_aid"), 1.5, 1.5), SETTINGS,
                    length=12) is answer  # out of scope not among its guesses
    assert combined(answer, ranking, leaning_out, SETTINGS, length=60) is answer  # a story: the rest is background
    covered = Match(Outcome.ANSWER, "online_gov_services", 0.66, None, (ONLINE,))
    assert combined(covered, RANKING, leaning_out, SETTINGS, length=12) is covered


def test_a_sure_model_does_not_settle_on_an_intent_resting_on_its_word_alone() -> None:
    word_only = Scored("zuiduo_paoyici", 0.5, "跑一次", 0.2)  # 跑一次5公里消耗多少卡路里
    clarify = Match(Outcome.CLARIFY, None, 0.5, ONLINE, (word_only, ONLINE))
    ranking = Ranking((word_only, ONLINE))
    sure = Opinion(("zuiduo_paoyici", OUT_OF_SCOPE), 28.0, 28.0)
    assert combined(clarify, ranking, sure, SETTINGS, length=16) is clarify
    settled = combined(clarify, ranking, Opinion(("zuiduo_paoyici", "online_gov_services"), 28.0, 40.0), SETTINGS,
                       length=16)
    assert (settled.outcome, settled.intent) == (Outcome.ANSWER, "zuiduo_paoyici")


def test_a_sure_disagreement_turns_an_answer_into_a_question_offering_both() -> None:
    answer = Match(Outcome.ANSWER, "zuiduo_paoyici", 0.7, ONLINE, (PAO,))
    asked = combined(answer, RANKING, Opinion(("online_gov_services", "zuiduo_paoyici"), 15.0, 15.0), SETTINGS)
    assert asked.outcome is Outcome.CLARIFY
    assert [s.intent for s in asked.candidates] == ["zuiduo_paoyici", "online_gov_services"]
    unsure = Opinion(("online_gov_services", "zuiduo_paoyici"), 5.0, 15.0)
    assert combined(answer, RANKING, unsure, SETTINGS) is answer


def test_a_story_whose_question_the_model_reads_as_the_answer_keeps_its_answer() -> None:
    answer = Match(Outcome.ANSWER, "zuiduo_paoyici", 0.7, ONLINE, (PAO,))
    # The whole story leans elsewhere (its background), its end asks about the answer's topic.
    background = Opinion(("online_gov_services", "zuiduo_paoyici"), 15.0, 15.0, at_end="zuiduo_paoyici")
    assert combined(answer, RANKING, background, SETTINGS) is answer
    # Its end read as the other topic too: the disagreement stands, both are offered.
    elsewhere = Opinion(("online_gov_services", "zuiduo_paoyici"), 15.0, 15.0, at_end="online_gov_services")
    assert combined(answer, RANKING, elsewhere, SETTINGS).outcome is Outcome.CLARIFY


def test_a_long_story_is_answered_by_the_service_its_question_names(shipped_catalogue: Catalogue) -> None:
    story = ("家里承包的山林去年被镇里收回去了，合同还没到期，补偿一分没给，找了好多次都说是上面的决定，"
             "我想对这个收回决定申请行政复议，该找哪里")
    examined = examine(story, shipped_catalogue.index)
    assert examined.learned.guesses[0] == "legal_consultation"  # the background's words
    assert examined.learned.at_end == "admin_reconsideration"  # the question's
    assert examine("行政复议怎么申请", shipped_catalogue.index).learned.at_end is None  # no story
    assert Engine(shipped_catalogue).respond("u", story, channel="test").intent == "admin_reconsideration"


def test_a_sure_model_settles_a_question_between_the_intents_offered_and_not_others() -> None:
    clarify = Match(Outcome.CLARIFY, None, 0.55, ONLINE, (PAO, ONLINE))
    settled = combined(clarify, RANKING, Opinion(("online_gov_services", "zuiduo_paoyici"), 25.0, 25.0), SETTINGS)
    assert (settled.outcome, settled.intent) == (Outcome.ANSWER, "online_gov_services")
    near_out_of_scope = Opinion(("online_gov_services", OUT_OF_SCOPE), 25.0, 5.0)
    assert combined(clarify, RANKING, near_out_of_scope, SETTINGS) is clarify
    not_offered = combined(clarify, RANKING, Opinion(("legal_aid", "notarization"), 40.0, 40.0), SETTINGS)
    assert (not_offered.outcome, not_offered.intent) == (Outcome.CLARIFY, None)  # offered too, never answered


def test_a_sure_model_does_not_settle_on_a_look_alike_of_a_name_said_word_for_word() -> None:
    named = Scored("mediation_center", 0.86, "最多跑一地", 0.8)
    alike = Scored("zuiduo_paoyici", 0.81, "最多跑一次什么意思", 0.9)
    clarify = Match(Outcome.CLARIFY, None, 0.86, alike, (named, alike))
    sure = Opinion(("zuiduo_paoyici", "mediation_center"), 40.0, 60.0)
    ranking = Ranking((named, alike))
    assert combined(clarify, ranking, sure, SETTINGS, core="最多跑一地是什么意思") is clarify
    settled = combined(clarify, ranking, sure, SETTINGS, core="最多跑一地和最多跑一次什么意思")
    assert (settled.outcome, settled.intent) == (Outcome.ANSWER, "zuiduo_paoyici")  # both named: the model decides
    assert combined(clarify, ranking, sure, SETTINGS).outcome is Outcome.ANSWER  # no message text given


def test_the_bot_does_not_answer_a_look_alike_name(shipped_catalogue: Catalogue) -> None:
    reply = Engine(shipped_catalogue).respond("u", "最多跑一地指什么", channel="test")
    assert reply.intent != "zuiduo_paoyici"


def test_a_question_also_offers_a_sure_guess_fuzzy_matching_did_not_offer() -> None:
    clarify = Match(Outcome.CLARIFY, None, 0.55, ONLINE, (PAO, ONLINE))
    offered = combined(clarify, RANKING, Opinion(("legal_aid", "notarization"), 5.0, 40.0), SETTINGS)
    assert (offered.outcome, [s.intent for s in offered.candidates]) == (
        Outcome.CLARIFY, ["zuiduo_paoyici", "online_gov_services", "legal_aid"])
    full = Match(Outcome.CLARIFY, None, 0.55, ONLINE, (PAO, ONLINE, Scored("notarization", 0.5, "公证")))
    replaced = combined(full, RANKING, Opinion(("legal_aid", "notarization"), 5.0, 40.0), SETTINGS)
    assert [s.intent for s in replaced.candidates] == ["zuiduo_paoyici", "online_gov_services", "legal_aid"]
    assert combined(clarify, RANKING, Opinion(("legal_aid", OUT_OF_SCOPE), 5.0, 5.0), SETTINGS) is clarify


def test_a_fallback_offers_the_guess_the_model_is_sure_is_not_out_of_scope_wherever_fuzzy_ranked_it() -> None:
    fallback = Match(Outcome.FALLBACK, None, 0.3, None, ())
    offered = combined(fallback, RANKING, Opinion(("online_gov_services", "legal_aid"), 30.0, 50.0), SETTINGS)
    assert (offered.outcome, [s.intent for s in offered.candidates]) == (Outcome.CLARIFY, ["online_gov_services"])
    assert offered.candidates[0] is ONLINE  # fuzzy matching's own score and example for it
    unranked = combined(fallback, RANKING, Opinion(("legal_consultation", "legal_aid"), 2.0, 16.0), SETTINGS)
    assert (unranked.outcome, [s.intent for s in unranked.candidates]) == (Outcome.CLARIFY, ["legal_consultation"])
    near_out_of_scope = Opinion(("online_gov_services", "legal_aid"), 30.0, 10.0)
    assert combined(fallback, RANKING, near_out_of_scope, SETTINGS) is fallback
    assert combined(fallback, RANKING, Opinion((OUT_OF_SCOPE, "legal_aid"), 30.0), SETTINGS) is fallback
    thanks = Opinion(("thanks", "legal_aid"), 30.0, 30.0)  # letters that sound like nothing (asdfghjkl)
    assert combined(fallback, RANKING, thanks, SETTINGS, frozenset({"thanks"})) is fallback


def test_a_citizens_own_dispute_in_words_no_example_uses_is_offered_legal_consultation(
        shipped_catalogue: Catalogue) -> None:
    engine = Engine(shipped_catalogue)
    assert engine.respond("u", "公证处在哪", channel="test").intent == "notarization"
    reply = engine.respond("u", "婚前贷款买房，房产写女方名字，两人一起还贷，分开房子归女方吗", channel="test")
    assert reply.intent is None and reply.suggestions[:1] == ("legal_consultation",)
    # Fuzzy matching did not back the offer: the conversation's topic stays the one it had.
    assert engine.context.get("u").intent == "notarization"


def test_the_shipped_catalogue_trains_it_and_workers_get_its_guesses(shipped_catalogue: Catalogue) -> None:
    assert shipped_catalogue.index.learned is not None
    examined = examine("法律援助怎么申请", shipped_catalogue.index)
    assert examined.learned.guesses[0] == "legal_aid"
    assert pickle.loads(pickle.dumps(examined)) == examined  # match workers send it back


def test_the_engine_can_answer_with_fuzzy_matching_alone(shipped_catalogue: Catalogue) -> None:
    assert Engine(shipped_catalogue, learned_veto=False).respond("u", "法律援助怎么申请").intent == "legal_aid"


def test_eval_prints_fuzzy_model_and_combined_side_by_side(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    cases = tmp_path / "cases.yml"
    cases.write_text("- text: 法律援助怎么申请\n  expect: legal_aid\n- text: 今天天气怎么样\n  expect: null\n",
                     encoding="utf-8")
    assert main(["eval", str(cases)]) == 0
    out = capsys.readouterr().out
    for side in ("fuzzy matching alone", "learned model alone", "combined (the bot)"):
        assert side in out


def test_everyday_nouns_the_catalogue_never_uses_are_negative_evidence() -> None:
    foreign = foreign_words(["便民服务中心在哪", "律师怎么请"])
    assert "世界" in foreign and "交通" in foreign  # nouns of jieba's dictionary no text uses
    assert "中心" not in foreign and "律师" not in foreign  # used by the known texts
    assert all(2 <= len(word) <= 4 for word in foreign)


def test_the_shipped_model_takes_look_alikes_made_of_everyday_nouns_for_out_of_scope(
        shipped_catalogue: Catalogue) -> None:
    examined = examine("公租房装修成什么风格好看", shipped_catalogue.index)
    assert examined.learned.guesses[0] == OUT_OF_SCOPE
    assert examine("公租房怎么申请", shipped_catalogue.index).learned.guesses[0] == "public_rental_housing"
    assert Engine(shipped_catalogue).respond("u", "公租房装修成什么风格好看").intent is None


def test_a_clear_out_of_scope_opinion_vetoes_even_with_the_topic_second() -> None:
    answer = Match(Outcome.ANSWER, "zuiduo_paoyici", 0.7, ONLINE, (PAO,))
    assert combined(answer, RANKING, Opinion((OUT_OF_SCOPE, "zuiduo_paoyici"), 8.0), SETTINGS).outcome is Outcome.FALLBACK


def test_a_look_alike_whose_only_evidence_is_the_service_word_is_asked_not_answered(
        shipped_catalogue: Catalogue) -> None:
    reply = Engine(shipped_catalogue).respond("u", "网上办个会员卡哪家便宜", channel="test")
    assert reply.intent is None and reply.suggestions == ("online_gov_services",)
    assert Engine(shipped_catalogue).respond("v", "哪些事可以在网上办", channel="test").intent == "online_gov_services"
