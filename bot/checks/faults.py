"""What the fake Bot API can be told to do to a call: fail it, drop it (before or after it takes effect),
stall it past the bot's read timeout, or hold it back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected failure: an HTTP error (429 carries retry_after) or, with status 0, a dropped connection.

    With `takes_effect`, the call is carried out (a message is stored and seen by the citizen) before
    the connection drops, so the bot cannot know it worked; with `stalls` too, no answer comes until
    the fake closes, so the bot's read timeout fires first.
    """

    status: int
    description: str = ""
    retry_after: float | None = None
    takes_effect: bool = False
    stalls: bool = False


def flood(retry_after: float = 1.0) -> Fault:
    """Telegram's flood-control answer: 429 with parameters.retry_after (seconds)."""
    return Fault(429, f"Too Many Requests: retry after {retry_after:g}", retry_after)


SERVER_ERROR = Fault(500, "Internal Server Error")
BAD_GATEWAY = Fault(502, "Bad Gateway")
DROP = Fault(0, "connection dropped")
DROP_AFTER = Fault(0, "connection dropped after the call took effect", takes_effect=True)
STALL = Fault(0, "no answer after the call took effect", takes_effect=True, stalls=True)


@dataclass(frozen=True, slots=True)
class Hold:
    """A call held back: `arrived` is set when it comes in, and it is answered once `released` is set."""

    method: str
    where: Callable[[Mapping[str, Any]], bool] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        """True when this hold is for a call of `method` with these parameters."""
        return method == self.method and (self.where is None or self.where(params))


@dataclass(frozen=True, slots=True)
class Call:
    """One request the bot made: method, decoded parameters, the status it got and the result sent.

    `dropped`: the call took effect (status 200, result stored) but its answer never reached the bot.
    """

    method: str
    params: Mapping[str, Any]
    status: int
    result: Any = None
    dropped: bool = False

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.status == 200
