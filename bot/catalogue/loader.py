"""Loads intents/*.yaml and content/ into one immutable Catalogue, reporting every problem with file:line."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from bot.errors import CatalogueError, Problem, Source
from bot.catalogue.answers import load_corpus, read_answers, yaml_files
from bot.catalogue.facets import Facets, check_parts, read_facets
from bot.matching.index import Index, build_index
from bot.catalogue.danger import RawDanger, link_danger, read_danger, trained
from bot.catalogue.messages import MESSAGE_KEYS, read_messages
from bot.catalogue.menu import RawMenu, link_menu, read_menu
from bot.catalogue.plain import PlainLanguage, check_plain, read_plain_language
from bot.catalogue.model import EMERGENCY, ID_PATTERN, Answer, Danger, Intent, MatcherSettings, Menu, Role, Words
from bot.catalogue.roles import check_welcome, read_roles, with_topic_roles
from bot.catalogue.settings import read_settings, read_words
from bot.matching.normalize import normalize
from bot.catalogue.collector import Collector, check_keys, did_you_mean, line_of, string_list, text_value
from bot.catalogue.yamlfile import LineDict, LineList

_ID = ID_PATTERN
_INTENT_FILE_KEYS = {"intents", "out_of_scope", "followups", "matcher", "words", "menu", "danger", "facets",
                     "plain_language"}
_SECTIONS = ("facets", "plain_language")  # read by bot.catalogue.facets and bot.catalogue.plain
_INTENT_KEYS = {"id", "title", "examples", "answer", "keywords", "triggers", "suggest", "roles"}
MAX_SUGGEST = 3
__all__ = ["MAX_SUGGEST", "MESSAGE_KEYS", "Catalogue", "load_catalogue", "read_files"]  # MESSAGE_KEYS: from bot.catalogue.messages


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Everything the engine answers from; replaced whole on reload, never edited."""

    intents: Mapping[str, Intent]
    out_of_scope: tuple[str, ...]
    followups: tuple[str, ...]
    settings: MatcherSettings
    messages: Mapping[str, str]
    index: Index = field(repr=False)
    warnings: tuple[Problem, ...] = ()
    menu: Menu = field(default_factory=Menu)
    danger: Danger = field(default_factory=Danger)
    facets: Facets = field(default_factory=Facets)
    plain: PlainLanguage = field(default_factory=PlainLanguage)

    def title(self, intent_id: str) -> str:
        """The human title of an intent, or its id when unknown."""
        intent = self.intents.get(intent_id)
        return intent.title if intent else intent_id

    def has_role(self, intent_id: str | None, role: Role) -> bool:
        """Whether the intent (known to this catalogue) has the role; False for None or an unknown id."""
        intent = self.intents.get(intent_id) if intent_id is not None else None
        return intent is not None and role in intent.roles

    def with_role(self, role: Role) -> tuple[Intent, ...]:
        """The intents that have the role, in catalogue order."""
        return tuple(intent for intent in self.intents.values() if role in intent.roles)


@dataclass
class _RawIntent:
    id: str
    title: str
    examples: list[tuple[str, int]]
    keywords: list[tuple[str, int]]
    triggers: list[tuple[str, int]]
    suggest: list[tuple[str, int]]
    answer_id: str
    answer_line: int
    src: str
    line: int
    roles: frozenset[Role]


