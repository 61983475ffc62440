"""The delivery policy every channel sends through: retry what may succeed later, give up on what cannot.

At least once: a send whose connection drops or times out may already have reached the citizen,
and it is sent again, so a rare duplicate is possible and a lost answer is not. A failure is
retried with exponential backoff and full jitter until `deadline` seconds have passed; a flood
answer (retry after N seconds) is waited out; a refusal that retrying cannot change (the citizen
blocked the bot, the chat does not exist) ends at once. Each give-up is logged once, without the
text, and counted with its cause. The channel says which of its exceptions is which (`Classify`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from bot.errors import BotError

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Failure:
    """What a channel's exception means for delivery.

    `cause` labels the metrics ("network", "timeout", "server_error", "flood", "forbidden", "bad_request"…);
    `may_succeed` says whether a retry can help; `wait` is the server's own "retry after" in seconds;
    `maybe_delivered` is True when the request may have reached the other side (timeout, dropped connection);
    `is_routine` marks refusals met in ordinary use (a button press too old to acknowledge), logged at INFO.
    """

    cause: str
    may_succeed: bool
    maybe_delivered: bool = False
    wait: float | None = None
    is_routine: bool = False


Classify = Callable[[BaseException], Failure | None]  # None: not a delivery failure; the exception propagates


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How long and how often to retry: delays of uniform(0, min(max_delay, base_delay·2ⁿ)) until `deadline`."""

    base_delay: float = 0.5
    max_delay: float = 10.0
    deadline: float = 60.0
    max_attempts: int | None = None  # None: as many as fit before the deadline
    give_up_level: int = logging.WARNING  # best-effort sends (typing…) give up at INFO

    def delay(self, retry: int, rng: Callable[[], float] = random.random) -> float:
        """The full-jitter backoff before retry number `retry` (0 for the first retry)."""
        return rng() * min(self.max_delay, self.base_delay * 2 ** retry)


class Undelivered(BotError):
    """A send given up on; `failure` says why, `maybe_delivered` whether some attempt may have arrived."""

    def __init__(self, what: str, failure: Failure, attempts: int, maybe_delivered: bool) -> None:
        tries = f"after {attempts} attempts" if attempts > 1 else "at the first attempt"
        super().__init__(f"{what} not delivered ({failure.cause}) {tries}")
        self.what = what
        self.failure = failure
        self.attempts = attempts
        self.maybe_delivered = maybe_delivered


@dataclass(slots=True)
class Exchange:
    """What the sends answering one incoming message have done so far (e.g. so no apology follows an answer)."""

    maybe_delivered: bool = False


class DeliveryCounts:
    """Retries and give-ups by (channel, method, cause), read by /metrics."""

    def __init__(self) -> None:
        self.retries: Counter[tuple[str, str, str]] = Counter()
        self.gave_up: Counter[tuple[str, str, str]] = Counter()


class Delivery:
    """One channel's sender: `await delivery.deliver(lambda: bot.send_message(…), what="sendMessage")`.

    Retries of one send run inside the caller, so the caller's ordering holds (a chat's later
    messages wait for this one) and other callers are not held up.
    """

    def __init__(self, channel: str, classify: Classify, policy: DeliveryPolicy | None = None, *,
                 counts: DeliveryCounts | None = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random) -> None:
        self.channel = channel
        self.classify = classify
        self.policy = policy if policy is not None else DeliveryPolicy()
        self.counts = counts if counts is not None else DeliveryCounts()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng

    async def deliver(self, send: Callable[[], Awaitable[T]], *, what: str, policy: DeliveryPolicy | None = None,
                      exchange: Exchange | None = None) -> T:
        """Await `send()` until it succeeds; raise Undelivered when the policy gives up.

        `what` names the operation in logs and metrics (e.g. "sendMessage"), never the content.
        With `exchange`, a success or an ambiguous failure marks it as possibly delivered.
        """
        policy = policy or self.policy
        started = self._clock()
        maybe_delivered = False
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await send()
            except Exception as exc:
                failure = self.classify(exc)
                if failure is None:
                    raise
                if failure.maybe_delivered:
                    maybe_delivered = True
                    if exchange is not None:
                        exchange.maybe_delivered = True
                pause = self._pause(policy, failure, attempt, started)
                if pause is None:
                    self._give_up(policy, what, failure, attempt, exc)
                    raise Undelivered(what, failure, attempt, maybe_delivered) from exc
                self.counts.retries[(self.channel, what, failure.cause)] += 1
                logger.debug("%s %s failed (%s); retry %d in %.2fs", self.channel, what, failure.cause,
                             attempt, pause)
                await self._sleep(pause)
            else:
                if exchange is not None:
                    exchange.maybe_delivered = True
                return result

    def _pause(self, policy: DeliveryPolicy, failure: Failure, attempt: int, started: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if not failure.may_succeed or (policy.max_attempts is not None and attempt >= policy.max_attempts):
            return None
        pause = failure.wait if failure.wait is not None else policy.delay(attempt - 1, self._rng)
        if self._clock() - started + pause > policy.deadline:
            return None
        return pause

    def _give_up(self, policy: DeliveryPolicy, what: str, failure: Failure, attempts: int, exc: Exception) -> None:
        self.counts.gave_up[(self.channel, what, failure.cause)] += 1
        # The exception's type only: its message may quote the request, and so the citizen's text.
        level = logging.INFO if failure.is_routine else policy.give_up_level
        logger.log(level, "%s %s given up after %d attempt(s): %s (%s)", self.channel, what, attempts,
                   failure.cause, type(exc).__name__)
