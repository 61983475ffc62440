"""`legalbot tune`: thresholds fitted on a small catalogue where the right values can be worked out,
emergencies never tuned away, the hold-out set never fitted on, and --write changing numbers only."""

from __future__ import annotations

import math
from dataclasses import replace
import shutil
from pathlib import Path

import pytest
from mini_catalogue import write_mini_catalogue

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.checks.evaluation import Case, load_cases, run_cases
from bot.checks.tune import EvalSet, Thresholds, Tuner, TuneError, tally, with_thresholds, write_thresholds
from bot.cli import main
from bot.engine import Engine
from bot.matching.ranking import examine

ROOT = Path(__file__).resolve().parent.parent

# Too low: messages that only look like a service ("公证员考试") are answered with it.
LOW = "matcher:\n  answer_threshold: 0.15     # 直接回答\n  clarify_threshold: 0.1\n  ambiguity_gap: 0.0\n  clear_margin: 0.04\n"
IN_SCOPE = {"法律援助怎么办理": "legal_aid", "申请法援": "legal_aid", "邻居吵架了能调解吗": "people_mediation",
            "遗嘱公证怎么办": "notarization", "我想办公证": "notarization", "请不起律师": "legal_aid"}
LOOKALIKES = ("公证员考试", "邻居家的狗", "律师怎么当", "援助非洲", "申请公租房")

EMERGENCY_INTENT = """\
  - id: emergency
    title: 紧急求助
    roles: [small_talk, anywhere]
    examples: [有人要打我快来救我, 我被人砍伤了救命]
"""
EMERGENCY_ANSWER = """\
  - id: emergency
    text: 如果您现在有危险，请马上拨打 110。
    source:
      section: 一(六)四
      excerpt: 建立健全法律援助“全程代办”
"""


def catalogue_dirs(root: Path, matcher: str = LOW) -> tuple[Path, Path]:
    intents, content = write_mini_catalogue(root)
    mini = intents / "mini.yaml"
    text = mini.read_text(encoding="utf-8")
    start, end = text.index("matcher:"), text.index("menu:")
    text = text[:start] + matcher + text[end:]
    text = text.replace("out_of_scope:", EMERGENCY_INTENT + "out_of_scope:")
    mini.write_text(text, encoding="utf-8")
    answers = content / "answers" / "mini.yaml"
    answers.write_text(answers.read_text(encoding="utf-8") + EMERGENCY_ANSWER, encoding="utf-8")
    return intents, content


def eval_file(path: Path, cases: dict[str, str | None]) -> Path:
    lines = [f"- text: {text}\n  expect: {expect or 'null'}\n" for text, expect in cases.items()]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def catalogue(tmp_path: Path) -> Catalogue:
    return load_catalogue(*catalogue_dirs(tmp_path / "cat"))


def fit_set(tmp_path: Path, extra: dict[str, str | None] | None = None) -> EvalSet:
    cases = {**IN_SCOPE, **dict.fromkeys(LOOKALIKES), **(extra or {})}
    path = eval_file(tmp_path / "fit.yml", cases)
    return EvalSet(path, tuple(load_cases(path)), "fit")


def top_score(catalogue: Catalogue, text: str) -> float:
    return examine(text, catalogue.index).ranking.intents[0].score


def thresholds_alone(catalogue: Catalogue) -> Catalogue:
    """The catalogue with nothing but the thresholds declining look-alikes: an answer resting on its
    service word alone (申请公租房 for 申请法律援助) is declined whatever the thresholds
    (tests/test_learned.py), and so is one said next to another domain's noun (tests/test_domains.py),
    so those rules are off."""
    settings = replace(catalogue.settings, weights=replace(catalogue.settings.weights, sense_coverage=0.0,
                                                           elsewhere_coverage=0.0))
    return replace(catalogue, settings=settings, index=replace(catalogue.index, settings=settings))


