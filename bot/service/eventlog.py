"""The event log: every message and 👍/👎, redacted, and the messages a flood had refused, counted per
user and minute; in SQLite, written by one thread off the event loop."""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import secrets
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.engine import Feedback, Turn
from bot.reply import storable
from bot.errors import BotError
from bot.service.redact import redact

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
CREATE TABLE IF NOT EXISTS refused (
    minute INTEGER NOT NULL,
    channel TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (minute, channel, user_hash)
);
"""
DAY = 86_400.0
MAX_STORED_CHARS = 4000  # a message is at most 4096 characters on Telegram; longer API posts are cut
_BATCH = 500  # rows per transaction: one commit per batch keeps a burst of messages cheap
_IDLE_WAKEUP = 600.0  # seconds; an idle writer still wakes up to apply retention daily
_MAX_RESTARTS = 100  # writers replaced after a crash before record() raises instead: a fault that kills every one


@dataclass(frozen=True, slots=True)
class _Message:
    at: float
    turn: Turn


@dataclass(frozen=True, slots=True)
class _Rating:
    at: float
    feedback: Feedback


@dataclass(frozen=True, slots=True)
class _Refusal:
    at: float
    channel: str
    user: str


@dataclass(frozen=True, slots=True)
class _Flush:
    done: threading.Event


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


_Item = _Message | _Rating | _Refusal | _Flush | _Stop
_Row = _Message | _Rating | _Refusal


@dataclass(frozen=True, slots=True)
class _RatingRow:
    at: float
    channel: str
    user_hash: str
    intent: str
    is_helpful: int



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


def _stored_salt(conn: sqlite3.Connection) -> tuple[str, bool]:
    """The salt kept in meta, created on first use so user hashes stay stable across restarts; True if new."""
    created = conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('hash_salt', ?)",
                           (secrets.token_hex(32),)).rowcount == 1
    return str(conn.execute("SELECT value FROM meta WHERE key = 'hash_salt'").fetchone()[0]), created


def _where(exc: BaseException) -> str:
    """The exception's type and the line it came from, never its message (which may quote the citizen)."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{place}"


