"""Conversation tests through the HTTP API: a real aiohttp server on loopback, the citizen a JSON client.

Text goes to POST /api/chat, buttons to POST /api/choose and 👍/👎 to POST /api/feedback, as the
web page sends them; what the citizen sees (text, button titles) is read back from the reply JSON.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels import web as web_page
from bot.channels.http import create_app
from bot.checks.conversation_format import FEEDBACK_BUTTONS
from bot.checks.conversation_runner import ButtonMissing, Said, offered
from bot.config import Settings
from bot.engine import Engine
from bot.service.ratelimit import RateLimiter

# Conversation files send many turns per user in a burst; the rate limit has its own tests.
UNLIMITED = 1_000_000


class HttpCitizen:
    """One citizen posting JSON to the running server under a user id of their own."""

    def __init__(self, session: aiohttp.ClientSession, base: str, user: str) -> None:
        self._session = session
        self._base = base
        self._user = user
        self._last: dict[str, Any] | None = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self._session.post(self._base + path, json={"user": self._user, **body}) as response:
            data: dict[str, Any] = await response.json()
            if response.status != 200:
                raise AssertionError(f"POST {path} answered {response.status}: {data}")
            return data

    async def send(self, text: str) -> Said:
        self._last = await self._post("/api/chat", {"text": text})
        return self._said(self._last)

    async def press(self, title: str) -> Said:
        last = self._last
        if title in FEEDBACK_BUTTONS:
            if last is None or not last.get("rateable") or last.get("intent") is None:
                raise ButtonMissing(f"上一轮回复下面没有 [{title}]：只有关于服务的回答下面才有 👍/👎")
            self._last = None
            thanks = await self._post("/api/feedback", {"intent": last["intent"], "helpful": FEEDBACK_BUTTONS[title]})
            return Said(thanks["reply"], (), last["intent"], 1.0, "feedback")
        buttons = last.get("buttons", []) if last else []
        button = next((b for b in buttons if b["title"] == title), None)
        if button is None:
            raise ButtonMissing(f"上一轮回复没有 [{title}] 按钮；实际按钮：{offered([b['title'] for b in buttons])}")
        self._last = await self._post("/api/choose", {"intent": button["intent"]})
        return self._said(self._last)

    @staticmethod
    def _said(reply: dict[str, Any]) -> Said:
        buttons = tuple(b["title"] for b in reply.get("buttons", []))
        if reply.get("rateable"):
            buttons += tuple(FEEDBACK_BUTTONS)
        return Said(reply["reply"], buttons, reply.get("intent"), float(reply.get("confidence", 0.0)),
                    reply.get("kind", "none"))


@asynccontextmanager
async def loopback(app: web.Application) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """The app served on 127.0.0.1 at a free port, with a client session and the base URL."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as session:
            yield session, f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def conversation_harness(engine: Engine) -> AsyncIterator[Callable[[int], HttpCitizen]]:
    """Citizens talking to the HTTP app (with the web page's routes) on 127.0.0.1, port 0."""
    settings = Settings.from_env({})
    app = create_app(engine, settings, limiter=RateLimiter(UNLIMITED), mounts=[web_page.mount(settings)])
    async with loopback(app) as (session, base):
        yield lambda n: HttpCitizen(session, base, f"conversation-test-{n}")
