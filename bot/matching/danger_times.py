"""When a place naming danger is said: now, past (or supposed), or unsaid, from the time words
around it (bot.matching.danger decides now or mentioned with it).

Each place gets its time from its own clause: said after `now_times` (正在, 现在, 今天, 刚才) or right
after `now_before` (在, 要, 想: "他在打我", "要杀我", "想自杀") it is now; after `past_times` (去年, 以前,
如果, 打过) or a date ("三年前", "两个月以前", "2019年", "5月3号"), or followed by 过 ("被他打过",
"割过腕"), it is past or supposed.
"""

from __future__ import annotations

import enum
import functools
import re

from bot.catalogue.model import Danger
from bot.matching.index import Index, Query
from bot.matching.triggers import spans

# Counted time before now: "三年前", "两个多月以前", "十几天之前". Shorter spans (小时, 分钟) are left
# out on purpose: "十分钟前被打了" may still be danger now.
_NUMBER = "[0-9零〇一二两三四五六七八九十百千几半多]+"
_DATE = re.compile(r"(?:19|20)[0-9]{2}年|[0-9一二三四五六七八九十]{1,3}月(?:份|[0-9一二三四五六七八九十]{1,3}[日号])")
_EXPERIENCED = re.compile("过(?!去|来|不|得)")  # 打过, 被…打过; not 过去, 过来, 喘不过气


class When(enum.Enum):
    """The time a place naming danger is said in."""

    NOW = "now"
    PAST = "past"  # past or supposed: 去年, 以前, 如果, 万一
    UNSAID = "unsaid"


def now_word(query: Query, danger: Danger, settled: bool) -> bool:
    """A word of danger now in the message, unless its own clause says it was past or supposed
    ("之前气得差点想不开", "想不开过"), it names a thing ("威胁我的那些话", followed by 的), or the
    message is `settled` and its clause gives no time. One found only
    in the message as written counts wherever it is. A word that does not count here is still a
    danger place timed like any other."""
    core = query.core
    if any(word in query.text and word not in core for word in danger.now_words):
        return True
    marks = time_marks(core, danger)
    for m in word_pattern(danger.now_words).finditer(core):
        # Only a time said before it, or 过 after it: "她说我想死，如果我不报警有罪吗" is still now.
        when = _when(core, m.start(), m.end(), marks, clause_of(query, m.start()), danger, look_after=False)
        if when is When.NOW or (when is When.UNSAID and not settled and not core.startswith("的", m.end())):
            return True
    return False


def times_of(query: Query, index: Index, danger: Danger, settled: bool = False) -> list[When]:
    """The time of each place in the message's core that names danger (none when the triggers
    are found only in the message as written, before dialect rewrites)."""
    core = query.core
    found: dict[tuple[int, int], bool] = {}  # each place, and whether only told phrases name it
    for t in index.triggers_near(query):
        group = danger.group_of(t.text)
        for span in spans(core, query.key, t):
            found[span] = found.get(span, True) and group is not None and group.is_told
    marks = time_marks(core, danger)
    # A told phrase is a deed: 还 or 要 before it is not "still" or "about to" ("还推了我一把").
    return [_when(core, start, end, marks, clause_of(query, start), danger, settled=settled or told)
            for (start, end), told in sorted(found.items())]


def clause_of(query: Query, position: int) -> tuple[int, int]:
    """The clause of the core holding `position`: where it starts and ends."""
    starts = [b for b in query.breaks if b <= position] or [0]
    ends = [b for b in query.breaks if b > position] or [len(query.core)]
    return starts[-1], ends[0]


def time_marks(core: str, danger: Danger) -> list[tuple[int, int, When]]:
    """The time words of the core, in order: (start, end, time they set)."""
    marks = [(m.start(), m.end(), When.NOW) for m in word_pattern(danger.now_times).finditer(core)]
    marks += [(m.start(), m.end(), When.PAST) for m in word_pattern(danger.past_times).finditer(core)]
    marks += [(m.start(), m.end(), When.PAST) for m in _counted(danger.time_units).finditer(core)]
    marks += [(m.start(), m.end(), When.PAST) for m in _DATE.finditer(core)]
    return sorted(marks)


def _when(core: str, start: int, end: int, marks: list[tuple[int, int, When]], clause: tuple[int, int],
          danger: Danger, look_after: bool = True, settled: bool = False) -> When:
    """Danger named at core[start:end]: followed by 过 it is past; otherwise the nearest time word of
    its clause before it (after it when none is before) says when; right after `now_before` it is now,
    unless the message is settled (a question with a past time the model reads as a mention)."""
    if _EXPERIENCED.match(core, end) or _EXPERIENCED.match(core, start + 1):  # 被他打过, 割过腕
        return When.PAST
    if word_pattern(danger.past_after).match(core, end + (core.startswith("了", end))):  # 火灾以后, 被打了之后
        return When.PAST
    first, last = clause
    inside = [m for m in marks if first <= m[0] < last]
    before = [m for m in inside if m[0] < end]
    if not inside and first > 0:
        # A clause that is only a time ("去年，他把我打伤了") sets the time of the next one.
        previous = [m for m in marks if m[0] < first]
        if previous and first - previous[-1][1] <= 1 and _starts_clause(core, previous[-1][0], first):
            before = previous[-1:]
    done = "了" in core[start: start + 3] and any(core.endswith(word, 0, start) for word in danger.done_before)
    if not settled and not done and any(core.endswith(word, 0, start) for word in danger.now_before) and not any(
            m[2] is When.PAST for m in before):
        return When.NOW
    if before:
        return before[-1][2]
    # Said later in the clause, only a past time counts ("被打是去年的事"); "到现在还没处理" is no danger now.
    after = [m for m in inside if m[0] >= end and m[2] is When.PAST] if look_after else []
    if after:
        return When.PAST
    # No time in its own clause: the last time said before it in the message, when that is one of
    # `carried_times` ("今天晚上我一个人在家，有人在敲门，说再不开门就砸门"): in doubt, now. Not 现在 or
    # 今天, which tell how things stand ("以前被他打过，现在分居了，保护令怎么申请"), nor a past time:
    # carried, it would settle danger that is still going on.
    earlier = [m for m in marks if m[0] < first]
    return When.NOW if earlier and core[earlier[-1][0]:earlier[-1][1]] in danger.carried_times else When.UNSAID


def _starts_clause(core: str, position: int, clause_end: int) -> bool:
    """The clause before `clause_end` is a short time phrase beginning at `position` or near it."""
    return clause_end - position <= 6


@functools.lru_cache(maxsize=16)
def word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) if words else "(?!)")


@functools.lru_cache(maxsize=8)
def _counted(units: tuple[str, ...]) -> re.Pattern[str]:
    """A number, a unit of time and 前 ("三年前", "两个多月以前")."""
    if not units:
        return re.compile("(?!)")
    unit = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    return re.compile(f"{_NUMBER}个?多?(?:{unit})多?(?:以前|之前|前)")
