"""The web channel's server side: the page's headers, its files, /api/menu, /api/choose, /api/feedback, CORS."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient
from catalogue_copy import CatalogueCopy
from serve_process import clean_env, serving

from bot.catalogue.loader import Catalogue
from bot.channels import web as web_page
from bot.channels.http import create_app
from bot.checks.pytest_plugin import ROOT
from bot.cli import main
from bot.config import Settings
from bot.engine import Engine
from bot.errors import ConfigError
from bot.service.ratelimit import RateLimiter

Client = TestClient[Any, Any]
ClientFactory = Callable[..., Awaitable[Client]]
COUNTY = "https://www.jiangshan.gov.cn"
OTHER = "https://evil.example"


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"LEGALBOT_WEB_ORIGINS": f"{COUNTY}, http://127.0.0.1:8001"})


@pytest.fixture
async def client(aiohttp_client: ClientFactory, shipped_catalogue: Catalogue, settings: Settings) -> Client:
    return await aiohttp_client(create_app(Engine(shipped_catalogue), settings, mounts=[web_page.mount(settings)]))


@pytest.mark.parametrize(("raw", "expected"), [
    ("", ()),
    (" https://WWW.Jiangshan.gov.cn/ ,http://127.0.0.1:8001,,", ("https://www.jiangshan.gov.cn", "http://127.0.0.1:8001")),
    ("https://a.cn,https://a.cn", ("https://a.cn",)),
])
def test_web_origins_are_read_from_the_environment(raw: str, expected: tuple[str, ...]) -> None:
    assert Settings.from_env({"LEGALBOT_WEB_ORIGINS": raw}).web_origins == expected


@pytest.mark.parametrize("raw", ["*", "www.jiangshan.gov.cn", "ftp://a.cn", "https://a.cn/chat", "https://a.cn:x",
                                 "https://a.cn?x=1", "https://user@a.cn"])
def test_a_malformed_web_origin_is_an_error_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="^LEGALBOT_WEB_ORIGINS has value"):
        Settings.from_env({"LEGALBOT_WEB_ORIGINS": f"https://ok.cn,{raw}"})


async def test_page_has_security_headers_and_csp_following_the_setting(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert f"frame-ancestors 'self' {COUNTY} http://127.0.0.1:8001" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = await response.text()
    assert '<html lang="zh-CN">' in page
    assert all('src="' in tag for tag in re.findall(r"<script\b[^>]*>", page)), "no inline script"
    assert "style=" not in page


def test_page_files_load_nothing_from_another_site() -> None:
    for name in ("index.html", "chat.css", "chat.js"):
        text = web_page.load_files()[name].decode()
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text), name


def test_every_page_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["setuptools"]["package-data"]["bot.channels.web"] == ["static/*"]
    assert set(web_page.load_files()) == set(web_page.STATIC)


async def test_files_are_served_with_their_types(client: Client) -> None:
    for path, kind in [("/web/chat.css", "text/css"), ("/web/chat.js", "text/javascript"), ("/embed.js", "text/javascript")]:
        response = await client.get(path)
        assert response.status == 200, path
        assert response.headers["Content-Type"].startswith(kind)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/web/index.py")).status == 404


async def test_menu_is_the_catalogue_areas_with_intent_titles(client: Client, shipped_catalogue: Catalogue) -> None:
    menu = await (await client.get("/api/menu")).json()
    assert menu["welcome"] == shipped_catalogue.messages["welcome"].strip()
    assert [a["key"] for a in menu["areas"]] == [a.key for a in shipped_catalogue.menu.areas]
    for area, listed in zip(menu["areas"], shipped_catalogue.menu.areas, strict=True):
        assert area["title"] == listed.title
        assert area["title"] in area["text"]
        assert [b["intent"] for b in area["buttons"]] == list(listed.intents)
        for button in area["buttons"]:
            assert button["title"] == shipped_catalogue.title(button["intent"])


async def test_a_button_press_answers_its_intent_and_goes_on_as_the_same_citizen(client: Client) -> None:
    first = await (await client.post("/api/chat", json={"user": "w1", "text": "法律援助怎么申请"})).json()
    assert first["rateable"] is True
    button = first["buttons"][0]
    pressed = await (await client.post("/api/choose", json={"user": "w1", "intent": button["intent"]})).json()
    assert pressed["intent"] == button["intent"]
    assert pressed["outcome"] == "answer"
    stale = await (await client.post("/api/choose", json={"user": "w1", "intent": "no_such_thing"})).json()
    assert stale["kind"] == "stale_button"


async def test_feedback_thanks_and_refuses_what_it_cannot_record(client: Client, shipped_catalogue: Catalogue) -> None:
    intent = next(iter(shipped_catalogue.intents))
    thanks = await client.post("/api/feedback", json={"user": "w2", "intent": intent, "helpful": False})
    assert (await thanks.json()) == {"reply": shipped_catalogue.messages["feedback_thanks"]}
    for body in ({"user": "w2", "intent": intent, "helpful": "no"}, {"user": "w2", "intent": "nope", "helpful": True},
                 {"user": "", "intent": intent, "helpful": True}, ["w2"]):
        response = await client.post("/api/feedback", json=body)
        assert response.status == 400, body
        assert "error" in await response.json()


async def test_choose_is_rate_limited_like_chat(aiohttp_client: ClientFactory, shipped_catalogue: Catalogue,
                                                settings: Settings) -> None:
    app = create_app(Engine(shipped_catalogue), settings, limiter=RateLimiter(2), mounts=[web_page.mount(settings)])
    client = await aiohttp_client(app)
    for _ in range(2):
        assert (await client.post("/api/chat", json={"user": "w3", "text": "公证"})).status == 200
    limited = await client.post("/api/choose", json={"user": "w3", "intent": "x"})
    assert limited.status == 429
    assert limited.headers["Retry-After"]
    assert (await limited.json())["reply"] == shipped_catalogue.messages["rate_limited"]


async def test_cors_answers_listed_origins_only(client: Client) -> None:
    preflight = {"Origin": COUNTY, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    allowed = await client.options("/api/chat", headers=preflight)
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == COUNTY
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in allowed.headers["Access-Control-Allow-Headers"]
    chat = await client.post("/api/chat", json={"user": "w4", "text": "公证"}, headers={"Origin": COUNTY})
    assert chat.status == 200
    assert chat.headers["Access-Control-Allow-Origin"] == COUNTY
    assert "Origin" in chat.headers["Vary"]

    refused = await client.options("/api/chat", headers=preflight | {"Origin": OTHER})
    assert refused.status == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    posted = await client.post("/api/chat", json={"user": "w4", "text": "公证"}, headers={"Origin": OTHER})
    assert posted.status == 403
    assert "LEGALBOT_WEB_ORIGINS" in (await posted.json())["error"]


async def test_the_page_own_origin_is_served_without_cors_headers(client: Client) -> None:
    own = f"http://{client.host}:{client.port}"
    response = await client.post("/api/chat", json={"user": "w5", "text": "公证"}, headers={"Origin": own})
    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert (await client.post("/api/chat", json={"user": "w5", "text": "公证"})).status == 200  # curl: no Origin


async def test_menu_follows_an_operator_edit_of_menu_yaml(aiohttp_client: ClientFactory, tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path)
    menu_file = copy.intents / "menu.yaml"
    menu_file.write_text(menu_file.read_text(encoding="utf-8").replace("⚖️ 公共法律服务", "⚖️ 法律服务（测试）"),
                         encoding="utf-8")
    engine = Engine.from_paths(copy.intents, copy.content)
    settings = Settings.from_env({})
    client = await aiohttp_client(create_app(engine, settings, mounts=[web_page.mount(settings)]))
    menu = await (await client.get("/api/menu")).json()
    assert menu["areas"][0]["title"] == "⚖️ 法律服务（测试）"


async def test_legalbot_serve_serves_the_page_with_the_listed_origins(tmp_path: Path) -> None:
    env = clean_env(LEGALBOT_WEB_ORIGINS=COUNTY, LEGALBOT_MATCH_WORKERS="0")
    async with serving(env, ROOT) as served, ClientSession() as session:
        async with session.get(f"{served.url}/") as page:
            assert page.status == 200
            assert f"frame-ancestors 'self' {COUNTY}" in page.headers["Content-Security-Policy"]
        async with session.get(f"{served.url}/embed.js") as embed:
            assert embed.status == 200
        async with session.get(f"{served.url}/api/menu") as menu:
            assert (await menu.json())["areas"]
    assert served.returncode == 0, served.log


def test_legalbot_serve_refuses_a_malformed_origin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"], {"LEGALBOT_WEB_ORIGINS": "www.jiangshan.gov.cn"}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "LEGALBOT_WEB_ORIGINS" in err
