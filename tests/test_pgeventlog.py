"""The event log in a real PostgreSQL: schema and its version, redaction, hashes, feedback, refusals, outages, report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import psycopg
import pytest
from real_services import PostgresServer

from bot.cli import main
from bot.engine import Engine, Feedback, Reply, Turn
from bot.report.postgres import open_postgres
from bot.report.summary import CST, build_report
from bot.service.pgeventlog import SCHEMA_VERSION, PgEventLog, migrate


@pytest.fixture
async def clean(postgres: PostgresServer) -> PostgresServer:
    async with await psycopg.AsyncConnection.connect(postgres.url, autocommit=True) as conn:
        await conn.execute("DROP TABLE IF EXISTS feedback, refused, events, meta")
    return postgres


@pytest.fixture
async def log(clean: PostgresServer) -> AsyncIterator[PgEventLog]:
    events = PgEventLog(clean.url, salt="pepper")
    await events.start()
    yield events
    await events.close()


def turn(user: str, text: str, intent: str | None = "legal_aid") -> Turn:
    return Turn(user, "api", text, Reply(intent, 0.9, "answer", kind="answer" if intent else "fallback"), 1.5)


async def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        return await (await conn.execute(sql)).fetchall()


async def test_turns_feedback_and_refusals_are_stored_redacted_and_hashed(log: PgEventLog, clean: PostgresServer) -> None:
    log.record(turn("api:u1", "我的电话是13812345678，怎么申请法律援助"))
    log.record_feedback(Feedback("api:u1", "api", "legal_aid", False))
    log.record_refusal("api", "api:u1")
    log.record_refusal("api", "api:u1")
    assert await log.flush()
    (text, user_hash), = await rows(clean.url, "SELECT text, user_hash FROM events")
    assert "13812345678" not in str(text) and "法律援助" in str(text)
    assert user_hash == log.user_hash("api", "api:u1") and "u1" not in str(user_hash)
    assert await rows(clean.url, "SELECT is_helpful, event_id IS NOT NULL FROM feedback") == [(0, True)]
    assert await rows(clean.url, "SELECT count FROM refused") == [(2,)]
    assert await rows(clean.url, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    assert (log.written, log.failed) == (4, 0)


async def test_replicas_starting_together_migrate_once(clean: PostgresServer) -> None:
    async def one() -> int:
        async with await psycopg.AsyncConnection.connect(clean.url, autocommit=True) as conn:
            return await migrate(conn)

    found = await asyncio.gather(*(one() for _ in range(4)))
    assert sorted(found) == [0, SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION]


async def test_rows_wait_while_the_database_is_away_and_none_is_lost(log: PgEventLog, clean: PostgresServer) -> None:
    log.record(turn("api:a", "第一条"))
    assert await log.flush()
    clean.stop()
    for n in range(20):
        log.record(turn("api:a", f"停机时的第{n}条"))
    async with asyncio.timeout(10):
        while not log.problem:
            await asyncio.sleep(0.05)
    assert "unreachable" in log.problem and clean.password not in log.problem
    clean.start()
    assert await log.flush(timeout=20)
    assert log.problem == ""
    assert await rows(clean.url, "SELECT count(*) FROM events") == [(21,)]
    assert log.failed == 0 and log.outages == 1


async def test_a_full_buffer_counts_what_it_cannot_keep(clean: PostgresServer) -> None:
    events = PgEventLog(clean.url, salt="s", buffer=3)  # not started: nothing drains the buffer
    for n in range(5):
        events.record(turn("api:b", f"第{n}条"))
    assert (events.pending, events.failed) == (3, 2)


async def test_report_reads_the_postgres_log(log: PgEventLog, clean: PostgresServer, engine: Engine,
                                             capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    log.record(turn("api:c", "法律援助怎么申请"))
    log.record(turn("api:d", "天气怎么样", intent=None))
    assert await log.flush()
    conn = open_postgres(clean.url)
    try:
        report = build_report(conn, engine.catalogue, end=datetime.now(CST), days=1)
    finally:
        conn.close()
    assert (report.total, report.users) == (2, 2)
    monkeypatch.setenv("LEGALBOT_DB", clean.url)
    assert await asyncio.to_thread(main, ["report", "--days", "1"]) == 0
    out = capsys.readouterr()
    assert "天气怎么样" in out.out and clean.password not in out.out + out.err


def test_report_on_an_unreachable_database_hides_the_password(capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGALBOT_DB", "postgresql://bot:hunter2@127.0.0.1:1/none")
    assert main(["report"]) != 0
    out = capsys.readouterr()
    assert "hunter2" not in out.out + out.err and "127.0.0.1" in out.err
