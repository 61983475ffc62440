"""What the fake Bot API can be told to do to a call: fail it, drop it, or hold it back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected failure: an HTTP error (429 carries retry_after) or, with status 0, a dropped connection."""

    status: int
    description: str = ""
    retry_after: float | None = None


def flood(retry_after: float = 1.0) -> Fault:
    """Telegram's flood-control answer: 429 with parameters.retry_after (seconds)."""
    return Fault(429, f"Too Many Requests: retry after {retry_after:g}", retry_after)


SERVER_ERROR = Fault(500, "Internal Server Error")
DROP = Fault(0, "connection dropped")


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
    """One request the bot made: method, decoded parameters, the status it got and the result sent."""

    method: str
    params: Mapping[str, Any]
    status: int
    result: Any = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded."""
        return self.status == 200
