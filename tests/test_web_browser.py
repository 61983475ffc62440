"""The citizen chat page in a real headless Chromium (selenium + Debian's chromedriver) against real servers.

The bot runs as the aiohttp app on 127.0.0.1, port 0, in a thread of its own; the county's site (a
second origin, listed in LEGALBOT_WEB_ORIGINS) and a stranger's site (not listed) are two more tiny
aiohttp servers on localhost that serve a page with the one-line embed snippet.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from bot.catalogue.loader import Catalogue
from bot.channels import web as web_page
from bot.channels.http import create_app
from bot.checks.pytest_plugin import ROOT
from bot.config import Settings
from bot.engine import Engine, Feedback, Reply
from bot.service.ratelimit import RateLimiter

DOCS = ROOT / "docs"  # LEGALBOT_SCREENSHOTS=1 puts the screenshots there, for the README
WAIT = 30  # seconds; the test machine is shared and slow


def _chromium() -> tuple[str, str]:
    browser = next((found for name in ("chromium", "chromium-browser", "google-chrome-stable")
                    if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
    if browser and driver:
        return browser, driver
    if os.environ.get("LEGALBOT_REQUIRE_BROWSER"):
        pytest.fail("LEGALBOT_REQUIRE_BROWSER is set but Chromium or chromedriver is missing "
                    "(Debian: apt-get install -y chromium chromium-driver)")
    pytest.skip("Chromium is not installed; set LEGALBOT_REQUIRE_BROWSER=1 to make this a failure")


class Server:
    """An aiohttp app served on a port of its own from a thread with its own event loop."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1") -> None:
        self._app, self._host = app, host
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    def start(self) -> Server:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=WAIT)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=WAIT)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=WAIT)
        self._loop.close()


def host_site(bot_url: Callable[[], str]) -> web.Application:
    """A page of some other site with the embed snippet, as the README gives it."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>江山市人民政府</title></head><body><h1>江山市人民政府</h1><p>办事指南……</p>
<script src="{bot_url()}/embed.js" defer></script></body></html>""", content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    return app


class SlowEngine(Engine):
    """An engine that takes a second over each answer, as a busy server might."""

    async def reply(self, user: str, text: str, channel: str = "api") -> Reply:
        await asyncio.sleep(1)
        return await super().reply(user, text, channel)


def bot_app(catalogue: Catalogue, origins: tuple[str, ...] = (), limiter: RateLimiter | None = None,
            rated: list[Feedback] | None = None, engine: Engine | None = None) -> web.Application:
    engine = engine or Engine(catalogue)
    if rated is not None:
        engine.feedback_listeners.append(rated.append)
    settings = Settings.from_env({"LEGALBOT_WEB_ORIGINS": ",".join(origins)})
    return create_app(engine, settings, limiter=limiter or RateLimiter(1000), mounts=[web_page.mount(settings)])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--lang=zh-CN", "--window-size=1280,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_script_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def sites(shipped_catalogue: Catalogue) -> Iterator[dict[str, Any]]:
    """The bot (the county listed), the county's site and a stranger's site, each embedding the chat."""
    holder: dict[str, Any] = {}
    county = Server(host_site(lambda: holder["bot"].url), host="localhost").start()
    stranger = Server(host_site(lambda: holder["bot"].url), host="localhost").start()
    rated: list[Feedback] = []
    holder |= {"county": county, "stranger": stranger, "rated": rated}
    holder["bot"] = Server(bot_app(shipped_catalogue, (county.url,), rated=rated)).start()
    try:
        yield holder
    finally:
        for server in (holder["bot"], county, stranger):
            server.stop()


def wait(driver: WebDriver, until: Callable[[WebDriver], Any]) -> Any:
    return WebDriverWait(driver, WAIT).until(until)


def bubbles(driver: WebDriver, kind: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f"#log .msg.{kind}")


def open_fresh(driver: WebDriver, url: str) -> None:
    """The page with an empty conversation, its greeting and topic buttons shown."""
    driver.get(url + "/")
    driver.execute_script("sessionStorage.clear()")
    driver.get(url + "/")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#log .msg.bot .choices button"))


