"""Hot reload on a real copy of the shipped catalogue: picked up fast, broken edits survived, fixes recovered."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest
from catalogue_copy import MISSPELT, NEW_EXAMPLE, CatalogueCopy

from bot.catalogue.cache import CatalogueLoader
from bot.cli import main
from bot.engine import Engine
from bot.checks.pytest_plugin import SHIPPED_INTENTS
from bot.service.watcher import CatalogueWatcher

TIMEOUT = 10.0  # seconds: only bounds a hang; how fast an edit is served is measured by bench/bench_scale.py
PACE = 0.001  # seconds between one stream's messages: about 3,000 messages a second from three streams


@pytest.fixture
def catalogue(tmp_path: Path) -> CatalogueCopy:
    return CatalogueCopy(tmp_path)


@pytest.fixture
async def watched(catalogue: CatalogueCopy) -> tuple[Engine, CatalogueWatcher]:
    engine = Engine.from_paths(catalogue.intents, catalogue.content)
    watcher = CatalogueWatcher(engine)
    await watcher.start()
    yield engine, watcher  # type: ignore[misc]
    await asyncio.wait_for(watcher.stop(), TIMEOUT)


async def _after(watcher: CatalogueWatcher, edit: Callable[[], object], done: Callable[[], bool]) -> None:
    """Make an edit and wait, on the watcher's reload events, until done() holds."""
    edit()
    await asyncio.wait_for(watcher.wait_until(done), TIMEOUT)


async def test_an_edit_is_served_within_two_seconds(watched: tuple[Engine, CatalogueWatcher],
                                                    catalogue: CatalogueCopy) -> None:
    engine, watcher = watched
    before = engine.catalogue
    assert NEW_EXAMPLE not in before.intents["legal_aid"].examples

    await _after(watcher, catalogue.add_example, lambda: engine.catalogue is not before)

    assert NEW_EXAMPLE in engine.catalogue.intents["legal_aid"].examples
    assert engine.last_reload_problems == ()
    assert engine.reload_failures == 0
    reply = await engine.reply("u", NEW_EXAMPLE)
    assert (reply.intent, reply.confidence) == ("legal_aid", 1.0)


async def test_a_reload_lets_the_previous_index_go_once_the_cache_holds_the_new_one(
        catalogue: CatalogueCopy, tmp_path: Path) -> None:
    """Nothing of ours keeps the catalogue a reload replaced (the cache writer held it until the new
    one was written): its memory is free to give back when the watcher trims the heap."""
    engine = Engine.from_paths(catalogue.intents, catalogue.content, loader=CatalogueLoader(tmp_path / "cache"))
    watcher = CatalogueWatcher(engine)
    before = weakref.ref(engine.catalogue.index)
    catalogue.add_example()
    assert await watcher.reload() == ()
    await asyncio.wait_for(watcher.released.wait(), TIMEOUT)
    gc.collect()
    assert before() is None and NEW_EXAMPLE in engine.catalogue.intents["legal_aid"].examples


async def test_a_broken_edit_keeps_the_last_good_catalogue_and_a_fix_recovers(
    watched: tuple[Engine, CatalogueWatcher], catalogue: CatalogueCopy, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine, watcher = watched
    good = engine.catalogue
    line = 0

    def break_it() -> None:
        nonlocal line
        line = catalogue.break_suggestion()

    with caplog.at_level(logging.INFO):
        await _after(watcher, break_it, lambda: bool(engine.last_reload_problems))

        assert engine.catalogue is good
        assert engine.reload_failures == 1
        (problem,) = engine.last_reload_problems
        assert (Path(problem.source.path).name, problem.source.line) == (catalogue.legal.name, line)
        assert MISSPELT in problem.message
        reply = await engine.reply("u", "法律援助怎么申请")
        assert reply.intent == "legal_aid"  # still serving citizens from the last good catalogue

        # The log shows the problem exactly as `legalbot validate` prints it.
        assert main(["validate", "--intents", str(catalogue.intents), "--content", str(catalogue.content)]) == 1
        printed = capsys.readouterr().out.splitlines()[0]
        assert printed == str(problem)
        assert printed.startswith(f"{problem.source.path}:{line}: ")
        assert any(printed in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)

        caplog.clear()
        await _after(watcher, catalogue.restore,
                            lambda: not engine.last_reload_problems and engine.catalogue is not good)
    assert engine.reload_failures == 1
    assert "earlier problems are fixed" in caplog.text


async def test_a_broken_new_file_is_reported_with_its_line(watched: tuple[Engine, CatalogueWatcher],
                                                           catalogue: CatalogueCopy) -> None:
    engine, watcher = watched
    good = engine.catalogue
    new = catalogue.intents / "new_topic.yaml"
    await _after(watcher, lambda: new.write_text("intents:\n  - id: pets\n    title: [宠物\n", encoding="utf-8"),
                 lambda: bool(engine.last_reload_problems))
    assert engine.catalogue is good
    assert [(Path(p.source.path).name, p.source.line) for p in engine.last_reload_problems] == [("new_topic.yaml", 4)]
    await _after(watcher, new.unlink, lambda: not engine.last_reload_problems)
    assert engine.catalogue is not good
    assert set(engine.catalogue.intents) == set(good.intents)


async def test_messages_in_flight_during_reloads_are_all_answered(watched: tuple[Engine, CatalogueWatcher],
                                                                  catalogue: CatalogueCopy) -> None:
    engine, watcher = watched
    questions = ["法律援助怎么申请", "邻居吵架能调解吗", "公证怎么办", "啊啊啊", NEW_EXAMPLE]
    stop = asyncio.Event()
    sent = answered = 0
    catalogues = set()

    async def stream() -> None:
        nonlocal sent, answered
        while not stop.is_set():
            sent += 1
            reply = await engine.reply(f"u{sent % 9}", questions[sent % len(questions)])
            assert reply.text
            answered += 1
            catalogues.add(id(engine.catalogue))
            await asyncio.sleep(PACE)  # a steady stream, not a flood: the reload thread gets its share

    streams = [asyncio.create_task(stream()) for _ in range(3)]
    first = engine.catalogue
    await _after(watcher, catalogue.add_example, lambda: engine.catalogue is not first)
    added = engine.catalogue
    await _after(watcher, catalogue.break_suggestion, lambda: bool(engine.last_reload_problems))
    await _after(watcher, catalogue.restore, lambda: not engine.last_reload_problems)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*streams), TIMEOUT)

    assert sent == answered
    assert sent > 100
    assert len(catalogues) == 3  # replies came from the first, the edited and the restored catalogue
    assert engine.catalogue is not first
    assert engine.catalogue is not added


