"""ContextStore: what the bot remembers per user, bounded in size (LRU) and in time (TTL)."""

from __future__ import annotations

import pytest

from bot.context import ContextStore


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_remembers_the_last_intent_per_user(clock: Clock) -> None:
    store = ContextStore(clock=clock)
    store.remember("a", "legal_aid")
    store.remember("b", "notarization")
    store.remember("a", "people_mediation")
    a, b = store.get("a"), store.get("b")
    assert a is not None
    assert a.intent == "people_mediation"
    assert b is not None
    assert b.intent == "notarization"
    assert store.get("nobody") is None


def test_size_is_bounded_and_the_least_recent_user_goes_first(clock: Clock) -> None:
    store = ContextStore(max_users=2, clock=clock)
    store.remember("a", "legal_aid")
    store.remember("b", "notarization")
    store.remember("c", "people_mediation")
    assert len(store) == 2
    assert store.get("a") is None
    assert store.get("b") is not None
    assert store.get("c") is not None


def test_reading_a_user_keeps_them_recent(clock: Clock) -> None:
    store = ContextStore(max_users=2, clock=clock)
    store.remember("a", "legal_aid")
    store.remember("b", "notarization")
    assert store.get("a") is not None  # a is now the most recent
    store.remember("c", "people_mediation")
    assert store.get("b") is None
    assert store.get("a") is not None


def test_many_users_never_grow_past_the_bound(clock: Clock) -> None:
    store = ContextStore(max_users=50, clock=clock)
    for n in range(1000):
        store.remember(f"user{n}", "legal_aid")
    assert len(store) == 50
    assert store.get("user999") is not None
    assert store.get("user0") is None


def test_context_expires_after_ttl(clock: Clock) -> None:
    store = ContextStore(ttl=60, clock=clock)
    store.remember("a", "legal_aid")
    clock.now += 59
    assert store.get("a") is not None
    clock.now += 61  # past the TTL whether it counts from the last read or from remembering
    assert store.get("a") is None
    assert len(store) == 0  # an expired entry does not linger


def test_remembering_again_restarts_the_ttl(clock: Clock) -> None:
    store = ContextStore(ttl=60, clock=clock)
    store.remember("a", "legal_aid")
    clock.now += 50
    store.remember("a", "notarization")
    clock.now += 50
    ctx = store.get("a")
    assert ctx is not None
    assert ctx.intent == "notarization"


def test_forget(clock: Clock) -> None:
    store = ContextStore(clock=clock)
    store.remember("a", "legal_aid")
    store.forget("a")
    store.forget("never-seen")
    assert store.get("a") is None
    assert len(store) == 0
