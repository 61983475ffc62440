"""`legalbot validate` errors that lead to the fix: one Chinese message per syntax error, no cascades, guesses."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalogue_factory import ANSWERS, DEFAULT_FILES, SERVICES, write_catalogue

from bot.cli import main

STOPPED = "这个文件没有读进来，里面的内容这次都没有检查；改好这一处后再运行 legalbot validate"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def validate(root: Path, capsys: pytest.CaptureFixture[str], edits: dict[str, tuple[str, str]]) -> list[str]:
    """Run validate on the default catalogue with (old → new) replaced in some files; the problem lines."""
    overrides = {}
    for name, (old, new) in edits.items():
        assert old in DEFAULT_FILES[name], old
        overrides[name] = DEFAULT_FILES[name].replace(old, new, 1)
    intents_dir, content_dir = write_catalogue(root, overrides)
    main(["validate", "--intents", str(intents_dir), "--content", str(content_dir)])
    return capsys.readouterr().out.splitlines()


def test_an_answer_line_indented_too_far_is_one_error_at_that_line(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = validate(root, capsys, {ANSWERS: ("      - id: notarization\n            text:", "      - id: notarization\n              text:")})
    assert out == [
        f"content/answers/answers.yaml:14: 错误: YAML 格式错误：这一行的 'text:' 比文件里其他的 'text:' 多缩进了 2 格；"
        f"请和它们对齐。{STOPPED}",
        "发现 1 个错误；请按提示修改后再运行 legalbot validate。",
    ]


def test_a_mis_indented_example_is_one_error_not_a_cascade(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = validate(root, capsys, {SERVICES: ("              - 请不起律师怎么办", "            - 请不起律师怎么办")})
    assert out == [
        f"intents/services.yaml:9: 错误: YAML 格式错误：这一行的缩进和上下文对不齐；同一层的内容要上下对齐，"
        f"列表的每一项以“- ”开头。{STOPPED}",
        "发现 1 个错误；请按提示修改后再运行 legalbot validate。",
    ]


def test_a_key_indented_too_far_is_blamed_not_the_line_after(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = validate(root, capsys, {SERVICES: ("            title: 公证", "              title: 公证")})
    assert out[0] == (f"intents/services.yaml:22: 错误: YAML 格式错误：这一行的 'title:' 比文件里其他的 'title:' "
                      f"多缩进了 2 格；请和它们对齐。{STOPPED}")
    assert len(out) == 2


def test_a_tab_is_named_in_chinese(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = validate(root, capsys, {SERVICES: ("            title: 公证", "\ttitle: 公证")})
    assert out[0] == f"intents/services.yaml:22: 错误: YAML 格式错误：这一行用了 Tab 键缩进；请全部改用空格。{STOPPED}"


def test_a_mistyped_answer_id_gets_a_guess_and_the_unused_answer_warning(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = validate(root, capsys, {SERVICES: ("            title: 公证\n", "            title: 公证\n            answer: notarisation\n")})
    assert out == [
        "content/answers/answers.yaml:13: 警告: 答案 'notarization' 没有被任何意图使用",
        "intents/services.yaml:23: 错误: 意图 'notarization' 的答案 'notarisation' 在 content/answers/ 中找不到；"
        "您是不是想写 'notarization'？",
        "发现 1 个错误、1 条警告；请按提示修改后再运行 legalbot validate。",
    ]


def test_an_answer_id_with_no_near_match_says_what_to_do(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = validate(root, capsys, {SERVICES: ("            title: 公证\n", "            title: 公证\n            answer: wills\n")})
    assert "intents/services.yaml:23: 错误: 意图 'notarization' 的答案 'wills' 在 content/answers/ 中找不到；" \
           "请在 content/answers/ 里写上这个答案，或用 answer: 指向已有的答案" in out


def test_a_mistyped_suggestion_gets_a_guess(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = validate(root, capsys, {SERVICES: ("suggest: [legal_aid]", "suggest: [legal_aide]")})
    assert "intents/services.yaml:16: 错误: 意图 'legal_consultation' 推荐的 'legal_aide' 不存在；" \
           "您是不是想写 'legal_aid'？" in out


def test_a_duplicate_example_in_one_intent_is_a_warning(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = validate(root, capsys, {SERVICES: ("              - 遗嘱能公证吗\n", "              - 遗嘱能公证吗\n              - 遗嘱能公证吗？\n")})
    assert "intents/services.yaml:28: 警告: 意图 'notarization' 的例句 '遗嘱能公证吗？' 重复（第 27 行已经写过）；请删去一句" in out
    assert out[-1].startswith("检查通过")
