"""`legalbot check`: validate, then the evaluation sets and conversation tests before and after an edit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from catalogue_factory import DEFAULT_FILES, SERVICES, write_catalogue

from bot.cli import main

EVAL = """\
- text: 怎么办公证
  expect: notarization
- text: 遗嘱可以公证吗
  expect: notarization
- text: 请不起律师怎么办
  expect: legal_aid
- text: 红烧肉怎么做
  expect: null
"""
CONVERSATION = """\
conversations:
  - name: 问公证
    turns:
      - user: 怎么办公证
      - bot:
          intent: notarization
"""
# Without its examples and keywords, 公证 questions no longer reach the notarization intent.
NO_NOTARY = ("keywords: [公证, 公证处]", "keywords: [公证处在哪]")
WORSE_EXAMPLES = ("              - 怎么办公证\n              - 遗嘱能公证吗\n", "              - 公证处在哪里啊\n")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder as operators have it: intents/, content/, tests/eval/, tests/conversations/."""
    monkeypatch.chdir(tmp_path)
    write_catalogue(tmp_path)
    (tmp_path / "tests" / "eval").mkdir(parents=True)
    (tmp_path / "tests" / "eval" / "set.yml").write_text(EVAL, encoding="utf-8")
    (tmp_path / "tests" / "conversations").mkdir()
    (tmp_path / "tests" / "conversations" / "notary.yaml").write_text(CONVERSATION, encoding="utf-8")
    return tmp_path


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=root, check=True,
                   capture_output=True)


def commit(root: Path) -> None:
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "catalogue")


def edit_services(root: Path, *edits: tuple[str, str]) -> None:
    text = DEFAULT_FILES[SERVICES]
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    write_catalogue(root, {SERVICES: text})


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["check", *args])
    return code, capsys.readouterr().out.splitlines()


def test_nothing_changed_exits_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(project)
    code, out = check(capsys)
    assert code == 0, out
    assert "和上一次提交（git HEAD）比较：" in out
    assert "  每个问题的回答都和原来一样。" in out
    assert "对话测试：1 个通过，0 个失败" in out
    assert out[-1] == "结论：和原来相比没有变化。"


def test_a_worse_edit_names_the_questions_and_figures_and_exits_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(project)
    edit_services(project, NO_NOTARY, WORSE_EXAMPLES)
    code, out = check(capsys)
    assert code == 1, out
    assert "评测集 tests/eval/set.yml（4 个问题）：" in out
    assert "  直接答对：100.0% → 33.3%（变差）" in out
    assert "  回答变了的问题（2 个）：" in out
    assert any(line.startswith("    [变差] tests/eval/set.yml:1 “怎么办公证”：公证 → ") for line in out), out
    assert "对话测试：0 个通过，1 个失败" in out
    assert out[-1] == "结论：有指标变差或对话测试失败；请看上面标着“变差”的问题，改好后再运行 legalbot check。"


def test_only_improvements_exit_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit_services(project, NO_NOTARY, WORSE_EXAMPLES)
    (project / "tests" / "conversations" / "notary.yaml").unlink()
    commit(project)
    write_catalogue(project, {SERVICES: DEFAULT_FILES[SERVICES]})
    code, out = check(capsys)
    assert code == 0, out
    assert "  直接答对：33.3% → 100.0%（变好）" in out
    assert any(line.startswith("    [变好] tests/eval/set.yml:1 “怎么办公证”：") and line.endswith(" → 公证")
               for line in out), out
    assert out[-1] == "结论：只有改进，没有变差。"


def test_other_sets_can_be_named(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(project)
    (project / "mine.yml").write_text("- text: 法律援助怎么申请\n  expect: legal_aid\n", encoding="utf-8")
    code, out = check(capsys, "mine.yml")
    assert code == 0, out
    assert "评测集 mine.yml（1 个问题）：" in out
    assert not any("set.yml" in line for line in out)


def test_outside_git_the_last_good_copy_is_the_baseline(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(capsys)
    assert code == 0, out
    assert "没有可比较的上一版（不在 git 仓库里，也还没有 .legalbot/last-good）；这次只看现在的结果。" in out
    assert (project / ".legalbot" / "last-good" / "intents" / "services.yaml").is_file()
    edit_services(project, NO_NOTARY, WORSE_EXAMPLES)
    code, out = check(capsys)
    assert code == 1, out
    assert "和上一次检查通过时保存的版本（.legalbot/last-good）比较：" in out
    assert "  直接答对：100.0% → 33.3%（变差）" in out


def test_a_broken_catalogue_stops_at_validate(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    commit(project)
    edit_services(project, ("            title: 公证", "              title: 公证"))
    code, out = check(capsys)
    assert code == 1
    assert out[-1] == "发现 1 个错误；请按提示修改后再运行 legalbot check。"
    assert not any("评测集" in line for line in out)
