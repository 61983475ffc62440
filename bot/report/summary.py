"""`legalbot report`: what citizens asked, what the bot could not answer, and which answers get 👎."""

from __future__ import annotations

import sqlite3
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bot.catalogue.loader import Catalogue
from bot.errors import BotError
from bot.report.clusters import Cluster, cluster

# Jiangshan's operators read days in China Standard Time (no daylight saving), wherever the server runs.
CST = timezone(timedelta(hours=8), "CST")
TOP_INTENTS = 10
WEEKLY_AFTER_DAYS = 31  # longer periods show the rates by week, not by day
UNANSWERED_KINDS = ("fallback", "too_long")
SAMPLES = 3
Row = tuple[Any, ...]  # a row as sqlite3 returns it


@dataclass(frozen=True, slots=True)
class Bucket:
    """One day (or week) of messages: how many, and how many were clarified or not answered."""

    start: date
    messages: int
    clarify: int
    fallback: int

    @property
    def clarify_rate(self) -> float:
        return self.clarify / self.messages if self.messages else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.fallback / self.messages if self.messages else 0.0


@dataclass(frozen=True, slots=True)
class IntentCount:
    """An intent answered `count` times."""

    intent: str
    title: str
    count: int


@dataclass(frozen=True, slots=True)
class IntentFeedback:
    """👍 and 👎 on one intent's answer, with questions that got a 👎."""

    intent: str
    title: str
    helpful: int
    unhelpful: int
    samples: tuple[str, ...]

    @property
    def unhelpful_rate(self) -> float:
        total = self.helpful + self.unhelpful
        return self.unhelpful / total if total else 0.0


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `legalbot report` shows, for one period."""

    start: datetime
    end: datetime
    total: int
    users: int
    outcomes: tuple[tuple[str, int], ...]
    kinds: tuple[tuple[str, int], ...]
    channels: tuple[tuple[str, int], ...]
    buckets: tuple[Bucket, ...]
    weekly: bool
    top_intents: tuple[IntentCount, ...]
    feedback: tuple[IntentFeedback, ...]
    unanswered: tuple[Cluster, ...]
    clarified: tuple[Cluster, ...]
    has_catalogue: bool
    refused: int = 0  # messages a flood had refused (not answered, not in `total`)
    refused_users: int = 0

    def count(self, outcome: str) -> int:
        return dict(self.outcomes).get(outcome, 0)


def open_readonly(path: Path) -> sqlite3.Connection:
    """The event database, read-only; BotError when it is missing or is not an event log."""
    if not path.is_file():
        raise BotError(f"LEGALBOT_DB {path} does not exist: run `legalbot serve` or `legalbot telegram` "
                       "with LEGALBOT_DB set to record messages first")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise BotError(f"LEGALBOT_DB {path} is not an event log ({exc})") from None
    if not {"events", "feedback"} <= tables:
        conn.close()
        raise BotError(f"LEGALBOT_DB {path} is not an event log: it has no events table")
    return conn


def build_report(conn: sqlite3.Connection, catalogue: Catalogue | None, *, end: datetime, days: int) -> Report:
    """Read one period of the event log and summarise it."""
    start = end - timedelta(days=days)
    span = (start.timestamp(), end.timestamp())
    where = "at >= ? AND at < ?"
    title: Callable[[str], str] = catalogue.title if catalogue is not None else str

    def rows(sql: str, *args: object) -> list[Row]:
        return conn.execute(sql, (*span, *args)).fetchall()

    total, users = rows(f"SELECT count(*), count(DISTINCT user_hash) FROM events WHERE {where}")[0]
    outcomes = rows(f"SELECT outcome, count(*) FROM events WHERE {where} GROUP BY outcome ORDER BY 2 DESC")
    kinds = rows(f"SELECT kind, count(*) FROM events WHERE {where} GROUP BY kind ORDER BY 2 DESC")
    channels = rows(f"SELECT channel, count(*) FROM events WHERE {where} GROUP BY channel ORDER BY 2 DESC")
    top = rows(f"SELECT intent, count(*) FROM events WHERE {where} AND outcome = 'answer' AND intent IS NOT NULL "
               "GROUP BY intent ORDER BY 2 DESC, 1 LIMIT ?", TOP_INTENTS)
    weekly = days > WEEKLY_AFTER_DAYS
    return Report(
        start=start, end=end, total=int(total), users=int(users),
        outcomes=_pairs(outcomes), kinds=_pairs(kinds), channels=_pairs(channels),
        buckets=_buckets(rows(f"SELECT at, outcome FROM events WHERE {where}"), start, end, weekly),
        weekly=weekly,
        top_intents=tuple(IntentCount(str(i), title(str(i)), int(n)) for i, n in top),
        feedback=_feedback(conn, span, title),
        unanswered=cluster(rows(f"SELECT text, '' FROM events WHERE {where} AND kind IN (?, ?)", *UNANSWERED_KINDS),
                           catalogue),
        clarified=cluster(rows(f"SELECT text, candidates FROM events WHERE {where} AND kind = 'clarify'"), catalogue),
        has_catalogue=catalogue is not None,
        **_refused(conn, span),
    )


def _refused(conn: sqlite3.Connection, span: tuple[float, float]) -> dict[str, int]:
    """Messages the rate limit refused, and from how many users (0 for a log older than that table)."""
    try:
        count, users = conn.execute(
            "SELECT coalesce(sum(count), 0), count(DISTINCT channel || user_hash) FROM refused "
            "WHERE minute * 60 >= ? AND minute * 60 < ?", span).fetchone()
    except sqlite3.OperationalError:  # no such table: written before refusals were recorded
        return {"refused": 0, "refused_users": 0}
    return {"refused": int(count), "refused_users": int(users)}


def refused_line(report: Report) -> str:
    """One sentence on the floods of the period, or "" when there were none."""
    if not report.refused:
        return ""
    return f"被限流的消息 {report.refused} 条，来自 {report.refused_users} 位用户（发得太快，未作回答，不计入上面的消息数）。"


def _pairs(rows: Iterable[Row]) -> tuple[tuple[str, int], ...]:
    return tuple((str(key), int(count)) for key, count in rows)


def _buckets(rows: Iterable[Row], start: datetime, end: datetime, weekly: bool) -> tuple[Bucket, ...]:
    """Messages per day (or per week, starting Mondays) in CST, including quiet days with none."""

    def first_day(d: date) -> date:
        return d - timedelta(days=d.weekday()) if weekly else d

    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for at, outcome in rows:
        day = datetime.fromtimestamp(float(at), CST).date()
        counts[first_day(day)][str(outcome)] += 1
    out = []
    day, last = first_day(start.astimezone(CST).date()), end.astimezone(CST).date()
    while day <= last:
        c = counts.get(day, Counter())
        out.append(Bucket(day, sum(c.values()), c["clarify"], c["fallback"]))
        day += timedelta(days=7 if weekly else 1)
    return tuple(out)


def _feedback(conn: sqlite3.Connection, span: tuple[float, float],
              title: Callable[[str], str]) -> tuple[IntentFeedback, ...]:
    totals = conn.execute(
        "SELECT intent, sum(is_helpful), sum(1 - is_helpful) FROM feedback WHERE at >= ? AND at < ? "
        "GROUP BY intent", span).fetchall()
    samples: dict[str, list[str]] = defaultdict(list)
    for intent, text in conn.execute(
        "SELECT f.intent, e.text FROM feedback f JOIN events e ON e.id = f.event_id "
        "WHERE f.at >= ? AND f.at < ? AND f.is_helpful = 0 ORDER BY f.id DESC", span):
        if len(samples[intent]) < SAMPLES and text not in samples[intent]:
            samples[intent].append(text)
    result = [IntentFeedback(i, title(i), int(up), int(down), tuple(samples[i])) for i, up, down in totals]
    return tuple(sorted(result, key=lambda f: (-f.unhelpful, -f.unhelpful_rate, f.intent)))


# ---------------------------------------------------------------- terminal output

OUTCOME_NAMES = {"answer": "直接回答", "clarify": "请群众选择", "fallback": "未能回答"}
KIND_NAMES = {
    "answer": "回答", "followup": "追问回答", "safety": "回答并提醒安全", "emergency": "紧急求助", "clarify": "请群众选择",
    "fallback": "没听懂", "too_long": "消息太长", "rephrase": "没有文字", "stale_button": "过期按钮", "no_such_number": "没有这个序号",
}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cut(text: str, limit: int) -> str:
    out: list[str] = []
    used = 0
    for ch in text.replace("\n", " "):
        w = _width(ch)
        if used + w > limit - 1:
            return "".join(out) + "…"
        out.append(ch)
        used += w
    return "".join(out)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, right: Sequence[int] = ()) -> str:
    """A plain-text table whose columns line up for Chinese (double-width) characters too."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = []
        for i, cell in enumerate(row):
            pad = " " * (widths[i] - _width(cell))
            parts.append(pad + cell if i in right else cell + pad)
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def pct(part: float, whole: float) -> str:
    """part of whole as a percentage with one decimal; "-" of nothing."""
    return f"{100 * part / whole:.1f}%" if whole else "-"


