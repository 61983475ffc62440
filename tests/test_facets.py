"""Answer parts (facets): validate's errors and plain-language warnings, the engine answering the part
asked once per conversation, bare numbers with no such button, and the terminal's /menu."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from catalogue_factory import ANSWERS, DEFAULT_FILES, SHIPPED_INTENTS, write_catalogue

from bot.catalogue.loader import Catalogue
from bot.catalogue.model import Facet
from bot.channels.terminal import TerminalChat
from bot.cli import main
from bot.engine import Engine
from bot.facets import asked

FACETS = "intents/facets.yaml"
SHIPPED_FACETS = (SHIPPED_INTENTS / "facets.yaml").read_text(encoding="utf-8")
SERVICE_PARTS = """\
    facets:
      what:
        text: 法律援助是国家给群众的法律帮助。
        source:
          section: 一(六)四
          excerpt: 建立健全法律援助“全程代办”
      who: unsaid
      how: unsaid
      bring: unsaid
      cost: unsaid
      time: unsaid
      figures:
        text: 报告写明：2020年江山办理法律援助案件760件。
        source:
          section: 一(六)四
          excerpt: 办理法律援助案件760件
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # problems are shown relative to the working directory
    return tmp_path


def validate(root: Path, answers: str, facets: str = SHIPPED_FACETS) -> int:
    intents_dir, content_dir = write_catalogue(root, {ANSWERS: answers, FACETS: facets})
    return main(["validate", "--intents", str(intents_dir), "--content", str(content_dir)])


def _answers(legal_aid: str) -> str:
    """The default answers file with legal_aid's entry replaced by `legal_aid` (indented as written)."""
    text = textwrap.dedent(DEFAULT_FILES[ANSWERS])
    start = text.index("  - id: legal_aid")
    end = text.index("  - id: legal_consultation")
    return text[:start] + legal_aid + text[end:]


LEGAL_AID = """\
  - id: legal_aid
    legal_notice: true
    text: 法律援助是国家给群众的法律帮助。请拨打 12348 问清楚。
    source:
      section: 一(六)四
      excerpt: 建立健全法律援助“全程代办”
"""


def _lines(out: str, kind: str) -> list[str]:
    return [line for line in out.splitlines() if f": {kind}: " in line]


