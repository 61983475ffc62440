"""Hot reload: watch intents/ and content/ and swap in the new catalogue when an operator saves a file."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from watchfiles import DefaultFilter, awatch

from bot.engine import Engine
from bot.errors import Problem

logger = logging.getLogger(__name__)

STEP_MS = 100  # a burst of writes (an editor's save) is one change once the files are quiet this long
DEBOUNCE_MS = 1000  # ...or after this long, even if writes go on: the 2-second promise holds either way
_STOP_GRACE = 5.0  # seconds the watch thread gets to notice the stop event before we cancel it


class CatalogueWatcher:
    """Reloads the engine's catalogue after files change; a broken edit keeps the last good catalogue."""

    def __init__(self, engine: Engine, *, step_ms: int = STEP_MS, debounce_ms: int = DEBOUNCE_MS) -> None:
        self.engine = engine
        self.step_ms = step_ms
        self.debounce_ms = debounce_ms
        self.reloads = 0  # reload attempts made, good or bad
        self._changed = asyncio.Condition()
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def paths(self) -> tuple[Path, ...]:
        """The folders watched: the engine's intents/ and content/."""
        return tuple(p for p in (self.engine.intents_dir, self.engine.content_dir) if p is not None)

    async def start(self) -> None:
        """Start watching; returns once changes from now on are seen."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name="legalbot-watcher")
        # awatch() registers its watches synchronously in the task's first step; a callback queued
        # after the task was created runs after that step (the loop runs callbacks in order).
        asyncio.get_running_loop().call_soon(self._ready.set)
        await self._ready.wait()

    async def stop(self) -> None:
        """Stop watching and wait for the watch thread to end."""
        if self._task is None:
            return
        self._stop.set()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(asyncio.shield(task), _STOP_GRACE)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until predicate() holds, checking it after each reload (bound it with asyncio.timeout)."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def _run(self) -> None:
        async for changes in awatch(*self.paths, watch_filter=DefaultFilter(), step=self.step_ms,
                                    debounce=self.debounce_ms, stop_event=self._stop):
            names = sorted({Path(path).name for _, path in changes})
            logger.info("catalogue files changed: %s", ", ".join(names))
            await self.reload()

    async def reload(self) -> tuple[Problem, ...]:
        """Reload now; log the outcome; never raises, so one bad edit cannot stop the watching."""
        was_degraded = bool(self.engine.last_reload_problems)
        try:
            problems = await self.engine.reload()
        except Exception:
            logger.exception("catalogue reload crashed; still serving the previous catalogue")
            problems = self.engine.last_reload_problems
        else:
            if problems:
                logger.error("catalogue reload failed with %d problems (shown above, as `legalbot validate` "
                             "prints them); still serving the previous catalogue until the files are fixed",
                             len(problems))
            elif was_degraded:
                logger.warning("catalogue reload succeeded: the earlier problems are fixed")
        async with self._changed:
            self.reloads += 1
            self._changed.notify_all()
        return problems
