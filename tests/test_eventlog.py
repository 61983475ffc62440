"""The SQLite event log: rows, salted hashes, WAL, feedback links, retention, flush on close, no blocking."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.catalogue.loader import Catalogue
from bot.config import Settings
from bot.engine import Engine, Reply, Turn
from bot.errors import BotError
from bot.service.eventlog import DAY, MAX_STORED_CHARS, EventLog
from bot.service.runtime import services

NOW = 1_700_000_000.0
TIMEOUT = 10.0  # seconds; a bound for a loaded CI machine, not a wait


def _rows(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _subscribed(catalogue: Catalogue, log: EventLog) -> Engine:
    engine = Engine(catalogue)
    engine.listeners.append(log.record)
    engine.feedback_listeners.append(log.record_feedback)
    return engine


def test_one_row_per_message_with_outcome_and_redacted_text(shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    log = EventLog(db, salt="pepper")
    engine = _subscribed(shipped_catalogue, log)
    answered = engine.respond("4711", "法律援助怎么申请？我电话13812345678", channel="telegram")
    vague = engine.respond("4711", "啊啊啊啊", channel="telegram")
    log.close()

    rows = _rows(db, "SELECT channel, user_hash, text, intent, confidence, outcome, kind FROM events ORDER BY id")
    assert [r[0] for r in rows] == ["telegram", "telegram"]
    assert rows[0][2] == "法律援助怎么申请？我电话〔手机号〕"
    assert (rows[0][3], rows[0][5]) == (answered.intent, "answer")
    assert rows[0][4] == pytest.approx(answered.confidence)
    assert rows[1][5] == vague.outcome.value
    assert rows[1][6] == vague.kind
    assert rows[0][1] == rows[1][1] == log.user_hash("telegram", "4711")
    assert "4711" not in rows[0][1]
    assert len(rows[0][1]) == 24
    assert _rows(db, "PRAGMA journal_mode") == [("wal",)]


def test_long_messages_are_redacted_before_they_are_cut(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    log = EventLog(db)
    cut_here = MAX_STORED_CHARS - 5  # a number across the cut would leave its first digits behind
    text = "啊" * cut_here + "13812345678" + "，身份证33088119900101123X" * 50
    log.record(Turn("u", "api", text, Reply(None, 0.0, "…"), 1.0))
    log.close()
    (stored,) = _rows(db, "SELECT text FROM events")[0]
    assert len(stored) == MAX_STORED_CHARS
    assert stored.startswith("啊" * cut_here)
    assert not any(ch.isdigit() for ch in stored)


def test_feedback_is_linked_to_the_answer_rated(shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    log = EventLog(db)
    engine = _subscribed(shipped_catalogue, log)
    reply = engine.respond("u1", "法律援助怎么申请", channel="api")
    engine.respond("u2", "法律援助怎么申请", channel="api")
    assert reply.intent is not None
    engine.feedback("u1", reply.intent, False, channel="api")
    engine.feedback("u3", "no_such_answer", True, channel="api")
    log.close()

    feedback = _rows(db, "SELECT f.intent, f.is_helpful, e.user_hash, e.text FROM feedback f "
                         "LEFT JOIN events e ON e.id = f.event_id ORDER BY f.id")
    assert feedback == [(reply.intent, 0, log.user_hash("api", "u1"), "法律援助怎么申请"),
                        ("no_such_answer", 1, None, None)]


def test_salt_is_kept_in_the_database_so_hashes_stay_stable(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "events.db"
    with caplog.at_level(logging.DEBUG):
        first = EventLog(db)
        hashed = first.user_hash("telegram", "12345")
        first.close()
        again = EventLog(db)
        assert again.user_hash("telegram", "12345") == hashed
        assert again.user_hash("api", "12345") != hashed
        again.close()
    (salt,) = _rows(db, "SELECT value FROM meta WHERE key = 'hash_salt'")[0]
    assert len(str(salt)) == 64
    assert str(salt) not in caplog.text

    chosen = EventLog(db, salt="from-the-environment")
    assert chosen.user_hash("telegram", "12345") != hashed
    chosen.close()
    assert _rows(db, "SELECT value FROM meta WHERE key = 'hash_salt'") == [(salt,)]


def test_close_flushes_everything_accepted(shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    log = EventLog(db)
    engine = _subscribed(shipped_catalogue, log)
    for n in range(1234):
        engine.respond(f"u{n % 7}", f"公证怎么办 第{n}次", channel="api")
    log.close()
    log.close()  # a second close (a second signal) is harmless
    assert _rows(db, "SELECT count(*), count(DISTINCT text) FROM events") == [(1234, 1234)]
    assert log.written == 1234
    assert log.failed == 0
    with pytest.raises(RuntimeError, match="closed"):
        log.record(Turn("u", "api", "公证", Reply(None, 0.0, "…"), 1.0))


def test_recording_never_waits_for_the_disk(shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    """While another process holds the write lock, record() still returns and nothing is lost.

    Not timed (performance is bench/'s): a record() that wrote itself would wait out SQLite's busy
    timeout behind the lock and then raise "database is locked" here."""
    db = tmp_path / "events.db"
    log = EventLog(db)
    engine = _subscribed(shipped_catalogue, log)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        replies = [engine.respond(f"u{n}", "法律援助怎么申请", channel="api") for n in range(500)]
        assert all(r.intent == "legal_aid" for r in replies)  # answered while the writer is stuck behind the lock
        assert log.written == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert log.flush(timeout=30)
    log.close()
    assert _rows(db, "SELECT count(*) FROM events") == [(500,)]


def test_retention_is_applied_when_opened(shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    clock = [NOW - 40 * DAY]
    old = EventLog(db, retention_days=30, clock=lambda: clock[0])
    engine = _subscribed(shipped_catalogue, old)
    reply = engine.respond("u1", "法律援助怎么申请，旧事甲乙丙")
    assert reply.intent is not None
    engine.feedback("u1", reply.intent, True)
    clock[0] = NOW - 10 * DAY
    engine.respond("u1", "公证怎么办")
    old.close()
    assert _rows(db, "SELECT count(*) FROM events") == [(2,)]

    EventLog(db, retention_days=30, clock=lambda: NOW).close()
    assert _rows(db, "SELECT text FROM events") == [("公证怎么办",)]
    assert _rows(db, "SELECT count(*) FROM feedback") == [(0,)]
    # Deleted means gone from the file too, not left behind in free pages or the WAL.
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("events.db*"))
    assert "旧事甲乙丙".encode() not in stored
    assert "公证怎么办".encode() in stored


def test_retention_is_applied_daily_while_running(shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    clock = [NOW]
    log = EventLog(db, retention_days=7, clock=lambda: clock[0])
    engine = _subscribed(shipped_catalogue, log)
    engine.respond("u1", "法律援助怎么申请")
    assert log.flush(timeout=10)
    clock[0] = NOW + 8 * DAY
    engine.respond("u1", "公证怎么办")
    log.close()
    assert _rows(db, "SELECT text FROM events") == [("公证怎么办",)]


async def test_services_subscribe_the_log_and_flush_it_on_exit(shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    engine = Engine(shipped_catalogue)
    settings = Settings(tmp_path, tmp_path, db_path=db, retention_days=30)
    async with services(engine, settings, watch=False) as running:
        assert running.events is not None
        assert running.watcher is None
        for n in range(300):
            reply = await engine.reply(f"u{n}", "法律援助怎么申请", channel="api")
        assert reply.intent is not None
        engine.feedback("u299", reply.intent, True, channel="api")
    assert engine.listeners == []
    assert engine.feedback_listeners == []
    assert _rows(db, "SELECT count(*) FROM events") == [(300,)]
    assert _rows(db, "SELECT count(*) FROM feedback WHERE event_id IS NOT NULL") == [(1,)]


async def test_without_a_database_nothing_is_recorded(shipped_catalogue: Catalogue, tmp_path: Path) -> None:
    engine = Engine(shipped_catalogue)
    async with services(engine, Settings(tmp_path, tmp_path), watch=False) as running:
        assert running.events is None
        assert engine.listeners == []
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


def test_an_unusable_path_is_a_bot_error(tmp_path: Path) -> None:
    with pytest.raises(BotError, match="missing/events.db cannot be opened"):
        EventLog(tmp_path / "missing" / "events.db")
    (tmp_path / "junk.db").write_text("this is not a database " * 100)
    with pytest.raises(BotError, match="junk.db cannot be opened"):
        EventLog(tmp_path / "junk.db")


def test_text_sqlite_cannot_encode_does_not_stop_the_log(shipped_catalogue: Catalogue, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """A lone surrogate (valid JSON: "\\ud800") in the text or the user id is stored, and later rows still land."""
    db = tmp_path / "events.db"
    log = EventLog(db, salt="pepper")
    engine = _subscribed(shipped_catalogue, log)
    with caplog.at_level(logging.DEBUG, logger="bot.service.eventlog"):
        engine.respond("u1", "\ud800法律援助", channel="api")
        engine.respond("\udfff", "法律援助怎么申请，手机13812345678\udc00", channel="api")
        assert log.flush(timeout=TIMEOUT)
        reply = engine.respond("u2", "公证怎么办", channel="api")
        assert reply.intent is not None
        engine.feedback("\udfff", "legal_aid", False, channel="api")
        log.close()
    assert _rows(db, "SELECT text FROM events ORDER BY id") == [
        ("?法律援助",), ("法律援助怎么申请，手机〔手机号〕?",), ("公证怎么办",)]
    assert (log.written, log.failed) == (4, 0)
    assert _rows(db, "SELECT count(*) FROM feedback WHERE event_id = 2") == [(1,)]
    assert log.user_hash("api", "\udfff") != log.user_hash("api", "\udffe")
    assert "event log closed: 4 rows written, 0 failed" in caplog.text


def _turn(text: str, confidence: float = 0.5) -> Turn:
    return Turn("u", "api", text, Reply(None, confidence, "…"), 1.0)


def test_a_row_sqlite_refuses_is_counted_and_the_rest_of_its_batch_lands(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """SQLite stores NaN as NULL, which the NOT NULL column refuses: that row alone fails, and is logged without its text."""
    db = tmp_path / "events.db"
    log = EventLog(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # everything below queues up and reaches the writer as one or two batches
    try:
        log.record(_turn("第一问"))
        log.record(_turn("第二问"))
        log.record(_turn("机密甲乙 13812345678", confidence=float("nan")))
        log.record(_turn("第三问"))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with caplog.at_level(logging.DEBUG, logger="bot.service.eventlog"):
        assert log.flush(timeout=TIMEOUT)
        log.record(_turn("第四问"))
        log.close()
    assert _rows(db, "SELECT text FROM events ORDER BY id") == [("第一问",), ("第二问",), ("第三问",), ("第四问",)]
    assert (log.written, log.failed) == (4, 1)
    assert any(r.levelno == logging.ERROR and "1 row" in r.getMessage() for r in caplog.records)
    assert "机密甲乙" not in caplog.text
    assert "13812345678" not in caplog.text


def test_a_writer_that_died_is_replaced_and_nothing_queued_is_lost(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Anything that ends the writer thread (here SystemExit, which a thread dies of silently) starts a new one."""
    db = tmp_path / "events.db"
    deaths = [1]

    def clock() -> float:  # the writer reads the clock after each batch, to see whether retention is due
        if deaths[0] and threading.current_thread() is not threading.main_thread():
            deaths[0] -= 1
            raise SystemExit
        return NOW

    with caplog.at_level(logging.DEBUG, logger="bot.service.eventlog"):
        log = EventLog(db, clock=clock)
        log.record(_turn("第一问"))
        assert log.flush(timeout=TIMEOUT)
        log.record(_turn("第二问"))
        assert log.flush(timeout=TIMEOUT)
        log.close()
    assert deaths == [0]
    assert _rows(db, "SELECT text FROM events ORDER BY id") == [("第一问",), ("第二问",)]
    assert any(r.levelno == logging.ERROR and "writer" in r.getMessage() for r in caplog.records)


def test_a_salt_kept_in_the_database_is_warned_about_at_start(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "events.db"
    with caplog.at_level(logging.DEBUG, logger="bot.service.eventlog"):
        EventLog(db).close()  # creates the salt
        EventLog(db).close()  # reuses it
    (salt,) = _rows(db, "SELECT value FROM meta WHERE key = 'hash_salt'")[0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all("LEGALBOT_HASH_SALT" in w and "secret store" in w and str(db) in w for w in warnings)
    assert str(salt) not in caplog.text
    assert str(salt)[:16] not in caplog.text

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="bot.service.eventlog"):
        EventLog(db, salt="from-a-secret-store").close()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "from-a-secret-store" not in caplog.text


async def test_services_warn_once_when_the_salt_is_kept_in_the_database(
    shipped_catalogue: Catalogue, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine(shipped_catalogue)
    with caplog.at_level(logging.INFO):
        async with services(engine, Settings(tmp_path, tmp_path, db_path=tmp_path / "events.db"), watch=False):
            await engine.reply("u", "法律援助怎么申请")
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "set LEGALBOT_HASH_SALT from a secret store" in warning
