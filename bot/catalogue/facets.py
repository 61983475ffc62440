"""Answer parts (facets): the words that ask for each one (intents/facets.yaml) and each answer's parts, checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.catalogue.collector import Collector, check_keys, did_you_mean, line_of, string_list, text_value
from bot.catalogue.grounding import ALLOWED_FIGURES, Corpus, ungrounded_figures, unsupported_claims, web_addresses
from bot.catalogue.model import EMERGENCY, Facet, Intent, Part, Role
from bot.catalogue.yamlfile import LineDict
from bot.matching.normalize import normalize

_SETTINGS_KEYS = {"ask", "repeat_words", "parts"}
_KIND_KEYS = {"title", "words", "unsaid"}
_PART_KEYS = {"text", "source", "unsaid"}
_SOURCE_KEYS = {"section", "excerpt"}
UNSAID = "unsaid"  # `cost: unsaid` takes the report-does-not-say sentence of intents/facets.yaml
_NAMES = tuple(f.value for f in Facet)


@dataclass(frozen=True, slots=True)
class FacetKind:
    """One facet as the catalogue defines it: its name for citizens, the words asking for it
    (normalised) and the sentence used where the report says nothing ({ask}: whom to ask)."""

    facet: Facet
    title: str
    words: tuple[str, ...]
    unsaid: str


@dataclass(frozen=True, slots=True)
class Facets:
    """The facets of intents/facets.yaml; empty when a catalogue defines none (then answers are given whole)."""

    kinds: tuple[FacetKind, ...] = ()
    ask: str = ""  # whom to ask, for answers that name no one (`ask:` in an answer)
    repeat_words: tuple[str, ...] = ()  # "再说一遍": the citizen asks for a part again

    @property
    def words(self) -> tuple[str, ...]:
        """Every word that asks for a part of an answer (网上, 多久, 要钱…)."""
        return tuple(word for kind in self.kinds for word in kind.words)

    def kind(self, facet: Facet) -> FacetKind | None:
        """The definition of a facet, or None when the catalogue has none."""
        return next((k for k in self.kinds if k.facet is facet), None)


def read_facets(c: Collector, src: str, data: Any) -> Facets:
    """`facets: {ask, repeat_words, parts: {what: {title, words, unsaid}, …}}`, every facet defined once."""
    if not isinstance(data, LineDict):
        c.error(src, line_of(data), "'facets' 下面应该写 ask:、repeat_words: 和 parts:（每个部分的问法和“报告没写”的说法）")
        return Facets()
    check_keys(c, src, data, _SETTINGS_KEYS, "facets ")
    ask = text_value(c, src, data, "ask", "facets ") or ""
    parts = data.get("parts")
    kinds: list[FacetKind] = []
    if not isinstance(parts, LineDict):
        c.error(src, line_of(data, "parts") if "parts" in data else data.line,
                f"'facets' 缺少 'parts:'；请为每个部分（{'、'.join(_NAMES)}）写 title、words 和 unsaid")
        parts = LineDict()
        parts.line, parts.key_lines = data.line, {}
    for name, spec in parts.items():
        facet = _facet(c, src, line_of(parts, name), name)
        if facet is None:
            continue
        label = f"部分 '{name}' "
        if not isinstance(spec, LineDict):
            c.error(src, line_of(parts, name), f"{label}下面应该写 title、words 和 unsaid")
            continue
        check_keys(c, src, spec, _KIND_KEYS, label)
        title = text_value(c, src, spec, "title", label) or name
        words = tuple(dict.fromkeys(normalize(w) for w, _ in string_list(c, src, spec, "words", label) if normalize(w)))
        if not words:
            c.error(src, line_of(spec, "words") if "words" in spec else spec.line,
                    f"{label}没有问法（words）；至少写一个群众问这一点时会说的词，如“要钱吗”")
        if "unsaid" not in spec:
            c.error(src, spec.line, f"{label}缺少“报告没写”的说法 'unsaid'，例如：报告里没有写费用；请拨打 {{ask}} 问清楚。")
            continue
        unsaid = text_value(c, src, spec, "unsaid", label)
        if unsaid is None:
            continue
        try:
            filled = unsaid.format(ask=ask)
        except (KeyError, IndexError, ValueError):
            c.error(src, line_of(spec, "unsaid"), f"{label}的 unsaid 里只能用 {{ask}}（要问的热线）")
            continue
        _check_text(c, src, line_of(spec, "unsaid"), f"{label}的 unsaid ", filled, None)
        kinds.append(FacetKind(facet, title, words, unsaid))
    for facet in Facet:
        if facet not in {k.facet for k in kinds} and not any(n == facet.value for n in parts):
            c.error(src, parts.line, f"'facets' 缺少部分 '{facet.value}'；每个部分都要写 title、words 和 unsaid")
    repeat = tuple(normalize(w) for w, _ in string_list(c, src, data, "repeat_words", "facets "))
    return Facets(tuple(sorted(kinds, key=lambda k: _NAMES.index(k.facet.value))), ask, tuple(w for w in repeat if w))


def read_parts(c: Collector, src: str, item: LineDict, corpus: Corpus, label: str,
               facets: Facets) -> tuple[tuple[Part, ...], str]:
    """An answer's `facets:` (each from the report, or `unsaid`) and its `ask:`; problems at their line."""
    ask = text_value(c, src, item, "ask", label) if "ask" in item else facets.ask
    if "ask" in item and ask and not _names_hotline(ask):
        c.error(src, line_of(item, "ask"), f"{label}的 ask 应写明热线，如“12348 公共法律服务热线”")
    data = item.get("facets")
    if data is None:
        return (), ask or ""
    if not isinstance(data, LineDict):
        c.error(src, line_of(item, "facets"), f"{label}的 'facets' 应写成“部分: 内容”，部分可用：{'、'.join(_NAMES)}")
        return (), ask or ""
    parts: list[Part] = []
    for name, value in data.items():
        line = line_of(data, name)
        facet = _facet(c, src, line, name)
        if facet is None:
            continue
        part = _read_part(c, src, line, value, corpus, f"{label}的部分 '{name}' ", facet, facets, ask or "")
        if part is not None:
            parts.append(part)
    return tuple(sorted(parts, key=lambda p: _NAMES.index(p.facet.value))), ask or ""


