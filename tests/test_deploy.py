"""docs/deploy/: compose.yaml's structure, and the shipped nginx.conf run by Debian's nginx in front of two replicas."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import ClientSession
from mini_catalogue import write_mini_catalogue
from real_services import RedisServer, free_port, require
from serve_process import Served, clean_env, serving

DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy"
REPLICAS = ("legalbot-1", "legalbot-2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8")))


def test_compose_runs_two_replicas_on_redis_and_postgres_behind_nginx(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*REPLICAS, "redis", "postgres", "nginx"}
    for name in REPLICAS:
        replica = services[name]
        env = replica["environment"]
        assert env["LEGALBOT_REDIS_URL"].startswith("redis://redis:")
        assert env["LEGALBOT_DB"].startswith("postgresql://") and "@postgres:5432/" in env["LEGALBOT_DB"]
        assert "${POSTGRES_PASSWORD:?" in env["LEGALBOT_DB"]  # never a password written in the file
        for variable in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "WEBHOOK_SECRET", "LEGALBOT_HASH_SALT"):
            assert env[variable].startswith(f"${{{variable}:?"), variable
        assert set(replica["depends_on"]) == {"redis", "postgres"}
        assert "/healthz" in " ".join(replica["healthcheck"]["test"])
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert set(services["nginx"]["depends_on"]) == set(REPLICAS)
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


def test_nginx_conf_sends_to_every_replica_of_compose(compose: dict[str, Any]) -> None:
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    upstream = re.findall(r"^\s*server (\S+):8080\b", conf, flags=re.M)
    assert sorted(upstream) == sorted(n for n in compose["services"] if n.startswith("legalbot-"))


def templated(conf: str, listen: int, replicas: list[Served], workdir: Path) -> str:
    """The shipped config with the test's addresses and every path inside workdir."""
    addresses = iter(url.removeprefix("http://") for url in (r.url for r in replicas))
    conf = re.sub(r"server legalbot-\d+:8080", lambda _: f"server {next(addresses)}", conf)
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    temp = " ".join(f"{kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return conf.replace("http {", f"http {{\n    {temp}", 1)


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[list[Served]]:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    intents, content = write_mini_catalogue(tmp_path)
    env = clean_env(LEGALBOT_INTENTS=str(intents), LEGALBOT_CONTENT=str(content), LEGALBOT_MATCH_WORKERS="0",
                    LEGALBOT_REDIS_URL=redis.url)
    try:
        async with AsyncExitStack() as stack:
            yield list(await asyncio.gather(*(stack.enter_async_context(serving(env, tmp_path)) for _ in REPLICAS)))
    finally:
        redis.stop()


@pytest.fixture
def nginx(tmp_path: Path, replicas: list[Served]) -> Iterator[str]:
    binary = require("nginx")[0]
    port, workdir = free_port(), tmp_path / "nginx"
    workdir.mkdir()
    conf = workdir / "nginx.conf"
    conf.write_text(templated((DEPLOY / "nginx.conf").read_text(encoding="utf-8"), port, replicas, workdir))
    command = [binary, "-p", str(workdir), "-c", str(conf), "-e", "stderr",
               "-g", f"daemon off; pid {workdir / 'nginx.pid'};"]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful stop
        _, err = process.communicate(timeout=15)
        assert "[emerg]" not in err, err


async def until_listening(session: ClientSession, url: str) -> None:
    async with asyncio.timeout(10):
        while True:
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.05)  # nginx forks its workers after the master starts


async def answered(session: ClientSession, served: Served) -> float:
    """Messages this replica answered, from its own /metrics."""
    async with session.get(f"{served.url}/metrics") as response:
        text = await response.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith('legalbot_messages_total{channel="api"'))


async def until_refused(session: ClientSession, url: str) -> None:
    async with asyncio.timeout(10):
        while True:
            try:
                async with session.get(f"{url}/healthz"):
                    pass
            except OSError:
                return
            await asyncio.sleep(0.05)


async def test_nginx_spreads_a_conversation_over_both_replicas_and_skips_a_dead_one(
        nginx: str, replicas: list[Served]) -> None:
    async with ClientSession() as session:
        await until_listening(session, nginx)
        async with session.get(f"{nginx}/metrics") as response:
            assert response.status == 403
        kinds = []
        for text in ("法律援助怎么申请", "那要多久?", "法律援助怎么申请", "那要多久?"):
            async with session.post(f"{nginx}/api/chat", json={"user": "via-nginx", "text": text}) as response:
                assert response.status == 200
                kinds.append((await response.json())["kind"])
        assert kinds == ["answer", "followup", "answer", "followup"]
        served = [await answered(session, r) for r in replicas]
        os.kill(replicas[0].pid, signal.SIGKILL)
        await until_refused(session, replicas[0].url)  # a request it accepted before dying is lost, not retried
        for n in range(4):
            async with session.post(f"{nginx}/api/chat", json={"user": f"after-{n}", "text": "公证"}) as response:
                assert response.status == 200, await response.text()
    assert all(served), f"nginx sent every message to one replica: {served}"