def _read_intent_files(c: Collector, intents_dir: Path, sections: dict[str, tuple[str, object]]
                       ) -> tuple[list[_RawIntent], list[str], list[str], MatcherSettings, RawMenu | None, RawDanger | None]:
    raws: list[_RawIntent] = []
    oos: list[str] = []
    followups: list[str] = []
    settings: MatcherSettings | None = None
    words: Words | None = None
    words_at: str | None = None
    menu: RawMenu | None = None
    danger: RawDanger | None = None
    files = yaml_files(intents_dir)
    if not files:
        c.error(c.shown(intents_dir), 0, "没有找到意图文件；意图应放在 intents/*.yaml")
    for path in files:
        src = c.shown(path)
        data = c.read_yaml(path, src)
        if data is None:
            continue
        if not isinstance(data, LineDict):
            c.error(src, line_of(data), "意图文件的最上层应该是 'intents:'（或 out_of_scope:、followups:、matcher:、menu:）")
            continue
        check_keys(c, src, data, _INTENT_FILE_KEYS, "意图文件")
        if "matcher" in data:
            if settings is not None:
                c.error(src, line_of(data, "matcher"), "'matcher' 设置只能写在一个文件里")
            settings = read_settings(c, src, data["matcher"])
        if "words" in data:
            if words_at is not None:
                c.error(src, line_of(data, "words"), f"'words' 词表只能写在一个文件里；已经写在 {words_at}")
            words, words_at = read_words(c, src, data["words"]), src
        if "menu" in data:
            if menu is not None:
                c.error(src, line_of(data, "menu"), f"'menu' 菜单只能写在一个文件里；已经写在 {menu.src}")
            else:
                menu = read_menu(c, src, data["menu"])
        if "danger" in data:
            if danger is not None:
                c.error(src, line_of(data, "danger"), f"'danger' 危险识别只能写在一个文件里；已经写在 {danger.src}")
            else:
                danger = read_danger(c, src, data["danger"])
        for key in _SECTIONS:
            if key in data:
                if key in sections:
                    c.error(src, line_of(data, key), f"'{key}' 只能写在一个文件里；已经写在 {sections[key][0]}")
                sections.setdefault(key, (src, data[key]))
        oos += [t for t, _ in string_list(c, src, data, "out_of_scope", "意图文件")]
        followups += [t for t, _ in string_list(c, src, data, "followups", "意图文件")]
        items = data.get("intents")
        if items is None:
            continue
        if not isinstance(items, LineList):
            c.error(src, line_of(data, "intents"), "'intents' 应该是意图列表（每个意图以“- id:”开头）")
            continue
        raws += _read_intents(c, src, items)
    if words_at is None and files and not c.unreadable:
        c.error(c.shown(intents_dir), 0, "没有找到匹配用的词表 'words:'；请放在 intents/words.yaml（可从发布的版本复制）")
    return raws, oos, followups, replace(settings or MatcherSettings(), words=words or Words()), menu, danger


# Each file's intents as read last time, with the problems reading them found: a file whose parse
# is the same object (bot.catalogue.yamlfile keeps the parse of a file not saved since) is not
# read again, so a reload reads only the saved file's intents.
_intents_read: dict[str, tuple[LineList, list[_RawIntent], tuple[Problem, ...]]] = {}
_READ_FILES = 4096  # as bot.catalogue.yamlfile's parses: tests load many temporary catalogues


def _read_intents(c: Collector, src: str, items: LineList) -> list[_RawIntent]:
    known = _intents_read.get(src)
    if known is not None and known[0] is items:
        c.problems.extend(known[2])
        return known[1]
    before = len(c.problems)
    raws = []
    for item, line in zip(items, items.item_lines, strict=True):
        if not isinstance(item, LineDict):
            c.error(src, line, "'intents' 列表里的每一项都应是一个意图（含 id、title、examples、answer）")
            continue
        raw = _read_intent(c, src, item)
        if raw is not None:
            raws.append(raw)
    if len(_intents_read) >= _READ_FILES:
        _intents_read.clear()
    _intents_read[src] = (items, raws, tuple(c.problems[before:]))
    return raws


def _read_intent(c: Collector, src: str, item: LineDict) -> _RawIntent | None:
    check_keys(c, src, item, _INTENT_KEYS, "意图")
    intent_id = text_value(c, src, item, "id", "意图")
    if intent_id is None:
        return None
    if not _ID.match(intent_id):
        c.error(src, line_of(item, "id"), f"意图 id '{intent_id}' 格式不对；只用小写字母、数字、下划线和点，如 legal_aid.apply")
        return None
    label = f"意图 '{intent_id}' "
    title = text_value(c, src, item, "title", label) or intent_id
    examples = string_list(c, src, item, "examples", label)
    if not examples:
        c.error(src, line_of(item, "examples") if "examples" in item else item.line,
                f"{label}没有例句（examples）；至少写一句群众会怎么问")
    answer_id = str(item.get("answer", intent_id)).strip()
    return _RawIntent(
        intent_id, title, examples,
        string_list(c, src, item, "keywords", label), string_list(c, src, item, "triggers", label),
        string_list(c, src, item, "suggest", label), answer_id, line_of(item, "answer"), src, item.line,
        read_roles(c, src, item, label),
    )