def format_terminal(report: Report) -> str:
    """The report as terminal text (Chinese headings, for operators)."""
    fmt = "%Y-%m-%d %H:%M"
    out = [(f"江山市公共法律服务问答 运行报告  {report.start.astimezone(CST).strftime(fmt)} 至 "
           f"{report.end.astimezone(CST).strftime(fmt)}（北京时间）"),
           f"消息 {report.total} 条，来自 {report.users} 位群众（按匿名编号计）。",
           *([refused_line(report)] if report.refused else []), ""]
    if not report.total:
        out.append("这段时间没有记录到消息。")
        return "\n".join(out)
    out += ["一、处理结果",
            table(["结果", "条数", "占比"], [(OUTCOME_NAMES.get(o, o), n, pct(n, report.total))
                                            for o, n in report.outcomes], right=(1, 2)),
            "细分：" + "，".join(f"{KIND_NAMES.get(k, k)} {n}" for k, n in report.kinds),
            "渠道：" + "，".join(f"{c} {n}" for c, n in report.channels), ""]
    out += ["二、最常回答的问题（意图）",
            table(["意图", "标题", "次数", "占回答"],
                  [(i.intent, i.title, i.count, pct(i.count, report.count("answer"))) for i in report.top_intents],
                  right=(2, 3)), ""]
    period = "周（从周一算起）" if report.weekly else "日"
    out += [f"三、请群众选择率和未能回答率（按{period}）",
            table(["日期", "消息", "请选择", "未能回答"],
                  [(b.start.isoformat(), b.messages, pct(b.clarify, b.messages), pct(b.fallback, b.messages))
                   for b in report.buckets if b.messages], right=(1, 2, 3)), ""]
    out.append("四、群众评价（按 👎 多少排列）")
    if report.feedback:
        out.append(table(["意图", "标题", "👍", "👎", "👎占比", "得到 👎 的提问（举例）"],
                         [(f.intent, f.title, f.helpful, f.unhelpful, pct(f.unhelpful, f.helpful + f.unhelpful),
                           _cut(" / ".join(f.samples), 40)) for f in report.feedback], right=(2, 3, 4)))
    else:
        out.append("这段时间没有收到评价。")
    out += ["", *format_clusters("五、没能回答的问题（相似说法归为一组，人数多的在前）", report.unanswered, report),
            "", *format_clusters("六、需要群众选择的问题（机器人拿不准）", report.clarified, report)]
    if not report.has_catalogue:
        out += ["", "（意图文件有错误，无法给出建议意图；请先运行 legalbot validate。）"]
    return "\n".join(out)


def format_clusters(heading: str, clusters: Sequence[Cluster], report: Report, limit: int = 20) -> list[str]:
    """A heading and a table of clusters: the typical question, other wordings, the suggested intent or new topic."""
    if not clusters:
        return [heading, "没有。"]
    rows = []
    for n, c in enumerate(clusters[:limit], 1):
        if c.suggestion is not None:
            hint = f"{c.suggestion.title}（{c.suggestion.intent}，{c.suggestion.score:.2f}）"
        elif c.new_topic:
            hint = "新话题：" + "、".join(c.new_topic) + ("（也可能超出服务范围）" if c.looks_out_of_scope else "")
        else:
            hint = "超出服务范围？" if c.looks_out_of_scope else "（无接近的意图）"
        if c.offered:
            hint += "；曾让群众选：" + "、".join(c.offered)
        variants = " / ".join(t for t, _ in c.texts[1:SAMPLES])
        rows.append((n, c.size, _cut(c.text, 36), _cut(variants, 36), hint))
    more = [f"……另有 {len(clusters) - limit} 组，见 --html 页面。"] if len(clusters) > limit else []
    return [heading, table(["#", "条数", "代表说法", "其他说法", "建议意图"], rows, right=(0, 1)), *more]
