"""load_catalogue(): intents/ and content/ become one immutable Catalogue, or a CatalogueError with file:line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from catalogue_factory import ANSWERS, CONVERSATION, MENU, SERVICES, SETTINGS, write_catalogue

from bot.catalogue.loader import MESSAGE_KEYS, Catalogue, load_catalogue
from bot.catalogue.model import Role
from bot.errors import BotError, CatalogueError


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Problems are shown relative to the working directory, as operators run validate from the repo.
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(root: Path, overrides: dict[str, str | None] | None = None) -> Catalogue:
    return load_catalogue(*write_catalogue(root, overrides))


def problems(root: Path, overrides: dict[str, str | None]) -> list[str]:
    with pytest.raises(CatalogueError) as info:
        load(root, overrides)
    return [str(p) for p in info.value.problems]


def test_default_catalogue_loads(root: Path) -> None:
    cat = load(root)
    assert {"legal_aid", "notarization", "people_mediation", "emergency", "greeting"} <= set(cat.intents)
    legal_aid = cat.intents["legal_aid"]
    assert legal_aid.title == "法律援助"
    assert "法律援助怎么申请" in legal_aid.examples
    assert legal_aid.suggest == ("legal_consultation", "people_mediation")
    assert legal_aid.answer.id == "legal_aid"
    assert "全程代办" in legal_aid.answer.text
    assert legal_aid.answer.legal_notice is True
    assert cat.intents["notarization"].answer.legal_notice is False
    assert set(MESSAGE_KEYS) <= set(cat.messages)
    assert cat.out_of_scope
    assert cat.followups


def test_every_intent_and_answer_knows_its_file_and_line(root: Path) -> None:
    cat = load(root)
    legal_aid = cat.intents["legal_aid"]
    assert (legal_aid.source.path, legal_aid.source.line) == ("intents/services.yaml", 2)
    assert (legal_aid.answer.source.path, legal_aid.answer.source.line) == ("content/answers/answers.yaml", 2)
    assert str(cat.intents["emergency"].source) == "intents/conversation.yaml:2"


def test_catalogue_is_immutable(root: Path) -> None:
    cat = load(root)
    with pytest.raises(TypeError):
        cat.intents["x"] = cat.intents["legal_aid"]  # type: ignore[index]
    with pytest.raises(TypeError):
        cat.messages["fallback"] = "changed"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cat.intents["legal_aid"].title = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cat.settings = cat.settings  # type: ignore[misc]
    assert isinstance(cat.intents["legal_aid"].examples, tuple)


def test_keywords_and_triggers_are_normalised(root: Path) -> None:
    cat = load(root, {CONVERSATION: """\
        intents:
          - id: emergency
            title: 紧急求助
            triggers: [打 我！, 想死]
            examples: [他又在打我]
          - id: greeting
            title: 打招呼
            keywords: [ＨＥＬＬＯ]
            examples: [你好]
          - id: thanks
            title: 感谢
            examples: [谢谢]
          - id: goodbye
            title: 再见
            examples: [再见]
        """})
    assert cat.intents["emergency"].triggers == ("打我", "想死")
    assert cat.intents["greeting"].keywords == ("hello",)


def test_answer_defaults_to_the_intent_id_and_can_be_shared(root: Path) -> None:
    cat = load(root, {SERVICES: """\
        intents:
          - id: legal_aid
            title: 法律援助
            examples: [法律援助怎么申请]
          - id: legal_aid.apply
            title: 申请法律援助
            answer: legal_aid
            examples: [去哪里申请法律援助]
          - id: legal_consultation
            title: 法律咨询
            examples: [哪里可以免费咨询法律问题]
          - id: notarization
            title: 公证
            examples: [怎么办公证]
          - id: people_mediation
            title: 人民调解
            examples: [邻居纠纷能找人调解吗]
          - id: online_gov_services
            title: 网上办
            examples: [哪些事情可以在网上办]
        """})
    assert cat.intents["legal_aid.apply"].answer is cat.intents["legal_aid"].answer
    assert cat.intents["legal_aid.apply"].topic == "legal_aid"


def test_yml_extension_is_read(root: Path) -> None:
    intents_dir, content_dir = write_catalogue(root)
    (intents_dir / "extra.yml").write_text(
        "intents:\n  - id: legal_aid.apply\n    title: 申请\n    answer: legal_aid\n    examples: [去哪里申请法律援助]\n",
        encoding="utf-8",
    )
    assert "legal_aid.apply" in load_catalogue(intents_dir, content_dir).intents


def test_matcher_settings_are_read_from_the_file(root: Path) -> None:
    cat = load(root, {SETTINGS: """\
        matcher:
          answer_threshold: 0.8
          clarify_threshold: 0.4
          max_suggestions: 2
          max_message_chars: 300
          fillers: [请问, 嗯]
        """})
    s = cat.settings
    assert (s.answer_threshold, s.clarify_threshold, s.max_suggestions, s.max_message_chars) == (0.8, 0.4, 2, 300)
    assert set(s.fillers) == {"请问", "嗯"}


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ("matcher:\n  answer_threshold: 1.5\n", "intents/settings.yaml:2"),
        ("matcher:\n  clarify_threshold: yes\n", "intents/settings.yaml:2"),
        ("matcher:\n  max_message_chars: -3\n", "intents/settings.yaml:2"),
        ("matcher:\n  answer_threshold: 0.5\n  clarify_threshold: 0.7\n", "intents/settings.yaml:3"),
    ],
)
def test_bad_matcher_settings_are_errors_at_their_line(root: Path, setting: str, line: str) -> None:
    found = problems(root, {SETTINGS: setting})
    assert any(p.startswith(line + ":") for p in found), found


def test_unused_answer_is_a_warning_not_an_error(root: Path) -> None:
    extra = """\
        answers:
          - id: spare
            text: 2020年共接受法律咨询4830余人次。
            source:
              section: 一(六)四
              excerpt: 共接受法律咨询4830余人次
        """
    intents_dir, content_dir = write_catalogue(root, {"content/answers/zz_spare.yaml": extra})
    cat = load_catalogue(intents_dir, content_dir)
    assert "spare" not in cat.intents
    assert any("spare" in w.message and w.is_warning for w in cat.warnings)


def test_missing_emergency_intent_is_a_warning(root: Path) -> None:
    cat = load(root, {CONVERSATION: """\
        intents:
          - id: greeting
            title: 打招呼
            examples: [你好]
        """})
    assert "emergency" not in cat.intents
    assert any("emergency" in w.message and "110" in w.message for w in cat.warnings)


def test_catalogue_error_lists_every_problem_with_file_and_line(root: Path) -> None:
    with pytest.raises(CatalogueError) as info:
        load(root, {SERVICES: """\
            intents:
              - id: legal_aid
                title: 法律援助
                examples: []
              - id: notarization
                title: 公证
                answer: no_such_answer
                examples: [怎么办公证]
            """})
    error = info.value
    assert isinstance(error, BotError)
    text = str(error)
    assert "intents/services.yaml:4:" in text
    assert "intents/services.yaml:7:" in text
    assert list(error.problems) == sorted(error.problems)


def test_answers_outside_the_report_make_loading_fail(root: Path) -> None:
    found = problems(root, {ANSWERS: """\
        answers:
          - id: legal_aid
            text: 2020年办理法律援助案件7600件。
            source:
              section: 一(六)四
              excerpt: 建立健全法律援助“全程代办”
        """})
    assert any("content/answers/answers.yaml:3:" in p and "7600" in p for p in found), found


def test_roles_are_read_from_the_intents(root: Path) -> None:
    cat = load(root)
    assert cat.intents["goodbye"].roles == {Role.SMALL_TALK, Role.WHOLE_MESSAGE, Role.ANYWHERE, Role.ENDS_CONTEXT}
    assert cat.intents["legal_aid"].roles == {Role.ANYWHERE}
    assert cat.intents["notarization"].roles == frozenset()
    assert [i.id for i in cat.with_role(Role.WELCOME)] == ["greeting"]
    assert [i.id for i in cat.with_role(Role.WHOLE_MESSAGE)] == ["greeting", "thanks", "goodbye"]
    assert cat.has_role("thanks", Role.SMALL_TALK)
    assert not cat.has_role("notarization", Role.SMALL_TALK)
    assert not cat.has_role("no_such_intent", Role.SMALL_TALK)
    assert not cat.has_role(None, Role.SMALL_TALK)
    # The matcher learns which intents must be the whole message from the roles, not from a list of ids.
    assert cat.index.whole_message == {"greeting", "thanks", "goodbye"}


def test_a_finer_intent_has_its_topics_roles_but_does_not_welcome(root: Path) -> None:
    finer = """\
        intents:
          - id: legal_aid.apply
            title: 申请法律援助
            answer: legal_aid
            examples: [去哪里申请法律援助]
          - id: greeting.morning
            title: 早上好
            answer: greeting
            examples: [早上好]
        """
    cat = load(root, {"intents/zz_finer.yaml": finer})
    assert cat.intents["legal_aid.apply"].roles == {Role.ANYWHERE}
    assert cat.intents["greeting.morning"].roles == {Role.SMALL_TALK, Role.WHOLE_MESSAGE, Role.ANYWHERE}
    assert [i.id for i in cat.with_role(Role.WELCOME)] == ["greeting"]


def test_the_menu_is_part_of_the_catalogue(root: Path) -> None:
    cat = load(root)
    assert [(a.key, a.title) for a in cat.menu.areas] == [("legal", "公共法律服务"), ("gov", "政务服务")]
    legal = cat.menu.area("legal")
    assert legal is not None
    assert legal.intents == ("legal_aid", "legal_consultation", "people_mediation", "notarization")
    assert str(legal.source) == "intents/menu.yaml:3"
    assert cat.menu.area("retired") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        legal.intents = ()  # type: ignore[misc]


def test_a_catalogue_without_a_menu_loads_with_an_empty_one(root: Path) -> None:
    cat = load(root, {MENU: None})
    assert cat.menu.areas == ()
    assert any("没有菜单" in w.message for w in cat.warnings)



def test_unlisted_intents_are_kept_out_of_the_areas(root: Path) -> None:
    menu = """\
        menu:
          areas:
            - key: legal
              title: 公共法律服务
              intents: [legal_aid, legal_consultation, people_mediation, notarization]
          unlisted: [online_gov_services]
        """
    cat = load(root, {MENU: menu})
    assert [a.key for a in cat.menu.areas] == ["legal"]
    assert cat.menu.unlisted == {"online_gov_services"}
    assert not [w for w in cat.warnings if "菜单" in w.message]
