"""The event log in PostgreSQL (LEGALBOT_DB=postgresql://…), shared by every replica: the SQLite log's
tables, redaction, salted hashes, retention, feedback and refused counts, written by one task per
replica through a psycopg pool. While the database is away rows wait in a bounded buffer and are
written when it is back; rows that cannot be kept are counted (`failed`), never dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.config import safe_url
from bot.engine import Feedback, Turn
from bot.errors import BotError
from bot.reply import storable
from bot.service.eventlog import DAY, MAX_STORED_CHARS
from bot.service.redact import redact

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_MIGRATIONS = {  # version -> the SQL that brings the previous version to it
    1: """
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, channel TEXT NOT NULL, user_hash TEXT NOT NULL,
    text TEXT NOT NULL, intent TEXT, confidence DOUBLE PRECISION NOT NULL, outcome TEXT NOT NULL,
    kind TEXT NOT NULL, runner_up TEXT, candidates TEXT NOT NULL, millis DOUBLE PRECISION NOT NULL);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_user ON events (user_hash, intent);
CREATE TABLE feedback (
    id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, channel TEXT NOT NULL, user_hash TEXT NOT NULL,
    intent TEXT NOT NULL, is_helpful INTEGER NOT NULL, event_id BIGINT REFERENCES events (id) ON DELETE SET NULL);
CREATE INDEX feedback_at ON feedback (at);
CREATE INDEX feedback_event ON feedback (event_id);
CREATE TABLE refused (
    minute BIGINT NOT NULL, channel TEXT NOT NULL, user_hash TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (minute, channel, user_hash));
""",
}
_MIGRATION_LOCK = 0x6C6567616C626F74  # pg_advisory_xact_lock key ("legalbot"): one replica migrates at a time
_BATCH = 500
_RETRY_SECONDS = 1.0
_BUFFER = 100_000  # rows kept while the database is away (~100 MB at most); more are counted as failed
_Unreachable = (psycopg.OperationalError, PoolTimeout, OSError)


@dataclass(frozen=True, slots=True)
class _Item:
    at: float
    what: Turn | Feedback | tuple[str, str]  # a message, a 👍/👎, or a refusal's (channel, user)


async def migrate(conn: psycopg.AsyncConnection[Any]) -> int:
    """Create or upgrade the schema to SCHEMA_VERSION under an advisory lock; returns the version found."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = await (await conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")).fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise BotError(f"the event database has schema version {found}, newer than this bot's "
                           f"{SCHEMA_VERSION}: upgrade the bot")
        for version in range(found + 1, SCHEMA_VERSION + 1):
            await conn.execute(_MIGRATIONS[version].encode())  # several statements: simple query protocol
        await conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
    return found


