"""The HTTP service through pytest-aiohttp's real server and client, and `legalbot serve` as a process."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient
from catalogue_factory import reply_schema
from mini_catalogue import MESSAGES, clarifying, mini_engine, write_mini_catalogue
from serve_process import clean_env, legalbot_command, serving

from bot.channels.http import create_app
from bot.channels.telegram import webhook
from bot.channels.telegram.webhook import SECRET_HEADER, check_webhook_settings
from bot.channels.telegram.app import build_application
from bot.cli import main
from bot.config import Settings
from bot.engine import Engine
from bot.errors import ConfigError
from bot.checks.fakebotapi import FakeBotApi
from bot.service.ratelimit import RateLimiter

Client = TestClient[Any, Any]
ClientFactory = Callable[..., Awaitable[Client]]
SECRET = "s3cret-for_tests"
WEBHOOK_URL = "https://bot.example.org/telegram/webhook"
# The reply object of shared/spec/evaluation.md: these four keep their meaning; more may be added.
REPLY_SCHEMA = reply_schema()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return mini_engine(tmp_path)


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({})


@pytest.fixture
async def api(aiohttp_client: ClientFactory, engine: Engine, settings: Settings) -> Client:
    return await aiohttp_client(create_app(engine, settings, mounts=[webhook.mount(None, settings)]))


async def break_catalogue(engine: Engine) -> None:
    """Write a bad intent file and reload: the engine keeps the old catalogue and reports the problem."""
    assert engine.intents_dir is not None
    (engine.intents_dir / "broken.yaml").write_text("intents: [", encoding="utf-8")
    assert await engine.reload()


def parse_metrics(text: str) -> dict[str, float]:
    """`name{labels} value` lines as a dict (comments skipped)."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


async def test_chat_follows_the_reply_contract(api: Client, engine: Engine) -> None:
    response = await api.post("/api/chat", json={"user": "u1", "text": "法律援助怎么申请"})
    assert response.status == 200
    body = await response.json()
    jsonschema.validate(body, REPLY_SCHEMA)
    assert body["intent"] == "legal_aid"
    assert body["reply"] == engine.choose("reference", "legal_aid").text
    assert body["suggestions"] == ["people_mediation", "notarization"]
    assert body["kind"] == "answer"


async def test_chat_clarifies_and_says_what_is_out_of_scope(api: Client, engine: Engine) -> None:
    text, expected = clarifying(engine)
    clarify = await (await api.post("/api/chat", json={"user": "u2", "text": text})).json()
    jsonschema.validate(clarify, REPLY_SCHEMA)
    assert clarify["intent"] is None
    assert clarify["suggestions"] == [b.intent for b in expected.buttons]
    out_of_scope = await (await api.post("/api/chat", json={"user": "u3", "text": "今天天气怎么样"})).json()
    assert (out_of_scope["intent"], out_of_scope["reply"]) == (None, MESSAGES["fallback"])


@pytest.mark.parametrize(("body", "status", "complaint"), [
    (b"{not json", 400, "malformed JSON"),
    (b"\xff\xfe", 400, "malformed JSON"),
    (b"[1, 2]", 400, "expected a JSON object"),
    (b'{"text": "hi"}', 400, "'user'"),
    (b'{"user": "", "text": "hi"}', 400, "'user'"),
    (b'{"user": "u", "text": 5}', 400, "'text'"),
    (json.dumps({"user": "u", "text": "长" * 40_000}).encode(), 413, "size"),
    (b"[" * 20_000, 400, "malformed JSON"),
    (b'{"user": "u", "text": ' + b"[" * 20_000, 400, "malformed JSON"),
])
async def test_chat_rejects_bad_bodies_with_json_errors(api: Client, caplog: pytest.LogCaptureFixture, body: bytes,
                                                        status: int, complaint: str) -> None:
    response = await api.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
    assert response.status == status
    assert complaint in (await response.json())["error"]
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/api/chat", 405), ("GET", "/nowhere", 404)])
async def test_unknown_routes_and_methods_are_json_errors(api: Client, method: str, path: str, status: int) -> None:
    response = await api.request(method, path)
    assert response.status == status
    assert set(await response.json()) == {"error"}


