"""The event log: every message and 👍/👎, redacted, in SQLite, written by one thread off the event loop."""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.engine import Feedback, Turn
from bot.errors import BotError
from bot.redact import redact

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    channel TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    intent TEXT,
    confidence REAL NOT NULL,
    outcome TEXT NOT NULL,
    kind TEXT NOT NULL,
    runner_up TEXT,
    candidates TEXT NOT NULL,
    millis REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_user ON events (user_hash, intent);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    channel TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    intent TEXT NOT NULL,
    is_helpful INTEGER NOT NULL,
    event_id INTEGER REFERENCES events (id) ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS feedback_at ON feedback (at);
CREATE INDEX IF NOT EXISTS feedback_event ON feedback (event_id);
"""
DAY = 86_400.0
MAX_STORED_CHARS = 4000  # a message is at most 4096 characters on Telegram; longer API posts are cut
_BATCH = 500  # rows per transaction: one commit per batch keeps a burst of messages cheap
_IDLE_WAKEUP = 600.0  # seconds; an idle writer still wakes up to apply retention daily


@dataclass(frozen=True, slots=True)
class _Message:
    at: float
    turn: Turn


@dataclass(frozen=True, slots=True)
class _Rating:
    at: float
    feedback: Feedback


@dataclass(frozen=True, slots=True)
class _Flush:
    done: threading.Event


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


_Item = _Message | _Rating | _Flush | _Stop


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the event database in WAL mode with the schema in place."""
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            logger.warning("event log %s: journal mode is %s, not WAL", path, mode)
        conn.execute("PRAGMA synchronous=NORMAL")  # durable across crashes of the bot; WAL makes this safe
        conn.execute("PRAGMA secure_delete=ON")  # rows past retention are overwritten, not left in free pages
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(SCHEMA)
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _stored_salt(conn: sqlite3.Connection) -> str:
    """The salt kept in meta, created on first use so user hashes stay stable across restarts."""
    conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('hash_salt', ?)", (secrets.token_hex(32),))
    return str(conn.execute("SELECT value FROM meta WHERE key = 'hash_salt'").fetchone()[0])


class EventLog:
    """Stores turns and feedback; record() only enqueues, a writer thread redacts and commits in batches."""

    def __init__(self, path: Path, *, salt: str = "", retention_days: int = 90,
                 clock: Callable[[], float] = time.time) -> None:
        """Open the database, apply retention once, and start the writer (blocking: call off the loop)."""
        self.path = path
        self.retention_days = retention_days
        self.written = 0
        self.failed = 0
        self._clock = clock
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        try:
            self._conn = connect(path)
        except sqlite3.Error as exc:
            raise BotError(f"LEGALBOT_DB {path} cannot be opened as the event log: {exc}") from None
        self._salt = (salt or _stored_salt(self._conn)).encode()
        self._last_purge = 0.0
        self._closed = False
        self._lock = threading.Lock()
        self._purge()
        self._thread = threading.Thread(target=self._run, name="legalbot-eventlog", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r}, retention_days={self.retention_days})"

    def user_hash(self, channel: str, user: str) -> str:
        """A salted, keyed hash of a user id: the same citizen links up, the id itself is never stored."""
        return hmac.new(self._salt, f"{channel}:{user}".encode(), hashlib.sha256).hexdigest()[:24]

    def record(self, turn: Turn) -> None:
        """Queue one handled message (an engine listener); never blocks, never drops."""
        self._put(_Message(self._clock(), turn))

    def record_feedback(self, feedback: Feedback) -> None:
        """Queue one 👍/👎 (an engine feedback listener)."""
        self._put(_Rating(self._clock(), feedback))

    @property
    def pending(self) -> int:
        """Items queued and not yet committed (approximate)."""
        return self._queue.qsize()

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything queued so far is committed; False on timeout."""
        done = threading.Event()
        self._put(_Flush(done))
        return done.wait(timeout)

    def close(self) -> None:
        """Commit everything queued, stop the writer and close the database; safe to call twice."""
        with self._lock:
            first = not self._closed
            if first:
                self._closed = True
                self._queue.put(_Stop())
        self._thread.join()  # a second caller (shutdown after a second signal) waits for the same flush
        if first:
            self._conn.close()
            logger.info("event log closed: %d rows written, %d failed", self.written, self.failed)

    def _purge(self) -> int:
        """Delete events and feedback older than the retention period; returns the rows deleted."""
        now = self._clock()
        cutoff = now - self.retention_days * DAY
        with self._conn:
            self._conn.execute("BEGIN")
            deleted = self._conn.execute("DELETE FROM feedback WHERE at < ?", (cutoff,)).rowcount
            deleted += self._conn.execute("DELETE FROM events WHERE at < ?", (cutoff,)).rowcount
        if deleted:
            # Old pages in the WAL still hold the deleted text until a checkpoint rewrites them.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            logger.info("event log retention: deleted %d rows older than %d days", deleted, self.retention_days)
        self._last_purge = now
        return deleted

    def _put(self, item: _Item) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("event log is closed")
            self._queue.put(item)

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=_IDLE_WAKEUP)]
            except queue.Empty:
                self._purge_daily()
                continue
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)
            self._purge_daily()
            if any(isinstance(item, _Stop) for item in batch):
                return

    def _purge_daily(self) -> None:
        if self._clock() - self._last_purge >= DAY:
            try:
                self._purge()
            except sqlite3.Error:
                logger.exception("event log retention failed; will retry")

    def _write(self, batch: list[_Item]) -> None:
        rows = [item for item in batch if isinstance(item, _Message | _Rating)]
        try:
            if rows:
                with self._conn:
                    self._conn.execute("BEGIN")
                    for item in rows:
                        if isinstance(item, _Message):
                            self._insert_turn(item)
                        else:
                            self._insert_rating(item)
                self.written += len(rows)
        except sqlite3.Error:
            self.failed += len(rows)
            logger.exception("event log could not store %d rows", len(rows))
        finally:
            for marker in batch:
                if isinstance(marker, _Flush):
                    marker.done.set()

    def _insert_turn(self, item: _Message) -> None:
        turn, reply = item.turn, item.turn.reply
        self._conn.execute(
            "INSERT INTO events (at, channel, user_hash, text, intent, confidence, outcome, kind,"
            " runner_up, candidates, millis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item.at, turn.channel, self.user_hash(turn.channel, turn.user), redact(turn.text)[:MAX_STORED_CHARS],
             reply.intent, float(reply.confidence), reply.outcome.value, reply.kind,
             reply.runner_up.intent if reply.runner_up else None,
             ",".join(c.intent for c in reply.candidates[:3]), round(turn.millis, 3)),
        )

    def _insert_rating(self, item: _Rating) -> None:
        fb = item.feedback
        user = self.user_hash(fb.channel, fb.user)
        # The answer rated is the user's latest turn on that intent (buttons sit under that answer).
        row = self._conn.execute(
            "SELECT id FROM events WHERE user_hash = ? AND intent = ? ORDER BY id DESC LIMIT 1", (user, fb.intent)
        ).fetchone()
        self._conn.execute(
            "INSERT INTO feedback (at, channel, user_hash, intent, is_helpful, event_id) VALUES (?, ?, ?, ?, ?, ?)",
            (item.at, fb.channel, user, fb.intent, int(fb.is_helpful), row[0] if row else None),
        )