def test_facet_mistakes_are_errors_at_their_line(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = _answers(LEGAL_AID + """\
    facets:
      costs: unsaid
      what:
        text: 法律援助是国家给群众的法律帮助。
      who:
        unsaid: 报告里没有写谁能申请。
""")
    code = validate(root, answers)
    out = capsys.readouterr().out
    errors = _lines(out, "错误")
    assert code == 1
    assert any(re.match(r"content/answers/answers\.yaml:9: .*未知的部分 'costs'.*'cost'", e) for e in errors), out
    assert any(re.match(r"content/answers/answers\.yaml:10: .*部分 'what' 没有出处 source.*what: unsaid", e)
               for e in errors), out
    assert any(re.match(r"content/answers/answers\.yaml:13: .*部分 'who' 说了报告没写，但没有说去哪里问", e)
               for e in errors), out


def test_a_facet_defined_without_a_report_does_not_say_form_is_an_error(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facets = SHIPPED_FACETS.replace("      unsaid: 报告里没有写费用；交不交钱、交多少，请拨打 {ask}问清楚。\n", "")
    assert facets != SHIPPED_FACETS
    code = validate(root, _answers(LEGAL_AID), facets)
    out = capsys.readouterr().out
    assert code == 1
    assert any(re.match(r"intents/facets\.yaml:\d+: 错误: 部分 'cost' 缺少“报告没写”的说法 'unsaid'", e)
               for e in _lines(out, "错误")), out


def test_plain_language_and_missing_facets_are_warnings_at_the_answer(
        root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long_opening = "江山建立健全了法律援助全程代办等一系列工作机制，为群众提供优质、便民、高效的法律服务，办理法律援助案件760件。"
    answers = _answers(f"""\
  - id: legal_aid
    legal_notice: true
    text: {long_opening}{"请拨打 12348 问清楚。" * 20}江山推进“应调尽调”。
    source:
      section: 一(六)四
      excerpt: 建立健全法律援助“全程代办”
""")
    code = validate(root, answers)
    out = capsys.readouterr().out
    warnings = _lines(out, "警告")
    assert code == 0, out
    at = "content/answers/answers.yaml:2: 警告: 答案 'legal_aid' "
    assert any(w.startswith(at) and "第一句有" in w and "40" in w for w in warnings), out
    assert any(w.startswith(at) and "超过 250 个" in w for w in warnings), out
    assert any(w.startswith(at) and "口号“应调尽调”" in w for w in warnings), out
    assert any(w.startswith(at) and "没有 facets" in w for w in warnings), out


def test_an_explained_slogan_and_full_facets_give_no_warning(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    explained = LEGAL_AID.replace("请拨打 12348 问清楚。", "江山坚持“应调尽调”，就是能调解的尽量调解。")
    code = validate(root, _answers(explained + SERVICE_PARTS))
    out = capsys.readouterr().out
    assert code == 0, out
    assert not [w for w in _lines(out, "警告") if "'legal_aid'" in w], out


def test_the_shipped_catalogue_gives_every_service_intent_every_facet(shipped_catalogue: Catalogue) -> None:
    from bot.catalogue.model import EMERGENCY, Facet, Role

    services = [i for i in shipped_catalogue.intents.values()
                if i.id != EMERGENCY and Role.SMALL_TALK not in i.roles]
    assert len(services) == 40
    for intent in services:
        assert {p.facet for p in intent.answer.parts} == set(Facet), intent.id
        for part in intent.answer.parts:
            assert part.excerpt or ("报告" in part.text and re.search(r"1234[58]", part.text)), (intent.id, part)


def _sentences(text: str) -> set[str]:
    return {s for s in re.split(r"[。！？\n]", text) if len(s) >= 8}


def test_follow_ups_get_their_part_and_nothing_repeats(engine: Engine) -> None:
    first = engine.respond("u", "人民调解")
    assert first.intent == "people_mediation"
    seen = _sentences(first.text)
    for question, expected in (("要钱吗", "没有写费用"), ("需要带什么", "材料"),
                               ("我不是本地人，也能申请吗", "谁能办"), ("去年办了多少件", "99.45%")):
        reply = engine.respond("u", question)
        assert reply.intent == "people_mediation", question
        assert expected in reply.text, (question, reply.text)
        assert "关于「人民调解」" in reply.text
        assert not _sentences(reply.text) & seen, (question, reply.text)
        seen |= _sentences(reply.text) - {"关于「人民调解」："}
    again = engine.respond("u", "要钱吗")
    assert again.text == engine.catalogue.messages["part_again"].format(
        parts="要钱吗", ask="12348 公共法律服务热线").strip()
    repeated = engine.respond("u", "再说一遍")
    assert "人民调解就是请调解员" in repeated.text  # asked to: the answer again


def test_a_first_question_about_one_part_gets_that_part(engine: Engine) -> None:
    reply = engine.respond("u", "法律援助收费吗")
    assert reply.intent == "legal_aid"
    assert "报告里没有写费用" in reply.text and "12348" in reply.text
    assert "法律援助是国家给群众的法律帮助" not in reply.text
    whole = engine.respond("u", "法律援助怎么申请")
    assert "法律援助是国家给群众的法律帮助" in whole.text  # what and how: the answer itself
    assert engine.catalogue.messages["legal_notice"] not in whole.text  # shown once, with the first reply


def test_a_part_word_that_is_the_intents_own_topic_word_asks_for_the_whole_answer(engine: Engine) -> None:
    # 开证明 is a word of the bring part (asked after another service: what to bring) and a topic word of
    # 还要开证明吗: asked of that service itself it names the service, so the whole answer comes.
    alone = engine.respond("u1", "村里办事还要开证明吗")
    assert alone.intent == "certificate_reduction", alone.intent
    assert "办事要开的证明，现在少多了" in alone.text, alone.text
    engine.respond("u2", "司法鉴定去哪做")
    after = engine.respond("u2", "要开什么证明")
    assert after.intent == "judicial_appraisal", after.intent
    assert "报告里没有写要带哪些材料" in after.text, after.text


def test_english_part_words_ask_for_a_part_only_as_whole_words(engine: Engine) -> None:
    # English is read without spaces: a part word must not be found inside another word (feel, coffee,
    # nowhere), or a remark after an answer would be answered as its cost.
    facets = engine.catalogue.facets
    assert asked(facets, "how much does it cost") == (Facet.COST,)
    assert asked(facets, "where do i go") == (Facet.HOW,)
    for remark in ("i feel so bad about this", "coffee", "my phone charger is broken", "what a costume",
                   "i hate the feeling", "can you show to me", "somewhere is fine"):
        assert asked(facets, remark) == (), remark


def test_the_same_question_twice_gets_a_note_not_the_answer_again(engine: Engine) -> None:
    engine.respond("u", "公证")
    again = engine.respond("u", "公证")
    assert again.intent == "notarization"
    assert "「公证」上面已经介绍过了" in again.text and "12348" in again.text
    what = engine.respond("u", "公证是什么意思")  # the answer's one-sentence opening, explained
    assert "公证常用在继承" in what.text
    assert "这一点（是什么）上面已经说过了" in engine.respond("u", "是什么意思").text


def test_a_number_with_no_such_button_says_which_numbers_there_are(engine: Engine) -> None:
    clarify = engine.respond("u", "律师")
    assert clarify.kind == "clarify"
    count = len(clarify.buttons)
    reply = engine.respond("u", "5")
    assert reply.kind == "no_such_number"
    assert reply.text == f"没有第 5 项；请回复 1 到 {count} 之间的数字，或直接打字提问。"
    assert engine.respond("u", "1").intent == clarify.buttons[0].intent  # the buttons are still there
    assert engine.respond("v", "3").text == engine.catalogue.messages["no_numbers"].strip()


def test_the_terminal_menu_lists_areas_then_intents_by_number(engine: Engine) -> None:
    chat = TerminalChat(engine)
    menu = engine.catalogue.menu
    shown = chat.handle("/menu")
    for n, area in enumerate(menu.areas, 1):
        assert f"[{n}] {area.title}" in shown
    assert chat.handle("菜单") == shown
    assert chat.handle("9") == f"没有第 9 项；请回复 1 到 {len(menu.areas)} 之间的数字，或直接打字提问。"
    opened = chat.handle("1")
    first = menu.areas[0]
    assert f"[2] {engine.catalogue.title(first.intents[1])}" in opened
    answer = chat.handle("2")
    assert answer.startswith(engine.catalogue.intents[first.intents[1]].answer.text.strip().splitlines()[0])


def test_the_terminal_chat_answers_menu_in_a_real_session(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    lines = iter(["/menu", "2", "1", "q"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "[1] ⚖️ 公共法律服务" in out and "[1] 最多跑一次" in out
    assert "“最多跑一次”就是让群众办事少跑腿" in out