def ask(driver: WebDriver, text: str) -> WebElement:
    """Type a question, press Enter, and return the answer bubble once it is there."""
    before = len(bubbles(driver, "bot"))
    box = driver.find_element(By.ID, "question")
    box.clear()
    box.send_keys(text, Keys.ENTER)
    wait(driver, lambda d: len(bubbles(d, "bot")) > before or bubbles(d, "error"))
    return bubbles(driver, "bot")[-1]


def csp_violations(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_a_citizen_asks_taps_a_suggestion_and_rates_once(browser: WebDriver, sites: dict[str, Any]) -> None:
    bot = sites["bot"].url
    browser.get_log("browser")  # start the console afresh
    open_fresh(browser, bot)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    answer = ask(browser, "法律援助怎么申请")
    assert "法律援助" in answer.text
    assert browser.find_element(By.ID, "question").get_attribute("value") == ""
    suggestion = answer.find_element(By.CSS_SELECTOR, ".choices button")
    title = suggestion.text
    suggestion.click()
    wait(browser, lambda d: bubbles(d, "me")[-1].text == title and len(bubbles(d, "bot")) >= 3)
    pressed = bubbles(browser, "bot")[-1]
    wait(browser, lambda d: pressed.find_elements(By.CSS_SELECTOR, ".rate button"))

    down = pressed.find_element(By.CSS_SELECTOR, ".rate button[aria-label*='没帮助']")
    assert down.text == "👎"
    down.click()
    wait(browser, lambda d: pressed.find_elements(By.CSS_SELECTOR, ".rate .thanks"))
    assert pressed.find_elements(By.CSS_SELECTOR, ".rate button") == []  # no second 👎
    assert "谢谢" in pressed.find_element(By.CSS_SELECTOR, ".rate .thanks").text
    assert [(f.is_helpful, f.channel) for f in sites["rated"]] == [(False, "api")]

    browser.refresh()  # the conversation lasts for the browser session, the rating with it
    wait(browser, lambda d: len(bubbles(d, "bot")) >= 3)
    assert bubbles(browser, "bot")[-1].find_elements(By.CSS_SELECTOR, ".rate button") == []
    assert csp_violations(browser) == []


def test_the_topic_menu_opens_an_area_and_answers_its_intent(browser: WebDriver, sites: dict[str, Any],
                                                              shipped_catalogue: Catalogue) -> None:
    open_fresh(browser, sites["bot"].url)
    area = bubbles(browser, "bot")[0].find_element(By.CSS_SELECTOR, ".choices button")
    area.click()
    listed = wait(browser, lambda d: len(bubbles(d, "bot")) == 2 and bubbles(d, "bot")[-1])
    intent = listed.find_element(By.CSS_SELECTOR, ".choices button")
    assert intent.text in {shipped_catalogue.title(i) for i in shipped_catalogue.intents}
    intent.click()
    answer = wait(browser, lambda d: len(bubbles(d, "bot")) == 3 and bubbles(d, "bot")[-1])
    assert answer.find_elements(By.CSS_SELECTOR, ".rate button[aria-label='有帮助']")


def test_big_text_switch_enlarges_the_text(browser: WebDriver, sites: dict[str, Any]) -> None:
    open_fresh(browser, sites["bot"].url)
    switch = browser.find_element(By.ID, "big")
    assert switch.text == "大字"
    size = "return parseFloat(getComputedStyle(document.querySelector('#log .msg .text')).fontSize)"
    before = browser.execute_script(size)
    switch.click()
    assert switch.get_attribute("aria-pressed") == "true"
    assert browser.execute_script(size) >= before * 1.25
    switch.click()
    assert browser.execute_script(size) == before


def _viewport(driver: WebDriver, width: int, height: int, mobile: bool) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


@pytest.mark.parametrize(("width", "height", "shot"), [(360, 740, "web-phone.png"), (1280, 800, "web-desktop.png")])
def test_fits_a_phone_and_a_desktop_without_sideways_scrolling(browser: WebDriver, sites: dict[str, Any], tmp_path: Path,
                                                               width: int, height: int, shot: str) -> None:
    _viewport(browser, width, height, mobile=width < 600)
    try:
        open_fresh(browser, sites["bot"].url)
        ask(browser, "邻居家装修噪音太大，能找人调解吗")
        ask(browser, "法律援助怎么申请")
        no_sideways = "return document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        assert browser.execute_script("return document.documentElement.clientWidth") == width
        assert browser.execute_script(no_sideways)
        folder = DOCS if os.environ.get("LEGALBOT_SCREENSHOTS") else tmp_path
        assert browser.save_screenshot(str(folder / shot))
        browser.find_element(By.ID, "big").click()
        assert browser.execute_script(no_sideways), "大字 must not make the page scroll sideways"
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_errors_are_one_sentence_and_the_question_stays(browser: WebDriver, shipped_catalogue: Catalogue) -> None:
    server = Server(bot_app(shipped_catalogue, limiter=RateLimiter(1))).start()
    try:
        open_fresh(browser, server.url)
        ask(browser, "公证怎么办")
        ask(browser, "司法鉴定在哪里做")  # the second message in a minute is one too many
        limited = wait(browser, lambda d: bubbles(d, "error"))[-1]
        assert "稍等" in limited.text
        assert browser.find_element(By.ID, "question").get_attribute("value") == "司法鉴定在哪里做"
    finally:
        server.stop()
    box = browser.find_element(By.ID, "question")
    box.send_keys(Keys.ENTER)  # the server is away now
    wait(browser, lambda d: len(bubbles(d, "error")) == 2)
    away = bubbles(browser, "error")[-1].text
    assert "连不上服务器" in away
    assert away.count("。") == 1 and away.endswith("。") and "\n" not in away
    assert box.get_attribute("value") == "司法鉴定在哪里做"
    assert bubbles(browser, "me")[-1].text == "公证怎么办"  # the unsent question is in the box, not the chat


def test_the_county_site_embeds_the_chat_and_a_stranger_is_refused(browser: WebDriver, sites: dict[str, Any]) -> None:
    bot, county, stranger = sites["bot"].url, sites["county"].url, sites["stranger"].url
    fetch = """const done = arguments[arguments.length - 1];
        fetch(arguments[0] + '/api/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},
              body: JSON.stringify({user: 'embed-test', text: '公证怎么办'})})
          .then(r => r.json()).then(j => done(j.intent || 'none'), e => done('refused: ' + e.name));"""
    browser.get(county + "/")
    opener = wait(browser, lambda d: d.find_element(By.ID, "legalbot-open"))
    assert opener.text == "法律咨询"
    opener.click()
    assert opener.get_attribute("aria-expanded") == "true"
    frame = browser.find_element(By.CSS_SELECTOR, "#legalbot-box iframe")
    assert frame.get_attribute("src").startswith(bot + "/")
    browser.switch_to.frame(frame)
    try:
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#log .msg.bot .choices button"))
        assert "公证" in ask(browser, "公证怎么办").text
    finally:
        browser.switch_to.default_content()
    assert browser.execute_async_script(fetch, bot) == "notarization"  # CORS lets the county's pages call /api

    browser.get_log("browser")
    browser.get(stranger + "/")
    assert browser.execute_async_script(fetch, bot) == "refused: TypeError"
    wait(browser, lambda d: d.find_element(By.ID, "legalbot-open")).click()
    wait(browser, lambda d: any("frame-ancestors" in e["message"] for e in d.get_log("browser")))


def test_a_typing_hint_shows_while_the_answer_is_on_its_way(browser: WebDriver, shipped_catalogue: Catalogue) -> None:
    server = Server(bot_app(shipped_catalogue, engine=SlowEngine(shipped_catalogue))).start()
    try:
        open_fresh(browser, server.url)
        hint = browser.find_element(By.ID, "typing")
        assert hint.get_attribute("role") == "status"
        browser.find_element(By.ID, "question").send_keys("公证怎么办", Keys.ENTER)
        wait(browser, lambda d: hint.text == "正在查找答案…")
        wait(browser, lambda d: len(bubbles(d, "bot")) == 2)
        assert hint.text == ""
    finally:
        server.stop()
