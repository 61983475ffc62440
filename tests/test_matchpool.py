"""The match pool: real worker processes answer exactly as inline matching, across reloads, crashes and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import pickle
import shutil
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from catalogue_copy import NEW_EXAMPLE, CatalogueCopy
from catalogue_factory import SERVICES, write_catalogue
from serve_process import clean_env, serving

from bot.catalogue.cache import CatalogueLoader
from bot.catalogue.loader import Catalogue
from bot.config import Settings, default_match_workers
from bot.engine import Engine
from bot.errors import ConfigError
from bot.matching.index import Index
from bot.matching.ranking import Examined, examine
from bot.service import matchpool
from bot.service.matchpool import MatchPool
from bot.service.metrics import Metrics
from bot.service.runtime import services

QUESTIONS = [
    "法律缘助咋申请", "公证处在哪", "請問怎麼申請法律援助", "邻居占了我家的地能调解吗", "网上能办事吗",
    "他又在打我", "你好", "谢谢", "明天天气怎么样", "", "😀😀", "xingzheng fuyi 怎么申请",
    "我家住在乡下，年纪大了不太会用手机，孩子都在外地打工，这件事拖了好久，请问请不起律师怎么办",
    "那要多久", "2", "行政复意能管这个吗", "房东不退押金" * 200,
]


@contextlib.asynccontextmanager
async def running(index: Index, workers: int) -> AsyncIterator[MatchPool]:
    """A started pool, closed on the way out."""
    started = MatchPool(workers)
    await started.start(index)
    try:
        yield started
    finally:
        await started.close()


@pytest.fixture
async def pool(shipped_catalogue: Catalogue) -> AsyncIterator[MatchPool]:
    async with running(shipped_catalogue.index, 2) as started:
        yield started


def _metrics(catalogue: Catalogue, pool: MatchPool) -> str:
    """What /metrics shows about this pool."""
    metrics = Metrics(Engine(catalogue), pool=pool)
    try:
        return metrics.render().decode()
    finally:
        metrics.close()


def _alive(pool: MatchPool) -> list[int]:
    return [w.process.pid for w in pool._workers if w.alive and w.process.pid is not None]


async def test_workers_answer_exactly_as_inline_matching(shipped_catalogue: Catalogue, pool: MatchPool) -> None:
    index = shipped_catalogue.index
    results = await asyncio.gather(*(pool.examine(q, index) for q in QUESTIONS * 3))
    assert results == [examine(q, index) for q in QUESTIONS * 3]
    assert pool.fallbacks == 0
    assert len(_alive(pool)) == 2


async def test_an_engine_with_the_pool_replies_as_one_without(shipped_catalogue: Catalogue, pool: MatchPool) -> None:
    pooled, inline = Engine(shipped_catalogue, matcher=pool), Engine(shipped_catalogue)
    for user in ("u1", "u2"):  # a conversation: context, follow-ups and button numbers stay in this process
        for question in QUESTIONS:
            assert (await pooled.reply(user, question)).to_dict() == inline.respond(user, question).to_dict()
    assert pool.fallbacks == 0


async def test_a_reload_is_matched_with_the_new_catalogue(tmp_path: Path) -> None:
    intents, content = write_catalogue(tmp_path)
    engine = Engine.from_paths(intents, content)
    async with running(engine.catalogue.index, 1) as pool:
        engine.matcher = pool
        new_phrase = "家里揭不开锅还被人告了找谁"
        assert (await engine.reply("u", new_phrase)).intent != "legal_aid"
        services_file = tmp_path / SERVICES
        text = services_file.read_text(encoding="utf-8")
        services_file.write_text(text.replace("- 法律援助怎么申请\n", f"- 法律援助怎么申请\n              - {new_phrase}\n", 1),
                                 encoding="utf-8")
        assert await engine.reload() == ()
        assert (await engine.reply("u", new_phrase)).intent == "legal_aid"
        assert pool.fallbacks == 0


async def test_workers_read_a_reloaded_index_from_the_catalogue_cache(tmp_path: Path) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    loader = CatalogueLoader(tmp_path / "cache")
    engine = Engine.from_paths(copy.intents, copy.content, loader=loader)
    pool = MatchPool(1, stored=loader.stored)
    await pool.start(engine.catalogue.index)
    try:
        engine.matcher = pool
        assert (await engine.reply("u", NEW_EXAMPLE)).confidence != 1.0
        copy.add_example()
        assert await engine.reload() == ()
        await pool.switch(engine.catalogue.index)
        reply = await engine.reply("u", NEW_EXAMPLE)
        assert reply.intent == "legal_aid" and reply.confidence == 1.0  # the new example, matched in the worker
        assert pool.fallbacks == 0 and pool.switching_inline == 0
        assert [path.parent for _, path, _ in pool._files] == [tmp_path / "cache"] * 2
        assert not any(pool._folder.iterdir())  # no second pickle of either index
        gc.collect()
        assert pool._files[0][0]() is None  # the index before the reload is released, not kept for its file
        # The cache pruned the file before the workers read it: they read a pickle of the index instead.
        copy.restore()
        assert await engine.reload() == ()
        await pool._publish(engine.catalogue.index)
        for cached in (tmp_path / "cache").glob("catalogue-*.bin"):
            cached.unlink()
        await pool.switch(engine.catalogue.index)
        assert any(pool._folder.glob("index-*.pickle"))
        assert (await engine.reply("u", NEW_EXAMPLE)).confidence != 1.0
        assert (pool.fallbacks, pool.switching_inline) == (0, 0)
        copy.add_example()
        assert await engine.reload() == ()
        assert (await engine.reply("u", NEW_EXAMPLE)).confidence == 1.0  # inline, while the worker loads it
        assert pool.switching_inline == 1
        await pool.switch(engine.catalogue.index)  # from the cache's new file
        assert [path.parent for _, path, _ in pool._files][-1] == tmp_path / "cache"
        # The cache pruned the file (or it was removed) and the worker died: its successor gets a pickle.
        for cached in [*(tmp_path / "cache").glob("catalogue-*.bin"), *pool._folder.glob("index-*.pickle")]:
            cached.unlink()
        dead = pool._workers[0].process
        os.kill(dead.pid or 0, signal.SIGKILL)
        async with asyncio.timeout(30):
            await pool.wait_until(lambda: pool.restarts >= 1 and len(_alive(pool)) == 1)
        assert (await engine.reply("u", NEW_EXAMPLE)).confidence == 1.0
        assert (pool.fallbacks, pool.switching_inline) == (0, 1) and any(pool._folder.glob("index-*.pickle"))
    finally:
        await pool.close()


async def test_a_reload_is_answered_inline_until_the_workers_have_loaded_it(tmp_path: Path) -> None:
    """An edit is served the moment its index is built; the workers take over once each has loaded it."""
    copy = CatalogueCopy(tmp_path / "catalogue")
    loader = CatalogueLoader(tmp_path / "cache")
    engine = Engine.from_paths(copy.intents, copy.content, loader=loader)
    written = threading.Event()  # holds back the cache file the workers read, as a slow disk would

    def stored(index: Index) -> tuple[Path, str] | None:
        written.wait(60)
        return loader.stored(index)

    pool = MatchPool(2, stored=stored)
    written.set()
    await pool.start(engine.catalogue.index)
    written.clear()
    try:
        engine.matcher = pool
        copy.add_example()
        assert await engine.reload() == ()
        index = engine.catalogue.index
        reply = await engine.reply("u", NEW_EXAMPLE)
        assert reply.intent == "legal_aid" and reply.confidence == 1.0  # the edit, before any worker has it
        assert pool.switching_inline == 1 and pool._switches  # the workers are still switching
        assert [await pool.examine(q, index) for q in QUESTIONS] == [examine(q, index) for q in QUESTIONS]
        assert pool.switching_inline == 1 + len(QUESTIONS)
        written.set()
        await pool.switch(index)
        assert not pool._switches
        assert [await pool.examine(q, index) for q in QUESTIONS] == [examine(q, index) for q in QUESTIONS]
        assert (await engine.reply("u", NEW_EXAMPLE)).confidence == 1.0  # now from a worker
        assert pool.switching_inline == 1 + len(QUESTIONS) and pool.fallbacks == 0
        assert all(w.queued == 0 and not w.pending for w in pool._workers)  # every worker answered its load
    finally:
        written.set()
        await pool.close()


async def test_a_killed_worker_loses_no_message_and_is_replaced(shipped_catalogue: Catalogue, pool: MatchPool) -> None:
    index = shipped_catalogue.index
    victim = _alive(pool)[0]
    pending = [asyncio.ensure_future(pool.examine(q, index)) for q in QUESTIONS * 4]
    await asyncio.sleep(0)  # the tasks are sent
    os.kill(victim, signal.SIGKILL)
    results = await asyncio.gather(*pending)
    assert results == [examine(q, index) for q in QUESTIONS * 4]  # some matched inline, none lost
    async with asyncio.timeout(30):
        await pool.wait_until(lambda: pool.restarts >= 1 and len(_alive(pool)) == 2)
    assert victim not in _alive(pool)
    assert f"legalbot_match_worker_restarts_total {float(pool.restarts)}" in _metrics(shipped_catalogue, pool)
    assert pool.restarts == 1
    before = pool.fallbacks
    assert await pool.examine("法律援助", index) == examine("法律援助", index)
    assert pool.fallbacks == before  # the replacement serves


async def test_a_task_failing_in_the_worker_is_matched_inline(shipped_catalogue: Catalogue, pool: MatchPool,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matchpool, "_write", lambda index, path: path.write_bytes(b"damaged"))
    other = pickle.loads(pickle.dumps(shipped_catalogue.index))  # a reloaded catalogue: a new file
    await pool.switch(other)  # the workers fail to load it, and go on
    assert await pool.examine("法律援助", other) == examine("法律援助", other)
    assert (pool.fallbacks, pool.restarts) == (1, 0)  # the worker reported the failure and lives on
    shown = _metrics(shipped_catalogue, pool)
    assert "legalbot_match_inline_fallbacks_total 1.0" in shown
    assert "legalbot_match_worker_restarts_total 0.0" in shown
    assert len(_alive(pool)) == 2


async def test_close_answers_what_is_in_flight_and_stops_the_workers(shipped_catalogue: Catalogue) -> None:
    pool = MatchPool(2)
    await pool.start(shipped_catalogue.index)
    processes = [w.process for w in pool._workers]
    folder = pool._folder
    pending = [asyncio.ensure_future(pool.examine(q, shipped_catalogue.index)) for q in QUESTIONS * 4]
    await asyncio.sleep(0)
    await pool.close()
    assert await asyncio.gather(*pending) == [examine(q, shipped_catalogue.index) for q in QUESTIONS * 4]
    assert not any(p.is_alive() for p in processes)
    assert not folder.exists()
    assert await pool.examine("公证", shipped_catalogue.index) == examine("公证", shipped_catalogue.index)  # inline now


async def test_services_start_and_stop_the_pool(tmp_path: Path) -> None:
    engine = Engine.from_paths(*write_catalogue(tmp_path))
    settings = Settings(tmp_path, tmp_path, match_workers=2)
    async with services(engine, settings, watch=False) as running:
        assert running.pool is not None and engine.matcher is running.pool
        assert len(_alive(running.pool)) == 2
        assert (await engine.reply("u", "法律援助怎么申请")).intent == "legal_aid"
    assert engine.matcher is None
    assert not any(w.process.is_alive() for w in running.pool._workers)


def test_match_workers_setting() -> None:
    assert Settings.from_env({"LEGALBOT_MATCH_WORKERS": "3"}).match_workers == 3
    assert Settings.from_env({"LEGALBOT_MATCH_WORKERS": "0"}).match_workers == 0
    assert Settings.from_env({}).match_workers == default_match_workers()
    with pytest.raises(ConfigError, match="LEGALBOT_MATCH_WORKERS"):
        Settings.from_env({"LEGALBOT_MATCH_WORKERS": "-1"})
    assert default_match_workers() != 1  # one worker on one core would only add a hop


async def test_long_stories_never_fill_a_workers_pipe(shipped_catalogue: Catalogue, pool: MatchPool) -> None:
    """Tasks waiting in a worker's pipe stay within the budget, so sending one never blocks the event loop."""
    index = shipped_catalogue.index
    stories = [f"第{n}件事：" + "我家住在乡下，邻居占了我家的地，吵了好几年，" * 120 + "能不能帮忙调解" for n in range(30)]
    tasks = [asyncio.ensure_future(pool.examine(s, index)) for s in stories]
    most = 0
    while not all(t.done() for t in tasks):
        for worker in pool._workers:
            if len(worker.pending) > 1:
                most = max(most, worker.queued)
        await asyncio.sleep(0)
    assert [t.result() for t in tasks] == [examine(s, index) for s in stories]
    assert 0 < most <= matchpool._PIPE_BUDGET
    assert pool.fallbacks == 0


