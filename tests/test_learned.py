"""The learned second opinion: trained from the catalogue when it loads, and only ever a veto."""

from __future__ import annotations

import pickle

from bot.catalogue.loader import Catalogue
from bot.cli import main
from bot.engine import Engine
from bot.matching.decision import Match, Outcome, vetoed
from bot.matching.learned import OUT_OF_SCOPE, train
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


def test_the_veto_drops_an_answer_only_when_the_model_says_out_of_scope_without_its_topic() -> None:
    answer = Match(Outcome.ANSWER, "zuiduo_paoyici", 0.7, None, ())
    assert vetoed(answer, (OUT_OF_SCOPE, "online_gov_services")).outcome is Outcome.FALLBACK
    assert vetoed(answer, (OUT_OF_SCOPE, "zuiduo_paoyici")) is answer
    assert vetoed(answer, ("zuiduo_paoyici", OUT_OF_SCOPE)) is answer
    assert vetoed(answer, ()) is answer
    clarify = Match(Outcome.CLARIFY, None, 0.5, None, ())
    assert vetoed(clarify, (OUT_OF_SCOPE,)) is clarify


def test_the_shipped_catalogue_trains_it_and_workers_get_its_guesses(shipped_catalogue: Catalogue) -> None:
    assert shipped_catalogue.index.learned is not None
    examined = examine("法律援助怎么申请", shipped_catalogue.index)
    assert examined.learned[0] == "legal_aid"
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
