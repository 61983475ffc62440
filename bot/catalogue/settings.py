"""The matcher's settings from intents/: thresholds and lists under `matcher:`, word lists under `words:`."""

from __future__ import annotations

from typing import Any

from bot.catalogue.model import WORD_LISTS, MatcherSettings, Words
from bot.catalogue.collector import Collector, check_keys, line_of, string_list
from bot.catalogue.yamlfile import LineDict, LineList
from bot.matching.normalize import normalize, prepare

MATCHER_KEYS = {
    "answer_threshold", "clarify_threshold", "ambiguity_gap", "clear_margin",
    "max_suggestions", "max_message_chars", "fillers", "synonyms",
    "local_places", "other_places", "abroad_places", "out_of_scope_words",
}
PLACE_LISTS = ("local_places", "other_places", "abroad_places", "out_of_scope_words")


def read_settings(c: Collector, src: str, data: Any) -> MatcherSettings | None:
    if not isinstance(data, LineDict):
        c.error(src, line_of(data), "'matcher' 应该是“名称: 数值”的设置")
        return None
    check_keys(c, src, data, MATCHER_KEYS, "matcher 设置")
    values: dict[str, Any] = {}
    for key in MATCHER_KEYS - {"fillers", "synonyms", *PLACE_LISTS}:
        if key not in data:
            continue
        value = data[key]
        integer = key in {"max_suggestions", "max_message_chars"}
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok or not ((1 if integer else 0) <= value <= (100000 if integer else 1)):
            expected = "正整数" if integer else "0 到 1 之间的小数"
            c.error(src, line_of(data, key), f"matcher 设置 '{key}' 的值 '{value}' 不对；应为{expected}")
            continue
        values[key] = value
    fillers = [normalize(f) for f, _ in string_list(c, src, data, "fillers", "matcher 设置")]
    # Longest first; equal lengths in character order, not a set's (which varies by process): settings
    # must compare equal across processes for a reload to reuse the cached example rows.
    values["fillers"] = tuple(sorted({f for f in fillers if f}, key=lambda f: (-len(f), f)))
    values["synonyms"] = read_synonyms(c, src, data)
    for key in PLACE_LISTS:
        names = [normalize(name) for name, _ in string_list(c, src, data, key, "matcher 设置")]
        values[key] = tuple(sorted({n for n in names if n}, key=lambda n: (-len(n), n)))
    settings = MatcherSettings(**values)
    if settings.clarify_threshold > settings.answer_threshold:
        c.error(src, line_of(data, "clarify_threshold"), "clarify_threshold 不能大于 answer_threshold")
    return settings


def read_synonyms(c: Collector, src: str, data: LineDict) -> tuple[tuple[str, str], ...]:
    """`synonyms: {标准词: [变体, 变体]}` as (variant, canonical) pairs, normalised."""
    raw = data.get("synonyms")
    if raw is None:
        return ()
    if not isinstance(raw, LineDict):
        c.error(src, line_of(data, "synonyms"), "'synonyms' 应该写成“标准词: [变体1, 变体2]”的形式")
        return ()
    pairs: dict[str, str] = {}
    for canonical_word in raw:
        target = normalize(canonical_word)
        for variant, line in string_list(c, src, raw, canonical_word, f"同义词 '{canonical_word}' "):
            key = prepare(variant).strip()
            if not key or not target or key == target:
                continue
            if key in pairs and pairs[key] != target:
                c.error(src, line, f"同义词 '{variant}' 同时指向 '{pairs[key]}' 和 '{target}'；请只保留一个")
            pairs[key] = target
    return tuple(sorted(pairs.items()))


def read_words(c: Collector, src: str, data: Any) -> Words | None:
    """`words: {name: [词, 词]}`: every list of Words, each present, non-empty and made of text."""
    if not isinstance(data, LineDict):
        c.error(src, line_of(data), "'words' 应该写成“词表名: [词1, 词2]”的形式")
        return None
    check_keys(c, src, data, set(WORD_LISTS), "词表 words ")
    values: dict[str, tuple[str, ...]] = {}
    for key in WORD_LISTS:
        if key not in data:
            c.error(src, line_of(data), f"词表 words 缺少 '{key}'；请补上（每个词表的用处见 intents/words.yaml 的注释）")
            continue
        if isinstance(data[key], LineList) and not data[key]:
            c.error(src, line_of(data, key), f"词表 '{key}' 是空的；至少写一个词")
            continue
        items = string_list(c, src, data, key, "词表 words ")
        if data[key] is None:
            c.error(src, line_of(data, key), f"词表 '{key}' 是空的；至少写一个词")
        if key == "linking_words":
            for word, line in items:
                if len(normalize(word)) != 1:
                    c.error(src, line, f"词表 'linking_words' 里的 '{word}' 应该只有一个字")
                elif normalize(word) in values.get("question_words", ()):
                    c.warn(src, line, f"'{word}' 已经是问句词（question_words），单字的问句词本来就算虚词；"
                                      "请从 linking_words 里删掉")
        values[key] = tuple(dict.fromkeys(w for w in (normalize(word) for word, _ in items) if w))
    return Words(**values)