def _link(c: Collector, raws: list[_RawIntent], answers: dict[str, Answer],
          used_elsewhere: set[str]) -> dict[str, Intent]:
    intents: dict[str, Intent] = {}
    seen_at: dict[str, _RawIntent] = {}
    example_owner: dict[str, tuple[str, str, int]] = {}
    used_answers: set[str] = set(used_elsewhere)
    ids = {r.id for r in raws}
    roles = with_topic_roles({r.id: r.roles for r in reversed(raws)})  # a duplicate id: the first one's
    for raw in raws:
        if raw.id in seen_at:
            first = seen_at[raw.id]
            c.error(raw.src, raw.line, f"意图 id '{raw.id}' 重复；第一次出现在 {first.src}:{first.line}")
            continue
        seen_at[raw.id] = raw
        parent = raw.id.rsplit(".", 1)[0]
        if "." in raw.id and parent not in ids and not c.may_define(parent):
            c.error(raw.src, raw.line, f"意图 '{raw.id}' 的上级意图 '{parent}' 不存在"
                    f"{did_you_mean(parent, ids) or '；细分意图要放在已有意图之下'}")
        for example, line in raw.examples:
            key = _normalized(example)
            if not key:
                c.error(raw.src, line, f"意图 '{raw.id}' 的例句 '{example}' 去掉标点后是空的；请写成文字")
                continue
            owner = example_owner.get(key)
            if owner and owner[0] == raw.id:
                c.warn(raw.src, line, f"意图 '{raw.id}' 的例句 '{example}' 重复（第 {owner[2]} 行已经写过）；请删去一句")
            if owner and owner[0] != raw.id:
                c.error(raw.src, line, f"例句 '{example}' 同时属于意图 '{owner[0]}'（{owner[1]}:{owner[2]}）和 '{raw.id}'；请只保留在一个意图下")
            example_owner.setdefault(key, (raw.id, raw.src, line))
        for target, line in raw.suggest:
            if target not in ids and not c.may_define(target):
                c.error(raw.src, line, f"意图 '{raw.id}' 推荐的 '{target}' 不存在{did_you_mean(target, ids) or '；请写已有的意图 id'}")
            elif target == raw.id:
                c.error(raw.src, line, f"意图 '{raw.id}' 不能推荐自己")
        if len(raw.suggest) > MAX_SUGGEST:
            c.error(raw.src, raw.suggest[MAX_SUGGEST][1], f"意图 '{raw.id}' 最多推荐 {MAX_SUGGEST} 个后续问题")
        found = answers.get(raw.answer_id)
        if found is None:
            hint = did_you_mean(raw.answer_id, answers) or "；请在 content/answers/ 里写上这个答案，或用 answer: 指向已有的答案"
            if not c.may_define(raw.answer_id):  # else its file could not be read: that error says enough
                c.error(raw.src, raw.answer_line or raw.line,
                        f"意图 '{raw.id}' 的答案 '{raw.answer_id}' 在 content/answers/ 中找不到{hint}")
            continue
        used_answers.add(raw.answer_id)
        intents[raw.id] = Intent(
            raw.id, raw.title,
            tuple(dict.fromkeys(e for e, _ in raw.examples)),
            tuple(dict.fromkeys(normalize(k) for k, _ in raw.keywords if normalize(k))),
            tuple(dict.fromkeys(normalize(t) for t, _ in raw.triggers if normalize(t))),
            tuple(t for t, _ in raw.suggest if t in ids and t != raw.id)[:MAX_SUGGEST],
            found, Source(raw.src, raw.line), roles[raw.id],
        )
    for answer_id, answer in answers.items():
        if answer_id not in used_answers and not c.unreadable:
            c.warn(answer.source.path, answer.source.line, f"答案 '{answer_id}' 没有被任何意图使用")
    if EMERGENCY not in intents and raws and not c.unreadable:
        c.warn(raws[0].src, 0, f"没有 '{EMERGENCY}' 意图：遇到危险的求助将无法优先提示拨打 110")
    return intents