async def test_workers_that_keep_dying_are_not_replaced_for_ever(shipped_catalogue: Catalogue, pool: MatchPool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matchpool, "_MAX_RESTARTS", 0)
    index = shipped_catalogue.index
    for pid in _alive(pool):
        os.kill(pid, signal.SIGKILL)
    async with asyncio.timeout(30):
        await pool.wait_until(lambda: not pool._workers)
    assert pool.restarts == 0
    assert await pool.examine("法律援助", index) == examine("法律援助", index)  # inline, still answered
    assert pool.fallbacks >= 1


async def test_services_match_inline_when_workers_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    async def refuse(self: MatchPool, index: object) -> None:
        raise OSError("no processes here")

    monkeypatch.setattr(MatchPool, "start", refuse)
    engine = Engine.from_paths(*write_catalogue(tmp_path))
    async with services(engine, Settings(tmp_path, tmp_path, match_workers=2), watch=False) as running:
        assert running.pool is None and engine.matcher is None
        assert (await engine.reply("u", "法律援助怎么申请")).intent == "legal_aid"
    assert "match workers could not start (OSError: no processes here)" in caplog.text


async def test_legalbot_serve_matches_in_workers_and_serves_an_edit(tmp_path: Path) -> None:
    """The real `legalbot serve`, two match workers: answers, a hot reload reaches the workers, SIGTERM stops all."""
    copy = CatalogueCopy(tmp_path)
    env = clean_env(LEGALBOT_INTENTS=str(copy.intents), LEGALBOT_CONTENT=str(copy.content),
                    LEGALBOT_MATCH_WORKERS="2", LEGALBOT_RATE_LIMIT="100000")
    async with serving(env, tmp_path) as served, ClientSession() as session:
        async def ask(text: str) -> dict[str, object]:
            async with session.post(f"{served.url}/api/chat", json={"user": "u", "text": text}) as response:
                assert response.status == 200
                return await response.json()  # type: ignore[no-any-return]

        assert (await ask("法律缘助咋申请"))["intent"] == "legal_aid"
        assert (await ask(NEW_EXAMPLE))["confidence"] != 1.0
        copy.add_example()
        async with asyncio.timeout(30):
            await served.logged("catalogue reloaded")
        assert (await ask(NEW_EXAMPLE))["confidence"] == 1.0  # matched as the new example (inline, then in a worker)
        async with session.get(f"{served.url}/metrics") as response:
            metrics = await response.text()
        assert "legalbot_match_workers 2.0" in metrics
        assert "legalbot_match_inline_fallbacks_total 0.0" in metrics
        assert "legalbot_match_worker_restarts_total 0.0" in metrics
    assert served.returncode == 0, served.log[-2000:]
    assert "matching in 2 worker processes" in served.log
    assert "match pool could not take" not in served.log  # nothing fell back to inline matching


