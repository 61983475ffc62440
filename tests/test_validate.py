"""`legalbot validate`: exit 0 on good files; on broken ones, every problem at once, as file:line, sorted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from catalogue_factory import (
    CONVERSATION,
    DEFAULT_FILES,
    MENU,
    MESSAGES,
    SHIPPED_CONTENT,
    SHIPPED_INTENTS,
    messages_yaml,
    write_catalogue,
)

from bot.cli import main

BROKEN_INTENTS = "intents/zz_broken.yaml"
BROKEN_ANSWERS = "content/answers/zz_broken.yaml"
_PROBLEM = re.compile(r"^(?P<path>[^\s:]+)(?::(?P<line>\d+))?: (?P<kind>错误|警告): ")


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # problems are shown relative to the working directory
    return tmp_path


def validate(root: Path, overrides: dict[str, str | None] | None = None, *extra: str) -> int:
    intents_dir, content_dir = write_catalogue(root, overrides)
    return main(["validate", "--intents", str(intents_dir), "--content", str(content_dir), *extra])


def errors(out: str) -> list[str]:
    return [line for line in out.splitlines() if (m := _PROBLEM.match(line)) and m["kind"] == "错误"]


def warnings(out: str) -> list[str]:
    return [line for line in out.splitlines() if (m := _PROBLEM.match(line)) and m["kind"] == "警告"]


def test_shipped_catalogue_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--intents", str(SHIPPED_INTENTS), "--content", str(SHIPPED_CONTENT)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert errors(out) == []


def test_default_test_catalogue_is_valid(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(root) == 0
    assert errors(capsys.readouterr().out) == []


# (name, file written, its text, the file:line expected, a phrase the message must hold)
BROKEN = [
    (
        "yaml_tab",
        BROKEN_INTENTS,
        "intents:\n  - id: legal_aid.apply\n\ttitle: 申请\n    answer: legal_aid\n",
        "intents/zz_broken.yaml:3",
        "YAML",
    ),
    (
        "unknown_intent_key",
        BROKEN_INTENTS,
        """\
        intents:
          - id: legal_aid.apply
            title: 申请
            answer: legal_aid
            exmaples: [去哪里申请法律援助]
        """,
        "intents/zz_broken.yaml:5",
        "exmaples",
    ),
    (
        "unknown_top_level_key",
        BROKEN_INTENTS,
        """\
        intent:
          - id: legal_aid.apply
            title: 申请
            examples: [去哪里申请法律援助]
        """,
        "intents/zz_broken.yaml:1",
        "intent",
    ),
    (
        "unknown_answer_key",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 共接受法律咨询4830余人次。
            sorce:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
        """,
        "content/answers/zz_broken.yaml:4",
        "sorce",
    ),
    (
        "duplicate_intent_id",
        BROKEN_INTENTS,
        """\
        intents:
          - id: legal_aid.apply
            title: 申请
            answer: legal_aid
            examples: [去哪里申请法律援助]
          - id: legal_aid.apply
            title: 申请法援
            answer: legal_aid
            examples: [到哪儿申请法援]
        """,
        "intents/zz_broken.yaml:6",
        "legal_aid.apply",
    ),
    (
        "duplicate_answer_id",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: legal_aid
            text: 共接受法律咨询4830余人次。
            source:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
        """,
        "content/answers/zz_broken.yaml:2",
        "legal_aid",
    ),
    (
        "answer_not_found",
        BROKEN_INTENTS,
        """\
        intents:
          - id: legal_aid.apply
            title: 申请
            answer: legal_aid_apply
            examples: [去哪里申请法律援助]
        """,
        "intents/zz_broken.yaml:4",
        "legal_aid_apply",
    ),
    (
        "empty_examples",
        BROKEN_INTENTS,
        """\
        intents:
          - id: legal_aid.apply
            title: 申请
            answer: legal_aid
            examples: []
        """,
        "intents/zz_broken.yaml:5",
        "例句",
    ),
    (
        "no_examples_key",
        BROKEN_INTENTS,
        """\
        intents:
          - id: legal_aid.apply
            title: 申请
            answer: legal_aid
        """,
        "intents/zz_broken.yaml:2",
        "例句",
    ),
    (
        "example_under_two_intents",
        BROKEN_INTENTS,
        """\
        intents:
          - id: legal_aid.apply
            title: 申请
            answer: legal_aid
            examples:
              - 去哪里申请法律援助
              - 法律援助，怎么申请？
        """,
        "intents/zz_broken.yaml:7",
        "legal_aid",
    ),
    (
        "excerpt_not_in_report",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 法律援助是免费的。
            source:
              section: 一(六)四
              excerpt: 法律援助一律免费
        """,
        "content/answers/zz_broken.yaml:6",
        "摘录",
    ),
    (
        "figure_not_in_report",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 2020年办理法律援助案件7600件。
            source:
              section: 一(六)四
              excerpt: 建立健全法律援助“全程代办”
        """,
        "content/answers/zz_broken.yaml:3",
        "7600",
    ),
    (
        "percentage_not_in_report",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 调解成功率99.9%。
            source:
              section: 一(六)二
              excerpt: 调处率100%
        """,
        "content/answers/zz_broken.yaml:3",
        "99.9",
    ),
    (
        "ordinal_not_in_report",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 全国排名第99。
            source:
              section: 一(五)三
              excerpt: 调处率100%
        """,
        "content/answers/zz_broken.yaml:3",
        "99",
    ),
    (
        "full_width_figure_not_in_report",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 办理法律援助案件７６００件。
            source:
              section: 一(六)四
              excerpt: 建立健全法律援助“全程代办”
        """,
        "content/answers/zz_broken.yaml:3",
        "7600",
    ),
    (
        "figure_inside_a_bigger_report_figure",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 共接受法律咨询48余人次。
            source:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
        """,
        "content/answers/zz_broken.yaml:3",
        "48",
    ),
    (
        "local_phone_number",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 请拨打 0570-4021234 咨询。
            source:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
        """,
        "content/answers/zz_broken.yaml:3",
        "4021234",
    ),
    (
        "web_address",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 详情请看 https://www.example.com/legal 。
            source:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
        """,
        "content/answers/zz_broken.yaml:3",
        "example.com",
    ),
    (
        "bare_domain",
        BROKEN_ANSWERS,
        """\
        answers:
          - id: spare
            text: 可以登录 jiangshan.gov.cn 查询。
            source:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
        """,
        "content/answers/zz_broken.yaml:3",
        "jiangshan.gov.cn",
    ),
    (
        "dotted_id_without_parent",
        BROKEN_INTENTS,
        """\
        intents:
          - id: legal_help.apply
            title: 申请
            answer: legal_aid
            examples: [去哪里申请法律援助]
        """,
        "intents/zz_broken.yaml:2",
        "legal_help",
    ),
    (
        "suggest_unknown_id",
        BROKEN_INTENTS,
        """\
        intents:
          - id: legal_aid.apply
            title: 申请
            answer: legal_aid
            suggest:
              - legal_consultation
              - legal_advice
            examples: [去哪里申请法律援助]
        """,
        "intents/zz_broken.yaml:7",
        "legal_advice",
    ),
    (
        "missing_message",
        MESSAGES,
        messages_yaml(omit=("help",)),
        "content/messages.yaml",
        "help",
    ),
]


@pytest.mark.parametrize(
    ("path", "text", "where", "phrase"),
    [pytest.param(p, t, w, ph, id=name) for name, p, t, w, ph in BROKEN],
)
def test_broken_file_is_reported_at_its_line(
    root: Path, capsys: pytest.CaptureFixture[str], path: str, text: str, where: str, phrase: str
) -> None:
    code = validate(root, {path: text})
    out = capsys.readouterr().out
    assert code == 1, out
    hits = [line for line in errors(out) if line.startswith(where + ":")]
    assert hits, f"no error at {where}:\n{out}"
    assert any(phrase in line for line in hits), out


def test_figure_in_a_message_is_reported(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = messages_yaml().replace("fallback: ", "fallback: 请在9999秒内回复。", 1)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("fallback:"))
    assert validate(root, {MESSAGES: text}) == 1
    out = capsys.readouterr().out
    assert any(e.startswith(f"content/messages.yaml:{line}:") and "9999" in e for e in errors(out)), out


@pytest.mark.parametrize(("key", "broken", "phrase"), [
    ("elsewhere", "{地方}的事请向当地咨询。", "{地方}"),
    ("followup_prefix", "关于「{title」：", "大括号"),
])
def test_a_placeholder_the_bot_cannot_fill_is_reported(root: Path, capsys: pytest.CaptureFixture[str], key: str,
                                                       broken: str, phrase: str) -> None:
    text = "\n".join(f"{key}: '{broken}'" if row.startswith(f"{key}:") else row
                     for row in messages_yaml().splitlines()) + "\n"
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith(f"{key}:"))
    assert validate(root, {MESSAGES: text}) == 1
    out = capsys.readouterr().out
    assert any(e.startswith(f"content/messages.yaml:{line}:") and phrase in e for e in errors(out)), out


def test_unclosed_quote_points_at_the_line_it_opens(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "intents:\n  - id: legal_aid.apply\n    title: \"申请\n    answer: legal_aid\n    examples: [去哪里申请法律援助]\n"
    assert validate(root, {BROKEN_INTENTS: text}) == 1
    out = capsys.readouterr().out
    # The operator must edit line 3; pointing at the end of the file sends them looking in the wrong place.
    assert "intents/zz_broken.yaml:3" in out, out


@pytest.mark.parametrize(
    ("text", "mistake_line"),
    [
        ("intents:\n  - id: legal_aid.apply\n    title: 申请\n    examples: [去哪里申请法律援助\n    answer: legal_aid\n", 4),
        ("intents:\n  - id: legal_aid.apply\n    title 申请\n    answer: legal_aid\n    examples: [a]\n", 3),
    ],
    ids=["unclosed_bracket", "missing_colon"],
)
def test_yaml_syntax_errors_point_near_the_mistake(
    root: Path, capsys: pytest.CaptureFixture[str], text: str, mistake_line: int
) -> None:
    assert validate(root, {BROKEN_INTENTS: text}) == 1
    found = errors(capsys.readouterr().out)
    assert len(found) == 1, found
    m = _PROBLEM.match(found[0])
    assert m is not None
    assert m["path"] == "intents/zz_broken.yaml"
    assert mistake_line <= int(m["line"] or 0) <= mistake_line + 1, found


def test_allowlisted_national_numbers_are_not_figures_to_ground(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spare = """\
        answers:
          - id: spare
            text: 有危险拨打 110，受伤拨打 120；法律问题拨打 12348，其他政务拨打 12345。
            source:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
        """
    code = validate(root, {BROKEN_ANSWERS: spare})
    out = capsys.readouterr().out
    assert code == 0, out
    assert errors(out) == []


def test_every_problem_is_printed_at_once_sorted_by_file_and_line(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken_intents = """\
        intents:
          - id: legal_aid.apply
            title: 申请
            answer: legal_aid
            examples: [去哪里申请法律援助]
            suggest: [nowhere]
          - id: legal_aid.apply
            title: 再次
            answer: legal_aid
            examples: [到哪儿申请法援]
          - id: orphan.child
            title: 孤儿
            answer: missing_answer
            examples: []
        """
    broken_answers = """\
        answers:
          - id: spare
            text: 办理案件7600件，详见 www.example.com
            source:
              section: 一(六)四
              excerpt: 这句话报告里没有
        """
    code = validate(root, {
        BROKEN_INTENTS: broken_intents,
        BROKEN_ANSWERS: broken_answers,
        MESSAGES: messages_yaml(omit=("clarify",)),
    })
    out = capsys.readouterr().out
    assert code == 1
    found = errors(out)
    expected = [
        "content/answers/zz_broken.yaml:3",  # figure
        "content/answers/zz_broken.yaml:6",  # excerpt
        "content/messages.yaml",  # missing message
        "intents/zz_broken.yaml:6",  # suggest
        "intents/zz_broken.yaml:7",  # duplicate id
        "intents/zz_broken.yaml:11",  # no parent / no answer
        "intents/zz_broken.yaml:14",  # empty examples
    ]
    for where in expected:
        assert any(line.startswith(where + ":") for line in found), f"missing {where}:\n{out}"
    assert any("example.com" in line for line in found), out
    keys = []
    for line in found:
        m = _PROBLEM.match(line)
        assert m is not None
        keys.append((m["path"], int(m["line"] or 0)))
    assert keys == sorted(keys), out
    assert f"{len(found)} 个错误" in out


def test_confusable_intents_are_a_warning_not_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 遗嘱能公正吗 sounds exactly like notarization's 遗嘱能公证吗: the matcher cannot tell them apart.
    confusable = """\
        intents:
          - id: judicial_appraisal
            title: 司法鉴定
            answer: notarization
            examples: [遗嘱能公正吗, 伤情鉴定去哪做]
        """
    code = validate(root, {BROKEN_INTENTS: confusable})
    out = capsys.readouterr().out
    assert code == 0, out
    warnings = [line for line in out.splitlines() if (m := _PROBLEM.match(line)) and m["kind"] == "警告"]
    pair = [w for w in warnings if "judicial_appraisal" in w and "notarization" in w]
    assert pair, out
    assert pair[0].startswith(("intents/zz_broken.yaml:2:", "intents/services.yaml:")), pair


def test_no_warnings_flag_hides_warnings(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    confusable = """\
        intents:
          - id: judicial_appraisal
            title: 司法鉴定
            answer: notarization
            examples: [遗嘱能公正吗]
        """
    assert validate(root, {BROKEN_INTENTS: confusable}, "--no-warnings") == 0
    out = capsys.readouterr().out
    assert not [line for line in out.splitlines() if (m := _PROBLEM.match(line)) and m["kind"] == "警告"], out


def test_duplicate_id_across_files_names_both_places(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    again = """\
        intents:
          - id: notarization
            title: 公证又一次
            examples: [哪里能办公证书]
        """
    assert validate(root, {BROKEN_INTENTS: again}) == 1
    found = [line for line in errors(capsys.readouterr().out) if "notarization" in line]
    assert found, "duplicate id not reported"
    # whichever copy is reported, the message points to the other one too
    assert all("intents/services.yaml" in line and "intents/zz_broken.yaml" in line for line in found), found


@pytest.mark.parametrize("setting", ["max_suggestions: 0", "max_message_chars: 0"])
def test_a_zero_count_setting_is_rejected(root: Path, capsys: pytest.CaptureFixture[str], setting: str) -> None:
    # Zero suggestions would leave "did you mean" with nothing to offer; zero characters, nothing to read.
    assert validate(root, {"intents/zz_settings.yaml": f"matcher:\n  {setting}\n"}) == 1
    out = capsys.readouterr().out
    assert any(e.startswith("intents/zz_settings.yaml:2:") and setting.split(":")[0] in e for e in errors(out)), out


def test_an_unreadable_report_is_a_problem_not_a_traceback(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_catalogue(root)
    (root / "content" / "sources" / "notes.txt").write_bytes("报告".encode("gbk"))
    assert main(["validate", "--intents", str(root / "intents"), "--content", str(root / "content")]) == 1
    out = capsys.readouterr().out
    assert any(e.startswith("content/sources/notes.txt") and "UTF-8" in e for e in errors(out)), out


@pytest.mark.parametrize("claim", ["法律援助完全免费", "无偿提供帮助", "办公时间请来电", "经济困难的可以申请"])
def test_an_answer_promising_what_the_report_does_not_is_rejected(
    root: Path, capsys: pytest.CaptureFixture[str], claim: str
) -> None:
    answers = """\
        answers:
          - id: zz_claim
            text: %s。请拨打 12348 咨询。
            source:
              section: 一(六)四
              excerpt: 建立健全法律援助“全程代办”
    """ % claim
    assert validate(root, {BROKEN_ANSWERS: answers}) == 1
    out = capsys.readouterr().out
    assert any(e.startswith(f"{BROKEN_ANSWERS}:3:") and "报告没有写" in e for e in errors(out)), out


# --- roles and the menu --------------------------------------------------------------------------------

ROLES_KNOWN = "small_talk、whole_message、anywhere、ends_context、welcome、general"
GOODBYE_ROLES = "            roles: [small_talk, whole_message, anywhere, ends_context]\n"
NEW_SERVICE = """\
    intents:
      - id: judicial_appraisal
        title: 司法鉴定
        answer: notarization
        examples: [伤情鉴定去哪做]
    """


def test_the_shipped_menu_places_every_service_intent(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--intents", str(SHIPPED_INTENTS), "--content", str(SHIPPED_CONTENT)]) == 0
    out = capsys.readouterr().out
    assert not [w for w in warnings(out) if "菜单" in w], out


@pytest.mark.parametrize(("written", "message"), [
    ("smalltalk", f"意图 'goodbye' 的 roles 里有未知的角色 'smalltalk'；可用的有：{ROLES_KNOWN}；您是不是想写 'small_talk'？"),
    ("farewell", f"意图 'goodbye' 的 roles 里有未知的角色 'farewell'；可用的有：{ROLES_KNOWN}"),
])
def test_an_unknown_role_is_an_error_at_its_line(root: Path, capsys: pytest.CaptureFixture[str], written: str,
                                                  message: str) -> None:
    text = DEFAULT_FILES[CONVERSATION].replace(GOODBYE_ROLES, GOODBYE_ROLES.replace("ends_context", written))
    line = next(n for n, row in enumerate(text.splitlines(), 1) if written in row)
    assert validate(root, {CONVERSATION: text}) == 1
    assert errors(capsys.readouterr().out) == [f"intents/conversation.yaml:{line}: 错误: {message}"]


def test_only_one_intent_welcomes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DEFAULT_FILES[CONVERSATION].replace(GOODBYE_ROLES, GOODBYE_ROLES.replace("ends_context", "welcome"))
    at = next(n for n, row in enumerate(text.splitlines(), 1) if "id: goodbye" in row)
    first = next(n for n, row in enumerate(text.splitlines(), 1) if "id: greeting" in row)
    assert validate(root, {CONVERSATION: text}) == 1
    assert errors(capsys.readouterr().out) == [
        (f"intents/conversation.yaml:{at}: 错误: 角色 'welcome' 只能给一个意图；'greeting'（intents/conversation.yaml:{first}）"
         "已经有了，请从 'goodbye' 去掉")]


MENU_PROBLEMS = [
    (
        "unknown_intent_near_a_known_one",
        """\
        menu:
          areas:
            - key: legal
              title: 公共法律服务
              intents: [legal_aid, legal_consultation, people_mediaton, notarization]
            - key: gov
              title: 政务服务
              intents: [online_gov_services]
        """,
        "intents/menu.yaml:5: 错误: 菜单分区 'legal' 里的意图 'people_mediaton' 不存在；您是不是想写 'people_mediation'？",
    ),
    (
        "unknown_intent_like_no_known_one",
        """\
        menu:
          areas:
            - key: legal
              title: 公共法律服务
              intents:
                - legal_aid
                - legal_consultation
                - people_mediation
                - notarization
                - wills
            - key: gov
              title: 政务服务
              intents: [online_gov_services]
        """,
        "intents/menu.yaml:10: 错误: 菜单分区 'legal' 里的意图 'wills' 不存在；请写已有的意图 id",
    ),
    (
        "duplicate_area_key",
        """\
        menu:
          areas:
            - key: legal
              title: 公共法律服务
              intents: [legal_aid, legal_consultation, people_mediation]
            - key: legal
              title: 更多法律服务
              intents: [notarization, online_gov_services]
        """,
        "intents/menu.yaml:6: 错误: 菜单分区 key 'legal' 重复；第一次出现在 intents/menu.yaml:3",
    ),
    (
        "empty_area",
        """\
        menu:
          areas:
            - key: legal
              title: 公共法律服务
              intents: [legal_aid, legal_consultation, people_mediation, notarization, online_gov_services]
            - key: gov
              title: 政务服务
              intents: []
        """,
        "intents/menu.yaml:6: 错误: 菜单分区 'gov' 没有列出任何意图；请在它的 intents: 下至少写一个意图 id",
    ),
    (
        "intent_twice_in_one_area",
        """\
        menu:
          areas:
            - key: legal
              title: 公共法律服务
              intents: [legal_aid, legal_consultation, people_mediation, notarization]
            - key: gov
              title: 政务服务
              intents:
                - online_gov_services
                - online_gov_services
        """,
        "intents/menu.yaml:10: 错误: 菜单分区 'gov' 里的意图 'online_gov_services' 写了两次；请只留一处",
    ),
    (
        "intent_in_an_area_and_unlisted",
        """\
        menu:
          areas:
            - key: legal
              title: 公共法律服务
              intents: [legal_aid, legal_consultation, people_mediation, notarization, online_gov_services]
          unlisted:
            - online_gov_services
        """,
        "intents/menu.yaml:7: 错误: 意图 'online_gov_services' 已经在 菜单分区 'legal' 里，又写进了 unlisted；请删去其中一处",
    ),
    (
        "area_key_unfit_for_a_button",
        """\
        menu:
          areas:
            - key: Legal Services
              title: 公共法律服务
              intents: [legal_aid, legal_consultation, people_mediation, notarization, online_gov_services]
        """,
        "intents/menu.yaml:3: 错误: 菜单分区 key 'Legal Services' 格式不对；只用小写字母、数字和下划线，不超过 32 个字符，如 legal",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=name) for name, t, e in MENU_PROBLEMS])
def test_a_menu_mistake_is_an_error_at_its_line(root: Path, capsys: pytest.CaptureFixture[str], text: str,
                                                 expected: str) -> None:
    assert validate(root, {MENU: text}) == 1
    assert errors(capsys.readouterr().out) == [expected]


def test_an_intent_may_stand_in_two_areas(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    menu = DEFAULT_FILES[MENU].replace("intents: [online_gov_services]", "intents: [online_gov_services, legal_aid]")
    assert validate(root, {MENU: menu}) == 0
    assert errors(capsys.readouterr().out) == []


def test_a_menu_in_two_files_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    again = "menu:\n  areas:\n    - key: more\n      title: 更多\n      intents: [notarization]\n"
    assert validate(root, {BROKEN_INTENTS: again}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/zz_broken.yaml:1: 错误: 'menu' 菜单只能写在一个文件里；已经写在 intents/menu.yaml"]


def test_a_service_intent_no_menu_area_lists_is_a_warning(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(root, {BROKEN_INTENTS: NEW_SERVICE}) == 0
    assert warnings(capsys.readouterr().out) == [
        ("intents/zz_broken.yaml:2: 警告: 意图 'judicial_appraisal' 不在任何菜单分区里，群众在 Telegram 的 /menu 里找不到它；"
         "请把它加到 intents/menu.yaml 的一个分区，或写进 unlisted（有意不放进菜单）")]


def test_unlisted_intents_and_small_talk_need_no_menu_area(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The default files are indented (write_catalogue dedents them): add lines at the same depth.
    menu = DEFAULT_FILES[MENU].rstrip(" ") + "          unlisted: [judicial_appraisal]\n"
    chat = DEFAULT_FILES[CONVERSATION].rstrip(" ") + """\
          - id: weather_chat
            title: 聊天气
            roles: [small_talk]
            answer: greeting
            examples: [今天好热啊]
        """
    assert validate(root, {MENU: menu, BROKEN_INTENTS: NEW_SERVICE, CONVERSATION: chat}) == 0
    assert warnings(capsys.readouterr().out) == []


def test_a_catalogue_without_a_menu_gets_one_warning(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(root, {MENU: None}) == 0
    assert warnings(capsys.readouterr().out) == [
        "intents: 警告: 没有菜单（menu:）；Telegram 的 /menu 将没有按钮。请写 intents/menu.yaml，见 docs/operator-guide.md"]


WORDS_WITHOUT = "words:\n  question_words: [吗, 怎]\n"  # the other lists are missing


@pytest.mark.parametrize(("words", "where", "phrase"), [
    (WORDS_WITHOUT, "intents/words.yaml:2", "缺少 'negation_words'"),
    ("words:\n  question_words: []\n", "intents/words.yaml:2", "'question_words' 是空的"),
    ("words:\n  question_words:\n", "intents/words.yaml:2", "'question_words' 是空的"),
    ("words:\n  question_words: 吗\n", "intents/words.yaml:2", "应该是一个列表"),
    ("words:\n  question_words: [吗, [怎]]\n", "intents/words.yaml:2", "不是文字"),
    ("words:\n  linking_words: [的, 还是]\n", "intents/words.yaml:2", "只有一个字"),
    ("words: [吗, 怎]\n", "intents/words.yaml:1", "'words' 应该写成"),
])
def test_a_missing_empty_or_mistyped_word_list_is_reported_at_its_line(
        root: Path, capsys: pytest.CaptureFixture[str], words: str, where: str, phrase: str) -> None:
    assert validate(root, {"intents/words.yaml": words}) == 1
    found = [line for line in errors(capsys.readouterr().out) if phrase in line]
    assert found, phrase
    assert found[0].startswith(f"{where}: 错误: ")


def test_a_question_word_repeated_among_linking_words_is_a_warning(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = (SHIPPED_INTENTS / "words.yaml").read_text(encoding="utf-8")
    words = shipped.replace("linking_words: [的,", "linking_words: [吗, 的,")
    assert words != shipped
    assert validate(root, {"intents/words.yaml": words}) == 0
    found = [line for line in warnings(capsys.readouterr().out) if "'吗' 已经是问句词" in line]
    assert found and found[0].startswith("intents/words.yaml:")


def test_a_catalogue_without_word_lists_is_reported(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(root, {"intents/words.yaml": None}) == 1
    assert any("words.yaml" in line and "词表" in line for line in errors(capsys.readouterr().out))


# --- what counts as danger (intents/safety.yaml) --------------------------------------------------

SAFETY = "intents/safety.yaml"
DANGER = """\
danger:
  now_words: [正在, 救命]
  mention_words: [去年, 怎么规定]
  mention_intent: {mention_intent}
  groups:
    - name: 暴力
      answer: {answer}
      triggers: [打我, 孩子…不见]
"""


def test_a_danger_section_with_known_ids_validates(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency")
    assert validate(root, {SAFETY: text}) == 0
    assert errors(capsys.readouterr().out) == []


def test_a_danger_group_answer_that_does_not_exist_is_an_error_with_a_suggestion(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergncy")
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:7: 错误: 危险分组 '暴力' 的答案 'emergncy' 在 content/answers/ 中找不到；您是不是想写 'emergency'？"]


def test_an_unknown_mention_intent_is_an_error_with_a_suggestion(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultaton", answer="emergency")
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:4: 错误: 'mention_intent' 写的意图 'legal_consultaton' 不存在；您是不是想写 'legal_consultation'？"]


def test_a_danger_section_without_groups_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(root, {SAFETY: "danger:\n  now_words: [正在]\n"}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:2: 错误: 'danger' 的 'groups' 应该是分组列表（每组以“- name:”开头，含 answer 和 triggers）"]


def test_a_sentence_both_a_situation_and_a_mention_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency") + """\
      situations: [有人掉进河里了, 他把门撞开冲进来了]
  mentions: [去年被打伤了能做鉴定吗, 有人掉进河里了！]
"""
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:10: 错误: '有人掉进河里了！' 同时写在危险分组 '暴力' 的 situations和danger 的 mentions里；"
        "一句话只能算一种情况，请删掉一处"]


def test_mentions_without_any_situation_is_a_warning(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency") + "  mentions: [去年被打伤了能做鉴定吗]\n"
    assert validate(root, {SAFETY: text}) == 0
    assert warnings(capsys.readouterr().out) == [
        "intents/safety.yaml:9: 警告: 'danger' 写了 mentions 但没有一组写 situations：危险识别模型学不到“危险在眼前”的说法"]


def test_a_phrase_in_two_danger_groups_is_a_warning(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency") + """\
    - name: 急病
      answer: emergency
      triggers: [晕倒, 打我]
"""
    assert validate(root, {SAFETY: text}) == 0
    assert warnings(capsys.readouterr().out) == [
        "intents/safety.yaml:11: 警告: 危险说法 '打我' 同时写在分组 '暴力' 和 '急病'；只有第一组起作用"]


def test_a_combination_without_then_or_with_a_word_on_both_sides_is_an_error(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency") + """\
      combos:
        - first: [孩子, 儿子]
        - first: [孩子, 老人]
          then: [不见, 老人]
        - 孩子不见
"""
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:10: 错误: 危险分组 '暴力' 的组合缺少 'then' 的词；first 和 then 都至少写一个词",
        "intents/safety.yaml:11: 错误: 危险分组 '暴力' 的组合里 '老人' 同时写在 first 和 then；一个词只能写在一边",
        "intents/safety.yaml:13: 错误: 危险分组 '暴力' 的 combos 里每一项都应含 first:（前一组词）和 then:（后一组词）"]


def test_a_word_both_of_danger_now_and_of_the_past_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency").replace(
        "  mention_words:", "  now_times: [现在, 今天]\n  past_times: [去年, 今天]\n  time_units: [年, 月]\n  mention_words:")
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:4: 错误: '今天' 同时写在 danger 的 now_times 和 past_times 里，意思相反；请删掉一处",
        "intents/safety.yaml:6: 错误: '去年' 同时写在 danger 的 past_times 和 mention_words 里，意思相反；请删掉一处"]


def test_a_carried_time_not_among_the_now_times_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency").replace(
        "  mention_words:", "  now_times: [现在, 刚才]\n  carried_times: [刚才, 今晚]\n  mention_words:")
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:4: 错误: carried_times 里的 '今晚' 没有写在 now_times 里；请先把它写进 now_times"]


def test_a_standing_threat_no_trigger_finds_is_a_warning(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 打我一顿 holds the trigger 打我; 弄死我 holds none, so a message saying only it is not found as danger.
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency").replace(
        "  mention_words:", "  standing_threats: [打我一顿, 弄死我]\n  mention_words:")
    assert validate(root, {SAFETY: text}) == 0
    assert warnings(capsys.readouterr().out) == [
        "intents/safety.yaml:3: 警告: standing_threats 里的 '弄死我' 不含任何一组 triggers 里的说法，消息里只有它时认不出危险；"
        "请把它（或它的一部分）写进某组的 triggers"]


def test_a_cry_that_is_not_true_or_false_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency") + """\
    - name: 呼救
      answer: emergency
      cry: 是
      triggers: [救命]
"""
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:11: 错误: 危险分组 '呼救' 的 'cry' 应该写 true（只是呼救）或 false"]


def test_a_told_flag_that_is_not_true_or_false_is_an_error(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency") + """\
    - name: 讲述动过手
      answer: emergency
      told: 对
      triggers: [推了一把]
"""
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:11: 错误: 危险分组 '讲述动过手' 的 'told' 应该写 true（讲述做过的事）或 false"]


def test_yields_to_naming_no_group_itself_or_a_group_yielding_back_is_an_error(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency") + """\
      yields_to: [落水]
    - name: 落水
      answer: emergency
      triggers: [落水]
      yields_to: [暴力, 落水, 急病与受伤]
"""
    assert validate(root, {SAFETY: text}) == 1
    assert errors(capsys.readouterr().out) == [
        "intents/safety.yaml:13: 错误: 危险分组 '落水' 和 '暴力' 的 yields_to 互相写了对方；只能一组让给另一组，请删掉一处",
        "intents/safety.yaml:13: 错误: 危险分组 '落水' 的 yields_to 写了它自己；请写别的分组的名称",
        "intents/safety.yaml:13: 错误: 危险分组 '落水' 的 yields_to 写的分组 '急病与受伤' 不存在"]


def test_a_group_yielding_to_another_validates(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = DANGER.format(mention_intent="legal_consultation", answer="emergency") + """\
    - name: 落水
      answer: emergency
      triggers: [落水]
      yields_to: [暴力]
"""
    assert validate(root, {SAFETY: text}) == 0
    assert errors(capsys.readouterr().out) == []