async def test_stop_ends_the_watch_promptly(catalogue: CatalogueCopy) -> None:
    engine = Engine.from_paths(catalogue.intents, catalogue.content)
    watcher = CatalogueWatcher(engine)
    await watcher.start()
    await asyncio.wait_for(watcher.stop(), TIMEOUT)
    catalogue.add_example()  # nobody is watching any more: nothing reloads, nothing fails
    assert watcher.reloads == 0


async def test_a_folder_deleted_and_recreated_is_watched_again(watched: tuple[Engine, CatalogueWatcher],
                                                              catalogue: CatalogueCopy) -> None:
    """rm -rf intents && git checkout intents: the new folder's later edits are served, health recovers."""
    engine, watcher = watched
    good = engine.catalogue
    await _after(watcher, lambda: shutil.rmtree(catalogue.intents), lambda: bool(engine.last_reload_problems))
    assert engine.catalogue is good  # no folder: still serving the last good catalogue, degraded
    assert any("文件夹不存在" in p.message for p in engine.last_reload_problems)

    await _after(watcher, lambda: shutil.copytree(SHIPPED_INTENTS, catalogue.intents),
                 lambda: not engine.last_reload_problems)
    await _after(watcher, catalogue.add_example,
                        lambda: NEW_EXAMPLE in engine.catalogue.intents["legal_aid"].examples)
    reply = await engine.reply("u", NEW_EXAMPLE)
    assert (reply.intent, reply.confidence) == ("legal_aid", 1.0)

    await _after(watcher, catalogue.break_suggestion, lambda: bool(engine.last_reload_problems))
    await _after(watcher, catalogue.restore, lambda: not engine.last_reload_problems)


async def test_a_folder_swapped_in_by_rename_is_watched_again(watched: tuple[Engine, CatalogueWatcher],
                                                              catalogue: CatalogueCopy, tmp_path: Path) -> None:
    """A deploy that stages intents.new and renames it into place: edits to the new folder are seen."""
    engine, watcher = watched
    staged, retired = tmp_path / "intents.new", tmp_path / "intents.old"
    shutil.copytree(catalogue.intents, staged)
    (staged / catalogue.legal.name).write_text(catalogue.original.replace("title: 法律援助", "title: 法律援助服务", 1),
                                               encoding="utf-8")

    def swap() -> None:
        os.rename(catalogue.intents, retired)
        os.rename(staged, catalogue.intents)

    await _after(watcher, swap, lambda: engine.catalogue.intents["legal_aid"].title == "法律援助服务")
    await _after(watcher, catalogue.add_example,
                        lambda: NEW_EXAMPLE in engine.catalogue.intents["legal_aid"].examples)
    assert engine.last_reload_problems == ()
    shutil.rmtree(retired)  # the old folder is nobody's business any more


async def test_a_folder_that_is_a_symlink_can_be_repointed(catalogue: CatalogueCopy, tmp_path: Path) -> None:
    """intents -> releases/v1, then ln -sfn releases/v2 intents: the new release is served and watched."""
    releases = tmp_path / "releases"
    releases.mkdir()
    shutil.move(catalogue.intents, releases / "v1")
    shutil.copytree(releases / "v1", releases / "v2")
    catalogue.intents.symlink_to(releases / "v1", target_is_directory=True)
    engine = Engine.from_paths(catalogue.intents, catalogue.content)
    watcher = CatalogueWatcher(engine)
    await watcher.start()
    try:
        before = engine.catalogue

        def repoint() -> None:
            (releases / "v2" / catalogue.legal.name).write_text(
                catalogue.original.replace("title: 法律援助", "title: 法律援助服务", 1), encoding="utf-8")
            link = tmp_path / "intents.link"
            link.symlink_to(releases / "v2", target_is_directory=True)
            os.replace(link, catalogue.intents)  # atomic, as `ln -sfn` does it

        await _after(watcher, repoint, lambda: engine.catalogue is not before)
        assert engine.catalogue.intents["legal_aid"].title == "法律援助服务"
        await _after(watcher, catalogue.add_example,
                            lambda: NEW_EXAMPLE in engine.catalogue.intents["legal_aid"].examples)
        assert (releases / "v2" / catalogue.legal.name).read_text(encoding="utf-8").count(NEW_EXAMPLE) == 1
    finally:
        await asyncio.wait_for(watcher.stop(), TIMEOUT)