async def test_cancelled_callers_keep_their_tasks_counted_until_answered(shipped_catalogue: Catalogue) -> None:
    """A caller that gives up leaves its task in the pipe: the pool must not fill the pipe past the budget."""
    index = shipped_catalogue.index
    async with running(index, 1) as pool:
        story = "我家住在乡下，邻居占了我家的地，吵了好几年，" * 150
        for _ in range(4):
            tasks = [asyncio.ensure_future(pool.examine(f"{n}{story}", index)) for n in range(16)]
            await asyncio.sleep(0)
            for task in tasks:
                task.cancel()
            worker = pool._workers[0]
            assert worker.queued <= matchpool._PIPE_BUDGET or len(worker.pending) == 1
        async with asyncio.timeout(60):
            await pool.wait_until(lambda: not pool._workers[0].pending)
        assert pool._workers[0].queued == 0
        assert await pool.examine("法律援助", index) == examine("法律援助", index)
        assert pool.fallbacks == 0


async def test_close_does_not_wait_for_ever_on_a_stalled_worker(shipped_catalogue: Catalogue,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matchpool, "_CLOSE_WAIT", 0.5)
    index = shipped_catalogue.index
    pool = MatchPool(1)
    await pool.start(index)
    stalled = pool._workers[0].process
    os.kill(stalled.pid or 0, signal.SIGSTOP)
    try:
        calls = [asyncio.ensure_future(pool.examine(f"第{n}问：法律援助怎么申请", index)) for n in range(20)]
        await asyncio.sleep(0)  # one turn of the loop: each call is sent, or waits for room
        assert pool._workers[0].pending
        await pool.close()
        answers = await asyncio.gather(*calls)  # every caller answered, inline
        assert answers == [examine(f"第{n}问：法律援助怎么申请", index) for n in range(20)]
        assert not stalled.is_alive()
    finally:
        if stalled.is_alive():
            os.kill(stalled.pid or 0, signal.SIGKILL)


