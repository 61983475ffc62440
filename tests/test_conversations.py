"""Conversation tests: the file format, `legalbot test`, the pytest items, and the shipped conversations."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.catalogue.loader import Catalogue
from bot.cli import main
from bot.checks.conversation_format import (
    ConversationFileError,
    Expectation,
    load_conversations,
)
from bot.checks.conversation_runner import Said, check
from bot.errors import Source
from bot.checks.pytest_plugin import ROOT, SHIPPED_CONTENT, SHIPPED_INTENTS

pytest_plugins = ["pytester"]

SHIPPED = ROOT / "tests" / "conversations"
SHIPPED_FILES = sorted(SHIPPED.glob("*.yaml"))
SCHEMA = ROOT / "docs" / "schemas" / "conversation.schema.json"
ENV = {"LEGALBOT_INTENTS": str(SHIPPED_INTENTS), "LEGALBOT_CONTENT": str(SHIPPED_CONTENT)}

GOOD = """\
conversations:
  - name: 法律援助
    turns:
      - user: 法律援助怎么申请
      - bot:
          topic: legal_aid
          contains: 12348
"""
WRONG = """\
conversations:
  - name: 公证答成了法律援助
    turns:
      - user: 法律援助怎么申请
      - bot:
          topic: legal_aid
      - user: 公证怎么办
      - bot:
          topic: legal_aid
          contains: 不存在的一句话
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / "conversations" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _legalbot_test(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, str]:
    code = main(["test", *map(str, paths)], environ=ENV)
    return code, capsys.readouterr().out


# --- the shipped files -------------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.name)
def test_shipped_file_matches_schema(path: Path) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


def test_shipped_conversations_are_many_and_cover_every_topic(shipped_catalogue: Catalogue) -> None:
    conversations = load_conversations([SHIPPED])
    assert len(conversations) >= 40
    expected = {e.expect.intent or e.expect.topic for c in conversations for e in c.exchanges}
    topics = {i.split(".", 1)[0] for i in expected if i}
    missing = {i.topic for i in shipped_catalogue.intents.values()} - topics
    assert not missing, f"no conversation expects these intents: {sorted(missing)}"


def test_shipped_conversations_cover_each_kind_of_turn() -> None:
    exchanges = [e for c in load_conversations([SHIPPED]) for e in c.exchanges]
    kinds = {k for e in exchanges for k in e.expect.kinds}
    assert {"clarify", "fallback", "emergency", "followup", "rephrase", "feedback"} <= kinds
    pressed = {getattr(e.said, "title", None) for e in exchanges}
    assert {"👍", "👎"} <= pressed
    assert sum(1 for c in load_conversations([SHIPPED]) if len(c.exchanges) >= 3) >= 10


def test_legalbot_test_passes_on_the_shipped_files(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # no path given: tests/conversations under the working directory
    code, out = _legalbot_test(capsys)
    count = len(load_conversations([SHIPPED]))
    assert out.splitlines()[-1] == f"{count} passed, 0 failed", out
    assert code == 0


def test_the_guide_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    guide = (ROOT / "docs" / "conversation-tests.md").read_text(encoding="utf-8")
    example = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    code, out = _legalbot_test(capsys, _write(tmp_path, "example.yaml", example))
    assert (code, out.splitlines()[-1]) == (0, "2 passed, 0 failed"), out


# --- legalbot test -----------------------------------------------------------------------------


def test_wrong_expectation_fails_with_a_transcript(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _write(tmp_path, "good.yaml", GOOD)
    wrong = _write(tmp_path, "wrong.yaml", WRONG)
    code, out = _legalbot_test(capsys, good, wrong)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"PASS {good}:2  法律援助"
    assert lines[1] == f"FAIL {wrong}:2  公证答成了法律援助"
    assert lines[-1] == "1 passed, 1 failed"
    transcript = out.split(lines[1], 1)[1]
    assert f"{wrong}:2: 对话「公证答成了法律援助」第 2 轮不符合期望" in transcript
    assert "用户：法律援助怎么申请" in transcript
    assert "用户：公证怎么办" in transcript
    assert "机器人：" in transcript
    assert "意图 notarization，置信度" in transcript
    assert f"期望（{wrong}:8）：话题 legal_aid" in transcript
    assert "意图应属于话题 legal_aid，实际是 notarization" in transcript
    assert "回复里没有“不存在的一句话”" in transcript
    assert "Traceback" not in out


def test_a_folder_runs_every_file_in_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "a.yaml", GOOD)
    _write(tmp_path, "b.yml", GOOD)
    code, out = _legalbot_test(capsys, tmp_path / "conversations")
    assert (code, out.splitlines()[-1]) == (0, "2 passed, 0 failed")


def test_a_press_the_bot_did_not_offer_fails_at_that_turn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "press.yaml", """\
        conversations:
          - name: 按钮其实不存在
            turns:
              - user: 法律援助怎么申请
              - bot:
                  buttons: [没有这个按钮]
              - press: 没有这个按钮
              - bot:
                  topic: legal_aid
        """)
    code, out = _legalbot_test(capsys, path)
    assert code == 1
    assert "缺少按钮 [没有这个按钮]；实际按钮：" in out
    assert out.splitlines()[-1] == "0 passed, 1 failed"


