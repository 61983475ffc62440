"""Grounding: the shipped answers state only what the 2020 report states, and cover every catalogue id."""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from catalogue_factory import ANSWERS, SHIPPED_CONTENT, SHIPPED_INTENTS, write_catalogue

from bot.catalogue.loader import load_catalogue
from bot.errors import CatalogueError
from bot.catalogue.grounding import (
    ALLOWED_FIGURES,
    Corpus,
    figures,
    ungrounded_figures,
    web_addresses,
)

# spec/intent-catalogue.md: every one of these ids must exist as an intent with an answer.
SPEC_IDS = (
    # 公共法律服务
    "legal_consultation", "legal_aid", "notarization", "judicial_appraisal", "people_mediation",
    "mediation_center", "admin_reconsideration", "admin_dispute", "admin_litigation", "lawyer_complaint",
    "enterprise_legal_service", "military_legal_service", "judicial_office", "judicial_assistant_recruitment",
    # 政务服务
    "zuiduo_paoyici", "online_gov_services", "township_service_center", "certificate_reduction",
    "one_window_service", "service_evaluation", "enterprise_utilities", "investment_approval", "license_reform",
    "business_environment", "ip_protection", "social_credit", "gov_info_disclosure", "public_rental_housing",
    # 执法与监督
    "admin_law_enforcement", "enforcement_supervision", "food_safety", "special_equipment_safety", "epidemic_legal",
    # 法治建设
    "legal_publicity", "democratic_law_village", "major_decisions", "normative_documents", "report_overview",
    "report_problems", "plan_2021",
    # 对话
    "greeting", "thanks", "goodbye", "bot_capabilities", "human_agent", "emergency",
)
# spec/intent-catalogue.md: national, stable numbers allowed without the report.
ALLOWLIST = frozenset({"12348", "12345", "110", "120", "119"})
# Integers, decimals, percentages and ordinals (第7), written with ASCII or full-width digits.
_FIGURE = re.compile(r"第?\d+(?:\.\d+)?%?")


# --- an independent check, so the test does not grade the validator with itself ------------------------


def report_text(content_dir: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((content_dir / "sources").glob("*.txt")))


def stated_in(figure: str, report: str) -> bool:
    """The figure stands in the report as written: 760 is not in 7600, 99.4 is not in 99.45."""
    return re.search(rf"(?<![\d.]){re.escape(figure)}(?!\d|\.\d)", report) is not None