async def test_a_failed_start_leaves_no_worker_running(shipped_catalogue: Catalogue,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    pool = MatchPool(3)
    spawn, started = pool._spawn, []

    def second_fails() -> object:
        if len(started) == 1:
            raise OSError("cannot start a process")
        started.append(spawn())
        return started[-1]

    monkeypatch.setattr(pool, "_spawn", second_fails)
    with pytest.raises(OSError):
        await pool.start(shipped_catalogue.index)
    await pool.close()
    assert len(started) == 1 and not started[0].process.is_alive()


async def test_a_dead_worker_is_reaped_and_a_missing_index_file_rewritten(shipped_catalogue: Catalogue,
                                                                         pool: MatchPool) -> None:
    index = shipped_catalogue.index
    dead = pool._workers[0].process
    shutil.rmtree(pool._folder)  # a temporary-files cleaner at work
    os.kill(dead.pid or 0, signal.SIGKILL)
    async with asyncio.timeout(30):
        await pool.wait_until(lambda: pool.restarts >= 1 and len(_alive(pool)) == 2)
        await asyncio.to_thread(dead.join)  # the pool reaps it too; this waits for the same exit
    assert dead.exitcode == -signal.SIGKILL  # joined: no zombie left behind
    before = pool.fallbacks
    results = await asyncio.gather(*(pool.examine(q, index) for q in QUESTIONS * 2))
    assert results == [examine(q, index) for q in QUESTIONS * 2]
    assert pool.fallbacks == before  # the new worker read the rewritten file


async def test_one_users_messages_are_answered_in_order(shipped_catalogue: Catalogue) -> None:
    """The second message of a user waits for the first, even when its matching would finish first."""
    release = asyncio.Event()

    class SlowFirst:
        async def examine(self, text: str, index: Index) -> Examined:
            if text == "法律援助怎么申请":
                await release.wait()
            return examine(text, index)

    engine = Engine(shipped_catalogue, matcher=SlowFirst())
    first = asyncio.ensure_future(engine.reply("u", "法律援助怎么申请"))
    second = asyncio.ensure_future(engine.reply("u", "那要多久"))
    other = await engine.reply("someone else", "公证怎么办")  # other users are not held up
    assert other.intent == "notarization" and not first.done()
    release.set()
    assert (await first).intent == "legal_aid"
    assert (await second).kind == "followup"  # answered in the topic of the first
    assert len(engine._turns) == 0  # no lock left behind


async def test_messages_waiting_for_room_go_first_come_first_served(shipped_catalogue: Catalogue,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matchpool, "_DEPTH", 1)
    index = shipped_catalogue.index
    async with running(index, 1) as pool:
        finished: list[int] = []
        calls = []
        for n in range(12):
            call = asyncio.ensure_future(pool.examine(f"第{n}个问题：法律援助怎么申请", index))
            call.add_done_callback(lambda _, n=n: finished.append(n))
            calls.append(call)
            if n == 5:
                await asyncio.sleep(0)  # the first ones are queued before the rest arrive
        await asyncio.gather(*calls)
        assert finished == list(range(12))
        assert not pool._waiting