def test_feedback_buttons_on_the_engine_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "feedback.yaml", """\
        conversations:
          - name: 点赞
            turns:
              - user: 法律援助怎么申请
              - bot: {topic: legal_aid, buttons: [👍, 👎]}
              - press: 👍
              - bot: {kind: feedback, contains: 谢谢}
          - name: 回答不了的话下面没有点赞按钮
            turns:
              - user: asdfghjkl
              - bot: {kind: fallback}
              - press: 👎
              - bot: {contains: 谢谢}
        """)
    code, out = _legalbot_test(capsys, path)
    assert code == 1
    assert out.splitlines()[:2] == [f"PASS {path}:2  点赞", f"FAIL {path}:8  回答不了的话下面没有点赞按钮"]
    assert "上一轮回复下面没有 [👎]" in out


# --- bad files: every problem with file:line, nothing runs --------------------------------------

BAD_FILES = {
    "unknown key": ("""\
        conversations:
          - name: 拼错了键
            turns:
              - user: 你好
              - bot:
                  intnet: greeting
        """, 6, "未知的键 'intnet'"),
    "button not offered": ("""\
        conversations:
          - name: 按了没给的按钮
            turns:
              - user: 法律援助怎么申请
              - bot:
                  topic: legal_aid
              - press: 人民调解
              - bot:
                  topic: people_mediation
        """, 7, "按下的按钮 '人民调解' 不在上一轮 bot 的 buttons 里"),
    "user turn without expectation": ("""\
        conversations:
          - name: 没写期望
            turns:
              - user: 你好
              - bot: {intent: greeting}
              - user: 法律援助怎么申请
        """, 6, "用户这一轮后面没有写期望"),
    "empty expectation": ("""\
        conversations:
          - name: bot 下面是空的
            turns:
              - user: 你好
              - bot:
        """, 5, "bot 下面没有写期望"),
    "bad yaml": ("""\
        conversations:
          - name: 缩进错了
            turns:
              - user: 你好
             - bot: {intent: greeting}
        """, 5, "YAML 格式错误"),
    "bot before any user turn": ("""\
        conversations:
          - name: 机器人先说话
            turns:
              - bot: {intent: greeting}
              - user: 你好
              - bot: {intent: greeting}
        """, 4, "这一轮 bot 前面没有用户的话"),
    "unknown kind": ("""\
        conversations:
          - name: 类型写错
            turns:
              - user: 你好
              - bot: {kind: answr}
        """, 5, "未知的 kind 'answr'"),
    "bad regex": ("""\
        conversations:
          - name: 正则写错
            turns:
              - user: 你好
              - bot: {matches: "("}
        """, 5, "正则表达式 '(' 写错了"),
    "not an intent id": ("""\
        conversations:
          - name: id 写成了中文
            turns:
              - user: 你好
              - bot: {intent: 打招呼}
        """, 5, "'打招呼' 不是意图 id 的写法"),
    "duplicate name": ("""\
        conversations:
          - name: 同名
            turns: [{user: 你好}, {bot: {intent: greeting}}]
          - name: 同名
            turns: [{user: 你好}, {bot: {intent: greeting}}]
        """, 4, "对话名称 '同名' 重复"),
    "yes read as a boolean": ("""\
        conversations:
          - name: 是非
            turns:
              - user: yes
              - bot: {kind: fallback}
        """, 4, "请给这段文字加上引号"),
    "two keys in one turn": ("""\
        conversations:
          - name: 一行写两样
            turns:
              - user: 你好
                bot: {intent: greeting}
        """, 4, "一轮只能写 user、press、bot 中的一个"),
    "bot written as one word": ("""\
        conversations:
          - name: 简写
            turns:
              - user: 你好
              - bot: greeting
        """, 5, "bot 下面要另起一行写“键: 值”"),
    "empty conversation list": ("""\
        conversations: []
        """, 1, "'conversations' 下面还没有对话"),
    "no conversations key": ("""\
        - name: 少了最上层
          turns: []
        """, 1, "对话文件的最上层应该是 'conversations:'"),
}


