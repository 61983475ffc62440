"""The conversation state in a real redis-server: two engines on one Redis behave as two replicas."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mini_catalogue import clarifying, mini_engine
from real_services import RedisServer

from bot.catalogue.loader import Catalogue
from bot.config import safe_url
from bot.engine import Engine
from bot.service.ratelimit import RateLimiter, Verdict
from bot.service.redisstore import RedisConversations, _decode


@pytest.fixture
async def replicas(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[tuple[Engine, Engine]]:
    first = mini_engine(tmp_path / "a")
    second = Engine(first.catalogue)
    stores = [RedisConversations(redis_server.url, probe_every=0.2, lock_ttl=3.0), RedisConversations(redis_server.url)]
    for engine, store in zip((first, second), stores):
        await store.start()
        engine.conversations = store
    yield first, second
    for store in stores:
        await store.close()


async def test_a_conversation_alternating_between_replicas_keeps_its_topic(replicas: tuple[Engine, Engine]) -> None:
    a, b = replicas
    assert (await a.reply("u", "法律援助怎么申请")).intent == "legal_aid"
    followed = await b.reply("u", "那要多久?")
    assert (followed.kind, followed.intent) == ("followup", "legal_aid")
    assert (await Engine(a.catalogue).reply("u", "那要多久?")).kind == "fallback"  # no shared context: no topic


async def test_buttons_offered_by_one_replica_are_picked_on_the_other(replicas: tuple[Engine, Engine]) -> None:
    a, b = replicas
    text, expected = clarifying(a)
    assert (await a.reply("u2", text)).kind == "clarify"
    picked = await b.reply("u2", "2")
    assert picked.intent == expected.buttons[1].intent


async def test_one_users_turns_wait_for_each_other_across_replicas(replicas: tuple[Engine, Engine]) -> None:
    a, b = replicas
    order: list[str] = []
    inside = asyncio.Event()

    async def hold_on_a() -> None:
        async with a.turn("u3"):
            inside.set()
            order.append("a starts")
            await asyncio.sleep(0.3)  # a slow delivery while the turn is held
            order.append("a ends")

    task = asyncio.create_task(hold_on_a())
    await inside.wait()
    async with b.turn("u3"):
        order.append("b")
    await task
    assert order == ["a starts", "a ends", "b"]


async def test_the_lock_is_renewed_while_a_turn_outlasts_it(replicas: tuple[Engine, Engine]) -> None:
    a, b = replicas  # a's lock lives 3 s and is renewed every second
    entered = asyncio.Event()
    release = asyncio.Event()

    async def long_turn() -> None:
        async with a.turn("u4"):
            entered.set()
            await release.wait()

    task = asyncio.create_task(long_turn())
    await entered.wait()
    await asyncio.sleep(4.0)
    assert isinstance(a.conversations, RedisConversations)
    assert await a.conversations.client.exists("legalbot:lock:u4")
    release.set()
    await task
    assert not await a.conversations.client.exists("legalbot:lock:u4")


async def test_a_flood_is_limited_across_replicas(replicas: tuple[Engine, Engine]) -> None:
    limiters = [RateLimiter(4), RateLimiter(4)]
    for limiter, engine in zip(limiters, replicas):
        limiter.shared = engine.conversations
    verdicts = [await limiters[n % 2].admit("api:flood", "api") for n in range(7)]
    assert verdicts == [Verdict.ALLOW] * 4 + [Verdict.NOTIFY, Verdict.DROP, Verdict.DROP]
    assert sum(limiter.refused for limiter in limiters) == 3


async def test_a_key_is_claimed_once_by_all_replicas(replicas: tuple[Engine, Engine]) -> None:
    a, b = replicas
    assert await a.conversations.claim("tg-update", "17")
    assert not await b.conversations.claim("tg-update", "17")
    assert not await a.conversations.claim("tg-update", "17")


async def test_redis_away_answers_statelessly_and_recovers(replicas: tuple[Engine, Engine], redis_server: RedisServer,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    a, _ = replicas
    assert (await a.reply("u5", "法律援助怎么申请")).intent == "legal_aid"
    redis_server.stop()
    with caplog.at_level(logging.WARNING):
        reply = await a.reply("u5", "那要多久?")
    assert reply.kind == "fallback"  # answered, without the context Redis held
    health = a.conversations.health()
    assert not health.is_up and "unreachable" in health.reason and health.outages == 1
    assert "answering without shared context" in caplog.text
    redis_server.start()
    assert isinstance(a.conversations, RedisConversations)
    async with asyncio.timeout(10):
        await a.conversations.reconnected()
    assert a.conversations.health().is_up
    assert (await a.reply("u5", "法律援助怎么申请")).intent == "legal_aid"
    assert (await a.reply("u5", "那要多久?")).kind == "followup"


@pytest.mark.parametrize(("url", "shown"), [
    ("redis://:hunter2@cache:6379/0", "redis://***@cache:6379/0"),
    ("postgresql://bot:hunter2@db/legalbot", "postgresql://***@db/legalbot"),
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert safe_url(url) == shown


@pytest.fixture
async def shipped_replicas(shipped_catalogue: Catalogue, redis_server: RedisServer) -> AsyncIterator[tuple[Engine, Engine]]:
    """Two engines on the shipped catalogue sharing one Redis: two replicas of the service."""
    stores = [RedisConversations(redis_server.url), RedisConversations(redis_server.url)]
    for store in stores:
        await store.start()
    yield Engine(shipped_catalogue, conversations=stores[0]), Engine(shipped_catalogue, conversations=stores[1])
    for store in stores:
        await store.close()


async def test_the_safety_line_after_an_emergency_carries_to_the_other_replica(
        shipped_replicas: tuple[Engine, Engine]) -> None:
    first, second = shipped_replicas
    assert (await first.reply("u", "救命 他拿着刀说要砍死我")).kind == "emergency"
    after = await second.reply("u", "警察已经来了，那法律援助怎么申请")
    assert (after.intent, after.kind, after.safety) == ("legal_aid", "safety", True)
    assert after.text.startswith(first.catalogue.messages["safety_line"])


async def test_a_did_you_mean_left_unchosen_is_asked_again_on_the_other_replica(
        shipped_replicas: tuple[Engine, Engine]) -> None:
    first, second = shipped_replicas
    offered = await first.reply("u", "法律援助还是法律咨询")
    assert offered.kind == "clarify" and len(offered.buttons) >= 2
    again = await second.reply("u", "需要钱吗")
    assert (again.kind, again.buttons) == ("clarify", offered.buttons)
    assert (await first.reply("u", "2")).intent == offered.buttons[1].intent


def test_a_context_stored_before_unchosen_offers_were_kept_is_still_read() -> None:
    stored = b'{"intent": "legal_aid", "offered": ["legal_aid"], "given": [], "after_danger": false}'
    ctx = _decode(stored)
    assert ctx is not None and (ctx.intent, ctx.offered, ctx.unconfirmed) == ("legal_aid", ("legal_aid",), ())
