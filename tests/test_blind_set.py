"""The blind sets (tests/eval/blind.yml, blind2.yml, blind3.yml, blind4.yml, blind5.yml, blind6.yml, then blind8.yml,
blind9.yml, blind10.yml, blind11.yml, blind12.yml, blind13.yml and blind14.yml): each written at the start of a round by
writers who saw neither the catalogue's examples nor any other set. Their failures are not read while
the matcher is worked on, so these bars only keep their figures from falling; a failing bar does not
list the cases.

The bars sit a little below the figures measured at the end of each round (README, Evaluation).
blind2.yml's emergency recall reached 100% with the danger model (README): its bar allows one miss.
blind2.yml's and blind3.yml's failures were each read in the round after it; blind.yml's only as aggregate figures.
blind4.yml was scored once before its round's work and once after it; its failures were read in the round after.
blind5.yml was scored once before its round's work and once after it; its failures were read in the round after
(a short one), whose figures its bars now sit just below.
blind6.yml was scored once before that short round and once after it (the same figures); its failures were read
in the round after, which changed how the learned model and fuzzy matching are combined, how follow-ups take
an offered next step and which other domains' nouns are out of scope; its bars sit just below that round's figures.
blind8.yml (two writers, 711 entries) was written at the start of the eighth round, after the seventh round's blind
set was lost with its machine; it was scored once at the round's base commit and once after the round's work, then
its failures were read (another country's services, English place names); its bars sit just below those figures.
blind9.yml (two writers, 938 entries) was written at the start of the ninth round and scored at its base commit and
after the round's work (English synonyms); its failures were read in the tenth round (English place names, small
talk said in passing). Its bars sit just below the figures after the tenth round.
blind10.yml (two writers, 975 entries) was written at the start of the tenth round and scored at its base commit and
after the round's work; its failures were read in the eleventh round. Its bars sit just below the figures after it.
blind11.yml (two writers, 1,382 entries) was written at the start of the eleventh round and scored at its base commit
and after the round's work (the same figures); its failures were read only then. Its bars sit just below them.
blind12.yml (two writers, 1,460 entries) was written at the start of the twelfth round and scored at its base commit
and after the round's work; its failures were read in the thirteenth round. Its bars sit just below the figures after it.
blind13.yml (two writers, 1,342 entries) was written at the start of the thirteenth round and scored at its base commit
and after the round's work; its failures were read in the fourteenth round (English question words read as the bot's
small talk, a follow-up to a two-service "did you mean" given the first). Its bars sit just below the figures after it.
blind14.yml (two writers, 1,340 entries) was written at the start of the fourteenth round and scored at its base commit
and after the round's work; its failures are read in a later round. Its bars sit just below those figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalogue.loader import Catalogue
from bot.checks.evaluation import Result, figures, load_cases, run_cases, summarize
from bot.checks.pytest_plugin import SHIPPED_CONTENT, SHIPPED_INTENTS
from bot.engine import Engine

EVAL = Path(__file__).resolve().parent / "eval"
# set: floors, ceilings, emergency recall (None: the set holds no danger, safety_blind8.yml does)
BARS: dict[str, tuple[dict[str, float], dict[str, float], float | None]] = {
    "blind.yml": ({"accuracy": 0.96, "useful": 0.97}, {"wrong": 0.015, "false_accept": 0.06}, 1.0),
    "blind2.yml": ({"accuracy": 0.93, "useful": 0.96}, {"wrong": 0.02, "false_accept": 0.08}, 0.97),
    "blind3.yml": ({"accuracy": 0.925, "useful": 0.95}, {"wrong": 0.02, "false_accept": 0.05}, 0.97),
    "blind4.yml": ({"accuracy": 0.935, "useful": 0.96}, {"wrong": 0.025, "false_accept": 0.07}, 0.99),
    "blind5.yml": ({"accuracy": 0.93, "useful": 0.97}, {"wrong": 0.015, "false_accept": 0.11}, 0.99),
    "blind6.yml": ({"accuracy": 0.91, "useful": 0.95}, {"wrong": 0.04, "false_accept": 0.11}, 0.99),
    "blind8.yml": ({"accuracy": 0.95, "useful": 0.97}, {"wrong": 0.017, "false_accept": 0.145}, None),  # no danger
    "blind9.yml": ({"accuracy": 0.925, "useful": 0.97}, {"wrong": 0.017, "false_accept": 0.075}, None),  # no danger
    "blind10.yml": ({"accuracy": 0.885, "useful": 0.94}, {"wrong": 0.03, "false_accept": 0.115}, 0.99),
    "blind11.yml": ({"accuracy": 0.885, "useful": 0.955}, {"wrong": 0.025, "false_accept": 0.135}, 0.99),
    "blind12.yml": ({"accuracy": 0.875, "useful": 0.945}, {"wrong": 0.03, "false_accept": 0.135}, 0.99),
    "blind13.yml": ({"accuracy": 0.905, "useful": 0.955}, {"wrong": 0.03, "false_accept": 0.18}, 0.99),
    "blind14.yml": ({"accuracy": 0.92, "useful": 0.97}, {"wrong": 0.02, "false_accept": 0.105}, 0.99),
}
# Every turn of the multi-turn conversations (tag multi_turn) answered right: follow-ups stay in their
# topic unless a new one is clearly asked about (bot.followup). A little below the figures measured.
# blind9.yml's is 0.945 since the fourteenth round: a follow-up to a "did you mean" offering two services,
# none chosen, is asked again which one (bot.followup.unchosen); one of its turns had the first button right.
MULTI_TURN = {"blind.yml": 0.97, "blind2.yml": 0.95, "blind3.yml": 0.95, "blind4.yml": 0.92,
              "blind5.yml": 0.94, "blind6.yml": 0.89, "blind8.yml": 0.93, "blind9.yml": 0.945,
              "blind10.yml": 0.84, "blind11.yml": 0.92, "blind12.yml": 0.865, "blind13.yml": 0.875,
              "blind14.yml": 0.935}
FLOORS = {"accuracy", "useful"}
CEILINGS = {"wrong", "false_accept"}


@pytest.fixture(scope="module", params=sorted(BARS))
def blind(request: pytest.FixtureRequest, shipped_catalogue: Catalogue) -> tuple[str, list[Result]]:
    engine = Engine(shipped_catalogue, SHIPPED_INTENTS, SHIPPED_CONTENT)
    return request.param, run_cases(engine, load_cases(EVAL / request.param))


@pytest.fixture
def results(blind: tuple[str, list[Result]]) -> list[Result]:
    return blind[1]


def test_every_expected_id_exists(results: list[Result], shipped_catalogue: Catalogue) -> None:
    assert not {r.case.expect for r in results if r.case.expect and r.case.expect not in shipped_catalogue.intents}


@pytest.mark.parametrize("measure", sorted(FLOORS))
def test_figure_stays_above_its_floor(blind: tuple[str, list[Result]], measure: str) -> None:
    name, results = blind
    assert getattr(figures(results), measure) >= BARS[name][0][measure], (name, measure)


@pytest.mark.parametrize("measure", sorted(CEILINGS))
def test_figure_stays_below_its_ceiling(blind: tuple[str, list[Result]], measure: str) -> None:
    name, results = blind
    assert getattr(figures(results), measure) <= BARS[name][1][measure], (name, measure)


def test_follow_ups_are_answered_in_their_conversation(blind: tuple[str, list[Result]]) -> None:
    name, results = blind
    turns = [r for r in results if "multi_turn" in r.case.tags]
    assert turns and figures(turns).accuracy >= MULTI_TURN[name], name


def test_danger_now_is_found(blind: tuple[str, list[Result]]) -> None:
    name, results = blind
    recall, bar = summarize(results).emergency_recall, BARS[name][2]
    assert (recall is None) if bar is None else (recall is not None and recall >= bar), name
