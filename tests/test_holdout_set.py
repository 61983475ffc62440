"""The second held-out set (tests/eval/holdout.yml): its cases are sound, and its figures do not fall.

The floors sit a little below the figures measured when the set was added (README, Evaluation): a
change that loses several of its cases must say why, or be taken back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.catalogue.loader import Catalogue
from bot.engine import Engine
from bot.checks.evaluation import Case, Result, figures, load_cases, run_cases
from bot.checks.pytest_plugin import SHIPPED_CONTENT, SHIPPED_INTENTS

HOLDOUT = Path(__file__).resolve().parent / "eval" / "holdout.yml"

FLOORS = {"accuracy": 0.92, "useful": 0.91}
CEILINGS = {"wrong": 0.04, "false_accept": 0.16}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases(HOLDOUT)


@pytest.fixture(scope="module")
def results(shipped_catalogue: Catalogue, cases: list[Case]) -> list[Result]:
    return run_cases(Engine(shipped_catalogue, SHIPPED_INTENTS, SHIPPED_CONTENT), cases)


def _listing(results: list[Result]) -> str:
    return "\n".join(f"  {r.case.source}: {r.case.text!r} expected {r.case.expect} got {r.reply.intent} "
                     f"{list(r.reply.suggestions)}" for r in results)


def test_every_expected_id_exists(cases: list[Case], shipped_catalogue: Catalogue) -> None:
    missing = sorted({c.expect for c in cases if c.expect is not None and c.expect not in shipped_catalogue.intents})
    assert not missing


def test_oos_and_emergency_tags_match_expect(cases: list[Case]) -> None:
    bad = [str(c.source) for c in cases
           if c.dialogue is None and (("oos" in c.tags) != (c.expect is None)
                                      or ("emergency" in c.tags) != (c.expect == "emergency"))]
    assert not bad


def test_no_case_is_an_intent_example(cases: list[Case], shipped_catalogue: Catalogue) -> None:
    examples = {e for intent in shipped_catalogue.intents.values() for e in intent.examples}
    # A short question ("行政复议", "证照分离是什么") is bound to be an example too.
    copied = [f"{c.source}: {c.text}" for c in cases if c.text in examples and len(c.text) > 12]
    assert not copied, "held-out cases copied into intents/:\n" + "\n".join(copied)


@pytest.mark.parametrize("measure", sorted(FLOORS))
def test_figure_stays_above_its_floor(results: list[Result], measure: str) -> None:
    value = getattr(figures(results), measure)
    missed = [r for r in results if r.case.expect is not None and not r.is_right]
    assert value >= FLOORS[measure], f"{measure} {value:.3f} < {FLOORS[measure]}:\n{_listing(missed)}"


@pytest.mark.parametrize("measure", sorted(CEILINGS))
def test_figure_stays_below_its_ceiling(results: list[Result], measure: str) -> None:
    value = getattr(figures(results), measure)
    bad = [r for r in results if r.is_wrong or (r.case.expect is None and r.reply.intent is not None)]
    assert value <= CEILINGS[measure], f"{measure} {value:.3f} > {CEILINGS[measure]}:\n{_listing(bad)}"


def test_every_danger_message_gets_110_first(results: list[Result]) -> None:
    missed = [r for r in results if r.case.expect == "emergency" and not r.is_right]
    assert not missed, _listing(missed)
