"""The ConversationStore in Redis, shared by every replica of `legalbot serve` (LEGALBOT_REDIS_URL).

Round trips per message: the rate-limit bucket (one EVAL), lock + load context (one pipeline), and
save context + unlock (one pipeline); a Telegram update adds its update_id claim (one SET NX).
While Redis is unreachable nothing raises: turns run without context, limits and claims fall back
to this process, /healthz says "degraded", and a probe marks Redis up again once it answers PING.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from bot.config import safe_url
from bot.context import Context
from bot.service.conversations import SEEN_SECONDS, MemoryConversations, Slot, StoreHealth
from bot.service.ratelimit import Verdict

logger = logging.getLogger(__name__)

PREFIX = "legalbot:"
# Compare-and-delete / compare-and-extend: a lock that expired and was taken by another replica
# is never released or renewed by the one that lost it.
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_EXTEND = ("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
           "return 0")
# The token bucket of bot/service/ratelimit.py, on Redis's clock so replicas agree: 0 allow, 1 notify, 2 drop.
_BUCKET = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local cap, rate, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'notified')
local tokens = tonumber(b[1]) or cap
local updated = tonumber(b[2]) or t
tokens = math.min(cap, tokens + math.max(0, t - updated) * rate)
local verdict = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  local n = tonumber(b[3])
  if n == nil or t - n >= window then
    redis.call('HSET', KEYS[1], 'notified', tostring(t))
    verdict = 1
  else
    verdict = 2
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(t))
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 2000))
return verdict
"""
_VERDICTS = (Verdict.ALLOW, Verdict.NOTIFY, Verdict.DROP)
_Failure = (RedisError, OSError)


def _encode(ctx: Context) -> str:
    return json.dumps({"intent": ctx.intent, "offered": list(ctx.offered), "given": sorted(ctx.given),
                       "after_danger": ctx.after_danger,
                       "unconfirmed": list(ctx.unconfirmed)}, ensure_ascii=False)


def _strings(value: object) -> tuple[str, ...]:
    """A list of intent ids as stored; a record written before it was kept holds none."""
    return tuple(str(i) for i in value) if isinstance(value, list) else ()


def _decode(raw: bytes | None) -> Context | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return Context(data["intent"], 0.0, tuple(str(i) for i in data["offered"]),
                       frozenset(str(g) for g in data.get("given", ())), bool(data.get("after_danger", False)),
                       _strings(data.get("unconfirmed")))
    except (ValueError, KeyError, TypeError):
        logger.warning("a stored conversation context was not readable; starting that conversation afresh")
        return None


