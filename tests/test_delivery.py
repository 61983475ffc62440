"""The delivery policy: what is retried, how long, what is given up, logged and counted."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from bot.service.delivery import Delivery, DeliveryPolicy, Exchange, Failure, Undelivered


class Flaky(Exception):
    """A failure the test channel calls transient."""


class Dropped(Exception):
    """A transient failure after which the message may have arrived."""


class Refused(Exception):
    """A failure retrying cannot fix."""


class Flood(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(f"retry after {wait}")
        self.wait = wait


def classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, Flood):
        return Failure("flood", may_succeed=True, wait=exc.wait)
    if isinstance(exc, Dropped):
        return Failure("network", may_succeed=True, maybe_delivered=True)
    if isinstance(exc, Flaky):
        return Failure("server_error", may_succeed=True)
    if isinstance(exc, Refused):
        return Failure("forbidden", may_succeed=False)
    return None


class Clock:
    """Time that passes only when the policy sleeps, so the tests take no time at all."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def outcomes(*results: BaseException | str) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    """A send() that raises or returns the given results in turn; the list counts its calls."""
    calls: list[int] = []
    queue = list(results)

    async def send() -> str:
        calls.append(1)
        result = queue.pop(0)
        if isinstance(result, BaseException):
            raise result
        return result

    return calls, send


POLICY = DeliveryPolicy(base_delay=1.0, max_delay=8.0, deadline=60.0)


def delivery(clock: Clock, policy: DeliveryPolicy = POLICY) -> Delivery:
    return Delivery("test", classify, policy, sleep=clock.sleep, clock=clock, rng=lambda: 1.0)


async def test_transient_failures_are_retried_with_exponential_backoff_and_counted() -> None:
    clock = Clock()
    sender = delivery(clock)
    calls, send = outcomes(Flaky(), Flaky(), Flaky(), Flaky(), Flaky(), "ok")
    assert await sender.deliver(send, what="sendMessage") == "ok"
    assert len(calls) == 6
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]  # doubling, capped at max_delay (rng at its maximum)
    assert sender.counts.retries == {("test", "sendMessage", "server_error"): 5}
    assert not sender.counts.gave_up


def test_full_jitter_stays_within_the_exponential_bound() -> None:
    delays = [POLICY.delay(3) for _ in range(200)]
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert max(delays) - min(delays) > 2.0  # spread out, so chats retrying together do not stampede


async def test_a_send_failing_until_the_deadline_is_given_up_logged_once_and_counted(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    sender = delivery(clock)
    calls, send = outcomes(*[Flaky("secret citizen text")] * 100)
    with caplog.at_level(logging.DEBUG, "bot.service.delivery"), pytest.raises(Undelivered) as raised:
        await sender.deliver(send, what="sendMessage")
    assert clock.now <= 60.0 < clock.now + 8.0
    assert raised.value.failure.cause == "server_error" and not raised.value.maybe_delivered
    assert sender.counts.gave_up == {("test", "sendMessage", "server_error"): 1}
    assert sender.counts.retries[("test", "sendMessage", "server_error")] == len(calls) - 1
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "sendMessage" in warnings[0].getMessage() and "server_error" in warnings[0].getMessage()
    assert "secret citizen text" not in caplog.text


async def test_a_refusal_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    sender = delivery(clock)
    calls, send = outcomes(Refused("blocked"), "never")
    with pytest.raises(Undelivered) as raised:
        await sender.deliver(send, what="sendMessage")
    assert (len(calls), clock.sleeps, raised.value.failure.cause) == (1, [], "forbidden")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


async def test_the_servers_retry_after_is_waited_out() -> None:
    clock = Clock()
    calls, send = outcomes(Flood(3.0), "ok")
    assert await delivery(clock).deliver(send, what="answerCallbackQuery") == "ok"
    assert clock.sleeps == [3.0]


async def test_a_wait_beyond_the_deadline_gives_up_at_once() -> None:
    clock = Clock()
    calls, send = outcomes(Flood(120.0), "ok")
    with pytest.raises(Undelivered):
        await delivery(clock).deliver(send, what="sendMessage")
    assert clock.sleeps == []


async def test_max_attempts_bounds_a_best_effort_send() -> None:
    clock = Clock()
    calls, send = outcomes(*[Flaky()] * 5)
    with pytest.raises(Undelivered):
        await delivery(clock, DeliveryPolicy(max_attempts=2)).deliver(send, what="sendChatAction")
    assert len(calls) == 2


async def test_other_exceptions_are_not_delivery_failures_and_propagate() -> None:
    clock = Clock()
    calls, send = outcomes(KeyError("bug"), "ok")
    with pytest.raises(KeyError):
        await delivery(clock).deliver(send, what="sendMessage")
    assert len(calls) == 1


@pytest.mark.parametrize(("results", "maybe"), [
    (["ok"], True),
    ([Dropped(), "ok"], True),
    ([Flaky(), Refused()], False),
    ([Dropped(), Refused()], True),
])
async def test_the_exchange_says_whether_something_may_have_arrived(results: list[BaseException | str],
                                                                  maybe: bool) -> None:
    exchange = Exchange()
    _, send = outcomes(*results)
    try:
        await delivery(Clock()).deliver(send, what="sendMessage", exchange=exchange)
    except Undelivered as exc:
        assert exc.maybe_delivered == maybe
    assert exchange.maybe_delivered == maybe
