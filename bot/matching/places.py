"""Questions about a service somewhere else ("杭州的公租房怎么申请", "在香港怎么做公证").

The answers describe Jiangshan's services only: told how Jiangshan does it, a citizen asking about
another city would be misled. A place counts when a topic word follows it closely in the same
clause; the place lists are in intents/matcher.yaml, for operators to extend.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.matching.clauses import Clause
from bot.matching.index import Index, analyse
from bot.matching.normalize import longest_first

# Where the citizen is, not where the service is: "我在杭州打工，…" asks about home.
_STAYING = ("打工", "上班", "工作", "干活", "读书", "上学", "留学", "住", "生活", "定居", "出差", "旅游", "回来", "回江山")
# Right after the place, where the citizen comes from (温州户口, 上海搬过来的, 外国人).
_ORIGIN = ("人", "户口", "户籍", "籍", "搬", "过来", "来的", "牌照", "口音")
# Right before it, a place the citizen need not go to (不用去杭州也能办吗).
_NOT_GOING = ("不用去", "不去", "不想去", "不必去", "没去", "不用到", "不用回")
# A place name straddling two words: 周日|本人, 节假日|本地, 完成|都, 东西|藏, 中国|外企.
_ACROSS = frozenset({"周日", "节日", "假日", "生日", "今日", "明日", "昨日", "每日", "本地", "本人", "完成", "东西",
                     "中国", "国外", "海外"})


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    abroad: bool  # another country's law, not only another city's services

    def __reduce__(self) -> tuple[type[Place], tuple[str, bool]]:
        return Place, (self.name, self.abroad)


def elsewhere(clauses: Iterable[Clause], index: Index) -> Place | None:
    """The other place a message asks about a service of, if any; None when it also names Jiangshan."""
    settings = index.settings
    clauses = tuple(clauses)
    names = _pattern(settings.other_places + settings.abroad_places)
    if names is None or not any(names.search(c.text) for c in clauses):
        return None
    if any(name in c.text for c in clauses for name in settings.local_places):
        return None
    for clause in clauses:
        for found in names.finditer(clause.text):
            if _is_place(clause.text, found.start(), found.end()) and _names_a_topic(
                    clause.text[found.end(): found.end() + settings.weights.place_window], index):
                return Place(found.group(), found.group() in settings.abroad_places)
    return None


def _is_place(text: str, start: int, end: int) -> bool:
    """The name found at text[start:end] stands for a place the service is asked of."""
    before, after = text[max(0, start - 3): start], text[end:]
    if after.startswith(_ORIGIN) or before.endswith(_NOT_GOING):
        return False
    straddles = {text[start - 1: start + 1] if start else "", text[end - 1: end + 1]}
    return not straddles & (_ACROSS - {text[start:end]})


@functools.lru_cache(maxsize=8)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation of the place names, longest first (内蒙古 before 内蒙)."""
    if not names:
        return None
    return re.compile(longest_first(names, re.escape))


def _names_a_topic(after: str, index: Index) -> bool:
    """A topic word stands in `after`, with no word of staying before it (上海的公证处周末上班吗
    asks about the notary office; 在杭州打工的人能申请公租房吗 about the worker)."""
    if not after:
        return False
    query = analyse(after, index.settings)
    texts, keys = index.texts, index.keys
    found = [query.core.find(texts[i]) for i in index.keywords_near(query)
             if len(texts[i]) >= 2 and texts[i] in query.core]
    found += [query.key.find(keys[i]) for i in index.keywords_near(query)
              if len(keys[i]) >= 3 and keys[i] in query.key]
    if not found:
        return False
    before = query.core[: min(found)]
    return not any(word in before for word in _STAYING)