def ungrounded(text: str, report: str) -> list[str]:
    found = _FIGURE.findall(unicodedata.normalize("NFKC", text))
    return [f for f in found if f.removeprefix("第") not in ALLOWLIST and not stated_in(f, report)]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def answers(content_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((content_dir / "answers").glob("*.y*ml")):
        for item in (_yaml(path) or {}).get("answers") or []:
            out.append((f"{path.name}:{item.get('id')}", item))
    return out


def messages(content_dir: Path) -> dict[str, str]:
    return {str(k): str(v) for k, v in (_yaml(content_dir / "messages.yaml") or {}).items()}


def intents(intents_dir: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(intents_dir.glob("*.y*ml")):
        out += (_yaml(path) or {}).get("intents") or []
    return out


def grounding_failures(intents_dir: Path, content_dir: Path) -> list[str]:
    """Every figure, excerpt and web address that the report does not back, as 'where: what'."""
    report = report_text(content_dir)
    failures = []
    for where, item in answers(content_dir):
        text = str(item.get("text", ""))
        failures += [f"{where}: figure {f}" for f in ungrounded(text, report)]
        failures += [f"{where}: web address {a}" for a in web_addresses(text)]
        excerpt = str((item.get("source") or {}).get("excerpt", "")).strip()
        if not excerpt or excerpt not in report:
            failures.append(f"{where}: excerpt {excerpt!r} is not in the report")
    for key, text in messages(content_dir).items():
        failures += [f"messages.yaml:{key}: figure {f}" for f in ungrounded(text, report)]
    return failures


@functools.cache
def shipped_report() -> str:
    return report_text(SHIPPED_CONTENT)


# --- the shipped catalogue ------------------------------------------------------------------------------


def test_every_figure_in_shipped_answers_is_in_the_report() -> None:
    report = shipped_report()
    bad = [f"{where}: {f}" for where, item in answers(SHIPPED_CONTENT) for f in ungrounded(str(item["text"]), report)]
    assert bad == []


def test_every_figure_in_shipped_messages_is_in_the_report() -> None:
    report = shipped_report()
    bad = [f"{key}: {f}" for key, text in messages(SHIPPED_CONTENT).items() for f in ungrounded(text, report)]
    assert bad == []


def test_every_figure_on_a_button_title_is_in_the_report() -> None:
    report = shipped_report()
    bad = [f"{i['id']}: {f}" for i in intents(SHIPPED_INTENTS) for f in ungrounded(str(i.get("title", "")), report)]
    assert bad == []


def test_every_shipped_excerpt_is_verbatim_in_the_report() -> None:
    report = shipped_report()
    bad = []
    for where, item in answers(SHIPPED_CONTENT):
        excerpt = str((item.get("source") or {}).get("excerpt", "")).strip()
        if not excerpt or excerpt not in report:
            bad.append(f"{where}: {excerpt!r}")
    assert bad == []


def test_every_shipped_answer_names_a_report_section() -> None:
    bad = [where for where, item in answers(SHIPPED_CONTENT) if not str((item.get("source") or {}).get("section", "")).strip()]
    assert bad == []


def test_no_web_address_in_shipped_answers_or_messages() -> None:
    texts = [(w, str(i["text"])) for w, i in answers(SHIPPED_CONTENT)] + list(messages(SHIPPED_CONTENT).items())
    assert [(w, web_addresses(t)) for w, t in texts if web_addresses(t)] == []


@functools.cache
def shipped_ids() -> dict[str, str]:
    """Intent id -> the answer id it uses, from the shipped intents/."""
    return {str(i["id"]): str(i.get("answer", i["id"])) for i in intents(SHIPPED_INTENTS) if "id" in i}


@functools.cache
def shipped_answer_ids() -> frozenset[str]:
    return frozenset(str(item.get("id")) for _, item in answers(SHIPPED_CONTENT))


@pytest.mark.parametrize("intent_id", SPEC_IDS)
def test_every_catalogue_id_has_an_intent_with_an_answer(intent_id: str) -> None:
    ids = shipped_ids()
    assert intent_id in ids, f"intent '{intent_id}' of spec/intent-catalogue.md is not in intents/"
    assert ids[intent_id] in shipped_answer_ids(), f"intent '{intent_id}' has no answer '{ids[intent_id]}'"


def test_shipped_catalogue_passes_the_independent_check() -> None:
    assert grounding_failures(SHIPPED_INTENTS, SHIPPED_CONTENT) == []


# --- the check itself can fail --------------------------------------------------------------------------

WRONG_FIGURE = """\
    answers:
      - id: legal_aid
        text: 2020年办理法律援助案件7600件。请拨打 12348 咨询。
        source:
          section: 一(六)四
          excerpt: 建立健全法律援助“全程代办”
      - id: legal_consultation
        text: 共接受法律咨询4830余人次，调处率100%，成功率99.4%。
        source:
          section: 一(六)四
          excerpt: 共接受法律咨询4830余人次
      - id: notarization
        text: 办理公证1639件，全国排名第8。
        source:
          section: 一(六)四
          excerpt: 公证一千六百多件
    """


def test_a_deliberately_wrong_figure_fails_the_check(tmp_path: Path) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path, {ANSWERS: WRONG_FIGURE})
    failures = grounding_failures(intents_dir, content_dir)
    assert any("legal_aid: figure 7600" in f for f in failures), failures
    assert any("legal_consultation: figure 99.4%" in f for f in failures), failures
    assert any("notarization: figure 第8" in f for f in failures), failures
    assert any("notarization: excerpt" in f for f in failures), failures
    # grounded figures and the allowlist pass
    assert not any(x in f for f in failures for x in ("12348", "4830", "100%", "1639"))


def test_the_loader_rejects_the_same_catalogue(tmp_path: Path) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path, {ANSWERS: WRONG_FIGURE})
    with pytest.raises(CatalogueError) as info:
        load_catalogue(intents_dir, content_dir)
    text = str(info.value)
    for figure in ("7600", "99.4%", "第8"):
        assert figure in text, text
    assert "摘录" in text


def test_the_default_test_catalogue_is_grounded(tmp_path: Path) -> None:
    assert grounding_failures(*write_catalogue(tmp_path)) == []


# --- bot.catalogue.grounding, as a table --------------------------------------------------------------------------

CORPUS = Corpus("办理法律援助案件760件、司法鉴定486件,成功率99.45%,调处率100%,全国排名第7,政务服务2.0平台")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("办理法律援助案件760件", []),
        ("办理法律援助案件7600件", ["7600"]),
        ("办理76件", ["76"]),
        ("成功率99.45%", []),
        ("成功率99.4%", ["99.4%"]),
        ("成功率99%", ["99%"]),
        ("排名第7", []),
        ("排名第8", ["第8"]),
        ("调处率１００％", []),  # full-width, as pasted from a phone
        ("鉴定４８６件", []),
        ("政务服务2.0", []),
        ("拨打 12348、12345、110 或 120", []),
        ("没有数字", []),
    ],
)
def test_ungrounded_figures(text: str, expected: list[str]) -> None:
    assert ungrounded_figures(text, CORPUS) == expected


def test_allowed_figures_are_the_spec_allowlist() -> None:
    assert ALLOWED_FIGURES == ALLOWLIST


@pytest.mark.parametrize(
    ("text", "expected"),
    [("760件、99.45%、第7", ["760", "99.45%", "第7"]), ("无", []), ("１２３４８", ["12348"])],
)
def test_figures(text: str, expected: list[str]) -> None:
    assert figures(text) == expected


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("详见 https://www.example.com/a", True),
        ("登录 www.zjzwfw.gov.cn 办理", True),
        ("访问 jiangshan.gov.cn", True),
        ("拨打 12348 咨询", False),
        ("政务服务2.0平台", False),
        ("成功率99.45%。", False),
    ],
)
def test_web_addresses(text: str, found: bool) -> None:
    assert bool(web_addresses(text)) is found


@pytest.mark.parametrize(
    ("excerpt", "found"),
    [("司法鉴定486件", True), ("司法鉴定 486 件", False), ("", False), ("   ", False), ("成功率99.45%", True)],
)
def test_corpus_has_excerpt_verbatim(excerpt: str, found: bool) -> None:
    assert CORPUS.has_excerpt(excerpt) is found
