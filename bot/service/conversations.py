"""Where per-conversation state lives: the ConversationStore protocol and its in-memory default.

One process keeps everything in memory (the default, as `legalbot chat` and a single `serve` need).
Several replicas share one Redis (bot/service/redisstore.py): context, rate-limit buckets, the keys
of messages already handled (Telegram update_id, WeChat MsgId), feedback-once, and the per-user lock
that keeps one user's messages in order across replicas.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from bot.context import Context
from bot.service.ratelimit import Verdict

SEEN_SECONDS = 24 * 3600.0  # how long a handled message's key is remembered (Telegram retries for a day at most)
_LOCAL_KEYS = 4096  # keys remembered per kind in memory


@dataclass(slots=True)
class Slot:
    """One user's turn in the store: the context loaded at its start (`load`: replace the engine's own)
    and whether the context at its end is written back (`save`)."""

    context: Context | None = None
    load: bool = False
    save: bool = False


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """For /healthz and /metrics: is the store reachable, why not, and how often it failed."""

    name: str
    is_up: bool = True
    reason: str = ""
    failures: int = 0  # operations that met the store unreachable (answered without it)
    outages: int = 0  # times the store went away
    round_trips: int = 0


class ConversationStore(Protocol):
    """The per-conversation state of every channel; a store that is unreachable degrades, it never raises."""

    def turn(self, user: str) -> contextlib.AbstractAsyncContextManager[Slot]:
        """Hold the user's turn (their earlier messages finish first) with their context loaded."""
        ...

    async def rate(self, key: str, capacity: float, window: float) -> Verdict | None:
        """Take a token from key's bucket shared by the replicas; None: count in this process."""
        ...

    async def claim(self, kind: str, key: str) -> bool:
        """True the first time (kind, key) is seen by any replica within SEEN_SECONDS."""
        ...

    async def put(self, kind: str, key: str, value: str) -> None:
        """Keep a small value (a reply, the answer a 👍 would rate) for SEEN_SECONDS."""
        ...

    async def get(self, kind: str, key: str, *, remove: bool = False) -> str | None:
        """The value put under (kind, key), or None; `remove` takes it away."""
        ...

    def health(self) -> StoreHealth:
        """Reachability and failure counts."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass(slots=True)
class MemoryConversations:
    """Everything in this process: the engine's own ContextStore holds the context, so turns load nothing."""

    _keys: dict[str, OrderedDict[str, str]] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def turn(self, user: str) -> AsyncIterator[Slot]:
        yield Slot()  # the engine's per-user lock already orders this process's turns

    async def rate(self, key: str, capacity: float, window: float) -> Verdict | None:
        return None

    async def claim(self, kind: str, key: str) -> bool:
        return self.claim_here(kind, key)

    def claim_here(self, kind: str, key: str) -> bool:
        """claim() without awaiting: for the fallback of a shared store."""
        seen = self._kind(kind)
        if key in seen:
            return False
        self._store(seen, key, "")
        return True

    async def put(self, kind: str, key: str, value: str) -> None:
        self._store(self._kind(kind), key, value)

    async def get(self, kind: str, key: str, *, remove: bool = False) -> str | None:
        values = self._kind(kind)
        return values.pop(key, None) if remove else values.get(key)

    def health(self) -> StoreHealth:
        return StoreHealth("memory")

    async def close(self) -> None:
        pass

    def _kind(self, kind: str) -> OrderedDict[str, str]:
        return self._keys.setdefault(kind, OrderedDict())

    @staticmethod
    def _store(values: OrderedDict[str, str], key: str, value: str) -> None:
        values[key] = value
        values.move_to_end(key)
        while len(values) > _LOCAL_KEYS:
            values.popitem(last=False)