def test_the_fitted_answer_threshold_is_the_lowest_that_declines_every_lookalike(
        catalogue: Catalogue, tmp_path: Path) -> None:
    catalogue = thresholds_alone(catalogue)
    evalset = fit_set(tmp_path)
    # Below the clear_floor weight no lookalike can be answered by its lead alone, and no gap within
    # range makes one close to a rival: only answer_threshold declines them, and it must pass the
    # highest of them. The least change from 0.15 that does so is that score rounded up to 0.01.
    highest = max(top_score(catalogue, text) for text in LOOKALIKES)
    assert highest < catalogue.settings.weights.clear_floor < min(top_score(catalogue, t) for t in IN_SCOPE)
    fit = Tuner(catalogue, [evalset]).search()
    before, after = fit.before[evalset.path], fit.after[evalset.path]
    assert before.false_accepts == len(LOOKALIKES) and before.answered_right == len(IN_SCOPE)
    assert fit.fitted == Thresholds(math.ceil(highest * 100) / 100, 0.1, 0.0, 0.04)
    assert (after.right, after.wrong_total) == (len(IN_SCOPE) + len(LOOKALIKES), 0)


DIALOGUE = """\
- dialogue: 追问接着上一个话题
  turns:
    - text: 我想办公证
      expect: notarization
    - text: 那要多久
      expect: notarization
    - text: 请不起律师
      expect: legal_aid
"""


def test_the_figures_are_those_of_the_engine_replaying_every_case(catalogue: Catalogue, tmp_path: Path) -> None:
    singles = fit_set(tmp_path).path.read_text(encoding="utf-8")
    path = tmp_path / "with_dialogue.yml"
    path.write_text(singles + DIALOGUE, encoding="utf-8")
    evalset = EvalSet(path, tuple(load_cases(path)), "fit")
    assert sum(c.dialogue is not None for c in evalset.cases) == 3
    tuner = Tuner(catalogue, [evalset])
    tuner.search()  # the memo now holds the work of many candidates
    for t in (Thresholds(0.15, 0.1, 0.0, 0.04), Thresholds(0.7, 0.6, 0.1, 0.3), Thresholds(0.5, 0.45, 0.16, 0.04)):
        replayed = tally(run_cases(Engine(with_thresholds(catalogue, t)), evalset.cases))
        assert tuner.score(t, evalset) == replayed


def test_current_values_stay_when_nothing_is_better(tmp_path: Path) -> None:
    good = "matcher:\n  answer_threshold: 0.72\n  clarify_threshold: 0.5\n  ambiguity_gap: 0.06\n  clear_margin: 0.15\n"
    catalogue = load_catalogue(*catalogue_dirs(tmp_path / "cat", good))
    evalset = fit_set(tmp_path)
    fit = Tuner(catalogue, [evalset]).search()
    assert fit.after[evalset.path].right == evalset.cases.__len__()
    assert fit.fitted == fit.current == Thresholds(0.72, 0.5, 0.06, 0.15)


def test_a_holdout_set_is_scored_but_never_fitted_on(catalogue: Catalogue, tmp_path: Path) -> None:
    alone = Tuner(catalogue, [fit_set(tmp_path)]).search().fitted
    # Scored as fitting data, these lookalikes would push answer_threshold higher still.
    held = eval_file(tmp_path / "held.yml", {"我想办公证": None, "请不起律师": None, "法律援助还是公证": "legal_aid"})
    fit = Tuner(catalogue, [fit_set(tmp_path), EvalSet(held, tuple(load_cases(held)), "holdout")]).search()
    assert fit.fitted == alone
    assert fit.after[held].cases == 3 and fit.before[held].false_accepts == 2


def test_emergency_recall_may_not_drop_for_any_written_value(catalogue: Catalogue, tmp_path: Path) -> None:
    # Without the learned model's second opinion, which finds this danger whatever the thresholds:
    # here only the thresholds decide, as they would for wording the model does not know.
    catalogue = replace(catalogue, index=replace(catalogue.index, learned=None))
    message = "有人要打我快来救"
    assert top_score(catalogue, message) > 0.5
    guard = eval_file(tmp_path / "guard.yml", {message: "emergency"})
    tuner = Tuner(catalogue, [fit_set(tmp_path), EvalSet(guard, tuple(load_cases(guard)), "guard")])
    high = Thresholds(0.99, 0.98, 0.0, 0.98)
    assert tuner.score(high, tuner.sets[1]).recall == 0.0  # these values would miss it
    assert not tuner.keeps_recall(high)
    fit = tuner.search()
    assert fit.recall_kept and fit.after[guard].recall == 1.0