# Every example's normalised form, kept between loads: a reload after one file changed normalises
# that file's new examples only (normalising 100,000 is a tenth of a reload).
_normal_forms: dict[str, str] = {}
_NORMAL_FORMS = 400_000  # beyond a province's catalogue: start afresh rather than grow without end


def _normalized(example: str) -> str:
    key = _normal_forms.get(example)
    if key is None:
        if len(_normal_forms) >= _NORMAL_FORMS:
            _normal_forms.clear()
        key = _normal_forms[example] = normalize(example)
    return key


def read_files(intents_dir: Path, content_dir: Path, *, root: Path | None = None) -> int:
    """Read every intent and content file and normalise every example as load_catalogue does, keeping
    what it keeps between loads (each file's parse, its intents, each example's normalised form), so
    that the next load reads and normalises only what was saved since; checks nothing. Returns the
    number of examples read."""
    c = Collector(root or Path.cwd())
    raws = _read_intent_files(c, intents_dir, {})[0]
    for path in [*yaml_files(content_dir), *yaml_files(content_dir / "answers")]:  # messages, answers
        c.read_yaml(path, c.shown(path))
    examples = 0
    for raw in raws:
        for example, _ in raw.examples:
            _normalized(example)
        examples += len(raw.examples)
    return examples


def load_catalogue(intents_dir: Path, content_dir: Path, *, root: Path | None = None,
                   prepared: Callable[[MatcherSettings], MutableMapping[str, tuple[str, str, str]]] | None = None,
                   previous: Index | None = None, previous_danger: Danger | None = None) -> Catalogue:
    """Read and check every file; raise CatalogueError listing all problems, or return the Catalogue.

    `prepared(settings)` gives the example rows the index may reuse, `previous` the index loaded
    before, whose learned model is updated rather than trained afresh, and `previous_danger` the danger
    loaded with it, whose model is kept when it learned from the same documents (bot.catalogue.cache)."""
    c = Collector(root or Path.cwd())
    missing = [(d, flag) for d, flag in ((intents_dir, "--intents / LEGALBOT_INTENTS"),
                                         (content_dir, "--content / LEGALBOT_CONTENT")) if not d.is_dir()]
    if missing:
        raise CatalogueError([Problem(Source(str(d)), f"文件夹不存在；请检查路径，或用 {flag} 指定") for d, flag in missing])
    corpus = load_corpus(c, content_dir)
    if not corpus.text:
        c.error(c.shown(content_dir / "sources"), 0, "content/sources/ 下没有报告原文（.txt）；答案无法核对出处")
    sections: dict[str, tuple[str, object]] = {}
    raws, oos, followups, settings, raw_menu, raw_danger = _read_intent_files(c, intents_dir, sections)
    facets = read_facets(c, *sections["facets"]) if "facets" in sections else Facets()
    plain = read_plain_language(c, *sections["plain_language"]) if "plain_language" in sections else PlainLanguage()
    answers = read_answers(c, content_dir, corpus, facets)
    messages = read_messages(c, content_dir, corpus)
    danger = link_danger(c, raw_danger, answers, {r.id for r in raws})
    intents = _link(c, raws, answers, {a.answer.id for a in danger.groups})
    check_parts(c, intents, facets)
    check_plain(c, answers.values(), plain)
    check_welcome(c, intents)
    menu = link_menu(c, raw_menu, {r.id for r in raws}, intents, c.shown(intents_dir))
    if danger.groups and EMERGENCY in intents:
        # Every danger phrase selects the emergency intent; the group says which answer it gets.
        own = intents[EMERGENCY]
        grouped = (t for g in danger.groups for t in g.triggers)
        intents[EMERGENCY] = replace(own, triggers=tuple(dict.fromkeys((*own.triggers, *grouped))))
    if any(not p.is_warning for p in c.problems):
        raise CatalogueError(c.problems)
    index = build_index(tuple(intents.values()), oos, followups, settings, prepared(settings) if prepared else None,
                        previous)
    danger = trained(danger, index, previous_danger)
    return Catalogue(
        MappingProxyType(intents), tuple(oos), tuple(followups), settings,
        MappingProxyType(messages), index,
        tuple(sorted(p for p in c.problems if p.is_warning)), menu, danger, facets, plain,
    )
