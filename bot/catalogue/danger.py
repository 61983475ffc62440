"""What counts as danger now (intents/safety.yaml `danger:`): trigger groups, each with its answer,
and the words that tell danger now from danger only mentioned. Read, then checked against the answers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.catalogue.collector import Collector, check_keys, did_you_mean, line_of, string_list, text_value
from bot.catalogue.model import Answer, Danger, DangerGroup
from bot.catalogue.yamlfile import LineDict, LineList
from bot.matching.normalize import normalize
from bot.matching.triggers import SPREAD

_DANGER_KEYS = {"now_words", "mention_words", "mention_intent", "groups"}
_GROUP_KEYS = {"name", "answer", "triggers"}


@dataclass
class RawDanger:
    """The danger section as written, with lines; linked once every answer is known."""

    src: str
    line: int
    now_words: list[tuple[str, int]] = field(default_factory=list)
    mention_words: list[tuple[str, int]] = field(default_factory=list)
    mention_intent: tuple[str, int] | None = None
    groups: list[tuple[str, str, int, list[tuple[str, int]], int]] = field(default_factory=list)


def read_danger(c: Collector, src: str, data: Any) -> RawDanger:
    """`danger: {now_words, mention_words, groups: [{name, answer, triggers}]}`; problems at their line."""
    raw = RawDanger(src, line_of(data))
    if not isinstance(data, LineDict):
        c.error(src, line_of(data), "'danger' 下面应该写 now_words:、mention_words: 和 groups:（危险说法的分组）")
        return raw
    check_keys(c, src, data, _DANGER_KEYS, "danger ")
    raw.now_words = string_list(c, src, data, "now_words", "danger ")
    raw.mention_words = string_list(c, src, data, "mention_words", "danger ")
    if "mention_intent" in data:
        intent_id = text_value(c, src, data, "mention_intent", "danger ")
        raw.mention_intent = (intent_id, line_of(data, "mention_intent")) if intent_id else None
    groups = data.get("groups")
    if not isinstance(groups, LineList) or not groups:
        c.error(src, line_of(data, "groups"), "'danger' 的 'groups' 应该是分组列表（每组以“- name:”开头，含 answer 和 triggers）")
        return raw
    for item, line in zip(groups, groups.item_lines, strict=True):
        if not isinstance(item, LineDict):
            c.error(src, line, "'groups' 里的每一项都应是一组危险说法（含 name、answer、triggers）")
            continue
        check_keys(c, src, item, _GROUP_KEYS, "危险分组")
        name = text_value(c, src, item, "name", "危险分组")
        if name is None:
            continue
        label = f"危险分组 '{name}' "
        answer = text_value(c, src, item, "answer", label)
        triggers = string_list(c, src, item, "triggers", label)
        if not triggers:
            c.error(src, line_of(item, "triggers"), f"{label}没有 triggers；至少写一个说法")
        if answer is not None:
            raw.groups.append((name, answer, line_of(item, "answer"), triggers, line))
    if raw.groups and not raw.now_words:
        c.warn(src, line_of(data), "'danger' 没有 now_words：提到危险的问题都会被当作危险就在眼前")
    return raw


def _trigger_key(text: str) -> str:
    """A trigger normalised like messages are; a spread trigger ("孩子…不见") part by part."""
    parts = [normalize(part) for part in text.split(SPREAD)]
    return SPREAD.join(parts) if all(parts) else ""


def link_danger(c: Collector, raw: RawDanger | None, answers: Mapping[str, Answer],
                intent_ids: Collection[str]) -> Danger:
    """The Danger the matcher and engine use; an unknown answer or intent id is an error with a suggestion."""
    if raw is None:
        return Danger()
    mention_intent = None
    if raw.mention_intent is not None:
        mention_intent, line = raw.mention_intent
        if mention_intent not in intent_ids:
            c.error(raw.src, line, f"'mention_intent' 写的意图 '{mention_intent}' 不存在{did_you_mean(mention_intent, intent_ids)}")
    groups = []
    seen: dict[str, str] = {}
    for name, answer_id, answer_line, triggers, line in raw.groups:
        answer = answers.get(answer_id)
        if answer is None:
            c.error(raw.src, answer_line or line,
                    f"危险分组 '{name}' 的答案 '{answer_id}' 在 content/answers/ 中找不到{did_you_mean(answer_id, answers)}")
            continue
        words = []
        for text, trigger_line in triggers:
            key = _trigger_key(text)
            if not key:
                c.error(raw.src, trigger_line, f"危险说法 '{text}' 去掉标点后是空的；请写成文字")
            elif key in seen and seen[key] != name:
                c.warn(raw.src, trigger_line, f"危险说法 '{text}' 同时写在分组 '{seen[key]}' 和 '{name}'；只有第一组起作用")
            else:
                seen.setdefault(key, name)
                words.append(key)
        groups.append(DangerGroup(name, answer, tuple(dict.fromkeys(words))))
    return Danger(tuple(groups),
                  tuple(dict.fromkeys(w for w in (normalize(t) for t, _ in raw.now_words) if w)),
                  tuple(dict.fromkeys(w for w in (normalize(t) for t, _ in raw.mention_words) if w)),
                  mention_intent)
