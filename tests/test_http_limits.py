"""The HTTP server holds its ground: slow clients are cut, idle ones let go, malformed requests get a 4xx quietly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from mini_catalogue import mini_engine, write_mini_catalogue
from serve_process import clean_env, serving

from bot.channels.http import create_app
from bot.channels.http_limits import GuardedSite, runner_options
from bot.config import Settings

HEADER_TIMEOUT = 0.5


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[str, int]]:
    """The real aiohttp server, wired as `legalbot serve` wires it, on 127.0.0.1 and a free port."""
    app = create_app(mini_engine(tmp_path), Settings.from_env({}))
    runner = web.AppRunner(app, handle_signals=False, **runner_options(keepalive_timeout=HEADER_TIMEOUT))
    await runner.setup()
    try:
        await GuardedSite(runner, "127.0.0.1", 0, header_timeout=HEADER_TIMEOUT).start()
        host, port = runner.addresses[0][:2]
        yield host, port
    finally:
        await runner.cleanup()


async def exchange(address: tuple[str, int], request: bytes) -> bytes:
    """Send a raw request and read until the server closes the connection."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(request)
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


async def trickle(address: tuple[str, int], closed: list[float]) -> bytes:
    """A slow client: request headers one byte at a time, until the server hangs up.

    Returns what the server said; b"" when its close reset the connection before the 408 was read
    (the client kept writing after the server had closed).
    """
    reader, writer = await asyncio.open_connection(*address)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: " + b"s" * 1000 + b"\r\n\r\n"
    start = time.monotonic()
    read = asyncio.create_task(reader.read())
    try:
        for byte in request:
            if read.done() or writer.is_closing():
                break
            writer.write(bytes([byte]))
            await asyncio.wait([read], timeout=0.05)  # the client's pace, not a wait for the server
        try:
            answer = await asyncio.wait_for(read, 10)
        except ConnectionResetError:
            answer = b""
        closed.append(time.monotonic() - start)
        return answer
    finally:
        writer.close()


async def test_clients_sending_headers_slowly_are_cut_at_the_deadline(server: tuple[str, int]) -> None:
    closed: list[float] = []
    answers = await asyncio.wait_for(asyncio.gather(*(trickle(server, closed) for _ in range(200))), 30)
    assert len(closed) == 200
    assert all(HEADER_TIMEOUT * 0.9 <= t < HEADER_TIMEOUT + 3 for t in closed), (min(closed), max(closed))
    assert {status(a) for a in answers if a} == {408}
    assert status(await exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 200


async def test_a_client_that_connects_and_says_nothing_is_cut(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    try:
        assert status(await asyncio.wait_for(reader.read(), 5)) == 408
    finally:
        writer.close()


async def test_an_idle_kept_alive_connection_is_closed(server: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*server)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status(await reader.readuntil(b"\r\n")) == 200
        rest = await asyncio.wait_for(reader.read(), 5)  # EOF: the server let the idle connection go
        assert rest.endswith(b"}")
    finally:
        writer.close()


JSON = b"Content-Type: application/json\r\n"


def post(body: bytes) -> bytes:
    """A well-formed POST /api/chat carrying `body`."""
    head = f"POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + JSON + b"\r\n" + body


MALFORMED = {
    "garbage request line": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n",
    "no method": b"/api/chat HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad content-length": b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
    "two content-lengths": b"POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "bad chunking": b"POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + JSON + b"\r\nzz\r\n{}\r\n0\r\n\r\n",
    "huge header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n",
    "broken json": post(b'{"user": '),
    "bad utf-8": post(b'{"user": "a", "text": "\xff\xfe"}'),
    "oversized body": post(b"[" * 200_000),
}


@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_requests_get_a_4xx_and_at_most_one_warning(server: tuple[str, int], request_bytes: bytes,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        response = await exchange(server, request_bytes)
    assert 400 <= status(response) < 500, response[:200]
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(logged) <= 1, [r.getMessage() for r in logged]
    assert all(r.levelno < logging.ERROR and r.exc_info is None for r in logged)
    assert "Traceback" not in caplog.text


async def test_a_body_cut_short_is_no_error(server: tuple[str, int], caplog: pytest.LogCaptureFixture) -> None:
    reader, writer = await asyncio.open_connection(*server)
    writer.write(b"POST /api/chat HTTP/1.1\r\nHost: x\r\n" + JSON + b"Content-Length: 100\r\n\r\n{\"user\"")
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    # The server may answer nobody now; what matters is that it stays quiet and keeps serving.
    assert status(await exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_legalbot_serve_answers_malformed_requests_without_errors(tmp_path: Path) -> None:
    intents, content = write_mini_catalogue(tmp_path)
    env = clean_env(LEGALBOT_INTENTS=str(intents), LEGALBOT_CONTENT=str(content))
    async with serving(env, tmp_path) as served:
        host, port = served.url.removeprefix("http://").split(":")
        for request_bytes in MALFORMED.values():
            assert 400 <= status(await exchange((host, int(port)), request_bytes)) < 500
    assert served.returncode == 0, served.log
    assert " ERROR " not in served.log and "Traceback" not in served.log, served.log
