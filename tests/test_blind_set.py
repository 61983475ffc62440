"""The blind set (tests/eval/blind.yml): written for this round by writers who saw neither the
catalogue's examples nor any other set. Its failures are not read while the matcher is worked on,
so these bars only keep its figures from falling; a failing bar does not list the cases.

The bars sit a little below the figures measured at the end of the round (README, Evaluation).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalogue.loader import Catalogue
from bot.checks.evaluation import Result, figures, load_cases, run_cases, summarize
from bot.checks.pytest_plugin import SHIPPED_CONTENT, SHIPPED_INTENTS
from bot.engine import Engine

BLIND = Path(__file__).resolve().parent / "eval" / "blind.yml"
FLOORS = {"accuracy": 0.92, "useful": 0.94}
CEILINGS = {"wrong": 0.02, "false_accept": 0.13}


@pytest.fixture(scope="module")
def results(shipped_catalogue: Catalogue) -> list[Result]:
    return run_cases(Engine(shipped_catalogue, SHIPPED_INTENTS, SHIPPED_CONTENT), load_cases(BLIND))


def test_every_expected_id_exists(results: list[Result], shipped_catalogue: Catalogue) -> None:
    assert not {r.case.expect for r in results if r.case.expect and r.case.expect not in shipped_catalogue.intents}


@pytest.mark.parametrize("measure", sorted(FLOORS))
def test_figure_stays_above_its_floor(results: list[Result], measure: str) -> None:
    assert getattr(figures(results), measure) >= FLOORS[measure], measure


@pytest.mark.parametrize("measure", sorted(CEILINGS))
def test_figure_stays_below_its_ceiling(results: list[Result], measure: str) -> None:
    assert getattr(figures(results), measure) <= CEILINGS[measure], measure


def test_danger_now_is_always_found(results: list[Result]) -> None:
    assert summarize(results).emergency_recall == 1.0