class PgEventLog:
    """record() only appends to a buffer; a writer task migrates once, then commits batches as they come."""

    def __init__(self, url: str, *, salt: str = "", retention_days: int = 90, buffer: int = _BUFFER,
                 clock: Callable[[], float] = time.time) -> None:
        self.where = safe_url(url)
        self.retention_days = retention_days
        self.written = 0
        self.failed = 0  # rows not stored: the buffer was full, a row was refused, or shutdown came first
        self.restarts = 0
        self.outages = 0
        self.problem = ""  # why the database is away ("" while it is reachable)
        self._url = url
        self._salt = salt.encode("utf-8", "surrogatepass") if salt else b""
        self._capacity = buffer
        self._clock = clock
        self._buffer: deque[_Item] = deque()
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._last_purge = 0.0
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._prepared = False

    def __repr__(self) -> str:
        return f"PgEventLog({self.where!r}, retention_days={self.retention_days})"

    @property
    def pending(self) -> int:
        return len(self._buffer) + self._in_flight

    async def start(self) -> None:
        """Open the pool and start the writer; a database that is away now is waited for, not fatal."""
        self._pool = AsyncConnectionPool(self._url, min_size=1, max_size=2, open=False, timeout=2.0,
                                         kwargs={"connect_timeout": 2, "autocommit": True},
                                         check=AsyncConnectionPool.check_connection, name="legalbot-events")
        await self._pool.open(wait=False)
        try:  # the schema in place before serving, when the database is there
            await self._prepare()
        except _Unreachable as exc:
            self._down(exc)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="legalbot-pg-eventlog")
        logger.info("event log: PostgreSQL at %s (retention %d days)", self.where, self.retention_days)

    def record(self, turn: Turn) -> None:
        """Buffer one handled message (an engine listener)."""
        self._put(_Item(self._clock(), turn))

    def record_feedback(self, feedback: Feedback) -> None:
        """Buffer one 👍/👎 (an engine feedback listener)."""
        self._put(_Item(self._clock(), feedback))

    def record_refusal(self, channel: str, user: str) -> None:
        """Buffer one message the rate limit refused (a RateLimiter listener)."""
        self._put(_Item(self._clock(), (channel, user)))

    def user_hash(self, channel: str, user: str) -> str:
        """The same salted, keyed hash as the SQLite log's."""
        key = f"{channel}:{user}".encode("utf-8", "surrogatepass")
        return hmac.new(self._salt, key, hashlib.sha256).hexdigest()[:24]

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything buffered so far is committed; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                while self.pending:
                    self._idle.clear()
                    await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def close(self, timeout: float = 10.0) -> None:
        """Write what is buffered (waiting up to `timeout` for the database), count the rest, close the pool."""
        self._stopping = True
        if self._task is not None:
            await self.flush(timeout)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._buffer:
            self.failed += len(self._buffer)
            logger.error("event log: %d rows not written before shutdown (%s)", len(self._buffer), self.problem)
            self._buffer.clear()
        if self._pool is not None:
            await self._pool.close()
        logger.info("event log closed: %d rows written, %d failed", self.written, self.failed)

    def _put(self, item: _Item) -> None:
        if self._stopping and self._task is None:
            raise RuntimeError("event log is closed")
        if len(self._buffer) >= self._capacity:
            self.failed += 1
            if self.failed == 1 or self.failed % 1000 == 0:
                logger.error("event log buffer full (%d rows) while %s: %d rows not kept",
                             self._capacity, self.problem or "the database is slow", self.failed)
            return
        self._buffer.append(item)
        self._wake.set()

    async def _run(self) -> None:
        while True:
            if not self._buffer:
                self._idle.set()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(600):
                        await self._wake.wait()
            try:
                if not self._prepared:
                    await self._prepare()
                await self._write_batch()
                await self._purge_daily()
            except _Unreachable as exc:
                self._down(exc)
                await asyncio.sleep(_RETRY_SECONDS)
                continue
            if self.problem:
                logger.info("event log: PostgreSQL at %s is back; buffered rows are being written", self.where)
                self.problem = ""

    async def _prepare(self) -> None:
        """Migrate the schema and fetch the stored salt (created by whichever replica comes first)."""
        assert self._pool is not None
        async with self._pool.connection() as conn:
            found = await migrate(conn)
            if found < SCHEMA_VERSION:
                logger.info("event database schema: version %d -> %d", found, SCHEMA_VERSION)
            if not self._salt:
                await conn.execute("INSERT INTO meta (key, value) VALUES ('hash_salt', %s) ON CONFLICT DO NOTHING",
                                   (secrets.token_hex(32),))
                row = await (await conn.execute("SELECT value FROM meta WHERE key = 'hash_salt'")).fetchone()
                assert row is not None
                self._salt = str(row[0]).encode("utf-8", "surrogatepass")
                logger.warning("event log: the salt of the user hashes is kept in the database itself; "
                               "set LEGALBOT_HASH_SALT from a secret store")
        self._prepared = True

    async def _write_batch(self) -> None:
        """Commit up to _BATCH buffered rows in one transaction and one round trip; on failure they go back."""
        assert self._pool is not None
        batch = [self._buffer.popleft() for _ in range(min(_BATCH, len(self._buffer)))]
        if not batch:
            return
        self._in_flight = len(batch)
        try:
            async with self._pool.connection() as conn:
                try:
                    await self._insert(conn, batch)
                except _Unreachable:
                    raise
                except psycopg.Error:  # a row the database refuses: store the others one by one
                    for item in batch:
                        try:
                            await self._insert(conn, [item])
                        except _Unreachable:
                            raise
                        except psycopg.Error as exc:
                            self.failed += 1
                            logger.error("event log could not store 1 row (%s)", type(exc).__name__)
        except BaseException:
            self._buffer.extendleft(reversed(batch))  # kept, in order, for the next try
            raise
        finally:
            self._in_flight = 0

    async def _insert(self, conn: psycopg.AsyncConnection[Any], items: list[_Item]) -> None:
        async with conn.transaction(), conn.pipeline():
            for item in items:
                sql, params = self._row(item)
                await conn.execute(sql, params)
        self.written += len(items)

    def _row(self, item: _Item) -> tuple[str, tuple[object, ...]]:
        what = item.what
        if isinstance(what, Turn):
            reply = what.reply
            return ("INSERT INTO events (at, channel, user_hash, text, intent, confidence, outcome, kind, runner_up,"
                    " candidates, millis) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (item.at, storable(what.channel), self.user_hash(what.channel, what.user),
                     redact(storable(what.text))[:MAX_STORED_CHARS],
                     storable(reply.intent) if reply.intent is not None else None, float(reply.confidence),
                     reply.outcome.value, storable(reply.kind),
                     storable(reply.runner_up.intent) if reply.runner_up else None,
                     storable(",".join(c.intent for c in reply.candidates[:3])), round(what.millis, 3)))
        if isinstance(what, Feedback):
            user_hash = self.user_hash(what.channel, what.user)
            # The answer rated is the user's latest turn on that intent (buttons sit under that answer).
            return ("INSERT INTO feedback (at, channel, user_hash, intent, is_helpful, event_id) VALUES"
                    " (%s, %s, %s, %s, %s, (SELECT id FROM events WHERE user_hash = %s AND intent = %s"
                    " ORDER BY id DESC LIMIT 1))",
                    (item.at, storable(what.channel), user_hash, storable(what.intent), int(what.is_helpful),
                     user_hash, storable(what.intent)))
        channel, user = what
        return ("INSERT INTO refused (minute, channel, user_hash, count) VALUES (%s, %s, %s, 1)"
                " ON CONFLICT (minute, channel, user_hash) DO UPDATE SET count = refused.count + 1",
                (int(item.at // 60), storable(channel), self.user_hash(channel, user)))

    async def _purge_daily(self) -> None:
        now = self._clock()
        if now - self._last_purge < DAY:
            return
        assert self._pool is not None
        cutoff = now - self.retention_days * DAY
        async with self._pool.connection() as conn, conn.transaction():
            deleted = 0
            for sql in ("DELETE FROM feedback WHERE at < %s", "DELETE FROM events WHERE at < %s",
                        "DELETE FROM refused WHERE minute * 60 < %s"):
                deleted += (await conn.execute(sql, (cutoff,))).rowcount
        if deleted:
            logger.info("event log retention: deleted %d rows older than %d days", deleted, self.retention_days)
        self._last_purge = now

    def _down(self, exc: BaseException) -> None:
        if not self.problem:
            self.outages += 1
            logger.warning("event log: PostgreSQL at %s unreachable (%s); buffering rows (%d waiting)",
                           self.where, type(exc).__name__, self.pending)
        self.problem = f"event database at {self.where} unreachable ({type(exc).__name__}); {self.pending} rows waiting"