def _read_part(c: Collector, src: str, line: int, value: Any, corpus: Corpus, label: str, facet: Facet,
               facets: Facets, ask: str) -> Part | None:
    if value == UNSAID:
        kind = facets.kind(facet)
        if kind is None:
            c.error(src, line, f"{label}写了 unsaid，但 intents/ 里没有定义这个部分的“报告没写”说法（facets: parts:）")
            return None
        return Part(facet, kind.unsaid.format(ask=ask))
    if not isinstance(value, LineDict):
        c.error(src, line, f"{label}应写 text 和 source（报告章节和逐字摘录），或者报告没写时写 unsaid")
        return None
    check_keys(c, src, value, _PART_KEYS, label)
    if "unsaid" in value:
        text = text_value(c, src, value, "unsaid", label)
        if text is None:
            return None
        _check_text(c, src, line_of(value, "unsaid"), label, text, corpus)
        if not _names_hotline(text):
            c.error(src, line_of(value, "unsaid"), f"{label}说了报告没写，但没有说去哪里问；请写上 12348 或 12345")
        return Part(facet, text)
    text = text_value(c, src, value, "text", label)
    source = value.get("source")
    if not isinstance(source, LineDict):
        c.error(src, line_of(value, "source") if "source" in value else line,
                f"{label}没有出处 source（section 和 excerpt）；报告没写这一点时，请改为 {facet.value}: unsaid")
        return None
    check_keys(c, src, source, _SOURCE_KEYS, f"{label}的 source ")
    section = text_value(c, src, source, "section", f"{label}的 source ")
    excerpt = text_value(c, src, source, "excerpt", f"{label}的 source ")
    if excerpt and not corpus.has_excerpt(excerpt):
        c.error(src, line_of(source, "excerpt"), f"{label}的摘录在报告原文中找不到；请从 content/sources/ 里的报告逐字复制一段")
    if text:
        _check_text(c, src, line_of(value, "text"), label, text, corpus)
    if not (text and section and excerpt):
        return None
    return Part(facet, text, section, excerpt)


def _facet(c: Collector, src: str, line: int, name: str) -> Facet | None:
    if name in _NAMES:
        return Facet(name)
    hint = did_you_mean(name, _NAMES) or f"；可用的部分：{'、'.join(_NAMES)}"
    c.error(src, line, f"未知的部分 '{name}'{hint}")
    return None


def _names_hotline(text: str) -> bool:
    return any(number in text for number in ALLOWED_FIGURES - {"110", "120"})


def _check_text(c: Collector, src: str, line: int, label: str, text: str, corpus: Corpus | None) -> None:
    """The grounding rules every answer text follows; unsaid sentences of intents/ have no corpus at hand
    there, so only their claims and addresses are checked (their figures are the hotlines)."""
    if corpus is not None:
        for figure in ungrounded_figures(text, corpus):
            c.error(src, line, f"{label}中的数字 '{figure}' 在报告中找不到；只能写报告里的数字或 12348、12345、110、120")
        for word in unsupported_claims(text, corpus):
            c.error(src, line, f"{label}说了报告没有写的“{word}”；报告没写的，请说“报告里没有写”，并告诉群众拨打 12348 或 12345 问清楚")
    for address in web_addresses(text):
        c.error(src, line, f"{label}中有网址 '{address}'，报告没有写明；请删去，改为告诉群众去哪里问")


def check_parts(c: Collector, intents: Mapping[str, Intent], facets: Facets) -> None:
    """Warn about service intents whose answer lacks parts, once the catalogue defines facets at all."""
    if not facets.kinds:
        return
    seen: set[str] = set()
    for intent in sorted(intents.values(), key=lambda i: i.answer.source):
        answer = intent.answer
        if intent.id == EMERGENCY or Role.SMALL_TALK in intent.roles or answer.id in seen:
            continue
        seen.add(answer.id)
        missing = [f.value for f in Facet if answer.part(f) is None]
        if len(missing) == len(Facet):
            c.warn(answer.source.path, answer.source.line,
                   f"答案 '{answer.id}' 没有 facets（分部分的回答）；群众追问“要钱吗”“要带什么”时只能把整段再发一遍。"
                   f"请为 {'、'.join(_NAMES)} 各写一段，报告没写的写 unsaid")
        elif missing:
            c.warn(answer.source.path, answer.source.line,
                   f"答案 '{answer.id}' 缺少部分 {'、'.join(missing)}；报告没写的，请写“{missing[0]}: unsaid”")
