"""Messages a flood had refused reach the event log (counted per user and minute) and `legalbot report`."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from mini_catalogue import mini_engine

from bot.channels.http import create_app
from bot.checks.telegram_harness import TelegramHarness
from bot.config import Settings
from bot.report.page import render_page
from bot.report.summary import CST, build_report, format_terminal, open_readonly
from bot.service.eventlog import EventLog
from bot.service.ratelimit import RateLimiter
from bot.service.runtime import services

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def test_refusals_are_counted_per_user_and_minute_with_hashed_ids(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    events = EventLog(tmp_path / "events.db", salt="pepper", clock=lambda: now[0])
    try:
        for _ in range(5):
            events.record_refusal("telegram", "tg:1001")
        events.record_refusal("api", "api:alice")
        now[0] += 60.0
        events.record_refusal("telegram", "tg:1001")
        assert events.flush(5)
    finally:
        events.close()
    with closing(sqlite3.connect(tmp_path / "events.db")) as conn:
        rows = conn.execute("SELECT minute, channel, user_hash, count FROM refused ORDER BY minute, channel").fetchall()
    assert [(m - rows[0][0], c, n) for m, c, _, n in rows] == [(0, "api", 1), (0, "telegram", 5), (1, "telegram", 1)]
    assert "1001" not in str(rows) and "alice" not in str(rows)
    assert rows[1][2] == rows[2][2] == events.user_hash("telegram", "tg:1001")


def test_refusals_past_retention_are_deleted(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    events = EventLog(tmp_path / "events.db", retention_days=1, clock=lambda: now[0])
    events.record_refusal("api", "api:bob")
    assert events.flush(5)
    events.close()
    now[0] += 2 * 86_400
    EventLog(tmp_path / "events.db", retention_days=1, clock=lambda: now[0]).close()  # retention runs on open
    with closing(sqlite3.connect(tmp_path / "events.db")) as conn:
        assert conn.execute("SELECT count(*) FROM refused").fetchone()[0] == 0


async def test_a_flood_on_the_api_shows_in_the_report(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    engine = mini_engine(tmp_path)
    settings = replace(Settings.from_env({}), db_path=tmp_path / "events.db", hash_salt="pepper", match_workers=0)
    limiter = RateLimiter(2)
    async with services(engine, settings, watch=False, limiter=limiter) as running:
        client = await aiohttp_client(create_app(engine, settings, limiter=limiter, events=running.events))
        statuses = []
        for user in ["alice"] * 5 + ["bob"] * 4:
            response = await client.post("/api/chat", json={"user": user, "text": "公证"})
            statuses.append(response.status)
        assert statuses == [200, 200, 429, 429, 429, 200, 200, 429, 429]
        assert running.events is not None
        assert await asyncio.to_thread(running.events.flush, 5)
    with closing(open_readonly(settings.db_path)) as conn:
        report = build_report(conn, engine.catalogue, end=datetime.fromtimestamp(time.time() + 60, CST), days=1)
    assert (report.total, report.refused, report.refused_users) == (4, 5, 2)
    assert "被限流的消息 5 条，来自 2 位用户" in format_terminal(report)
    assert 'data-refused="5"' in render_page(report)


def test_a_report_from_a_log_without_refusals_says_nothing_of_them(tmp_path: Path) -> None:
    EventLog(tmp_path / "events.db").close()
    with closing(sqlite3.connect(tmp_path / "events.db")) as conn:
        conn.execute("DROP TABLE refused")  # an event log written before refusals were recorded
        conn.commit()
    with closing(open_readonly(tmp_path / "events.db")) as conn:
        report = build_report(conn, None, end=datetime.now(CST), days=1)
    assert report.refused == 0
    assert "被限流" not in format_terminal(report)


async def test_the_telegram_channel_reports_its_refusals(tmp_path: Path) -> None:
    refused: list[tuple[str, str]] = []
    limiter = RateLimiter(1)
    limiter.listeners.append(lambda channel, user: refused.append((channel, user)))
    async with TelegramHarness(mini_engine(tmp_path), limiter=limiter) as tg:
        for _ in range(3):
            await tg.send(1001, "公证")
    assert refused == [("telegram", "tg:1001")] * 2
