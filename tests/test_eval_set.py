"""The project's held-out evaluation set (tests/eval/jiangshan.yml): its composition, and the bars it sets."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from bot.catalogue.loader import Catalogue
from bot.cli import main
from bot.engine import Engine
from bot.checks.evaluation import Case, Result, figures, load_cases, run_cases
from bot.checks.pytest_plugin import SHIPPED_CONTENT, SHIPPED_INTENTS

EVAL_FILE = Path(__file__).resolve().parent / "eval" / "jiangshan.yml"

# The intent ids fixed by spec/intent-catalogue.md. The spec is not in the repo, so they are copied here.
SPEC_IDS = (
    # 公共法律服务
    "legal_consultation", "legal_aid", "notarization", "judicial_appraisal", "people_mediation",
    "mediation_center", "admin_reconsideration", "admin_dispute", "admin_litigation",
    "lawyer_complaint", "enterprise_legal_service", "military_legal_service", "judicial_office",
    "judicial_assistant_recruitment",
    # 政务服务
    "zuiduo_paoyici", "online_gov_services", "township_service_center", "certificate_reduction",
    "one_window_service", "service_evaluation", "enterprise_utilities", "investment_approval",
    "license_reform", "business_environment", "ip_protection", "social_credit",
    "gov_info_disclosure", "public_rental_housing",
    # 执法与监督
    "admin_law_enforcement", "enforcement_supervision", "food_safety", "special_equipment_safety",
    "epidemic_legal",
    # 法治建设
    "legal_publicity", "democratic_law_village", "major_decisions", "normative_documents",
    "report_overview", "report_problems", "plan_2021",
    # 对话
    "greeting", "thanks", "goodbye", "bot_capabilities", "human_agent", "emergency",
)

# The tags of spec/evaluation.md; every one must be used by the set.
TAGS = ("plain", "colloquial", "short", "long", "typo", "traditional", "noise", "mixed",
        "oos", "emergency", "multi_turn")
# Hard variants whose accuracy must stay close to that of plain questions.
VARIANT_TAGS = ("typo", "traditional", "noise", "long", "short", "mixed")

MIN_CASES = 260
MIN_VARIANT_CASES = 12  # in-scope cases per variant tag, so its accuracy means something
MIN_PER_ID = 3
MIN_OUT_OF_SCOPE = 45
MIN_DIALOGUES = 12
MIN_EMERGENCY = 12

MIN_ACCURACY = 0.98
MIN_USEFUL = 0.97
MAX_WRONG = 0.02
MAX_FALSE_ACCEPT = 0.08
MAX_VARIANT_GAP = 0.08  # a variant tag's accuracy may fall at most this far below plain


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    """Every case and dialogue turn of the set, in file order."""
    return load_cases(EVAL_FILE)


@pytest.fixture(scope="module")
def results(shipped_catalogue: Catalogue, cases: list[Case]) -> list[Result]:
    """The set run once through a real engine on the shipped catalogue."""
    return run_cases(Engine(shipped_catalogue, SHIPPED_INTENTS, SHIPPED_CONTENT), cases)


def _got(result: Result) -> str:
    reply = result.reply
    if reply.intent is not None:
        return reply.intent
    return f"clarify{list(reply.suggestions)}" if reply.suggestions else reply.kind


def _listing(results: Iterable[Result]) -> str:
    """One line per case a developer must look at: file:line, text, expected, got."""
    lines = []
    for r in results:
        where = f" [dialogue {r.case.dialogue.split('#')[0]}]" if r.case.dialogue else ""
        lines.append(f"  {r.case.source}{where}: {r.case.text!r} expected {r.case.expect} "
                     f"got {_got(r)} ({r.reply.confidence:.2f})")
    return "\n".join(lines)


def _tagged(results: Iterable[Result], tag: str) -> list[Result]:
    return [r for r in results if tag in r.case.tags]


# ---------------------------------------------------------------- composition

def test_spec_id_list_has_no_duplicates() -> None:
    assert len(set(SPEC_IDS)) == len(SPEC_IDS) == 46


def test_set_has_enough_cases(cases: list[Case]) -> None:
    assert len(cases) >= MIN_CASES, f"{len(cases)} cases in {EVAL_FILE.name}, want at least {MIN_CASES}"


def test_every_tag_is_known_and_used(cases: list[Case]) -> None:
    used = Counter(t for c in cases for t in c.tags)
    unknown = {str(c.source): sorted(c.tags - set(TAGS)) for c in cases if c.tags - set(TAGS)}
    unused = [t for t in TAGS if not used[t]]
    assert not unknown, f"tags not in spec/evaluation.md: {unknown}"
    assert not unused, f"tags never used: {unused}"


def test_every_case_has_a_tag(cases: list[Case]) -> None:
    untagged = [str(c.source) for c in cases if c.dialogue is None and not c.tags]
    assert not untagged, f"cases without tags: {untagged}"


@pytest.mark.parametrize("tag", VARIANT_TAGS)
def test_variant_tag_has_enough_in_scope_cases(cases: list[Case], tag: str) -> None:
    n = sum(tag in c.tags and c.expect is not None for c in cases)
    assert n >= MIN_VARIANT_CASES, f"{n} in-scope cases tagged {tag}, want at least {MIN_VARIANT_CASES}"


def test_every_spec_id_is_expected_at_least_three_times(cases: list[Case]) -> None:
    counts = Counter(c.expect.split(".", 1)[0] for c in cases if c.expect is not None)
    short = {i: counts[i] for i in SPEC_IDS if counts[i] < MIN_PER_ID}
    assert not short, f"intent ids expected fewer than {MIN_PER_ID} times: {short}"


def test_every_expected_id_is_a_spec_id_or_inside_one(cases: list[Case]) -> None:
    strays = [f"{c.source}: {c.expect}" for c in cases
              if c.expect is not None and c.expect.split(".", 1)[0] not in SPEC_IDS]
    assert not strays, "expected ids not in spec/intent-catalogue.md:\n" + "\n".join(strays)


def test_every_expected_id_exists_in_shipped_catalogue(cases: list[Case], shipped_catalogue: Catalogue) -> None:
    missing = sorted({c.expect for c in cases if c.expect is not None and c.expect not in shipped_catalogue.intents})
    assert not missing, f"{len(missing)} expected ids have no intent in intents/: {missing}"


def test_enough_out_of_scope_cases(cases: list[Case]) -> None:
    n = sum(c.expect is None for c in cases)
    assert n >= MIN_OUT_OF_SCOPE, f"{n} out-of-scope cases, want at least {MIN_OUT_OF_SCOPE}"


def test_oos_and_emergency_tags_match_expect(cases: list[Case]) -> None:
    """The figures per tag are only right if `oos` marks exactly expect null, `emergency` exactly emergency."""
    bad = [f"{c.source}: expect {c.expect} tags {sorted(c.tags)}" for c in cases
           if ("oos" in c.tags) != (c.expect is None) or ("emergency" in c.tags) != (c.expect == "emergency")]
    assert not bad, "\n".join(bad)


def test_enough_emergency_cases(cases: list[Case]) -> None:
    n = sum(c.expect == "emergency" for c in cases)
    assert n >= MIN_EMERGENCY, f"{n} emergency cases, want at least {MIN_EMERGENCY}"


def test_enough_dialogues_of_several_turns(cases: list[Case]) -> None:
    turns = Counter(c.dialogue for c in cases if c.dialogue is not None)
    single = [d for d, n in turns.items() if n < 2]
    assert not single, f"dialogues with one turn: {single}"
    assert len(turns) >= MIN_DIALOGUES, f"{len(turns)} dialogues, want at least {MIN_DIALOGUES}"


def test_no_phone_or_id_numbers(cases: list[Case]) -> None:
    numbers = [f"{c.source}: {c.text}" for c in cases if re.search(r"\d{7,}", c.text)]
    assert not numbers, "cases must not carry phone or ID numbers:\n" + "\n".join(numbers)


def test_cli_eval_reads_the_set(cases: list[Case], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", str(EVAL_FILE), "--intents", str(SHIPPED_INTENTS), "--content", str(SHIPPED_CONTENT)],
                environ={})
    out = capsys.readouterr().out
    in_scope = sum(c.expect is not None for c in cases)
    assert code == 0
    assert f"in-scope cases: {in_scope}   out-of-scope cases: {len(cases) - in_scope}" in out
    assert "emergency recall" in out


# ---------------------------------------------------------------- the bars, on the shipped catalogue

def test_answer_accuracy(results: list[Result]) -> None:
    f = figures(results)
    missed = [r for r in results if r.case.expect is not None and not r.is_right]
    assert f.accuracy >= MIN_ACCURACY, (
        f"answer accuracy {f.accuracy:.3f} < {MIN_ACCURACY}: {len(missed)} of {f.in_scope} in-scope cases "
        f"not answered right:\n{_listing(missed)}")


def test_useful_rate(results: list[Result]) -> None:
    f = figures(results)
    useless = [r for r in results if r.case.expect is not None and not r.is_useful]
    assert f.useful >= MIN_USEFUL, (
        f"useful rate {f.useful:.3f} < {MIN_USEFUL}: {len(useless)} of {f.in_scope} in-scope cases "
        f"neither answered right nor offered the right button:\n{_listing(useless)}")


def test_wrong_answer_rate(results: list[Result]) -> None:
    f = figures(results)
    wrong = [r for r in results if r.is_wrong]
    assert f.wrong <= MAX_WRONG, (
        f"wrong-answer rate {f.wrong:.3f} > {MAX_WRONG}: {len(wrong)} of {f.in_scope} in-scope cases "
        f"answered with another intent:\n{_listing(wrong)}")


def test_false_accept_rate(results: list[Result]) -> None:
    f = figures(results)
    accepted = [r for r in results if r.case.expect is None and r.reply.intent is not None]
    assert f.false_accept <= MAX_FALSE_ACCEPT, (
        f"false-accept rate {f.false_accept:.3f} > {MAX_FALSE_ACCEPT}: {len(accepted)} of {f.out_of_scope} "
        f"out-of-scope cases answered with an intent:\n{_listing(accepted)}")


def test_emergency_recall_is_total(results: list[Result]) -> None:
    emergency = [r for r in results if r.case.expect == "emergency"]
    missed = [r for r in emergency if not r.is_right]
    assert emergency
    assert not missed, (
        f"emergency recall {1 - len(missed) / len(emergency):.3f} < 1.0: danger-now messages not sent to "
        f"110/120:\n{_listing(missed)}")


@pytest.mark.parametrize("tag", VARIANT_TAGS)
def test_variant_accuracy_close_to_plain(results: list[Result], tag: str) -> None:
    plain = figures(_tagged(results, "plain"))
    variant = figures(_tagged(results, tag))
    missed = [r for r in _tagged(results, tag) if r.case.expect is not None and not r.is_right]
    assert variant.accuracy >= plain.accuracy - MAX_VARIANT_GAP, (
        f"{tag} accuracy {variant.accuracy:.3f} is more than {MAX_VARIANT_GAP} below plain "
        f"({plain.accuracy:.3f}); {len(missed)} of {variant.in_scope} {tag} cases not answered right:\n"
        f"{_listing(missed)}")


def test_a_dialogue_turn_keeps_its_safety_and_number(tmp_path: Path) -> None:
    table = tmp_path / "t.yml"
    table.write_text("- dialogue: d\n  turns:\n"
                     "    - {text: 法律援助怎么申请, expect: legal_aid}\n"
                     "    - {text: 他在砸门说要弄死我, expect: emergency, number: '110'}\n"
                     "    - {text: 上个月被打了还能鉴定吗, expect: judicial_appraisal, safety: true}\n",
                     encoding="utf-8")
    first, danger, mention = load_cases(table)
    assert (first.number, first.safety) == (None, None)
    assert danger.number == "110" and danger.dialogue == mention.dialogue
    assert mention.safety is True and "multi_turn" in mention.tags