async def test_a_flooding_api_user_is_limited_and_others_are_not(aiohttp_client: ClientFactory, engine: Engine,
                                                                 settings: Settings) -> None:
    api = await aiohttp_client(create_app(engine, settings, limiter=RateLimiter(2)))
    statuses = [(await api.post("/api/chat", json={"user": "flood", "text": "公证"})).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = await api.post("/api/chat", json={"user": "flood", "text": "公证"})
    assert limited.headers["Retry-After"] == "30"
    assert (await limited.json())["reply"] == MESSAGES["rate_limited"]
    assert (await api.post("/api/chat", json={"user": "calm", "text": "公证"})).status == 200


async def test_healthz(api: Client) -> None:
    response = await api.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "intents": 4, "catalogue": "ok"}


async def test_metrics_count_outcomes_latency_feedback_and_catalogue_health(api: Client, engine: Engine) -> None:
    for user, text in [("m1", "法律援助怎么申请"), ("m2", "公证"), ("m3", "今天天气怎么样"), ("m1", "今天天气怎么样")]:
        assert (await api.post("/api/chat", json={"user": user, "text": text})).status == 200
    engine.feedback("tg:1", "legal_aid", True, channel="telegram")
    await break_catalogue(engine)

    response = await api.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    samples = parse_metrics(text)
    assert samples['legalbot_messages_total{channel="api",outcome="answer"}'] == 2
    assert samples['legalbot_messages_total{channel="api",outcome="fallback"}'] == 2
    assert samples['legalbot_reply_seconds_count{channel="api"}'] == 4
    assert samples['legalbot_feedback_total{helpful="true"}'] == 1
    assert samples["legalbot_catalogue_degraded"] == 1
    assert samples["legalbot_catalogue_reload_failures_total"] == 1
    assert "天气" not in text
    assert "m1" not in text
    assert "tg:1" not in text


async def test_healthz_reports_a_failed_reload_with_its_problems(api: Client, engine: Engine) -> None:
    await break_catalogue(engine)
    response = await api.get("/healthz")
    assert response.status == 200  # still serving the previous catalogue
    body = await response.json()
    assert body["catalogue"] == "degraded"
    assert any("broken.yaml" in problem for problem in body["problems"])


async def test_metrics_stop_listening_when_the_app_stops(aiohttp_client: ClientFactory, engine: Engine,
                                                         settings: Settings) -> None:
    client = await aiohttp_client(create_app(engine, settings))
    assert len(engine.listeners) == 1
    await client.close()
    assert engine.listeners == []
    assert engine.feedback_listeners == []


async def test_webhook_is_off_without_a_token(api: Client) -> None:
    response = await api.post("/telegram/webhook", json={"update_id": 1}, headers={SECRET_HEADER: SECRET})
    assert response.status == 404
    assert "TELEGRAM_BOT_TOKEN" in (await response.json())["error"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def hook(aiohttp_client: ClientFactory, engine: Engine, fake: FakeBotApi) -> Client:
    settings = replace(Settings.from_env({}), telegram_token=fake.token, telegram_base_url=fake.base_url,
                       webhook_url=WEBHOOK_URL, webhook_secret=SECRET)
    telegram = build_application(settings, engine, with_updater=False)
    return await aiohttp_client(create_app(engine, settings, mounts=[webhook.mount(telegram, settings)]))


async def test_webhook_is_registered_with_the_secret(hook: Client, fake: FakeBotApi) -> None:
    assert fake.webhook["url"] == WEBHOOK_URL
    assert fake.webhook["secret_token"] == SECRET
    assert fake.webhook["allowed_updates"] == ["message", "callback_query"]


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: ""}])
async def test_webhook_refuses_a_missing_or_wrong_secret(hook: Client, fake: FakeBotApi,
                                                         headers: dict[str, str]) -> None:
    update = {"update_id": 7, **fake.text_update(1, "公证")}
    response = await hook.post("/telegram/webhook", json=update, headers=headers)
    assert response.status == 403
    assert "error" in await response.json()


def nested_replies(depth: int) -> bytes:
    """An update whose message replies to a message that replies to a message… `depth` times."""
    message = b'{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"reply_to_message":'
    return b'{"update_id":9,"message":' + message * depth + b"null" + b"}" * (depth + 1)