class RedisConversations:
    """Context, locks, buckets and claims in Redis, with keys that expire by themselves."""

    def __init__(self, url: str, *, context_ttl: float = 1800.0, lock_ttl: float = 15.0,
                 lock_wait: float = 10.0, probe_every: float = 1.0, timeout: float = 2.0) -> None:
        self.where = safe_url(url)
        # No retries inside redis-py: a turn must not wait through backoffs while Redis is away;
        # the probe below notices when it is back.
        self.client = aioredis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                              retry=Retry(NoBackoff(), 0))
        self.context_ms = int(context_ttl * 1000)
        self.lock_ms = int(lock_ttl * 1000)
        self.lock_wait = lock_wait
        self.probe_every = probe_every
        self._local = MemoryConversations()
        self._is_up = True
        self._reason = ""
        self._failures = 0
        self._outages = 0
        self._round_trips = 0
        self._probe: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"RedisConversations({self.where!r})"

    async def start(self) -> None:
        """Check Redis once at start-up; if it is away, start degraded (and probing) rather than fail."""
        try:
            await self.client.ping()
            logger.info("conversation state in Redis at %s", self.where)
        except _Failure as exc:
            self._down(exc)

    @contextlib.asynccontextmanager
    async def turn(self, user: str) -> AsyncIterator[Slot]:
        if not self._is_up:
            self._failures += 1
            yield Slot(None, load=True, save=False)  # stateless while Redis is away, never stale
            return
        token = secrets.token_hex(12)
        try:
            ctx, is_held = await self._lock_and_load(user, token)
        except _Failure as exc:
            self._down(exc)
            yield Slot(None, load=True, save=False)
            return
        renewal = asyncio.create_task(self._renew(user, token)) if is_held else None
        slot = Slot(ctx, load=True, save=True)
        try:
            yield slot
        finally:
            if renewal is not None:
                renewal.cancel()
            await self._save_and_unlock(user, token, slot, is_held)

    async def _lock_and_load(self, user: str, token: str) -> tuple[Context | None, bool]:
        """SET lock NX + GET context in one round trip, again after a short wait while another replica holds it."""
        deadline = time.monotonic() + self.lock_wait
        pause = 0.005
        while True:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.set(self._key("lock", user), token, nx=True, px=self.lock_ms)
                pipe.get(self._key("ctx", user))
                is_held, raw = await pipe.execute()
            self._round_trips += 1
            if is_held or time.monotonic() >= deadline:
                if not is_held:
                    logger.warning("a user's turn waited %.0f s for another replica; answering without the lock",
                                   self.lock_wait)
                return _decode(raw), bool(is_held)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)

    async def _save_and_unlock(self, user: str, token: str, slot: Slot, is_held: bool) -> None:
        """SET (or DEL) context + release the lock in one round trip."""
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                if slot.context is None:
                    pipe.delete(self._key("ctx", user))
                else:
                    pipe.set(self._key("ctx", user), _encode(slot.context), px=self.context_ms)
                if is_held:
                    pipe.eval(_RELEASE, 1, self._key("lock", user), token)
                await pipe.execute()
            self._round_trips += 1
        except _Failure as exc:
            self._down(exc)  # the lock expires by itself; the context of this one turn is lost

    async def _renew(self, user: str, token: str) -> None:
        """Keep the lock while the turn runs (a delivery may retry for a minute)."""
        with contextlib.suppress(*_Failure):
            while True:
                await asyncio.sleep(self.lock_ms / 3000)
                if not await self.client.eval(_EXTEND, 1, self._key("lock", user), token, str(self.lock_ms)):
                    logger.warning("a user's turn lost its lock in Redis (held past %d ms)", self.lock_ms)
                    return

    async def rate(self, key: str, capacity: float, window: float) -> Verdict | None:
        if not self._is_up:
            self._failures += 1
            return None
        try:
            verdict = await self.client.eval(_BUCKET, 1, self._key("rate", key), str(capacity),
                                             str(capacity / window), str(window))
        except _Failure as exc:
            self._down(exc)
            return None
        self._round_trips += 1
        return _VERDICTS[int(verdict)]

    async def claim(self, kind: str, key: str) -> bool:
        if self._is_up:
            try:
                is_new = await self.client.set(self._key(kind, key), "1", nx=True, ex=int(SEEN_SECONDS))
                self._round_trips += 1
                return bool(is_new)
            except _Failure as exc:
                self._down(exc)
        self._failures += 1
        return self._local.claim_here(kind, key)

    async def put(self, kind: str, key: str, value: str) -> None:
        if self._is_up:
            try:
                await self.client.set(self._key(kind, key), value, ex=int(SEEN_SECONDS))
                self._round_trips += 1
                return
            except _Failure as exc:
                self._down(exc)
        self._failures += 1
        await self._local.put(kind, key, value)

    async def get(self, kind: str, key: str, *, remove: bool = False) -> str | None:
        if self._is_up:
            try:
                name = self._key(kind, key)
                raw = await (self.client.getdel(name) if remove else self.client.get(name))
                self._round_trips += 1
                return raw.decode() if raw is not None else None
            except _Failure as exc:
                self._down(exc)
        self._failures += 1
        return await self._local.get(kind, key, remove=remove)

    def health(self) -> StoreHealth:
        return StoreHealth("redis", self._is_up, self._reason, self._failures, self._outages, self._round_trips)

    async def reconnected(self) -> None:
        """Return once Redis answers again after an outage (at once while it is up): the probe's end."""
        if self._probe is not None and not self._is_up:
            await asyncio.shield(self._probe)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self.client.aclose()

    def _key(self, kind: str, key: str) -> str:
        return f"{PREFIX}{kind}:{key}"

    def _down(self, exc: BaseException) -> None:
        """Note Redis unreachable (once per outage in the log, never with the URL's password) and probe for it."""
        self._failures += 1
        if not self._is_up:
            return
        self._is_up = False
        self._outages += 1
        self._reason = f"Redis at {self.where} unreachable ({type(exc).__name__})"
        logger.warning("%s; answering without shared context until it is back", self._reason)
        self._probe = asyncio.get_running_loop().create_task(self._wait_for_redis())

    async def _wait_for_redis(self) -> None:
        while True:
            await asyncio.sleep(self.probe_every)
            try:
                await self.client.ping()
            except _Failure:
                continue
            self._is_up = True
            self._reason = ""
            logger.info("Redis at %s is back; conversation state is shared again", self.where)
            return