class EventLog:
    """Stores turns and feedback; record() only enqueues, a writer thread redacts and commits in batches."""

    def __init__(self, path: Path, *, salt: str = "", retention_days: int = 90,
                 clock: Callable[[], float] = time.time) -> None:
        """Open the database, apply retention once, and start the writer (blocking: call off the loop)."""
        self.path = path
        self.retention_days = retention_days
        self.written = 0
        self.failed = 0
        self.restarts = 0  # writer threads replaced after something ended one
        self._clock = clock
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        try:
            self._conn = connect(path)
        except sqlite3.Error as exc:
            raise BotError(f"LEGALBOT_DB {path} cannot be opened as the event log: {exc}") from None
        if not salt:
            salt, created = _stored_salt(self._conn)
            logger.warning("event log %s: the salt of the user hashes is %s the database itself, so whoever "
                           "holds the file can recover Telegram ids by trying them all; set LEGALBOT_HASH_SALT "
                           "from a secret store", path, "created and stored in" if created else "kept in")
        self._salt = salt.encode("utf-8", "surrogatepass")
        self._last_purge = 0.0
        self._closed = False
        self._stopping = False  # the writer has taken the stop marker
        self._lock = threading.Lock()
        self._purge()
        self._thread = self._start_writer()

    def __repr__(self) -> str:
        return f"EventLog({str(self.path)!r}, retention_days={self.retention_days})"

    def user_hash(self, channel: str, user: str) -> str:
        """A salted, keyed hash of a user id: the same citizen links up, the id itself is never stored."""
        # surrogatepass: an id with a lone surrogate hashes too, and unlike "replace" keeps distinct ids distinct
        key = f"{channel}:{user}".encode("utf-8", "surrogatepass")
        return hmac.new(self._salt, key, hashlib.sha256).hexdigest()[:24]

    def record(self, turn: Turn) -> None:
        """Queue one handled message (an engine listener); never blocks, never drops; replaces a dead writer."""
        self._put(_Message(self._clock(), turn))

    def record_feedback(self, feedback: Feedback) -> None:
        """Queue one 👍/👎 (an engine feedback listener)."""
        self._put(_Rating(self._clock(), feedback))

    def record_refusal(self, channel: str, user: str) -> None:
        """Queue one message the rate limit refused (a RateLimiter listener); stored as a count per minute."""
        self._put(_Refusal(self._clock(), channel, user))

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
                self._ensure_writer()
        while True:  # a second caller (shutdown after a second signal) waits for the same flush
            thread = self._thread
            thread.join()
            with self._lock:
                if self._thread is thread:  # not replaced by a writer that took over from a dying one
                    break
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
            deleted += self._conn.execute("DELETE FROM refused WHERE minute * 60 < ?", (cutoff,)).rowcount
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
            self._ensure_writer()

    def _start_writer(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="legalbot-eventlog", daemon=True)
        thread.start()
        return thread

    def _ensure_writer(self) -> None:
        """Start a new writer if the last one is gone (hold self._lock); the queue it left is taken over."""
        if not self._thread.is_alive():
            if self.restarts >= _MAX_RESTARTS:
                raise RuntimeError(f"event log writer stopped {self.restarts + 1} times; not restarted again")
            self.restarts += 1
            logger.error("event log writer had stopped; started writer number %d", self.restarts + 1)
            self._thread = self._start_writer()

    def _run(self) -> None:
        try:
            while not self._step():
                pass
        except BaseException as exc:  # noqa: BLE001 - whatever ends this thread, the queue must still drain
            with self._lock:
                if self._stopping or self.restarts >= _MAX_RESTARTS:
                    logger.error("event log writer stopped by %s; not restarted (%s)", _where(exc),
                                 "closing" if self._stopping else f"{self.restarts + 1} writers stopped")
                    return
                self.restarts += 1
                logger.error("event log writer stopped by %s; started writer number %d",
                             _where(exc), self.restarts + 1)
                self._thread = self._start_writer()

    def _step(self) -> bool:
        """Write one batch (or apply retention when idle); True once the stop marker is written."""
        try:
            batch = [self._queue.get(timeout=_IDLE_WAKEUP)]
        except queue.Empty:
            self._purge_daily()
            return False
        while len(batch) < _BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self._stopping = any(isinstance(item, _Stop) for item in batch)
        self._write(batch)
        self._purge_daily()
        return self._stopping

    def _purge_daily(self) -> None:
        if self._clock() - self._last_purge >= DAY:
            try:
                self._purge()
            except Exception as exc:  # noqa: BLE001 - retried after the next batch; the writer must go on
                logger.error("event log retention failed (%s); will retry", _where(exc))

    def _write(self, batch: list[_Item]) -> None:
        """Commit the batch's rows in one transaction; if one row spoils it, store the others one by one."""
        rows = [item for item in batch if isinstance(item, _Row)]
        try:
            if rows:
                try:
                    self._insert(rows)
                except sqlite3.OperationalError as exc:  # locked too long, disk full, I/O: no row would go in
                    self.failed += len(rows)
                    logger.error("event log could not store %d rows: %s", len(rows), exc)
                except Exception:  # noqa: BLE001 - a row that cannot be stored; found by storing one at a time
                    for item in rows:
                        self._insert_alone(item)
        finally:
            for marker in batch:
                if isinstance(marker, _Flush):
                    marker.done.set()

    def _insert_alone(self, item: _Row) -> None:
        try:
            self._insert([item])
        except Exception as exc:  # noqa: BLE001 - logged without a traceback: its message may quote the citizen
            self.failed += 1
            logger.error("event log could not store 1 row (%s); the rest of its batch is stored", _where(exc))

    def _insert(self, items: list[_Row]) -> None:
        with self._conn:
            self._conn.execute("BEGIN")
            for item in items:
                if isinstance(item, _Message):
                    self._conn.execute(
                        "INSERT INTO events (at, channel, user_hash, text, intent, confidence, outcome, kind,"
                        " runner_up, candidates, millis) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        self._turn_row(item))
                elif isinstance(item, _Refusal):
                    self._conn.execute(
                        "INSERT INTO refused (minute, channel, user_hash, count) VALUES (?, ?, ?, 1)"
                        " ON CONFLICT (minute, channel, user_hash) DO UPDATE SET count = count + 1",
                        (int(item.at // 60), storable(item.channel), self.user_hash(item.channel, item.user)))
                else:
                    self._insert_rating(self._rating_row(item))
        self.written += len(items)

    def _turn_row(self, item: _Message) -> tuple[object, ...]:
        """The events columns, in INSERT order; the text redacted, every string storable."""
        turn, reply = item.turn, item.turn.reply
        text = redact(storable(turn.text))[:MAX_STORED_CHARS]
        intent = storable(reply.intent) if reply.intent is not None else None
        runner_up = storable(reply.runner_up.intent) if reply.runner_up else None
        return (
            item.at, storable(turn.channel), self.user_hash(turn.channel, turn.user), text, intent,
            float(reply.confidence), reply.outcome.value, storable(reply.kind), runner_up,
            storable(",".join(c.intent for c in reply.candidates[:3])), round(turn.millis, 3),
        )

    def _rating_row(self, item: _Rating) -> _RatingRow:
        fb = item.feedback
        return _RatingRow(item.at, storable(fb.channel), self.user_hash(fb.channel, fb.user),
                          storable(fb.intent), int(fb.is_helpful))

    def _insert_rating(self, row: _RatingRow) -> None:
        # The answer rated is the user's latest turn on that intent (buttons sit under that answer).
        event = self._conn.execute(
            "SELECT id FROM events WHERE user_hash = ? AND intent = ? ORDER BY id DESC LIMIT 1",
            (row.user_hash, row.intent),
        ).fetchone()
        self._conn.execute(
            "INSERT INTO feedback (at, channel, user_hash, intent, is_helpful, event_id) VALUES (?, ?, ?, ?, ?, ?)",
            (row.at, row.channel, row.user_hash, row.intent, row.is_helpful, event[0] if event else None),
        )
