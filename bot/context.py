"""Per-user conversation context: the last topic, the buttons shown and the answer parts given, bounded in size and in time."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Context:
    """What the bot remembers of a user between turns: the last topic, the buttons shown, the
    answer parts already given (so none is given twice word for word), and when."""

    intent: str | None
    at: float
    offered: tuple[str, ...] = ()
    given: frozenset[str] = frozenset()
    after_danger: bool = False  # an emergency answer came earlier: later answers keep the safety line
    # The services a "did you mean" offered, none chosen yet (the topic is the first of them): a follow-up
    # ("要钱吗") is asked which of them it is about rather than answered with the first.
    unconfirmed: tuple[str, ...] = ()


class ContextStore:
    """A small LRU of user -> Context; entries older than ttl seconds are forgotten."""

    def __init__(self, *, max_users: int = 10_000, ttl: float = 1800.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._items: OrderedDict[str, Context] = OrderedDict()
        self._max_users = max_users
        self._ttl = ttl
        self._clock = clock

    def get(self, user: str) -> Context | None:
        """The user's context, or None when there is none or it has expired."""
        ctx = self._items.get(user)
        if ctx is None:
            return None
        if self._clock() - ctx.at > self._ttl:
            del self._items[user]
            return None
        self._items.move_to_end(user)
        return ctx

    def remember(self, user: str, intent: str, unconfirmed: tuple[str, ...] = ()) -> None:
        """Record the intent just answered (or offered first among `unconfirmed`), evicting the least
        recently seen user when full."""
        ctx = self.get(user)
        base = ctx or Context(None, self._clock())
        self._put(user, replace(base, intent=intent, at=self._clock(), unconfirmed=unconfirmed))

    def offer(self, user: str, intents: tuple[str, ...]) -> None:
        """Record the intents of the buttons just shown, so "2" can pick the second."""
        ctx = self.get(user)
        if ctx is None and not intents:
            return
        base = ctx or Context(None, self._clock())
        self._put(user, replace(base, at=self._clock(), offered=intents))

    def note(self, user: str, given: frozenset[str]) -> None:
        """Add to the answer parts the user has been given in this conversation."""
        ctx = self.get(user)
        if not given:
            return
        base = ctx or Context(None, self._clock())
        self._put(user, replace(base, at=self._clock(), given=base.given | given))

    def alarm(self, user: str) -> None:
        """After an emergency answer: no topic to follow up, but the answers that follow in this
        conversation keep the safety line (the danger may not be over)."""
        self._put(user, Context(None, self._clock(), after_danger=True))

    def _put(self, user: str, ctx: Context) -> None:
        self._items[user] = ctx
        self._items.move_to_end(user)
        while len(self._items) > self._max_users:
            self._items.popitem(last=False)

    def restore(self, user: str, ctx: Context | None) -> None:
        """Put back a context kept elsewhere (a shared store) as this turn's starting point; None forgets."""
        if ctx is None:
            self.forget(user)
        else:
            self._put(user, replace(ctx, at=self._clock()))

    def forget(self, user: str) -> None:
        """Drop the user's context (after a goodbye, or on request)."""
        self._items.pop(user, None)

    def __len__(self) -> int:
        return len(self._items)