@pytest.mark.parametrize("body", [
    b"{oops", b'"just a string"', b'{"no_update_id": 1}',
    b"[" * 20_000,
    b'{"update_id": 1, "message": "x"}',
    b'{"update_id": 2, "message": []}',
    b'{"update_id": 3, "message": {}}',
    b'{"update_id": 4, "callback_query": 5}',
    b'{"update_id": 5, "message": {"message_id": 1, "date": "today", "chat": {"id": 1, "type": "private"}}}',
    b'{"update_id": 6, "message": {"message_id": 1, "date": 1e30, "chat": {"id": 1, "type": "private"}}}',
    nested_replies(800),  # under MAX_BODY_BYTES, yet deeper than de_json can recurse
])
async def test_webhook_rejects_malformed_updates(hook: Client, fake: FakeBotApi, caplog: pytest.LogCaptureFixture,
                                                 body: bytes) -> None:
    response = await hook.post("/telegram/webhook", data=body, headers={SECRET_HEADER: SECRET})
    assert response.status == 400
    assert "error" in await response.json()
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not fake.calls_to("sendMessage")


async def test_webhook_handles_a_resent_update_once(hook: Client, fake: FakeBotApi, engine: Engine) -> None:
    first = {"update_id": 41, **fake.text_update(1, "公证")}
    second = {"update_id": 42, **fake.text_update(1, "法律援助怎么申请")}
    for update in (first, first, second):
        response = await hook.post("/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
        assert response.status == 200
    async with asyncio.timeout(10):
        # One chat's updates are handled in order, so once the second is answered the first is settled.
        await fake.wait_for("sendMessage", where=lambda c: c.result["text"].startswith("法律援助"))
    texts = [c.result["text"] for c in fake.calls_to("sendMessage")]
    assert texts == [engine.choose("r", "notarization").text, engine.choose("r", "legal_aid").text]


def test_serve_settings_name_the_missing_variable() -> None:
    base = replace(Settings.from_env({}), telegram_token="123456:" + "A" * 30)
    with pytest.raises(ConfigError, match="WEBHOOK_URL"):
        check_webhook_settings(base)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        check_webhook_settings(replace(base, webhook_url=WEBHOOK_URL))
    check_webhook_settings(replace(base, webhook_url=WEBHOOK_URL, webhook_secret=SECRET))
    check_webhook_settings(Settings.from_env({}))  # no token: HTTP API only


@pytest.mark.parametrize(("environ", "variable"), [
    ({"TELEGRAM_BOT_TOKEN": "123456:" + "A" * 30}, "WEBHOOK_URL"),
    ({"TELEGRAM_BOT_TOKEN": "123456:" + "A" * 30, "WEBHOOK_URL": WEBHOOK_URL}, "WEBHOOK_SECRET"),
    ({"TELEGRAM_BOT_TOKEN": "nonsense", "WEBHOOK_URL": WEBHOOK_URL}, "TELEGRAM_BOT_TOKEN"),
])
def test_legalbot_serve_refuses_with_one_line(capsys: pytest.CaptureFixture[str], environ: dict[str, str],
                                              variable: str) -> None:
    assert main(["serve"], environ) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert variable in err
    assert "Traceback" not in err


async def test_legalbot_serve_without_a_token_runs_the_api_alone(tmp_path: Path) -> None:
    intents, content = write_mini_catalogue(tmp_path)
    env = clean_env(LEGALBOT_INTENTS=str(intents), LEGALBOT_CONTENT=str(content))
    async with serving(env, tmp_path) as served:
        async with ClientSession() as session, session.get(f"{served.url}/healthz") as response:
            assert response.status == 200
    assert served.returncode == 0, served.log
    assert len([line for line in served.lines if "serving the HTTP API only" in line]) == 1


@pytest.mark.parametrize("verbose", [[], ["-v"]])
async def test_legalbot_serve_with_a_rejected_token_never_prints_it(tmp_path: Path, verbose: list[str]) -> None:
    token = "987654321:" + "Rejected-key_" * 3
    intents, content = write_mini_catalogue(tmp_path)
    async with FakeBotApi() as fake:  # answers 401 to any other token, as Telegram does
        env = clean_env(LEGALBOT_INTENTS=str(intents), LEGALBOT_CONTENT=str(content), TELEGRAM_BOT_TOKEN=token,
                        TELEGRAM_BASE_URL=fake.base_url, WEBHOOK_URL=WEBHOOK_URL, WEBHOOK_SECRET=SECRET)
        process = await asyncio.create_subprocess_exec(*legalbot_command(), "serve", "--port", "0", *verbose,
                                                       env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE)
        try:
            async with asyncio.timeout(30):
                _, raw = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert [c.status for c in fake.calls] == [401]
    err = raw.decode()
    assert process.returncode == 2, err
    assert "legalbot: TELEGRAM_BOT_TOKEN was rejected by the Bot API" in err
    assert token.split(":", 1)[1] not in err
    assert "Traceback" not in err
