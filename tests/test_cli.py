"""The `legalbot` command: ask (text, --json, --jsonl), eval, settings from env and flags, exit codes."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from catalogue_factory import MESSAGE_TEXTS, ROOT, reply_schema, write_catalogue

from bot.cli import main

REPLY_SCHEMA = reply_schema()
GREETING = "您好！请直接说说您想问的事。"  # the test catalogue's greeting, unlike the shipped one


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    intents_dir, content_dir = write_catalogue(tmp_path / "cat")
    return ["--intents", str(intents_dir), "--content", str(content_dir)]


def objects(out: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in out.splitlines()]
    for row in rows:
        jsonschema.validate(row, REPLY_SCHEMA)
    return rows


# --- ask ------------------------------------------------------------------------------------------------


def test_ask_prints_the_answer_and_its_buttons(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", *paths, "法律援助怎么申请"]) == 0
    out = capsys.readouterr().out
    assert "全程代办" in out
    assert "免费法律咨询" in out
    assert "人民调解" in out


def test_ask_json_prints_one_reply_object(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", *paths, "法律援助怎么申请"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    [obj] = objects(out)
    assert obj["intent"] == "legal_aid"
    assert "全程代办" in obj["reply"]
    assert obj["suggestions"] == ["legal_consultation", "people_mediation"]


def test_ask_json_out_of_scope_has_null_intent(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", *paths, "今天天气怎么样啊"]) == 0
    [obj] = objects(capsys.readouterr().out)
    assert obj["intent"] is None
    assert obj["reply"] == MESSAGE_TEXTS["fallback"]


JSONL_IN = [
    "法律援助怎么申请",
    json.dumps({"user": "u1", "text": "公证处在哪里"}, ensure_ascii=False),
    json.dumps({"user": "u2", "text": "法律援助怎么申请"}, ensure_ascii=False),
    json.dumps({"user": "u1", "text": "那要多久?"}, ensure_ascii=False),
    json.dumps({"user": "u2", "text": "那要多久?"}, ensure_ascii=False),
    json.dumps({"user": "u3", "text": "那要多久?"}, ensure_ascii=False),
    "",
    "今天天气怎么样啊",
    json.dumps({"user": "u1", "text": "他又在打我"}, ensure_ascii=False),
    "{not json, just a message that starts with a brace",
]


def check_jsonl(rows: list[dict[str, Any]]) -> None:
    assert len(rows) == len(JSONL_IN)
    intents = [r["intent"] for r in rows]
    assert intents[0] == "legal_aid"
    assert intents[1] == "notarization"
    assert intents[2] == "legal_aid"
    assert intents[3] == "notarization"  # u1's context
    assert intents[4] == "legal_aid"  # u2's context
    assert intents[5] is None  # u3 has none
    assert intents[6] is None
    assert rows[6]["reply"]
    assert intents[7] is None
    assert intents[8] == "emergency"
    assert "110" in rows[8]["reply"]
    assert rows[9]["reply"]


def test_ask_jsonl_one_reply_per_line_in_order(
    paths: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(JSONL_IN) + "\n"))
    assert main(["ask", "--jsonl", *paths]) == 0
    check_jsonl(objects(capsys.readouterr().out))


def test_ask_jsonl_last_line_without_newline(
    paths: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("你好\n法律援助怎么申请"))
    assert main(["ask", "--jsonl", *paths]) == 0
    assert [r["intent"] for r in objects(capsys.readouterr().out)] == ["greeting", "legal_aid"]


def test_ask_jsonl_in_a_subprocess(paths: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--jsonl", *paths],
        input="\n".join(JSONL_IN) + "\n", capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    check_jsonl(objects(done.stdout))


# --- eval -----------------------------------------------------------------------------------------------

EVAL_RIGHT = """\
- text: 法律援助怎么申请
  expect: legal_aid
  tags: [plain]
- text: 法律缘助
  expect: legal_aid
  tags: [typo]
- text: 今天天气怎么样啊
  expect: null
  tags: [oos]
- text: 他又在打我
  expect: emergency
  tags: [emergency]
- dialogue: d1
  turns:
    - {text: 公证处在哪里, expect: notarization}
    - {text: 那要多久, expect: notarization}
"""
EVAL_WRONG = EVAL_RIGHT + """\
- text: 法律援助怎么申请
  expect: notarization
  tags: [plain]
