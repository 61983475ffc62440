from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from real_services import PostgresServer, RedisServer

pytest_plugins = ["bot.checks.pytest_plugin"]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the tests of one module (tests/real_services.py)."""
    server = PostgresServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server for one test."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()
