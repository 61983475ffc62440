"""What counts as danger now (intents/safety.yaml `danger:`): trigger groups, each with its answer,
and the words that tell danger now from danger only mentioned. Read, then checked against the answers."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.catalogue.collector import Collector, check_keys, did_you_mean, line_of, string_list, text_value
from bot.catalogue.model import EMERGENCY, Answer, Danger, DangerGroup, topic_of
from bot.catalogue.yamlfile import LineDict, LineList
from bot.matching.index import Index, RowKind, analyse
from bot.matching.learned import train
from bot.matching.retrain import retrain
from bot.matching.normalize import normalize
from bot.matching.triggers import ALTERNATIVE, NOT_BETWEEN, SPREAD

MENTION = "(mention)"  # the danger model's class of questions that only mention danger

# What each word list says: a word in two lists that say different things would mean both.
_MEANINGS = {"now_words": "now", "standing_threats": "now", "now_times": "now", "carried_times": "now",
             "now_before": "now", "past_times": "past", "recovered_words": "past", "help_arrived": "past", "past_after": "past",
             "mention_words": "mention", "help_words": "help", "harmless": "harmless"}
_DANGER_KEYS = {*_MEANINGS, "time_units", "mention_intent", "groups", "mentions", "done_before"}
_GROUP_KEYS = {"name", "answer", "triggers", "combos", "cry", "told", "situations", "yields_to"}
_COMBO_KEYS = {"first", "then", "not_between"}


@dataclass
class RawDanger:
    """The danger section as written, with lines; linked once every answer is known."""

    src: str
    line: int
    now_words: list[tuple[str, int]] = field(default_factory=list)
    standing_threats: list[tuple[str, int]] = field(default_factory=list)
    mention_words: list[tuple[str, int]] = field(default_factory=list)
    now_times: list[tuple[str, int]] = field(default_factory=list)
    carried_times: list[tuple[str, int]] = field(default_factory=list)
    past_times: list[tuple[str, int]] = field(default_factory=list)
    time_units: list[tuple[str, int]] = field(default_factory=list)
    now_before: list[tuple[str, int]] = field(default_factory=list)
    done_before: list[tuple[str, int]] = field(default_factory=list)
    help_words: list[tuple[str, int]] = field(default_factory=list)
    recovered_words: list[tuple[str, int]] = field(default_factory=list)
    help_arrived: list[tuple[str, int]] = field(default_factory=list)
    past_after: list[tuple[str, int]] = field(default_factory=list)
    harmless: list[tuple[str, int]] = field(default_factory=list)
    mentions: list[tuple[str, int]] = field(default_factory=list)
    mention_intent: tuple[str, int] | None = None
    groups: list[tuple[str, str, int, list[tuple[str, int]], int, bool]] = field(default_factory=list)
    situations: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # by group name
    yields_to: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # by group name
    told: set[str] = field(default_factory=set)  # names of the groups whose phrases tell what was done


def read_danger(c: Collector, src: str, data: Any) -> RawDanger:
    """`danger: {now_words, now_times, past_times, time_units, mention_words, mention_intent,
    groups: [{name, answer, triggers, combos}]}`; problems at their line."""
    raw = RawDanger(src, line_of(data))
    if not isinstance(data, LineDict):
        c.error(src, line_of(data), "'danger' 下面应该写 now_words:、mention_words: 和 groups:（危险说法的分组）")
        return raw
    check_keys(c, src, data, _DANGER_KEYS, "danger ")
    raw.now_words = string_list(c, src, data, "now_words", "danger ")
    raw.standing_threats = string_list(c, src, data, "standing_threats", "danger ")
    raw.mention_words = string_list(c, src, data, "mention_words", "danger ")
    raw.now_times = string_list(c, src, data, "now_times", "danger ")
    raw.carried_times = string_list(c, src, data, "carried_times", "danger ")
    raw.past_times = string_list(c, src, data, "past_times", "danger ")
    raw.time_units = string_list(c, src, data, "time_units", "danger ")
    raw.now_before = string_list(c, src, data, "now_before", "danger ")
    raw.done_before = string_list(c, src, data, "done_before", "danger ")
    raw.help_words = string_list(c, src, data, "help_words", "danger ")
    raw.recovered_words = string_list(c, src, data, "recovered_words", "danger ")
    raw.help_arrived = string_list(c, src, data, "help_arrived", "danger ")
    raw.past_after = string_list(c, src, data, "past_after", "danger ")
    raw.harmless = string_list(c, src, data, "harmless", "danger ")
    raw.mentions = string_list(c, src, data, "mentions", "danger ")
    _check_word_lists(c, src, raw)
    now_times = {normalize(word) for word, _ in raw.now_times}
    for word, line in raw.carried_times:
        if normalize(word) not in now_times:
            c.error(src, line, f"carried_times 里的 '{word}' 没有写在 now_times 里；请先把它写进 now_times")
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
        triggers = string_list(c, src, item, "triggers", label) + _combos(c, src, item, label)
        if not triggers:
            c.error(src, line_of(item, "triggers"), f"{label}没有 triggers 或 combos；至少写一个说法")
        is_cry = item.get("cry", False)
        if not isinstance(is_cry, bool):
            c.error(src, line_of(item, "cry"), f"{label}的 'cry' 应该写 true（只是呼救）或 false")
            is_cry = False
        is_told = item.get("told", False)
        if not isinstance(is_told, bool):
            c.error(src, line_of(item, "told"), f"{label}的 'told' 应该写 true（讲述做过的事）或 false")
            is_told = False
        if answer is not None:
            if is_told:
                raw.told.add(name)
            raw.groups.append((name, answer, line_of(item, "answer"), triggers, line, is_cry))
            raw.situations[name] = string_list(c, src, item, "situations", label)
            raw.yields_to[name] = string_list(c, src, item, "yields_to", label)
    _check_examples(c, src, raw)
    _check_yields(c, src, raw)
    if raw.groups and not raw.now_words:
        c.warn(src, line_of(data), "'danger' 没有 now_words：提到危险的问题都会被当作危险就在眼前")
    return raw


def _combos(c: Collector, src: str, group: LineDict, label: str) -> list[tuple[str, int]]:
    """A group's `combos` as triggers: "孩子|儿子…不见|丢了" is any first word, then soon any word of then."""
    combos = group.get("combos")
    if combos is None:
        return []
    if not isinstance(combos, LineList):
        c.error(src, line_of(group, "combos"), f"{label}的 'combos' 应该是列表（每项以“- first:”开头，含 first 和 then）")
        return []
    out = []
    for combo, line in zip(combos, combos.item_lines, strict=True):
        if not isinstance(combo, LineDict):
            c.error(src, line, f"{label}的 combos 里每一项都应含 first:（前一组词）和 then:（后一组词）")
            continue
        check_keys(c, src, combo, _COMBO_KEYS, f"{label}的组合")
        parts = []
        for key in ("first", "then"):
            words = string_list(c, src, combo, key, f"{label}的组合")
            if not words:
                c.error(src, line_of(combo, key), f"{label}的组合缺少 '{key}' 的词；first 和 then 都至少写一个词")
            bad = [w for w, _ in words if not normalize(w) or SPREAD in w or ALTERNATIVE in w]
            for word in bad:
                c.error(src, line_of(combo, key), f"{label}的组合里的词 '{word}' 不能是空的，也不能含“…”或“|”")
            parts.append([w for w, _ in words if w not in bad])
        first, then = parts
        for word in sorted(set(map(normalize, first)) & set(map(normalize, then))):
            c.error(src, line, f"{label}的组合里 '{word}' 同时写在 first 和 then；一个词只能写在一边")
        barred = "".join(normalize(w) for w, _ in string_list(c, src, combo, "not_between", f"{label}的组合"))
        if first and then:
            out.append((ALTERNATIVE.join(first) + SPREAD + ALTERNATIVE.join(then)
                        + (NOT_BETWEEN + barred if barred else ""), line))
    return out