"""


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def test_eval_prints_figures_and_a_table_per_tag(
    paths: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", *paths, write(tmp_path / "dev.yml", EVAL_RIGHT)]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out
    assert "100.0%" in out
    assert "emergency recall" in out
    table = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert {"plain", "typo", "oos", "emergency", "multi_turn"} <= table


def test_eval_json(paths: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--json", *paths, write(tmp_path / "dev.yml", EVAL_WRONG)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["in_scope"] == 6
    assert data["overall"]["out_of_scope"] == 1
    assert data["overall"]["accuracy"] == pytest.approx(5 / 6)
    assert data["overall"]["wrong"] == pytest.approx(1 / 6)
    assert data["emergency_recall"] == 1.0
    assert set(data["by_tag"]) >= {"plain", "typo", "oos", "emergency", "multi_turn"}


@pytest.mark.parametrize(
    ("bars", "code"),
    [
        ([], 0),
        (["--min-accuracy", "0.8"], 0),
        (["--min-accuracy", "0.9"], 1),
        (["--max-wrong", "0.2"], 0),
        (["--max-wrong", "0"], 1),
        (["--min-emergency-recall", "1"], 0),
        (["--max-false-accept", "0"], 0),
        (["--min-accuracy", "0.5", "--max-wrong", "0"], 1),
    ],
)
def test_eval_quality_bars_set_the_exit_code(
    paths: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], bars: list[str], code: int
) -> None:
    assert main(["eval", *paths, *bars, write(tmp_path / "dev.yml", EVAL_WRONG)]) == code
    out = capsys.readouterr().out
    assert ("FAILED" in out) == (code == 1)


def test_eval_failures_lists_the_case_with_its_line(
    paths: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "dev.yml", EVAL_WRONG)
    main(["eval", "--failures", *paths, path])
    out = capsys.readouterr().out
    line = len(EVAL_RIGHT.splitlines()) + 1
    assert f"dev.yml:{line}" in out


def test_eval_file_with_a_bad_case_is_an_error_with_file_and_line(
    paths: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "dev.yml", "- text: 法律援助怎么申请\n  expect: legal_aid\n- text: 少了 expect\n")
    assert main(["eval", *paths, path]) == 1
    err = capsys.readouterr().err
    assert "dev.yml:3" in err
    assert "Traceback" not in err


# --- settings: environment and flags --------------------------------------------------------------------


def test_environment_variables_choose_the_catalogue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path)
    env = {"LEGALBOT_INTENTS": str(intents_dir), "LEGALBOT_CONTENT": str(content_dir)}
    assert main(["ask", "--json", "你好"], environ=env) == 0
    [obj] = objects(capsys.readouterr().out)
    assert obj["reply"] == GREETING


def test_flags_override_environment_variables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path)
    env = {"LEGALBOT_INTENTS": str(tmp_path / "nowhere"), "LEGALBOT_CONTENT": str(tmp_path / "nowhere")}
    argv = ["ask", "--json", "--intents", str(intents_dir), "--content", str(content_dir), "你好"]
    assert main(argv, environ=env) == 0
    [obj] = objects(capsys.readouterr().out)
    assert obj["reply"] == GREETING


def test_validate_honours_environment_variables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path)
    (intents_dir / "zz.yaml").write_text("intents: [oops\n", encoding="utf-8")
    env = {"LEGALBOT_INTENTS": str(intents_dir), "LEGALBOT_CONTENT": str(content_dir)}
    assert main(["validate"], environ=env) == 1
    assert "zz.yaml" in capsys.readouterr().out


def test_defaults_are_the_shipped_catalogue(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["ask", "--json", "法律援助怎么申请"], environ={}) == 0
    [obj] = objects(capsys.readouterr().out)
    assert obj["intent"] is not None
    assert obj["intent"].startswith("legal_aid")


# --- errors and exit codes ------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["intents", "content"])
def test_a_missing_folder_is_a_short_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str
) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path / "cat")
    gone = tmp_path / "no-such-folder"
    argv = ["ask", "--intents", str(gone if missing == "intents" else intents_dir),
            "--content", str(gone if missing == "content" else content_dir), "你好"]
    code = main(argv)
    captured = capsys.readouterr()
    assert code in (1, 2)
    assert "Traceback" not in captured.err
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert str(gone) in captured.err
    # one line naming the folder (plus at most a hint), not one line per intent that lost its answer
    assert len(lines) <= 2, captured.err


def test_a_missing_eval_file_is_one_line(paths: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", *paths, str(tmp_path / "missing.yml")]) == 1
    err = capsys.readouterr().err
    assert "missing.yml" in err
    assert len(err.strip().splitlines()) == 1


def test_a_broken_catalogue_stops_ask_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    intents_dir, _content_dir = write_catalogue(tmp_path)
    (intents_dir / "zz.yaml").write_text(
        "intents:\n  - id: legal_aid.apply\n    title: 申请\n    answer: nowhere\n    examples: [去哪里申请]\n",
        encoding="utf-8",
    )
    assert main(["ask", "--intents", "intents", "--content", "content", "你好"]) == 1
    err = capsys.readouterr().err
    assert "intents/zz.yaml:4" in err
    assert "Traceback" not in err


def test_ask_without_a_question_is_a_usage_error(paths: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", *paths]) == 2
    assert capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    "argv",
    [[], ["nonsense"], ["eval"], ["eval", "x.yml", "--min-accuracy", "high"], ["ask", "--no-such-flag", "hi"]],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_module_entry_point_exit_codes(paths: list[str]) -> None:
    ok = subprocess.run([sys.executable, "-m", "bot", "validate", *paths],
                        capture_output=True, text=True, timeout=120, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    usage = subprocess.run([sys.executable, "-m", "bot"], capture_output=True, text=True, timeout=120, check=False)
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr


def test_ctrl_c_ends_the_terminal_chat_at_once() -> None:
    import signal
    import subprocess
    import sys

    chat = subprocess.Popen([sys.executable, "-m", "bot", "chat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    assert chat.stdout is not None
    assert "输入 q 退出" in chat.stdout.readline()  # the chat is up and waiting for input
    chat.send_signal(signal.SIGINT)
    try:
        _, err = chat.communicate(timeout=20)
    finally:
        chat.kill()
    assert chat.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["httpx", "aiohttp.access"])
def test_loggers_that_would_leak_tokens_or_addresses_stay_quiet_under_debug(paths: list[str], name: str) -> None:
    root, quiet = logging.getLogger(), logging.getLogger(name)
    levels = root.level, quiet.level
    root.setLevel(logging.DEBUG)
    quiet.setLevel(logging.NOTSET)
    try:
        assert main(["validate", "-v", *paths]) == 0
        assert quiet.getEffectiveLevel() >= logging.WARNING
    finally:
        root.setLevel(levels[0])
        quiet.setLevel(levels[1])
