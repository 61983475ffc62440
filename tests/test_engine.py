"""Engine: replies, per-user context, button presses, feedback, listeners, hot reload and the reply contract."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jsonschema
import pytest
from catalogue_factory import ANSWERS, CONVERSATION, DEFAULT_FILES, MESSAGE_TEXTS, SERVICES, SETTINGS, reply_schema, write_catalogue

from bot.catalogue.loader import Catalogue, load_catalogue
from bot.context import ContextStore
from bot.engine import Engine, Feedback, Reply, Turn
from bot.matching.asked import small_talk_of
from bot.matching.decision import Match, Outcome
from bot.matching.ranking import examine

SHORT = 120  # characters: small talk is a line or two; answers run to about 250
KINDS = {"answer", "followup", "safety", "emergency", "clarify", "fallback", "too_long", "rephrase", "stale_button",
         "no_such_number"}

# spec/evaluation.md: these four keys keep their meaning; more fields may be added.
REPLY_SCHEMA = reply_schema()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    return load_catalogue(*write_catalogue(tmp_path_factory.mktemp("small")))


@pytest.fixture
def engine(small: Catalogue) -> Engine:  # shadows bot.checks.pytest_plugin's shipped engine on purpose
    return Engine(small)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def topic(reply: Reply) -> str | None:
    return reply.intent.split(".")[0] if reply.intent else None


def check_contract(reply: Reply, cat: Catalogue) -> None:
    """The reply object of spec/evaluation.md, with ids that exist in the catalogue."""
    obj = json.loads(json.dumps(reply.to_dict(), ensure_ascii=False))
    jsonschema.validate(obj, REPLY_SCHEMA)
    assert obj["intent"] is None or obj["intent"] in cat.intents
    assert all(s in cat.intents for s in obj["suggestions"]), obj["suggestions"]
    assert len(obj["suggestions"]) <= cat.settings.max_suggestions
    assert obj["reply"] == reply.text
    assert obj["intent"] == reply.intent
    assert isinstance(reply.confidence, float)
    assert 0.0 <= reply.confidence <= 1.0
    assert reply.kind in KINDS


# --- answers and follow-ups -----------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "expected"), [("法律援助怎么申请", "legal_aid"), ("公证处在哪里", "notarization")])
@pytest.mark.parametrize("followup", ["那要多久?", "在哪里办?", "需要钱吗?", "那在哪里办啊"])
def test_elliptical_follow_up_stays_in_the_topic(
    engine: Engine, small: Catalogue, first: str, expected: str, followup: str
) -> None:
    assert topic(engine.respond("u", first)) == expected
    reply = engine.respond("u", followup)
    assert topic(reply) == expected, (followup, reply.kind, reply.suggestions)
    assert small.intents[expected].answer.text in reply.text


def test_a_new_topic_switches(engine: Engine) -> None:
    assert topic(engine.respond("u", "法律援助怎么申请")) == "legal_aid"
    assert topic(engine.respond("u", "公证处在哪里")) == "notarization"
    assert topic(engine.respond("u", "那要多久?")) == "notarization"


def test_each_user_has_their_own_context(engine: Engine) -> None:
    engine.respond("alice", "法律援助怎么申请")
    engine.respond("bob", "公证处在哪里")
    assert topic(engine.respond("carol", "那要多久?")) is None
    assert topic(engine.respond("bob", "那要多久?")) == "notarization"
    assert topic(engine.respond("alice", "那要多久?")) == "legal_aid"


def test_small_talk_does_not_replace_the_topic(engine: Engine) -> None:
    engine.respond("u", "法律援助怎么申请")
    assert engine.respond("u", "谢谢").intent == "thanks"
    assert topic(engine.respond("u", "那要多久?")) == "legal_aid"


def test_goodbye_ends_the_conversation(engine: Engine) -> None:
    engine.respond("u", "法律援助怎么申请")
    assert engine.respond("u", "再见").intent == "goodbye"
    assert topic(engine.respond("u", "那要多久?")) != "legal_aid"


@pytest.mark.parametrize("text", ["今天天气怎么样啊", "红烧肉怎么做才好吃", "帮我写作业", "怎么炒股"])
def test_an_unrelated_message_after_a_topic_is_not_answered_in_that_topic(engine: Engine, text: str) -> None:
    engine.respond("u", "法律援助怎么申请")
    reply = engine.respond("u", text)
    assert topic(reply) != "legal_aid", (text, reply.kind)


def test_context_expires(small: Catalogue) -> None:
    clock = Clock()
    engine = Engine(small, context=ContextStore(ttl=600, clock=clock))
    engine.respond("u", "法律援助怎么申请")
    clock.now += 300
    assert topic(engine.respond("u", "那要多久?")) == "legal_aid"
    clock.now += 601
    assert topic(engine.respond("u", "那要多久?")) != "legal_aid"


def test_context_is_bounded_in_users(small: Catalogue) -> None:
    engine = Engine(small, context=ContextStore(max_users=2))
    engine.respond("a", "法律援助怎么申请")
    engine.respond("b", "公证处在哪里")
    engine.respond("c", "邻居纠纷能找人调解吗")
    assert len(engine.context) <= 2
    assert topic(engine.respond("a", "那要多久?")) != "legal_aid"  # the least recent user was evicted
    assert topic(engine.respond("c", "那要多久?")) == "people_mediation"
    for n in range(200):
        engine.respond(f"user{n}", "公证处在哪里")
    assert len(engine.context) <= 2


# --- small talk, fallbacks, clarifications --------------------------------------------------------------


@pytest.mark.parametrize(("text", "intent"), [("你好", "greeting"), ("在吗", "greeting"), ("谢谢", "thanks"),
                                              ("辛苦了", "thanks"), ("再见", "goodbye"), ("拜拜", "goodbye")])
def test_small_talk_gets_a_short_reply(engine: Engine, text: str, intent: str) -> None:
    reply = engine.respond("u", text)
    assert reply.intent == intent
    assert 0 < len(reply.text) <= SHORT


@pytest.mark.parametrize(("text", "intent"), [("你好", "greeting"), ("谢谢", "thanks"), ("再见", "goodbye")])
def test_shipped_small_talk_gets_a_short_reply(shipped_catalogue: Catalogue, text: str, intent: str) -> None:
    reply = Engine(shipped_catalogue).respond("u", text)
    assert reply.intent == intent
    assert 0 < len(reply.text) <= SHORT, reply.text


@pytest.mark.parametrize(("text", "intent"), [
    ("晓得咯，多谢", "thanks"),  # 晓得咯 alone is no intent: the thanks is said in passing
    ("好的，懂了，拜拜", "goodbye"),
    ("辛苦你们了，讲得真细", "thanks"),
])
def test_small_talk_said_in_passing_is_answered(shipped_catalogue: Catalogue, text: str, intent: str) -> None:
    assert Engine(shipped_catalogue).respond("u", text).intent == intent, text


@pytest.mark.parametrize(("text", "intent"), [
    ("辛苦了，小助手", "thanks"),  # 小助手 alone is a greeting too: on a tie, the first
    ("好的，谢谢，再见", "goodbye"),  # a goodbye closes what came before it
])
def test_small_talk_in_passing_on_a_tie(shipped_catalogue: Catalogue, text: str, intent: str) -> None:
    nothing = Match(Outcome.FALLBACK, None, 0.0, None, ())
    query = examine(text, shipped_catalogue.index).query
    assert small_talk_of(nothing, query, shipped_catalogue.index, shipped_catalogue.has_role).intent == intent


@pytest.mark.parametrize(("text", "intent"), [
    ("谢谢，公证要带什么材料", "notarization"),  # a question: the service it asks about
    ("你好，法律援助在哪里申请", "legal_aid"),
])
def test_small_talk_beside_a_question_leaves_the_question_answered(shipped_catalogue: Catalogue, text: str,
                                                                   intent: str) -> None:
    assert Engine(shipped_catalogue).respond("u", text).intent == intent, text


def test_out_of_scope_gets_the_fallback_text(engine: Engine, small: Catalogue) -> None:
    reply = engine.respond("u", "今天天气怎么样啊")
    assert reply.intent is None
    assert reply.suggestions == ()
    assert reply.text == small.messages["fallback"]
    assert "12348" in reply.text
    assert "12345" in reply.text


@pytest.mark.parametrize("text", ["公证和调解", "调解和公证哪个好", "公证跟调解有什么区别"])
def test_a_message_naming_two_topics_is_clarified(engine: Engine, text: str) -> None:
    reply = engine.respond("u", text)
    assert reply.kind == "clarify", (text, reply.kind, reply.confidence)
    assert {"people_mediation", "notarization"} <= set(reply.suggestions)


# Messages a matcher can hardly answer outright: two topic words, or a word shared by two topics.
AMBIGUOUS = ["公证和调解", "公证调解", "调解 公证", "法律", "律师", "调解和公证哪个好"]


def first_clarify(engine: Engine) -> Reply:
    for n, text in enumerate(AMBIGUOUS):
        reply = engine.respond(f"ambiguous{n}", text)
        if reply.kind == "clarify":
            return reply
    raise AssertionError(f"none of {AMBIGUOUS} was clarified")


def test_clarify_offers_distinct_topics_as_buttons(engine: Engine, small: Catalogue) -> None:
    reply = first_clarify(engine)
    assert reply.intent is None
    assert reply.outcome is Outcome.CLARIFY
    assert 1 <= len(reply.suggestions) <= 3
    assert len({s.split(".")[0] for s in reply.suggestions}) == len(reply.suggestions)
    assert [b.intent for b in reply.buttons] == list(reply.suggestions)
    assert [b.title for b in reply.buttons] == [small.intents[s].title for s in reply.suggestions]
    assert reply.text.startswith(small.messages["clarify"])
    for s in reply.suggestions:
        assert small.intents[s].title in reply.text
    check_contract(reply, small)


def test_clarify_never_offers_small_talk_for_a_question(shipped_catalogue: Catalogue) -> None:
    engine = Engine(shipped_catalogue)
    for text in ["需要钱吗", "在外面打工工资不给", "明天会下雨吗", "办这个要多久"]:
        reply = engine.respond(f"fresh-{text}", text)
        offered = {s.split(".")[0] for s in reply.suggestions}
        assert not offered & {"greeting", "thanks", "goodbye"}, (text, reply.suggestions)


def test_legal_answers_carry_the_legal_notice(engine: Engine, small: Catalogue) -> None:
    reply = engine.respond("u", "法律援助怎么申请")
    assert small.messages["legal_notice"] in reply.text
    assert small.messages["legal_notice"] not in engine.respond("u", "公证处在哪里").text


def test_answer_offers_the_suggested_intents_as_buttons(engine: Engine, small: Catalogue) -> None:
    reply = engine.respond("u", "法律援助怎么申请")
    assert reply.suggestions == small.intents["legal_aid"].suggest
    assert [(b.title, b.intent) for b in reply.buttons] == [(small.intents[s].title, s) for s in reply.suggestions]


async def test_async_reply_is_the_same_as_respond(engine: Engine) -> None:
    reply = await engine.reply("u", "法律援助怎么申请", channel="telegram")
    assert reply.intent == "legal_aid"
    assert reply == engine.respond("v", "法律援助怎么申请")


# --- buttons, feedback, listeners -----------------------------------------------------------------------


def test_unknown_button_gets_the_stale_button_reply(engine: Engine, small: Catalogue) -> None:
    reply = engine.choose("u", "no_such_intent")
    assert reply.kind == "stale_button"
    assert reply.intent is None
    assert reply.text == small.messages["stale_button"] == MESSAGE_TEXTS["stale_button"]
    check_contract(reply, small)


def test_button_answers_its_intent_and_sets_the_topic(engine: Engine, small: Catalogue) -> None:
    reply = engine.choose("u", "notarization")
    assert reply.intent == "notarization"
    assert small.intents["notarization"].answer.text in reply.text
    assert topic(engine.respond("u", "那要多久?")) == "notarization"


@pytest.mark.parametrize("number", ["2", "２", "2。", " 2 "])
def test_a_bare_number_presses_that_button(engine: Engine, number: str) -> None:
    shown = engine.respond("u", "法律援助怎么申请")
    assert len(shown.buttons) >= 2
    reply = engine.respond("u", number)
    assert reply.intent == shown.buttons[1].intent
    assert reply.kind == "answer"


@pytest.mark.parametrize("number", ["0", "9", "12"])
def test_a_number_without_such_a_button_is_an_ordinary_message(engine: Engine, number: str) -> None:
    engine.respond("u", "法律援助怎么申请")
    assert engine.respond("u", number).kind != "answer"


def test_numbers_pick_only_from_the_same_users_buttons(engine: Engine) -> None:
    engine.respond("u", "法律援助怎么申请")
    assert engine.respond("v", "1").kind != "answer"


def test_feedback_returns_thanks_and_notifies_listeners(engine: Engine, small: Catalogue) -> None:
    seen: list[Feedback] = []

    def broken(_: Feedback) -> None:
        raise RuntimeError("listener bug")

    engine.feedback_listeners.extend([broken, seen.append])
    text = engine.feedback("u", "legal_aid", False, channel="telegram")
    assert text == small.messages["feedback_thanks"]
    assert seen == [Feedback("u", "telegram", "legal_aid", False)]


def test_turn_listeners_see_every_turn_with_the_raw_text(engine: Engine) -> None:
    turns: list[Turn] = []

    def broken(_: Turn) -> None:
        raise RuntimeError("listener bug")

    engine.listeners.extend([broken, turns.append])
    first = engine.respond("u1", "请问一下，法律援助怎么申请？😀", channel="http")
    second = engine.choose("u2", "notarization", channel="telegram")
    assert [(t.user, t.channel, t.reply) for t in turns] == [("u1", "http", first), ("u2", "telegram", second)]
    assert turns[0].text == "请问一下，法律援助怎么申请？😀"
    assert all(t.millis >= 0 for t in turns)


# --- reload ---------------------------------------------------------------------------------------------


@pytest.fixture
def disk_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.chdir(tmp_path)
    intents_dir, content_dir = write_catalogue(tmp_path)
    return Engine.from_paths(intents_dir, content_dir)


NEW_LEGAL_AID = """\
answers:
  - id: legal_aid
    text: 新版答案：2020年办理法律援助案件760件。
    source:
      section: 一(六)四
      excerpt: 建立健全法律援助“全程代办”