def _check_examples(c: Collector, src: str, raw: RawDanger) -> None:
    """A sentence both a situation of danger now and a mention, or a situation of two groups, would
    teach the danger model both: an error at its second place."""
    seen: dict[str, str] = {}
    listed = [(f"危险分组 '{name}' 的 situations", said) for name, said in raw.situations.items()]
    for where, said in [*listed, ("danger 的 mentions", raw.mentions)]:
        for text, line in said:
            key = normalize(text)
            if not key:
                c.error(src, line, f"{where}里的 '{text}' 去掉标点后是空的；请写成一句完整的话")
            elif key in seen and seen[key] != where:
                c.error(src, line, f"'{text}' 同时写在{seen[key]}和{where}里；一句话只能算一种情况，请删掉一处")
            seen.setdefault(key, where)
    if raw.mentions and not any(said for said in raw.situations.values()):
        c.warn(src, raw.mentions[0][1], "'danger' 写了 mentions 但没有一组写 situations：危险识别模型学不到“危险在眼前”的说法")


def _check_yields(c: Collector, src: str, raw: RawDanger) -> None:
    """`yields_to` names other groups of the section; two groups giving way to each other would leave
    the number to whichever is named first, which is what no `yields_to` at all does."""
    names = [name for name, *_ in raw.groups]
    for name, listed in raw.yields_to.items():
        for other, line in listed:
            if other == name:
                c.error(src, line, f"危险分组 '{name}' 的 yields_to 写了它自己；请写别的分组的名称")
            elif other not in names:
                c.error(src, line, f"危险分组 '{name}' 的 yields_to 写的分组 '{other}' 不存在{did_you_mean(other, names)}")
            elif names.index(other) < names.index(name) and name in (o for o, _ in raw.yields_to.get(other, [])):
                c.error(src, line, f"危险分组 '{name}' 和 '{other}' 的 yields_to 互相写了对方；只能一组让给另一组，请删掉一处")


