"""Grounding reads Chinese: numerals and words for figures, the report's sections, near-miss excerpts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from catalogue_factory import ANSWERS, DEFAULT_FILES, REPORT_DIR, write_catalogue

from bot.catalogue.grounding import Corpus, ungrounded_figures
from bot.catalogue.numerals import chinese_value
from bot.cli import main

CASES: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "fixtures" / "chinese_figures.yaml")
                                       .read_text(encoding="utf-8"))
REPORT = Corpus("\n".join(p.read_text(encoding="utf-8") for p in sorted(REPORT_DIR.glob("*.txt"))))


@pytest.mark.parametrize("text", CASES["grounded"])
def test_figures_the_report_states_in_either_notation_pass(text: str) -> None:
    assert ungrounded_figures(text, REPORT) == []


@pytest.mark.parametrize("case", CASES["ungrounded"], ids=lambda case: case["text"])
def test_figures_the_report_does_not_state_are_quoted_as_written(case: dict[str, Any]) -> None:
    assert ungrounded_figures(case["text"], REPORT) == case["figures"]


@pytest.mark.parametrize(("numeral", "value"), [
    ("两百", "200"), ("十", "10"), ("十九", "19"), ("一万二", "12000"), ("两百五", "250"), ("一百零五", "105"),
    ("三千四百九十一", "3491"), ("二〇二〇", "2020"), ("九十九点四五", "99.45"), ("十万", "100000"),
])
def test_chinese_numerals_read_as_values(numeral: str, value: str) -> None:
    assert str(chinese_value(numeral)) == value


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_validate(root: Path, capsys: pytest.CaptureFixture[str], old: str, new: str) -> list[str]:
    answers = DEFAULT_FILES[ANSWERS]
    assert old in answers
    intents_dir, content_dir = write_catalogue(root, {ANSWERS: answers.replace(old, new, 1)})
    assert main(["validate", "--intents", str(intents_dir), "--content", str(content_dir)]) == 1
    return [line for line in capsys.readouterr().out.splitlines() if ": 错误: " in line]


def test_a_chinese_figure_not_in_the_report_is_quoted_as_written(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = run_validate(root, capsys, "办理法律援助案件760件", "办理法律援助案件两百件")
    assert found == ["content/answers/answers.yaml:4: 错误: 答案 'legal_aid' 中的数字 '两百' 在报告中找不到；"
                     "只能写报告里的数字或 12348、12345、110、120、119"]


def test_a_section_the_report_does_not_have_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = run_validate(root, capsys, "section: 一(六)四\n              excerpt: 建立健全", "section: 五(九)\n              excerpt: 建立健全")
    assert found == ["content/answers/answers.yaml:6: 错误: 答案 'legal_aid' 的出处章节 '五(九)' 在报告中不存在；"
                     "报告只有 一(一)至(六)、二(一)至(三)、三(一)至(四)，以及“开头”"]


def test_a_sub_part_or_item_the_report_does_not_have_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = run_validate(root, capsys, "section: 一(六)四\n              excerpt: 建立健全", "section: 一(六)二、一(七)\n              excerpt: 建立健全")
    assert found == ["content/answers/answers.yaml:6: 错误: 答案 'legal_aid' 的出处章节 '一(七)' 在报告中不存在；"
                     "报告第一部分只有 (一)、(二)、(三)、(四)、(五)、(六)"]


def test_an_excerpt_differing_only_in_punctuation_shows_the_report_passage(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = run_validate(root, capsys, "excerpt: 司法鉴定486件、公证1639件", "excerpt: 司法鉴定486件，公证1639件。")
    assert found == ["content/answers/answers.yaml:17: 错误: 答案 'notarization' 的摘录在报告原文中找不到；"
                     "摘录和报告原文只是标点不同，报告原文是：“司法鉴定486件、公证1639件”，请照原文复制（包括标点）"]


def test_an_excerpt_a_few_characters_off_shows_the_nearest_passage(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = run_validate(root, capsys, "excerpt: 共接受法律咨询4830余人次", "excerpt: 共接收法律咨询4830多人次")
    assert found == ["content/answers/answers.yaml:12: 错误: 答案 'legal_consultation' 的摘录在报告原文中找不到；"
                     "报告里最接近的一段是：“共接受法律咨询4830余人次”，请对照原文改正"]
