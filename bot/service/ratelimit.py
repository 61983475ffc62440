"""Per-user rate limit shared by the channels: a flood gets one slow-down notice, then silence."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class Verdict(Enum):
    """What a channel does with a message: answer it, send the slow-down notice, or drop it."""

    ALLOW = "allow"
    NOTIFY = "notify"
    DROP = "drop"


class SharedBuckets(Protocol):
    """Buckets kept where every replica counts (bot.service.conversations.ConversationStore.rate)."""

    async def rate(self, key: str, capacity: float, window: float) -> Verdict | None: ...


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    notified_at: float | None = None


class RateLimiter:
    """A token bucket per user: `per_minute` messages in a burst, refilled evenly over a minute.

    A refused message gets Verdict.NOTIFY at most once per window and Verdict.DROP otherwise,
    so a flood is answered by one notice. Only the `max_users` most recently seen users are
    remembered: memory stays bounded, and a forgotten user simply starts with a full bucket.
    """

    def __init__(self, per_minute: int, *, window: float = 60.0, max_users: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, not {per_minute}")
        self.capacity = float(per_minute)
        self.window = window
        self.max_users = max_users
        self._rate = per_minute / window
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.refused = 0
        self.listeners: list[Callable[[str, str], None]] = []  # called with (channel, key) for each refusal
        self.shared: SharedBuckets | None = None  # buckets shared by replicas (Redis); None: here

    async def admit(self, key: str, channel: str = "") -> Verdict:
        """check(), counted across replicas when the buckets are shared; here while the shared store is away."""
        if self.shared is not None:
            verdict = await self.shared.rate(key, self.capacity, self.window)
            if verdict is not None:
                if verdict is not Verdict.ALLOW:
                    self._refuse(channel, key)
                return verdict
        return self.check(key, channel)

    def check(self, key: str, channel: str = "") -> Verdict:
        """Take one message from key's bucket and say what to do with it; refusals go to the listeners."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_users:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.ALLOW
        self._refuse(channel, key)
        if bucket.notified_at is None or now - bucket.notified_at >= self.window:
            bucket.notified_at = now
            return Verdict.NOTIFY
        return Verdict.DROP

    def _refuse(self, channel: str, key: str) -> None:
        self.refused += 1
        for listener in self.listeners:
            listener(channel, key)

    @property
    def users(self) -> int:
        """How many users' buckets are remembered."""
        return len(self._buckets)