"""


def _replace_legal_aid_answer(content_dir: Path, new: str) -> None:
    path = content_dir / "answers" / Path(ANSWERS).name
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: legal_aid\n")
    end = text.index("  - id: legal_consultation\n")
    path.write_text(text[:start] + new.split("answers:\n", 1)[1] + text[end:], encoding="utf-8")


async def test_broken_reload_keeps_the_old_catalogue(disk_engine: Engine) -> None:
    old = disk_engine.catalogue
    assert disk_engine.intents_dir is not None
    broken = disk_engine.intents_dir / "zz_broken.yaml"
    broken.write_text("intents:\n  - id: legal_aid.apply\n    title: 申请\n    answer: nowhere\n"
                      "    examples: [去哪里申请法律援助]\n", encoding="utf-8")
    problems = await disk_engine.reload()
    assert problems
    assert any(str(p).startswith("intents/zz_broken.yaml:4:") for p in problems), [str(p) for p in problems]
    assert disk_engine.catalogue is old
    assert disk_engine.last_reload_problems == problems
    assert disk_engine.reload_failures == 1
    assert disk_engine.respond("u", "法律援助怎么申请").intent == "legal_aid"


async def test_good_reload_swaps_the_catalogue_whole(disk_engine: Engine) -> None:
    old = disk_engine.catalogue
    old_text = old.intents["legal_aid"].answer.text
    assert disk_engine.content_dir is not None
    assert disk_engine.intents_dir is not None
    (disk_engine.intents_dir / "zz_broken.yaml").write_text("intents: [oops\n", encoding="utf-8")
    assert await disk_engine.reload()
    (disk_engine.intents_dir / "zz_broken.yaml").unlink()
    _replace_legal_aid_answer(disk_engine.content_dir, NEW_LEGAL_AID)
    disk_engine.respond("u", "公证处在哪里")  # a conversation in progress

    assert await disk_engine.reload() == ()
    assert disk_engine.last_reload_problems == ()
    assert disk_engine.catalogue is not old
    assert "新版答案" in disk_engine.respond("v", "法律援助怎么申请").text
    assert old.intents["legal_aid"].answer.text == old_text  # the old catalogue was not edited in place
    assert topic(disk_engine.respond("u", "那要多久?")) == "notarization"  # context survives a reload


async def test_reload_without_paths_does_nothing(small: Catalogue) -> None:
    engine = Engine(small)
    assert await engine.reload() == ()
    assert engine.catalogue is small


# --- the reply contract and bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["法律援助怎么申请", *AMBIGUOUS, "今天天气怎么样", "他又在打我", "你好", "", "😀", "x" * 5000],
)
def test_every_reply_keeps_the_contract(engine: Engine, small: Catalogue, text: str) -> None:
    check_contract(engine.respond("u", text), small)


def test_follow_up_reply_keeps_the_contract(engine: Engine, small: Catalogue) -> None:
    engine.respond("u", "法律援助怎么申请")
    reply = engine.respond("u", "那要多久?")
    assert reply.kind == "followup"
    check_contract(reply, small)


def _garbage(seed: int, size: int) -> str:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(size)).decode("utf-8", errors="replace")


BAD_INPUT = [
    pytest.param("", id="empty"),
    pytest.param("   \t\n  ", id="whitespace"),
    pytest.param("\u3000\u3000", id="ideographic-space"),
    pytest.param("😀🙏❤️👍" * 10, id="only-emoji"),
    pytest.param("\x00\x01\x02\x1b[31m\x7f", id="control"),
    pytest.param("\u200b\u200c\u200d\ufeff\u2060", id="zero-width"),
    pytest.param("？！。，、……——", id="punctuation"),
    pytest.param("法" * 4096, id="4096-han"),
    pytest.param("a" * 4097, id="4097-latin"),
    pytest.param("法律援助怎么申请" * 12_500, id="100k"),
    pytest.param("x" * 100_000 + "法律援助", id="100k-then-topic"),
    pytest.param("法律援助 legal aid помощь مساعدة 법률 援助", id="mixed-scripts"),
    pytest.param("\u202e助援律法\u202c", id="bidi-override"),
    pytest.param(_garbage(1, 64), id="garbage-64"),
    pytest.param(_garbage(2, 5000), id="garbage-5000"),
    pytest.param("\ud800法律援助\udfff", id="lone-surrogates"),
    pytest.param("\udcff\udcfe", id="only-surrogates"),
    pytest.param("法律援助\x00\x00\x00", id="nul-after-topic"),
]


@pytest.mark.parametrize("text", BAD_INPUT)
def test_bad_input_always_gets_a_reply(engine: Engine, small: Catalogue, text: str) -> None:
    reply = engine.respond("u", text)
    assert reply.text.strip()
    assert 0.0 <= reply.confidence <= 1.0
    assert reply.kind in KINDS
    assert reply.intent is None or reply.intent in small.intents


def test_engine_reads_only_a_bounded_prefix(engine: Engine, small: Catalogue) -> None:
    # The topic word sits beyond what the engine reads: answering it would mean reading all 100k characters.
    limit = small.settings.max_message_chars
    reply = engine.respond("u", "x" * max(100_000, limit * 10) + "法律援助怎么申请")
    assert topic(reply) != "legal_aid"
    assert reply.text.strip()
    assert topic(engine.respond("v", "法律援助怎么申请" + "x" * 100_000)) in ("legal_aid", None)


@pytest.mark.parametrize(
    "text", ["", "   ", "😀😀😀", "\u200b\ufeff", "\x00\x01", "？！。"], ids=["empty", "spaces", "emoji", "zw", "ctl", "punct"]
)
def test_nothing_readable_asks_to_rephrase(engine: Engine, small: Catalogue, text: str) -> None:
    reply = engine.respond("u", text)
    assert reply.kind == "rephrase"
    assert reply.intent is None
    assert reply.text == small.messages["rephrase"]


def test_non_string_text_is_treated_as_empty(engine: Engine) -> None:
    reply = engine.respond("u", None)  # type: ignore[arg-type]
    assert reply.intent is None
    assert reply.text


def test_reply_outcome_matches_intent(engine: Engine) -> None:
    answered = engine.respond("u", "法律援助怎么申请")
    assert answered.outcome is Outcome.ANSWER
    assert answered.intent == "legal_aid"
    clarified = first_clarify(engine)
    assert clarified.outcome is Outcome.CLARIFY
    assert clarified.intent is None
    fallen = engine.respond("w", "今天天气怎么样啊")
    assert fallen.outcome is Outcome.FALLBACK
    assert fallen.intent is None


def test_lone_surrogates_never_reach_listeners(engine: Engine) -> None:
    # Whatever is stored or logged must be encodable; a broken client's surrogate is replaced.
    turns: list[Turn] = []
    engine.listeners.append(turns.append)
    reply = engine.respond("u", "\ud800法律援助怎么申请\udfff")
    assert reply.intent == "legal_aid"
    turns[-1].text.encode("utf-8")
    assert "法律援助怎么申请" in turns[-1].text


async def test_a_reload_that_cannot_read_the_report_keeps_serving(tmp_path: Path) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path)
    engine = Engine.from_paths(intents_dir, content_dir)
    (content_dir / "sources" / "broken.txt").write_bytes(b"\xb7\xa8")
    problems = await engine.reload()
    assert problems
    assert "UTF-8" in str(problems[0])
    assert engine.last_reload_problems == problems
    assert engine.reload_failures == 1
    assert engine.respond("u", "法律援助怎么申请").intent == "legal_aid"


# --- roles: the catalogue says what is small talk, what ends a conversation, what holds anywhere ---------

THANKS_ROLES = "roles: [small_talk, whole_message, anywhere]\n"


def engine_with(tmp_path: Path, overrides: dict[str, str | None]) -> Engine:
    return Engine(load_catalogue(*write_catalogue(tmp_path, overrides)))


def test_goodbye_ends_the_conversation_by_its_role(tmp_path: Path) -> None:
    engine = engine_with(tmp_path, {CONVERSATION: DEFAULT_FILES[CONVERSATION].replace(", ends_context]", "]")})
    engine.respond("u", "法律援助怎么申请")
    assert engine.respond("u", "再见").intent == "goodbye"
    assert topic(engine.respond("u", "那要多久?")) == "legal_aid"  # without ends_context the topic outlives it


def test_any_intent_with_the_ends_context_role_ends_the_conversation(tmp_path: Path) -> None:
    text = DEFAULT_FILES[CONVERSATION].replace(THANKS_ROLES, "roles: [small_talk, whole_message, anywhere, ends_context]\n")
    engine = engine_with(tmp_path, {CONVERSATION: text})
    engine.respond("u", "法律援助怎么申请")
    assert engine.respond("u", "谢谢").intent == "thanks"
    assert topic(engine.respond("u", "那要多久?")) != "legal_aid"


def test_a_renamed_intent_marked_small_talk_behaves_as_small_talk(tmp_path: Path) -> None:
    engine = engine_with(tmp_path, {CONVERSATION: DEFAULT_FILES[CONVERSATION].replace("id: thanks", "id: gratitude"),
                                    ANSWERS: DEFAULT_FILES[ANSWERS].replace("id: thanks", "id: gratitude")})
    engine.respond("u", "法律援助怎么申请")
    reply = engine.respond("u", "谢谢")
    assert (reply.intent, reply.is_rateable) == ("gratitude", False)
    assert topic(engine.respond("u", "那要多久?")) == "legal_aid"


def test_without_the_small_talk_role_an_intent_becomes_the_topic_and_is_rated(tmp_path: Path) -> None:
    engine = engine_with(tmp_path, {CONVERSATION: DEFAULT_FILES[CONVERSATION].replace(THANKS_ROLES, "roles: [whole_message]\n")})
    engine.respond("u", "法律援助怎么申请")
    reply = engine.respond("u", "谢谢")
    assert (reply.intent, reply.is_rateable) == ("thanks", True)
    assert engine.context.get("u") is not None
    assert engine.context.get("u").intent == "thanks"  # type: ignore[union-attr]


def test_only_service_answers_are_rated(engine: Engine) -> None:
    assert engine.respond("u", "法律援助怎么申请").is_rateable
    assert not engine.respond("u", "你好").is_rateable
    assert not engine.respond("u", "他又在打我").is_rateable


@pytest.mark.parametrize(("anywhere", "text", "answered"), [
    ("legal_aid", "杭州的法律援助怎么申请", "legal_aid"),
    ("notarization", "杭州的法律援助怎么申请", None),  # legal_aid without the role: ask where you are
    ("notarization", "杭州的公证处在哪里", "notarization"),
])
def test_the_anywhere_role_answers_a_message_about_another_city(tmp_path: Path, anywhere: str, text: str,
                                                                answered: str | None) -> None:
    settings = DEFAULT_FILES[SETTINGS].replace("        matcher:\n", "        matcher:\n          other_places: [杭州]\n")
    services = DEFAULT_FILES[SERVICES].replace("            roles: [anywhere]\n", "").replace(
        f"          - id: {anywhere}\n", f"          - id: {anywhere}\n            roles: [anywhere]\n")
    engine = engine_with(tmp_path, {SETTINGS: settings, SERVICES: services})
    reply = engine.respond("u", text)
    assert reply.intent == answered
    if answered is None:
        assert reply.text == MESSAGE_TEXTS["elsewhere"].format(place="杭州")


@pytest.mark.parametrize(("first", "topic", "then", "stays"), [
    ("公证怎么办", "notarization", "那能在网上弄吗", True),  # 网上 asks how: no topic of its own
    ("营业执照怎么办", "license_reform", "那可以网上办吗", True),
    ("投诉律师去哪", "lawyer_complaint", "那一般多久有结果", True),
    ("法律援助怎么申请", "legal_aid", "那公证要多久", False),  # names another topic: it switches
    ("律师收了钱不办事", "lawyer_complaint", "去哪投诉", True),  # short, without 那: leans towards the topic
    ("城管乱罚款去哪投诉", "enforcement_supervision", "多久能有结果", True),
    ("律师收了钱不办事", "lawyer_complaint", "公证处在哪", False),
    ("法律援助怎么申请", "legal_aid", "公证", False),  # a topic word alone, answered with room to spare
    ("律师收了钱不办事", "lawyer_complaint", "谢了", False),  # small talk is no question about the topic
])
def test_a_follow_up_with_a_weak_word_of_another_topic_stays_in_the_topic(
        shipped_catalogue: Catalogue, first: str, topic: str, then: str, stays: bool) -> None:
    engine = Engine(shipped_catalogue)
    assert engine.respond("u", first).intent == topic
    reply = engine.respond("u", then)
    assert (reply.intent == topic) is stays
    assert reply.intent is not None
