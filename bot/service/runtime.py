"""Background services that run beside a channel: catalogue hot reload, the event log, the match pool
and, for several replicas, the conversation state in Redis."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.catalogue.cache import CatalogueLoader
from bot.config import Settings
from bot.engine import Engine
from bot.service.eventlog import EventLog
from bot.service.conversations import ConversationStore, MemoryConversations
from bot.service.matchpool import MatchPool
from bot.service.pgeventlog import PgEventLog
from bot.service.ratelimit import RateLimiter
from bot.service.redact import RedactingFilter
from bot.service.watcher import CatalogueWatcher

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    """What runs beside the channels; either part is None when it is not configured."""

    watcher: CatalogueWatcher | None
    events: EventLog | PgEventLog | None
    pool: MatchPool | None = None
    store: ConversationStore | None = None  # Redis, when LEGALBOT_REDIS_URL is set


@asynccontextmanager
async def services(engine: Engine, settings: Settings, *, watch: bool = True,
                   limiter: RateLimiter | None = None) -> AsyncIterator[Services]:
    """Start the services for a running bot and stop them (flushing what they hold) on exit.

    The event log records the engine's turns and feedback, and the messages `limiter` refuses.
    """
    redacting = _redact_logs()
    events: EventLog | PgEventLog | None = None
    if settings.db_url:
        events = PgEventLog(settings.db_url, salt=settings.hash_salt, retention_days=settings.retention_days)
        await events.start()
    elif settings.db_path is not None:
        events = await asyncio.to_thread(EventLog, settings.db_path, salt=settings.hash_salt,
                                         retention_days=settings.retention_days)
        logger.info("event log: %s (retention %d days)", settings.db_path, settings.retention_days)
    unsubscribe = None
    if events is not None:
        unsubscribe = engine.subscribe(events.record, events.record_feedback)
        if limiter is not None:
            limiter.listeners.append(events.record_refusal)
    watcher = CatalogueWatcher(engine) if watch and engine.intents_dir and engine.content_dir else None
    pool = None
    store = await _share_conversations(engine, settings, limiter)
    try:
        if settings.match_workers > 0:
            pool = await _start_pool(engine, settings.match_workers)
        if watcher is not None:
            await watcher.start()
            logger.info("watching %s for changes", ", ".join(str(p) for p in watcher.paths))
            _read_ahead(engine)
        yield Services(watcher, events, pool, store)
    finally:
        try:
            if watcher is not None:
                await watcher.stop()
            if pool is not None:
                engine.matcher = None  # replies from now on match inline while the workers finish
                await pool.close()
        finally:
            if events is not None:
                if unsubscribe is not None:
                    unsubscribe()
                if limiter is not None:
                    limiter.listeners.remove(events.record_refusal)
                await _close(events)
            _unredact_logs(redacting)
            if store is not None:
                engine.conversations, previous = MemoryConversations(), store
                if limiter is not None:
                    limiter.shared = None
                await previous.close()


async def _share_conversations(engine: Engine, settings: Settings,
                               limiter: RateLimiter | None) -> ConversationStore | None:
    """Keep context, limits and handled-message keys in Redis when LEGALBOT_REDIS_URL is set."""
    if not settings.redis_url:
        return None
    from bot.service.redisstore import RedisConversations  # imports redis only when it is used

    store = RedisConversations(settings.redis_url)
    await store.start()
    engine.conversations = store
    if limiter is not None:
        limiter.shared = store
    return store


async def _start_pool(engine: Engine, workers: int) -> MatchPool | None:
    """Match in worker processes; if they cannot start, say so and match in this process."""
    loader = engine.loader
    pool = MatchPool(workers, stored=loader.stored if isinstance(loader, CatalogueLoader) else None)
    try:
        await pool.start(engine.catalogue.index)
    except Exception as exc:  # e.g. no process can be started in this container
        logger.warning("match workers could not start (%s: %s); matching in the serving process",
                       type(exc).__name__, exc)
        await pool.close()
        return None
    engine.matcher = pool
    logger.info("matching in %d worker processes", workers)
    return pool


def _read_ahead(engine: Engine) -> None:
    """After a start from the cache, read what the first reload needs in a background thread (a
    daemon: a stop need not wait for it), so the first saved edit is served as quickly as later ones."""
    loader = engine.loader
    if not isinstance(loader, CatalogueLoader) or engine.intents_dir is None or engine.content_dir is None:
        return
    intents, content = engine.intents_dir, engine.content_dir

    def read() -> None:
        try:
            loader.read_ahead(intents, content)
        except Exception as exc:  # e.g. a file saved mid-read: the reload reads it and reports it
            logger.info("catalogue files not read ahead (%s: %s)", type(exc).__name__, exc)

    threading.Thread(target=read, name="legalbot-read-ahead", daemon=True).start()


async def _close(events: EventLog | PgEventLog) -> None:
    """Flush and close the event log off the loop; if we are cancelled meanwhile, finish the flush anyway."""
    if isinstance(events, PgEventLog):
        await events.close()
        return
    try:
        await asyncio.to_thread(events.close)
    except asyncio.CancelledError:
        events.close()  # waits for the same writer thread: nothing accepted is lost on a second signal
        raise


def _redact_logs() -> list[logging.Handler]:
    """Add the redacting filter to the root handlers, so no log line carries a phone or ID number."""
    added = []
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(_FILTER)
            added.append(handler)
    return added


def _unredact_logs(handlers: list[logging.Handler]) -> None:
    for handler in handlers:
        handler.removeFilter(_FILTER)


_FILTER = RedactingFilter()
