"""The HTTP channel: POST /api/chat, /healthz and /metrics, on aiohttp.

Other channels that arrive over HTTP (the Telegram webhook, later the web page and WeChat) add
their own routes through `create_app(mounts=…)`; this module knows none of them.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.config import Settings
from bot.engine import Engine
from bot.service.delivery import DeliveryCounts
from bot.service.matchpool import MatchPool
from bot.service.metrics import CONTENT_TYPE, EventCounts, Metrics
from bot.service.ratelimit import RateLimiter, Verdict

logger = logging.getLogger(__name__)

# A chat message is a few hundred bytes and a Telegram update a few KiB; refuse anything bigger early.
MAX_BODY_BYTES = 64 * 1024
MAX_USER_CHARS = 128
BODY_TIMEOUT = 10.0  # seconds to receive a body: a client trickling one in is cut off
_dumps = functools.partial(json.dumps, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class State:
    """Everything the handlers need, fixed when the app is created."""

    engine: Engine
    limiter: RateLimiter
    metrics: Metrics


STATE = web.AppKey("state", State)


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status, dumps=_dumps)


@web.middleware
async def json_errors(request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Every error leaves as JSON {"error": ...} with its status; unexpected ones are logged."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.status == 413 and exc.text else exc.reason
        response = error_response(exc.status, message)
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal error")


async def json_body(request: web.Request) -> Any:
    """The request's JSON body; 400 when malformed or cut short, 408 when it is too slow to arrive."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            body = await request.read()
    except TimeoutError:
        raise web.HTTPRequestTimeout(reason="request body too slow") from None
    except (web.RequestPayloadError, ConnectionError):  # a bad chunked encoding, or a body shorter than announced
        raise web.HTTPBadRequest(reason="incomplete request body") from None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(reason="malformed JSON") from None
    except RecursionError:  # "[[[[…" a few thousand deep: the decoder recurses once per level
        raise web.HTTPBadRequest(reason="malformed JSON: nested too deeply") from None


def read_user(body: Any, shape: str) -> str:
    """The `user` of a JSON request body; HTTPBadRequest saying what was expected otherwise."""
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason=f"expected a JSON object {shape}")
    user = body.get("user")
    if not isinstance(user, str) or not user.strip() or len(user) > MAX_USER_CHARS:
        raise web.HTTPBadRequest(reason=f"'user' must be a non-empty string of at most {MAX_USER_CHARS} characters")
    return user


async def slow_down(state: State, key: str) -> web.Response | None:
    """The 429 response (with Retry-After and the citizen's sentence) when `key` is over its limit, else None."""
    if await state.limiter.admit(key, "api") is Verdict.ALLOW:
        return None
    retry = str(math.ceil(state.limiter.window / state.limiter.capacity))
    response = error_response(429, "too many messages from this user; slow down",
                              reply=state.engine.catalogue.messages["rate_limited"])
    response.headers["Retry-After"] = retry
    return response


async def chat(request: web.Request) -> web.Response:
    """POST /api/chat {"user", "text"} -> the reply object of the evaluation contract."""
    state = request.app[STATE]
    body = await json_body(request)
    user = read_user(body, '{"user": "...", "text": "..."}')
    text = body.get("text")
    if not isinstance(text, str):
        return error_response(400, "'text' must be a string")
    key = f"api:{user}"
    limited = await slow_down(state, key)
    if limited is not None:
        return limited
    reply = await state.engine.reply(key, text, channel="api")
    return web.json_response(reply.to_dict(), dumps=_dumps)


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: 200 while serving; "degraded", with the problems, when the last reload failed or
    Redis or the event database is unreachable (still answering: without context, events buffered)."""
    state = request.app[STATE]
    engine = state.engine
    body: dict[str, Any] = {"status": "ok", "intents": len(engine.catalogue.intents), "catalogue": "ok"}
    problems: list[str] = []
    if engine.last_reload_problems:
        # Still serving the previous catalogue; say which lines the operator must fix.
        body["catalogue"] = "degraded"
        problems += [str(p) for p in engine.last_reload_problems]
    store = engine.conversations.health()
    if store.name != "memory":
        body["conversations"] = "ok" if store.is_up else "degraded"
        problems += [] if store.is_up else [store.reason]
    events = state.metrics.events
    if events is not None and getattr(events, "problem", None) is not None:
        body["events"] = "degraded" if events.problem else "ok"
        problems += [events.problem] if events.problem else []
    if problems:
        body |= {"status": "degraded", "problems": problems}
    return web.json_response(body, dumps=_dumps)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text format."""
    return web.Response(body=request.app[STATE].metrics.render(), headers={"Content-Type": CONTENT_TYPE})


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Stop the metrics listeners when the app stops."""
    try:
        yield
    finally:
        app[STATE].metrics.close()


def create_app(engine: Engine, settings: Settings, *, limiter: RateLimiter | None = None,
               events: EventCounts | None = None, pool: MatchPool | None = None,
               mounts: Sequence[Callable[[web.Application], None]] = (),
               client_max_size: int = MAX_BODY_BYTES, delivery: DeliveryCounts | None = None) -> web.Application:
    """The aiohttp application; `mounts` add other channels' routes (each called once with the app),
    and the running `events` log, match `pool` and the channels' `delivery` counts show in /metrics."""
    limiter = limiter if limiter is not None else RateLimiter(settings.rate_limit_per_minute)
    app = web.Application(client_max_size=client_max_size, middlewares=[json_errors])
    app[STATE] = State(engine, limiter, Metrics(engine, limiter, events, pool, delivery))
    app.cleanup_ctx.append(_lifecycle)
    app.router.add_routes([
        web.post("/api/chat", chat),
        web.get("/healthz", healthz),
        web.get("/metrics", metrics),
    ])
    for mount in mounts:
        mount(app)
    return app