def test_write_changes_only_the_numbers(tmp_path: Path) -> None:
    path = tmp_path / "matcher.yaml"
    shutil.copy(ROOT / "intents" / "matcher.yaml", path)
    original = path.read_text(encoding="utf-8").splitlines()
    write_thresholds(path, {"answer_threshold": 0.55, "ambiguity_gap": 0.1})
    lines = path.read_text(encoding="utf-8").splitlines()
    changed = [(old, new) for old, new in zip(original, lines, strict=True) if old != new]
    assert [new.split("#")[0].split() for _, new in changed] == [["answer_threshold:", "0.55"], ["ambiguity_gap:", "0.1"]]
    for old, new in changed:  # each comment as it was, starting in the same column
        assert new.index("#") == old.index("#") and new[new.index("#"):] == old[old.index("#"):]
    with pytest.raises(TuneError, match="没有找到“max_gap: 数值”"):
        write_thresholds(path, {"max_gap": 0.2})


def test_write_round_trip_through_the_loader(tmp_path: Path) -> None:
    intents, content = catalogue_dirs(tmp_path / "cat")
    write_thresholds(intents / "mini.yaml", {"answer_threshold": 0.38, "clarify_threshold": 0.25, "clear_margin": 0.2})
    settings = load_catalogue(intents, content).settings
    assert Thresholds(settings.answer_threshold, settings.clarify_threshold, settings.ambiguity_gap,
                      settings.clear_margin) == Thresholds(0.38, 0.25, 0.0, 0.2)


def test_the_command_prints_the_table_and_writes_only_with_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    intents, content = catalogue_dirs(tmp_path / "cat")
    fit = fit_set(tmp_path).path
    held = eval_file(tmp_path / "held.yml", {"法律援助怎么申请": "legal_aid", "公证员资格考试": None})
    argv = ["tune", str(fit), "--holdout", str(held), "--intents", str(intents), "--content", str(content)]
    env = {"LEGALBOT_CACHE_DIR": "off"}
    before = (intents / "mini.yaml").read_text(encoding="utf-8")
    assert main(argv, environ=env) == 0
    out = capsys.readouterr().out
    assert "answer_threshold      0.15 → 0.38" in out and "clarify_threshold     0.10（不变）" in out
    # 申请公租房 rests on 申请 alone: declined whatever the thresholds, so four look-alikes are answered before.
    assert f"[留出] {held}" in out and "不该答的被硬答：4 个 → 0 个" in out
    assert "没有写入任何文件" in out
    assert (intents / "mini.yaml").read_text(encoding="utf-8") == before
    assert main([*argv, "--write"], environ=env) == 0
    assert "已写入" in capsys.readouterr().out
    after = (intents / "mini.yaml").read_text(encoding="utf-8")
    assert after == before.replace("answer_threshold: 0.15     #", "answer_threshold: 0.38     #")
    assert main(argv, environ=env) == 0
    assert "现在的阈值已经是最好的" in capsys.readouterr().out


def test_cases_are_scored_as_spec_evaluation_defines_them(catalogue: Catalogue, tmp_path: Path) -> None:
    cases = [Case("申请法援", "legal_aid", frozenset(), load_cases(fit_set(tmp_path).path)[0].source),
             Case("公证员考试", None, frozenset(), load_cases(fit_set(tmp_path).path)[0].source)]
    counted = tally(run_cases(Engine(catalogue), cases))
    assert (counted.cases, counted.right, counted.false_accepts, counted.wrong_rate) == (2, 1, 1, 0.5)


def test_when_no_values_meet_the_bound_the_fewest_wrong_are_suggested(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    intents, content = catalogue_dirs(tmp_path / "cat")
    # Labelled out of scope, every one of these is a wrong answer whenever it is answered at all.
    fit = eval_file(tmp_path / "fit.yml", {**IN_SCOPE, "法律援助怎么申请": None, "公证怎么办": None})
    argv = ["tune", str(fit), "--intents", str(intents), "--content", str(content)]
    assert main(argv, environ={"LEGALBOT_CACHE_DIR": "off"}) == 0
    out = capsys.readouterr().out
    assert "试过的阈值都不能让答错率降到 1.0% 以内" in out
