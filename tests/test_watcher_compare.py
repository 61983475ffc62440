"""After a hot reload swaps the catalogue, the service logs `legalbot check`'s before/after summary."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from catalogue_factory import DEFAULT_FILES, SERVICES, write_catalogue

from bot.engine import Engine
from bot.service.watcher import CatalogueWatcher

EVAL = "- text: 怎么办公证\n  expect: notarization\n- text: 遗嘱可以公证吗\n  expect: notarization\n"


def _worse(root: Path) -> None:
    text = DEFAULT_FILES[SERVICES].replace("keywords: [公证, 公证处]", "keywords: [公证处在哪]").replace(
        "              - 怎么办公证\n              - 遗嘱能公证吗\n", "              - 公证处在哪里啊\n")
    write_catalogue(root, {SERVICES: text})


async def test_a_reload_logs_what_changed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path)
    (tmp_path / "tests" / "eval").mkdir(parents=True)
    (tmp_path / "tests" / "eval" / "set.yml").write_text(EVAL, encoding="utf-8")
    watcher = CatalogueWatcher(Engine.from_paths(intents_dir, content_dir))
    _worse(tmp_path)
    with caplog.at_level(logging.INFO, logger="bot.service.watcher"):
        assert await watcher.reload() == ()
        await asyncio.wait_for(watcher.compared.wait(), 30)
    summary = next(r for r in caplog.records if r.getMessage().startswith("catalogue reloaded; before and after:"))
    lines = summary.getMessage().splitlines()
    assert summary.levelno == logging.WARNING
    assert "和替换前的版本比较：" in lines
    assert "  直接答对：100.0% → 0.0%（变差）" in lines
    assert any(line.startswith("    [变差] tests/eval/set.yml:1 “怎么办公证”：公证 → ") for line in lines), lines
    assert lines[-1] == "结论：有指标变差或对话测试失败；请看上面标着“变差”的问题，改好后再运行 legalbot check。"


async def test_without_evaluation_sets_nothing_is_compared(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    intents_dir, content_dir = write_catalogue(tmp_path)
    watcher = CatalogueWatcher(Engine.from_paths(intents_dir, content_dir))
    _worse(tmp_path)
    with caplog.at_level(logging.INFO, logger="bot.service.watcher"):
        assert await watcher.reload() == ()
        await asyncio.gather(*watcher._comparing)
    assert not watcher.compared.is_set()
    assert not any("before and after" in r.getMessage() for r in caplog.records)
