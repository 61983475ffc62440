"""Two `legalbot serve` processes on one real Redis and one real PostgreSQL, as compose.yaml runs them."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import ClientSession
from mini_catalogue import write_mini_catalogue
from real_services import PostgresServer, RedisServer
from serve_process import Served, clean_env, serving

from bot.channels.telegram.webhook import SECRET_HEADER
from bot.checks.fakebotapi import FakeBotApi

SECRET = "replica-secret"
RATE_LIMIT = 6


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def replicas(tmp_path: Path, redis_server: RedisServer, postgres: PostgresServer,
                   fake: FakeBotApi) -> AsyncIterator[list[Served]]:
    intents, content = write_mini_catalogue(tmp_path)
    env = clean_env(LEGALBOT_INTENTS=str(intents), LEGALBOT_CONTENT=str(content), LEGALBOT_MATCH_WORKERS="0",
                    LEGALBOT_REDIS_URL=redis_server.url, LEGALBOT_DB=postgres.url, LEGALBOT_HASH_SALT="salt",
                    LEGALBOT_RATE_LIMIT=str(RATE_LIMIT), TELEGRAM_BOT_TOKEN=fake.token,
                    TELEGRAM_BASE_URL=fake.base_url, WEBHOOK_URL="https://bot.example.org/telegram/webhook",
                    WEBHOOK_SECRET=SECRET)
    async with AsyncExitStack() as stack:
        started = await asyncio.gather(*(stack.enter_async_context(serving(env, tmp_path)) for _ in range(2)))
        yield list(started)
    for served in started:
        assert postgres.password not in served.log, "a password reached the log"


async def chat(session: ClientSession, served: Served, user: str, text: str) -> tuple[int, dict[str, Any]]:
    async with session.post(f"{served.url}/api/chat", json={"user": user, "text": text}) as response:
        return response.status, await response.json()


async def health(session: ClientSession, served: Served) -> dict[str, Any]:
    async with session.get(f"{served.url}/healthz") as response:
        assert response.status == 200
        return dict(await response.json())


async def stored(postgres: PostgresServer, marker: str) -> int:
    async with await psycopg.AsyncConnection.connect(postgres.url) as conn:
        row = await (await conn.execute("SELECT count(*) FROM events WHERE text LIKE %s", (f"%{marker}%",))).fetchone()
        return int(row[0]) if row else 0


async def wait_stored(postgres: PostgresServer, marker: str, count: int, within: float = 20.0) -> int:
    async with asyncio.timeout(within):
        while (found := await stored(postgres, marker)) < count:
            await asyncio.sleep(0.1)
    return found


async def test_a_conversation_alternating_between_replicas_keeps_its_topic(
        replicas: list[Served], postgres: PostgresServer) -> None:
    a, b = replicas
    async with ClientSession() as session:
        assert (await chat(session, a, "topic", "法律援助怎么申请 t1"))[1]["intent"] == "legal_aid"
        status, body = await chat(session, b, "topic", "那要多久? t1")
        assert (status, body["kind"], body["intent"]) == (200, "followup", "legal_aid")
        assert (await health(session, a))["status"] == "ok"
    assert await wait_stored(postgres, " t1", 2) == 2  # each message is one row, whichever replica took it


async def test_the_same_webhook_update_is_answered_once(replicas: list[Served], fake: FakeBotApi) -> None:
    a, b = replicas
    first = {"update_id": 501, **fake.text_update(77, "公证")}
    second = {"update_id": 502, **fake.text_update(77, "法律援助怎么申请")}
    headers = {SECRET_HEADER: SECRET}
    async with ClientSession() as session:
        for served in (a, b, a, b):  # the same update to both, twice: every copy gets 200
            async with session.post(f"{served.url}/telegram/webhook", json=first, headers=headers) as response:
                assert response.status == 200
        async with asyncio.timeout(15):
            await fake.wait_for("sendMessage")
        async with session.post(f"{b.url}/telegram/webhook", json=second, headers=headers) as response:
            assert response.status == 200
        async with asyncio.timeout(15):
            await fake.wait_for("sendMessage", 2)
    texts = [c.result["text"] for c in fake.calls_to("sendMessage")]
    assert len(texts) == 2 and texts[1].startswith("法律援助"), texts


async def test_one_users_flood_is_limited_across_both(replicas: list[Served]) -> None:
    async with ClientSession() as session:
        statuses = [(await chat(session, replicas[n % 2], "flood", "法律援助怎么申请"))[0] for n in range(RATE_LIMIT + 4)]
    assert statuses == [200] * RATE_LIMIT + [429] * 4


async def test_a_killed_replica_loses_no_row_answered_a_second_before(
        replicas: list[Served], postgres: PostgresServer) -> None:
    a, b = replicas
    async with ClientSession() as session:
        for n in range(5):
            assert (await chat(session, a if n % 2 else b, f"k{n}", f"法律援助怎么申请 k1 {n}"))[0] == 200
        await asyncio.sleep(1.2)  # the contract: a message answered more than a second before is stored
        os.kill(a.pid, signal.SIGKILL)
        for n in range(3):
            assert (await chat(session, b, f"k{n}", f"那要多久? k1 {n}"))[0] == 200
    assert await wait_stored(postgres, " k1 ", 8) == 8


async def test_redis_restarted_mid_conversation(replicas: list[Served], redis_server: RedisServer) -> None:
    async with ClientSession() as session:
        assert (await chat(session, replicas[0], "r", "法律援助怎么申请"))[0] == 200
        redis_server.stop()
        for served in replicas:
            status, body = await chat(session, served, "r", "那要多久?")
            assert status == 200 and body["reply"]  # answered, without the context Redis held
            report = await health(session, served)
            assert report["status"] == "degraded" and report["conversations"] == "degraded", report
            assert any("Redis" in p for p in report["problems"])
        async with session.get(f"{replicas[0].url}/metrics") as response:
            assert "legalbot_conversation_store_up 0.0" in await response.text()
        redis_server.start()
        async with asyncio.timeout(10):
            for served in replicas:
                while (await health(session, served))["status"] != "ok":
                    await asyncio.sleep(0.2)
        assert (await chat(session, replicas[1], "r", "法律援助怎么申请"))[1]["intent"] == "legal_aid"
        assert (await chat(session, replicas[0], "r", "那要多久?"))[1]["kind"] == "followup"


async def test_postgres_stopped_for_a_few_seconds_loses_nothing(
        replicas: list[Served], postgres: PostgresServer) -> None:
    async with ClientSession() as session:
        postgres.stop()
        try:
            for n in range(6):
                assert (await chat(session, replicas[n % 2], f"p{n}", f"法律援助怎么申请 p1 {n}"))[0] == 200
            async with asyncio.timeout(10):
                while (await health(session, replicas[0])).get("events") != "degraded":
                    await asyncio.sleep(0.2)
        finally:
            postgres.start()
        assert await wait_stored(postgres, " p1 ", 6) == 6
        async with asyncio.timeout(10):
            while (await health(session, replicas[0]))["status"] != "ok":
                await asyncio.sleep(0.2)
