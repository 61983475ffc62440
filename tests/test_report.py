"""`legalbot report`: figures, clusters and suggestions from a real event database; the HTML page in Chromium."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.catalogue.loader import Catalogue
from bot.cli import main
from bot.report.clusters import cluster
from bot.engine import Feedback, Reply, Turn
from bot.service.eventlog import EventLog
from bot.matching.decision import Outcome
from bot.matching.scoring import Scored
from bot.report.summary import CST, build_report, format_terminal, open_readonly, table
from bot.report.page import (
    COLORS,
    HELPFUL_COLOR,
    INTENT_COLOR,
    UNHELPFUL_COLOR,
    render_page,
)
from bot.checks.pytest_plugin import SHIPPED_CONTENT, SHIPPED_INTENTS

NOW = datetime.now(CST)
DOG = ["养的狗要去哪登记"] * 3 + ["宠物狗怎么登记"] * 2 + ["养狗登记在哪里办"]
FUND = ["公积金怎么提取"] * 2 + ["提取公积金要什么材料"] * 2
NEAR_LEGAL_AID = ["法律援助的申请条件是啥呀"] * 2
HOSTILE = "<script>alert(1)</script>打不开"


@dataclass(frozen=True)
class Row:
    days_ago: float
    user: str
    text: str
    outcome: Outcome
    intent: str | None = None
    kind: str = ""
    candidates: tuple[str, ...] = ()


def _rows() -> list[Row]:
    rows = [Row(1 + n % 6 + 0.1, f"a{n}", "法律援助怎么申请", Outcome.ANSWER, "legal_aid") for n in range(12)]
    rows += [Row(1 + n % 3, f"n{n}", "公证怎么办", Outcome.ANSWER, "notarization") for n in range(6)]
    rows += [Row(2, f"m{n}", "邻居吵架能调解吗", Outcome.ANSWER, "people_mediation") for n in range(3)]
    rows += [Row(0.5 + n % 6, f"f{n}", text, Outcome.FALLBACK)
             for n, text in enumerate([*DOG, *FUND, *NEAR_LEGAL_AID, "我电话13812345678你们回我", HOSTILE])]
    rows += [Row(3, "t", "很长的一段话" * 200, Outcome.FALLBACK, kind="too_long"),
             Row(3, "r", "", Outcome.FALLBACK, kind="rephrase")]
    rows += [Row(4, f"c{n}", "打官司要花多少钱", Outcome.CLARIFY, candidates=("legal_aid", "legal_consultation"))
             for n in range(3)]
    rows.append(Row(20, "old", "很久以前没答上的问题", Outcome.FALLBACK))  # outside a 7-day report
    return rows


IN_PERIOD = [r for r in _rows() if r.days_ago < 7]


def _turn(row: Row) -> Turn:
    candidates = tuple(Scored(i, 0.5, "") for i in row.candidates)
    reply = Reply(row.intent, 0.9 if row.intent else 0.3, "…", outcome=row.outcome,
                  kind=row.kind or row.outcome.value, candidates=candidates)
    return Turn(row.user, "telegram", row.text, reply, 1.0)


@pytest.fixture(scope="module")
def event_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("report") / "events.db"
    clock = [0.0]
    log = EventLog(db, retention_days=90, clock=lambda: clock[0])
    for row in sorted(_rows(), key=lambda r: -r.days_ago):
        clock[0] = (NOW - timedelta(days=row.days_ago)).timestamp()
        log.record(_turn(row))
    clock[0] = (NOW - timedelta(hours=1)).timestamp()
    for user, intent, helpful in [("a0", "legal_aid", False), ("a1", "legal_aid", False), ("a2", "legal_aid", False),
                                  ("a3", "legal_aid", True), ("n0", "notarization", True),
                                  ("n1", "notarization", True)]:
        log.record_feedback(Feedback(user, "telegram", intent, helpful))
    log.close()
    return db


@pytest.fixture(scope="module")
def report_text(event_db: Path, shipped_catalogue: Catalogue) -> str:
    with closing(open_readonly(event_db)) as conn:
        return format_terminal(build_report(conn, shipped_catalogue, end=NOW, days=7))


def test_figures_for_the_period(event_db: Path, shipped_catalogue: Catalogue) -> None:
    conn = open_readonly(event_db)
    report = build_report(conn, shipped_catalogue, end=NOW, days=7)
    conn.close()

    assert report.total == len(IN_PERIOD)
    assert report.users == len({r.user for r in IN_PERIOD})
    assert dict(report.outcomes) == {"answer": 21, "fallback": 16, "clarify": 3}
    assert [(i.intent, i.count) for i in report.top_intents] == [
        ("legal_aid", 12), ("notarization", 6), ("people_mediation", 3)]
    assert report.top_intents[0].title == shipped_catalogue.title("legal_aid")
    assert sum(b.messages for b in report.buckets) == report.total
    assert sum(b.clarify for b in report.buckets) == 3
    assert sum(b.fallback for b in report.buckets) == 16
    assert len(report.buckets) == 8
    assert not report.weekly

    (aid, notary) = report.feedback
    assert (aid.intent, aid.helpful, aid.unhelpful) == ("legal_aid", 1, 3)
    assert aid.samples == ("法律援助怎么申请",)  # the question each 👎 was about
    assert (notary.intent, notary.helpful, notary.unhelpful) == ("notarization", 2, 0)


def test_unanswered_questions_are_clustered_largest_first(event_db: Path, shipped_catalogue: Catalogue) -> None:
    with closing(open_readonly(event_db)) as conn:
        report = build_report(conn, shipped_catalogue, end=NOW, days=7)
    dog, fund, near, *_rest = report.unanswered
    assert (dog.size, dict(dog.texts)) == (6, {"养的狗要去哪登记": 3, "宠物狗怎么登记": 2, "养狗登记在哪里办": 1})
    assert (fund.size, dict(fund.texts)) == (4, {"公积金怎么提取": 2, "提取公积金要什么材料": 2})
    assert near.text == "法律援助的申请条件是啥呀"
    assert near.suggestion is not None
    assert near.suggestion.intent.split(".")[0] == "legal_aid"
    assert dog.suggestion is None or dog.suggestion.intent.split(".")[0] != "legal_aid"
    texts = [t for c in report.unanswered for t, _ in c.texts]
    assert "我电话〔手机号〕你们回我" in texts
    assert not any("13812345678" in t for t in texts)
    assert "" not in texts
    assert "很久以前没答上的问题" not in texts
    assert sum(c.size for c in report.unanswered) == len(DOG) + len(FUND) + len(NEAR_LEGAL_AID) + 3

    (clarified,) = report.clarified
    assert (clarified.size, clarified.text) == (3, "打官司要花多少钱")
    assert clarified.offered == (shipped_catalogue.title("legal_aid"), shipped_catalogue.title("legal_consultation"))


@pytest.mark.parametrize(("texts", "sizes"), [
    (["离婚怎么起诉", "起诉离婚咋办", "离婚起诉"], [3]),
    (["法律援助怎么申请", "法律缘助咋申请"], [2]),  # a homophone typo is the same question
    (["公证怎么办", "公积金怎么提取"], [1, 1]),  # sharing only 怎么 is not similar wording
    (["社保怎么查", "医保怎么报销", "社保查询"], [2, 1]),
    (["", "〔手机号〕", "在吗"], [1]),  # nothing left of the first two to compare
])
def test_cluster_table(texts: list[str], sizes: list[int], shipped_catalogue: Catalogue) -> None:
    assert [c.size for c in cluster([(t, "") for t in texts], shipped_catalogue)] == sizes


def test_terminal_report(report_text: str, shipped_catalogue: Catalogue) -> None:
    for heading in ("一、处理结果", "二、最常回答的问题", "三、请群众选择率和未能回答率（按日）", "四、群众评价",
                    "五、没能回答的问题", "六、需要群众选择的问题"):
        assert heading in report_text
    assert f"消息 {len(IN_PERIOD)} 条" in report_text
    assert re.search(r"直接回答\s+21\s+52\.5%", report_text)
    assert re.search(r"未能回答\s+16\s+40\.0%", report_text)
    assert re.search(rf"legal_aid\s+{re.escape(shipped_catalogue.title('legal_aid'))}\s+1\s+3\s+75\.0%", report_text)
    assert re.search(r"1\s+6\s+养的狗要去哪登记\s+宠物狗怎么登记 / 养狗登记在哪里办", report_text)
    assert "13812345678" not in report_text


def test_table_lines_up_chinese_and_ascii() -> None:
    lines = table(["意图", "n"], [("法律援助", 12), ("ab", 3)], right=(1,)).splitlines()
    assert lines == ["意图       n", "--------  --", "法律援助  12", "ab         3"]


def test_cli_report_and_its_errors(event_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"LEGALBOT_DB": str(event_db), "LEGALBOT_INTENTS": str(SHIPPED_INTENTS),
           "LEGALBOT_CONTENT": str(SHIPPED_CONTENT)}
    assert main(["report", "--days", "7"], env) == 0
    assert "五、没能回答的问题" in capsys.readouterr().out

    assert main(["report"], {}) == 2
    err = capsys.readouterr().err
    assert err.startswith("legalbot: LEGALBOT_DB is not set")
    assert err.count("\n") == 1

    assert main(["report"], {**env, "LEGALBOT_DB": str(tmp_path / "missing.db")}) == 1
    err = capsys.readouterr().err
    assert "missing.db does not exist" in err
    assert err.count("\n") == 1

    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    assert main(["report"], {**env, "LEGALBOT_DB": str(junk)}) == 1
    assert "is not an event log" in capsys.readouterr().err


def test_html_page_is_self_contained_and_escaped(event_db: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "report.html"
    env = {"LEGALBOT_DB": str(event_db), "LEGALBOT_INTENTS": str(SHIPPED_INTENTS),
           "LEGALBOT_CONTENT": str(SHIPPED_CONTENT)}
    assert main(["report", "--days", "7", "--html", str(page)], env) == 0
    assert str(page) in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert 'lang="zh-CN"' in html
    assert "default-src 'none'" in html  # the browser itself refuses any fetch
    for outward in ("<script", "<link", "src=", "href=", "url(", "@import", "http://", "https://"):
        assert outward not in html.replace(html_escaped(HOSTILE), ""), outward
    assert html_escaped(HOSTILE) in html
    assert sorted(re.findall(r'data-chart="(\w+)"', html)) == ["feedback", "intents", "outcomes", "rates"]
    assert len(re.findall(r'<rect class="bar"', html)) == 3 + 3 + 2 * 2
    assert "13812345678" not in html


def html_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- in a real browser

def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("LEGALBOT_REQUIRE_BROWSER"):
        pytest.fail("LEGALBOT_REQUIRE_BROWSER is set but no Chromium was found (Debian: apt-get install -y chromium)")
    pytest.skip("Chromium is not installed; set LEGALBOT_REQUIRE_BROWSER=1 to make this a failure")


def _png_rows(data: bytes) -> Iterator[bytes]:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) into rows of RGB(A) bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos: pos + 8])
        body = data[pos + 8: pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8
    assert color in (2, 6)
    assert not interlace
    bpp = 3 if color == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * bpp
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1: (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        yield bytes(line) if bpp == 3 else bytes(v for i, v in enumerate(line) if i % 4 != 3)


def _rgb(color: str) -> bytes:
    return bytes.fromhex(color.removeprefix("#"))


def test_charts_are_drawn_in_headless_chromium(event_db: Path, shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    browser = _browser()
    with closing(open_readonly(event_db)) as conn:
        page = tmp_path / "report.html"
        page.write_text(render_page(build_report(conn, shipped_catalogue, end=NOW, days=7)), encoding="utf-8")
    shot = tmp_path / "shot.png"
    width = 1200
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # any fetch would fail: the page must not need one
         f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={width},1000", f"--screenshot={shot}",
         page.as_uri()],
        capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert shot.is_file()

    left, right = bytearray(), bytearray()
    for row in _png_rows(shot.read_bytes()):
        left += row[: width // 2 * 3]
        right += row[width // 2 * 3:]

    def pixels(half: bytearray, color: str) -> int:
        return half.count(_rgb(color))

    # Left column: the outcome bars, then the intent bars; right column: the rate lines, then feedback.
    assert pixels(left, COLORS["answer"]) > 1000
    assert pixels(left, INTENT_COLOR) > 1000
    assert pixels(right, HELPFUL_COLOR) > 500
    assert pixels(right, UNHELPFUL_COLOR) > 500
    legend = 14 * 10  # each line's legend square; the lines and their points must add far more
    assert pixels(right, COLORS["clarify"]) > 3 * legend
    assert pixels(right, COLORS["fallback"]) > 3 * legend
