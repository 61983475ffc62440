"""What keeps the HTTP server's sockets for clients that use them: a deadline on request headers,
bounded keep-alive, and client mistakes logged as one WARNING line rather than an ERROR with a traceback.

aiohttp has no header-read timeout of its own (its keep-alive timer only closes a connection that
is idle between requests), so a client sending its headers a byte at a time could hold a socket
for ever. `GuardedSite` listens like `web.TCPSite` but wraps each connection's protocol in
`HeaderDeadline`, which answers 408 and closes the connection when the first request's headers
are not complete `header_timeout` seconds after it opened. Later requests on a kept-alive
connection are bounded by aiohttp's `keepalive_timeout` (`runner_options`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

logger = logging.getLogger(__name__)

HEADER_TIMEOUT = 5.0  # seconds from connecting to the end of the first request's headers
KEEPALIVE_TIMEOUT = 15.0  # seconds an idle kept-alive connection may wait for its next request
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class HeaderDeadline(asyncio.Protocol):
    """aiohttp's protocol for one connection, closed if the first request's headers are late.

    Every callback is passed on unchanged; the only extra work is looking for the blank line that
    ends the headers in the bytes that arrive before it.
    """

    def __init__(self, inner: asyncio.Protocol, timeout: float, on_expiry: Callable[[], None]) -> None:
        self._inner = inner
        self._timeout = timeout
        self._on_expiry = on_expiry
        self._timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._timer = asyncio.get_running_loop().call_later(self._timeout, self._expire)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._timer is not None:
            window = self._tail + data
            if b"\n\r\n" in window or b"\n\n" in window:  # the blank line after the headers
                self._timer.cancel()
                self._timer = None
            else:
                self._tail = window[-2:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def _expire(self) -> None:
        self._timer = None
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._on_expiry()
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(_TIMED_OUT)
        transport.close()


class GuardedSite(web.BaseSite):
    """`web.TCPSite` with a deadline on each connection's first request headers."""

    __slots__ = ("_host", "_port", "_header_timeout", "cut")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *,
                 header_timeout: float = HEADER_TIMEOUT) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._header_timeout = header_timeout
        self.cut = 0  # connections closed because their headers were late

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None

        def connection() -> asyncio.Protocol:
            return HeaderDeadline(server(), self._header_timeout, self._count_cut)

        self._server = await asyncio.get_running_loop().create_server(connection, self._host, self._port,
                                                                      backlog=self._backlog)

    def _count_cut(self) -> None:
        self.cut += 1
        logger.debug("closed a connection whose request headers took over %.1fs", self._header_timeout)


class ClientFaults(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, except that a malformed request is one WARNING line without a traceback.

    aiohttp logs a request it cannot parse (bad request line, bad Content-Length, oversized header)
    with `logger.exception`, i.e. at ERROR with a traceback (at DEBUG for a bad method); that is the
    client's fault and no bug of ours. Only the exception's type is logged: its message quotes what
    the client sent.
    """

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info else None
        if isinstance(error, HttpProcessingError):
            remote = args[0] if args else "?"
            self.logger.log(min(level, logging.WARNING), "malformed HTTP request from %s: %s", remote,
                            type(error).__name__)
        else:
            self.logger.log(level, msg, *args, **kwargs)


def runner_options(*, keepalive_timeout: float = KEEPALIVE_TIMEOUT) -> dict[str, Any]:
    """Keyword arguments for `web.AppRunner`: bounded keep-alive, and client faults logged as warnings."""
    return {"keepalive_timeout": keepalive_timeout, "logger": ClientFaults(logging.getLogger("aiohttp.server"))}