@pytest.mark.parametrize(("text", "line", "message"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_reported_with_file_and_line_before_running(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, message: str) -> None:
    good = _write(tmp_path, "a_good.yaml", GOOD)
    bad = _write(tmp_path, "bad.yaml", text)
    code, out = _legalbot_test(capsys, good, bad)
    assert code == 1
    assert any(x.startswith(f"{bad}:{line}: 错误: ") and message in x for x in out.splitlines()), out
    assert "PASS" not in out
    assert "FAIL" not in out
    assert "没有运行任何对话" in out.splitlines()[-1]


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", """\
        conversations:
          - name: 两处错误
            turns:
              - user: 你好
              - bot: {intnet: greeting}
              - user: 再见
        """)
    with pytest.raises(ConversationFileError) as excinfo:
        load_conversations([path])
    assert [(p.source.line, p.message.split("；")[0]) for p in excinfo.value.problems] == [
        (5, "bot 的期望中有未知的键 'intnet'"), (6, "用户这一轮后面没有写期望")]


def test_missing_path_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _legalbot_test(capsys, tmp_path / "nowhere.yaml")
    assert code == 1
    assert "nowhere.yaml: 错误: 找不到这个文件或文件夹" in out


def test_numbers_are_read_as_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "n.yaml", """\
        conversations:
          - name: 数字
            turns:
              - user: 12348
              - bot: {contains: [12348, 110], buttons: 1}
        """)
    [conversation] = load_conversations([path])
    expect = conversation.exchanges[0].expect
    assert (expect.contains, expect.buttons) == (("12348", "110"), ("1",))


# --- checking one reply ----------------------------------------------------------------------------

SAID = Said("请拨打 12348 咨询。", ("法律咨询", "👍"), "legal_aid.apply", 0.91, "answer")
HERE = Source("x.yaml", 3)


@pytest.mark.parametrize(("expect", "failures"), [
    (Expectation(HERE, topic="legal_aid"), ()),
    (Expectation(HERE, topic="legal"), ("意图应属于话题 legal，实际是 legal_aid.apply",)),
    (Expectation(HERE, intent="legal_aid"), ("意图应为 legal_aid，实际是 legal_aid.apply",)),
    (Expectation(HERE, intent="legal_aid.apply", kinds=("answer", "followup")), ()),
    (Expectation(HERE, kinds=("clarify",)), ("回复类型应为 clarify，实际是 answer",)),
    (Expectation(HERE, contains=("12348",), not_contains=("110",)), ()),
    (Expectation(HERE, contains=("110",)), ("回复里没有“110”",)),
    (Expectation(HERE, not_contains=("12348",)), ("回复里不应该有“12348”",)),
    (Expectation(HERE, matches=(r"\d{5}",)), ()),
    (Expectation(HERE, matches=(r"^\d",)), (r"回复不匹配正则 /^\d/",)),
    (Expectation(HERE, buttons=("法律咨询",)), ()),
    (Expectation(HERE, buttons=("公证", "法律咨询")), ("缺少按钮 [公证]；实际按钮：[法律咨询]、[👍]",)),
])
def test_check(expect: Expectation, failures: tuple[str, ...]) -> None:
    assert check(expect, SAID) == failures


def test_check_hints_at_an_unknown_intent() -> None:
    [failure] = check(Expectation(HERE, topic="legal_ad"), SAID, known={"legal_aid"})
    assert "意图目录里没有 'legal_ad'" in failure


# --- pytest collects the same files ----------------------------------------------------------------


def _enable_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["bot.checks.pytest_plugin"]')
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def test_pytest_runs_each_conversation_as_an_item(pytester: pytest.Pytester) -> None:
    _enable_plugin(pytester)
    _write(pytester.path, "good.yaml", GOOD)
    _write(pytester.path, "wrong.yaml", WRONG)
    (pytester.path / "eval").mkdir()
    (pytester.path / "eval" / "cases.yaml").write_text("- just: data\n", encoding="utf-8")
    result = pytester.runpytest("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "conversations/good.yaml::法律援助 PASSED*",
        "conversations/wrong.yaml::公证答成了法律援助 FAILED*",
        "*conversation: 公证答成了法律援助*",
        "conversations/wrong.yaml:2: 对话「公证答成了法律援助」第 2 轮不符合期望",
        "  用户：法律援助怎么申请",
        "  机器人：*",
        "  用户：公证怎么办",
        "*（意图 notarization，置信度 *，类型 answer）",
        "  期望（conversations/wrong.yaml:8）：话题 legal_aid*",
        "*意图应属于话题 legal_aid，实际是 notarization",
    ])
    assert "Traceback" not in result.stdout.str()
    assert "runtest" not in result.stdout.str()


def test_pytest_reports_a_bad_file_at_collection(pytester: pytest.Pytester) -> None:
    _enable_plugin(pytester)
    _write(pytester.path, "good.yaml", GOOD)
    text, line, message = BAD_FILES["button not offered"]
    _write(pytester.path, "bad.yaml", text)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"conversations/bad.yaml:{line}: 错误: *{message}*", "*Interrupted: 1 error*"])
    assert "PASSED" not in result.stdout.str()


# --- the same files through the Telegram channel (PTB against the fake Bot API) --------------------


def test_telegram_channel_passes_shipped_files(capsys: pytest.CaptureFixture[str]) -> None:
    files = [SHIPPED / "small_talk.yaml", SHIPPED / "business.yaml"]
    code = main(["test", "--channel", "telegram", *map(str, files)], environ=ENV)
    out = capsys.readouterr().out
    count = len(load_conversations(files))
    assert out.splitlines()[-1] == f"{count} passed, 0 failed", out
    assert code == 0


def test_telegram_and_engine_agree_line_for_line(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(SHIPPED / name) for name in ("context.yaml", "emergency.yaml", "government_services.yaml")]
    outputs = []
    for channel in ("engine", "telegram"):
        main(["test", "--channel", channel, *files], environ=ENV)
        outputs.append([line for line in capsys.readouterr().out.splitlines() if line.startswith(("PASS", "FAIL"))])
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == len(load_conversations([Path(f) for f in files]))


def test_telegram_channel_presses_buttons_and_reports_a_wrong_expectation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "tg.yaml", """\
        conversations:
          - name: 点按钮再点赞
            turns:
              - user: 法律援助怎么申请
              - bot: {topic: legal_aid, buttons: [人民调解, 👍, 👎]}
              - press: 人民调解
              - bot: {topic: people_mediation}
              - press: 👍
              - bot: {kind: feedback, contains: 谢谢}
          - name: 期望写错了
            turns:
              - user: 公证怎么办
              - bot: {topic: legal_aid}
        """)
    code = main(["test", "--channel", "telegram", str(path)], environ=ENV)
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[:2] == [f"PASS {path}:2  点按钮再点赞", f"FAIL {path}:10  期望写错了"]
    assert "用户：公证怎么办" in out
    assert "[👍] [👎]" in out
    assert "意图应属于话题 legal_aid，实际是 notarization" in out
    assert out.splitlines()[-1] == "1 passed, 1 failed"


# --- the same files through the HTTP API (/api/chat, /api/choose, /api/feedback on a real server) ---


def test_http_channel_passes_every_shipped_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["test", "--channel", "http", str(SHIPPED)], environ=ENV)
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == f"{len(load_conversations([SHIPPED]))} passed, 0 failed", out
    assert code == 0


def test_http_channel_presses_buttons_and_rates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "http.yaml", """\
        conversations:
          - name: 点按钮再点踩
            turns:
              - user: 法律援助怎么申请
              - bot: {topic: legal_aid, buttons: [人民调解, 👍, 👎]}
              - press: 人民调解
              - bot: {topic: people_mediation, buttons: [👎]}
              - press: 👎
              - bot: {kind: feedback, contains: 谢谢}
          - name: 打招呼下面没有评价按钮
            turns:
              - user: 你好
              - bot: {contains: 您好}
              - press: 👍
              - bot: {kind: feedback}
        """)
    code = main(["test", "--channel", "http", str(path)], environ=ENV)
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[:2] == [f"PASS {path}:2  点按钮再点踩", f"FAIL {path}:10  打招呼下面没有评价按钮"]
    assert "只有关于服务的回答下面才有 👍/👎" in out
