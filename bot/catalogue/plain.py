"""Plain-language warnings on answers: a short opening sentence, a short answer, no unexplained slogans."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.catalogue.collector import Collector, check_keys, line_of, string_list
from bot.catalogue.model import Answer
from bot.catalogue.yamlfile import LineDict

_KEYS = {"opening_max", "answer_max", "slogans", "explainers", "explained_within"}
_SENTENCE_END = re.compile(r"[。！？!?\n]")


@dataclass(frozen=True, slots=True)
class PlainLanguage:
    """The limits and the slogan list of `plain_language:` in intents/facets.yaml (none: no warnings)."""

    opening_max: int = 0  # characters of the first sentence; 0: not checked
    answer_max: int = 0  # characters of an answer or one of its parts; 0: not checked
    slogans: tuple[str, ...] = ()  # official phrases a citizen cannot be expected to know
    explainers: tuple[str, ...] = ()  # words that, right after a slogan, explain it (就是, 也就是)
    explained_within: int = 12  # characters after a slogan in which an explainer must stand


def read_plain_language(c: Collector, src: str, data: Any) -> PlainLanguage:
    """`plain_language: {opening_max, answer_max, slogans, explainers, explained_within}`."""
    if not isinstance(data, LineDict):
        c.error(src, line_of(data), "'plain_language' 下面应该写 opening_max、answer_max、slogans 和 explainers")
        return PlainLanguage()
    check_keys(c, src, data, _KEYS, "plain_language ")
    numbers: dict[str, int] = {}
    for key in ("opening_max", "answer_max", "explained_within"):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            c.error(src, line_of(data, key), f"plain_language 的 '{key}' 应为正整数（字数）")
            continue
        numbers[key] = value
    return PlainLanguage(
        slogans=tuple(w for w, _ in string_list(c, src, data, "slogans", "plain_language ")),
        explainers=tuple(w for w, _ in string_list(c, src, data, "explainers", "plain_language ")),
        **numbers,
    )


def opening(text: str) -> str:
    """The first sentence of a text, up to its full stop (or line break)."""
    found = _SENTENCE_END.search(text.strip())
    return text.strip()[: found.start()] if found else text.strip()


def unexplained(text: str, plain: PlainLanguage) -> list[str]:
    """Slogans in the text that no explainer follows closely ("应调尽调" rather than "应调尽调，就是能调解的都先调解")."""
    found = []
    for slogan in plain.slogans:
        start = text.find(slogan)
        while start >= 0:
            after = text[start + len(slogan): start + len(slogan) + plain.explained_within]
            if not any(word in after for word in plain.explainers):
                found.append(slogan)
                break
            start = text.find(slogan, start + 1)
    return found


def _length(text: str) -> int:
    return len(text.replace("\n", "").strip())


def check_plain(c: Collector, answers: Iterable[Answer], plain: PlainLanguage) -> None:
    """A warning (answer file:line) for each long opening, long answer or part, and unexplained slogan."""
    for answer in answers:
        src, line = answer.source.path, answer.source.line
        label = f"答案 '{answer.id}' "
        first = opening(answer.text)
        if plain.opening_max and len(first) > plain.opening_max:
            c.warn(src, line, f"{label}的第一句有 {len(first)} 个字（“{first[:12]}……”）；"
                              f"请先用一句不超过 {plain.opening_max} 个字的大白话说清是什么、能做什么")
        texts = [("", answer.text)] + [(f"的部分 '{p.facet.value}' ", p.text) for p in answer.parts]
        for where, text in texts:
            if plain.answer_max and _length(text) > plain.answer_max:
                c.warn(src, line, f"{label}{where}有 {_length(text)} 个字，超过 {plain.answer_max} 个；"
                                  f"请删去群众用不上的内容，细节放进 facets")
            for slogan in unexplained(text, plain):
                c.warn(src, line, f"{label}{where}用了口号“{slogan}”却没有解释；请用大白话说明（如“{slogan}，就是……”）或删去")