def _check_word_lists(c: Collector, src: str, raw: RawDanger) -> None:
    """A word both in a list of danger now and in past_times or mention_words (or in those two) would
    mean both: an error."""
    seen: dict[str, str] = {}
    for name, meaning in _MEANINGS.items():
        for word, line in getattr(raw, name):
            key = normalize(word)
            if key in seen and _MEANINGS[seen[key]] != meaning:
                c.error(src, line, f"'{word}' 同时写在 danger 的 {seen[key]} 和 {name} 里，意思相反；请删掉一处")
            seen.setdefault(key, name)


def _trigger_key(text: str) -> str:
    """A trigger normalised like messages are; a spread ("孩子…不见") or combination ("孩子|娃…不见")
    word by word."""
    text, mark, barred = text.partition(NOT_BETWEEN)
    parts = [[normalize(word) for word in part.split(ALTERNATIVE)] for part in text.split(SPREAD)]
    if not all(all(words) for words in parts):
        return ""
    return SPREAD.join(ALTERNATIVE.join(dict.fromkeys(words)) for words in parts) + mark + normalize(barred)


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
    for name, answer_id, answer_line, triggers, line, is_cry in raw.groups:
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
        situations = tuple(dict.fromkeys(t for t, _ in raw.situations.get(name, []) if normalize(t)))
        yields_to = tuple(dict.fromkeys(other for other, _ in raw.yields_to.get(name, [])))
        groups.append(DangerGroup(name, answer, tuple(dict.fromkeys(words)), is_cry, situations, yields_to,
                                  is_told=name in raw.told))
    triggers = [t for g in groups for t in g.triggers]
    for word, line in raw.standing_threats:
        if not any(t in normalize(word) for t in triggers):
            c.warn(raw.src, line, f"standing_threats 里的 '{word}' 不含任何一组 triggers 里的说法，消息里只有它时认不出危险；"
                                  "请把它（或它的一部分）写进某组的 triggers")
    return Danger(tuple(groups), _words(raw.now_words), _words(raw.mention_words), mention_intent,
                  _words(raw.now_times), _words(raw.past_times), _words(raw.time_units), _words(raw.help_words),
                  _words(raw.now_before), _words(raw.recovered_words), _words(raw.harmless),
                  tuple(dict.fromkeys(t for t, _ in raw.mentions if normalize(t))), _words(raw.done_before),
                  _words(raw.carried_times), _words(raw.help_arrived), _words(raw.past_after),
                  _words(raw.standing_threats))


