"""The web channel: the citizen chat page at /, its embed script, and the page's API calls.

The page (static/, plain HTML, CSS and JS) talks to POST /api/chat like any client, and to the
routes added here: GET /api/menu (starting buttons), POST /api/choose (a tapped button) and
POST /api/feedback (👍/👎). Other sites listed in LEGALBOT_WEB_ORIGINS may embed the page in an
iframe (embed.js) and call /api/*; every other foreign origin is refused.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

from aiohttp import web

from bot.channels.http import STATE, error_response, json_body, read_user, slow_down
from bot.channels.web.menu import starting_menu
from bot.config import Settings

logger = logging.getLogger(__name__)

STATIC = {  # file name -> content type; nothing else under static/ is served
    "index.html": "text/html; charset=utf-8",
    "chat.css": "text/css; charset=utf-8",
    "chat.js": "text/javascript; charset=utf-8",
    "embed.js": "text/javascript; charset=utf-8",
}
MAX_INTENT_CHARS = 200
_dumps = functools.partial(json.dumps, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class WebPage:
    """The page's files, read once from the package, and the other sites allowed to embed it."""

    files: dict[str, bytes]
    origins: frozenset[str]
    csp: str


WEB = web.AppKey("web_page", WebPage)


def page_csp(origins: tuple[str, ...]) -> str:
    """Everything from this origin only, no inline script or style; framed by itself and the listed sites."""
    ancestors = " ".join(("'self'", *origins))
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            f"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}")


def _file(name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        page = request.app[WEB]
        response = web.Response(body=page.files[name], headers={"Content-Type": STATIC[name],
                                                                 "Cache-Control": "no-cache"})
        if name == "index.html":
            response.headers["Content-Security-Policy"] = page.csp
        elif name == "embed.js":
            # The county's pages load this with a plain <script src>; it only opens an iframe of /.
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response

    return handler


async def menu(request: web.Request) -> web.Response:
    """GET /api/menu: the greeting and the topic areas, each with its intents' buttons."""
    return web.json_response(starting_menu(request.app[STATE].engine.catalogue), dumps=_dumps)


def _intent(body: dict[str, object]) -> str:
    intent = body.get("intent")
    if not isinstance(intent, str) or not intent or len(intent) > MAX_INTENT_CHARS:
        raise web.HTTPBadRequest(reason=f"'intent' must be a non-empty string of at most {MAX_INTENT_CHARS} characters")
    return intent


async def choose(request: web.Request) -> web.Response:
    """POST /api/choose {"user", "intent"}: a tapped button -> the reply object (stale_button when unknown)."""
    state = request.app[STATE]
    body = await json_body(request)
    user = read_user(body, '{"user": "...", "intent": "..."}')
    intent = _intent(body)
    key = f"api:{user}"  # the same citizen as on /api/chat, so follow-ups go on from the button's answer
    limited = await slow_down(state, key)
    if limited is not None:
        return limited
    async with state.engine.turn(key):
        reply = state.engine.choose(key, intent, channel="api")
    return web.json_response(reply.to_dict(), dumps=_dumps)


async def feedback(request: web.Request) -> web.Response:
    """POST /api/feedback {"user", "intent", "helpful"}: a 👍/👎 on an answer -> {"reply": thank-you text}."""
    state = request.app[STATE]
    body = await json_body(request)
    user = read_user(body, '{"user": "...", "intent": "...", "helpful": true}')
    intent, helpful = _intent(body), body.get("helpful")
    if not isinstance(helpful, bool):
        return error_response(400, "'helpful' must be true or false")
    if intent not in state.engine.catalogue.intents:
        return error_response(400, f"unknown intent {intent!r}")
    key = f"api:{user}"
    limited = await slow_down(state, key)
    if limited is not None:
        return limited
    return web.json_response({"reply": state.engine.feedback(key, intent, helpful, channel="api")}, dumps=_dumps)


def _is_same_origin(request: web.Request, origin: str) -> bool:
    """The page's own requests: Origin names the host the request was sent to (or a proxy's forwarded host)."""
    netloc = urlsplit(origin).netloc.lower()
    hosts = {request.host.lower(), request.headers.get("X-Forwarded-Host", "").lower()}
    return bool(netloc) and netloc in hosts


@web.middleware
async def origins_only(request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """/api/* from a browser: this site's own page, or a site in LEGALBOT_WEB_ORIGINS; preflights answered here."""
    origin = request.headers.get("Origin")
    if not request.path.startswith("/api/") or origin is None:
        return await handler(request)  # not a browser's cross-site call (curl, Telegram, the page's GETs)
    listed = origin in request.app[WEB].origins
    if not listed and not _is_same_origin(request, origin):
        return error_response(403, f"origin {origin} is not allowed; list it in LEGALBOT_WEB_ORIGINS")
    if request.method == "OPTIONS":
        return web.Response(status=204, headers={
            "Access-Control-Allow-Methods": "GET, POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        })
    return await handler(request)


async def _headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every response: no MIME sniffing, no referrer; /api/* answers a listed origin with CORS headers."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    origin = request.headers.get("Origin")
    if request.path.startswith("/api/") and origin is not None and origin in request.app[WEB].origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers.add("Vary", "Origin")


def load_files() -> dict[str, bytes]:
    """The page's files from the installed package (package-data in pyproject.toml)."""
    folder = resources.files(__name__) / "static"
    return {name: (folder / name).read_bytes() for name in STATIC}


def mount(settings: Settings) -> Callable[[web.Application], None]:
    """What the HTTP app calls to add the page, its files and its API routes."""

    def install(app: web.Application) -> None:
        app[WEB] = WebPage(load_files(), frozenset(settings.web_origins), page_csp(settings.web_origins))
        app.middlewares.append(origins_only)
        app.on_response_prepare.append(_headers)
        app.router.add_routes([
            web.get("/", _file("index.html")),
            web.get("/web/chat.css", _file("chat.css")),
            web.get("/web/chat.js", _file("chat.js")),
            web.get("/embed.js", _file("embed.js")),
            web.get("/api/menu", menu),
            web.post("/api/choose", choose),
            web.post("/api/feedback", feedback),
        ])

    return install