def trained(danger: Danger, index: Index, before: Danger | None = None,
            per_intent: int | None = None) -> Danger:
    """The danger model, trained as the catalogue loads: each group's situations are danger now of
    that group, `mentions` only mention danger, and an even share of the other rows (balanced(): each
    intent's first `per_intent` examples, every topic word) are neither. It reads danger said in words
    no trigger holds (有人掉河里了, 刀都磨好了); without situations there is none. `before`, the danger
    of the catalogue loaded last, lends its model when it learned from the same documents."""
    per_intent = NEITHER_PER_INTENT if per_intent is None else per_intent
    told = [(g.name, text) for g in danger.groups for text in g.situations]
    if not told:
        return danger
    told += [(MENTION, text) for text in danger.mentions]
    documents = [(label, q.core, q.key) for label, q in ((label, analyse(text, index.settings)) for label, text in told)]
    documents += share_of(balanced(index, per_intent), NEITHER_ROWS)
    digest = hashlib.blake2b("\x00".join(map("\x01".join, documents)).encode(), digest_size=16).hexdigest()
    learned_before = _learned.get(before.trained_on) if before is not None and before.model is not None else None
    _learned.clear()
    _learned[digest] = documents  # kept also when the model is (a process started from the cache has none)
    if before is not None and before.model is not None and before.trained_on == digest:
        return replace(danger, model=before.model, trained_on=digest)
    # An edit that adds or drops a row of the share changes a few documents: count only those
    # (bot.matching.retrain gives the model train() would), if the documents before are known.
    model = retrain(before.model, learned_before, documents) if before is not None and learned_before else train(documents)
    return replace(danger, model=model, trained_on=digest)


# The documents the danger model trained last learned from, by their digest (Danger.trained_on).
_learned: dict[str, list[tuple[str, str, str]]] = {}


# "Neither" needs the variety of everyday service questions, not every one of them: a county's
# catalogue (~2,500 rows) is taken whole; a province's 100,000 would retrain for ~10 s on every
# reload and slow every message, so it gives an even share of about this many.
NEITHER_ROWS = 5000


# "Neither" takes the same number of examples from each intent (and from the out-of-scope phrases),
# the first ones as written, and every topic word: an intent that grows, or a new intent's examples,
# no longer tips the balance of "neither" against the danger groups and the mentions, whose sizes
# operators set in safety.yaml. Topic words are kept whole: short service words (被骗, 欠薪) are what
# keeps a short service message from reading as danger, and they grow far slower than examples.
NEITHER_PER_INTENT = 30


def balanced(index: Index, per_intent: int) -> list[tuple[str, str, str]]:
    """Every topic word and the first `per_intent` examples of each intent and of the out-of-scope
    phrases, in catalogue order (0: every example); the emergency intents and follow-ups are no "neither"."""
    emergency = {owner for owner in set(index.owners) if topic_of(owner) == EMERGENCY}  # once an owner, not a row
    taken: dict[str, int] = {}
    rows = []
    for kind, owner, text, key, word in zip(index.kinds, index.owners, index.texts, index.keys, index.is_keyword,
                                            strict=True):
        if kind is RowKind.FOLLOWUP or owner in emergency:
            continue
        if not word:
            if per_intent and taken.get(owner, 0) >= per_intent:
                continue
            taken[owner] = taken.get(owner, 0) + 1
        rows.append(("", text, key))
    return rows


def share_of(rows: list[tuple[str, str, str]], most: int) -> list[tuple[str, str, str]]:
    """About `most` of `rows`, chosen by a hash of each text (zlib's, the same in every process), so
    an edit adds or drops only its own rows from the choice rather than shifting all of them."""
    stride = -(-len(rows) // most)
    if stride <= 1:
        return rows
    return [row for row in rows if zlib.crc32(row[1].encode()) % stride == 0]


def _words(listed: list[tuple[str, int]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for w in (normalize(t) for t, _ in listed) if w))
