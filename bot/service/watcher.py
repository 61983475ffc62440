"""Hot reload: watch intents/ and content/ and swap in the new catalogue when an operator saves a file."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from watchfiles import DefaultFilter, awatch

from bot.catalogue.loader import Catalogue
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
        self._reloading = asyncio.Lock()  # one reload at a time, so the last to start is the last to land
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inside: tuple[asyncio.Task[None], asyncio.Event] | None = None
        self._comparing: set[asyncio.Task[None]] = set()
        self.compared = asyncio.Event()  # set after a before/after summary has been logged
        self.released = asyncio.Event()  # set once a swap's garbage is given back (_release)

    @property
    def paths(self) -> tuple[Path, ...]:
        """The folders watched: the engine's intents/ and content/."""
        return tuple(p for p in (self.engine.intents_dir, self.engine.content_dir) if p is not None)

    async def start(self) -> None:
        """Start watching; returns once changes from now on are seen."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name="legalbot-watcher")
        await self._ready.wait()

    async def stop(self) -> None:
        """Stop watching and wait for the watch threads to end."""
        if self._task is None:
            return
        self._stop.set()
        for comparing in self._comparing:
            comparing.cancel()
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
        roots, parents = _layout(self.paths)
        names = {str(root) for root in roots}
        try:
            await self._watch_inside(roots)
            if not parents:
                self._ready.set()
                await self._stop.wait()
                return
            replacements = awatch(*parents, watch_filter=lambda _change, path: path in names, recursive=False,
                                  step=self.step_ms, debounce=self.debounce_ms, stop_event=self._stop)
            self._ready.set()  # start() resumes after this step, in which awatch() registers its watch
            async for changes in replacements:
                logger.warning("catalogue folder %s replaced or removed; watching it afresh",
                               ", ".join(sorted({Path(path).name for _, path in changes})))
                await self._watch_inside(roots)
                await self.reload()  # whatever was written before the new watch began
        finally:
            self._ready.set()
            await self._stop_inside()

    async def _watch_inside(self, roots: tuple[Path, ...]) -> None:
        """(Re)start the recursive watch on the folders that exist now; returns once it is registered."""
        await self._stop_inside()
        present = [root for root in roots if root.is_dir()]
        if not present:
            return
        stop, registered = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(self._follow(present, stop, registered), name="legalbot-watcher-folders")
        self._inside = (task, stop)
        await registered.wait()

    async def _follow(self, roots: list[Path], stop: asyncio.Event, registered: asyncio.Event) -> None:
        changes_seen = awatch(*roots, watch_filter=DefaultFilter(), step=self.step_ms, debounce=self.debounce_ms,
                              stop_event=stop)
        registered.set()  # the waiter resumes after this step, in which awatch() registers its watch
        try:
            async for changes in changes_seen:
                names = sorted({Path(path).name for _, path in changes})
                logger.info("catalogue files changed: %s", ", ".join(names))
                await self.reload()
        except FileNotFoundError:  # the folder went between the check and the watch: its parent's watch sees it back
            logger.warning("catalogue folder vanished before it could be watched; waiting for it to come back")

    async def _stop_inside(self) -> None:
        if self._inside is None:
            return
        (task, stop), self._inside = self._inside, None
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), _STOP_GRACE)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def reload(self) -> tuple[Problem, ...]:
        """Reload now; log the outcome; never raises, so one bad edit cannot stop the watching."""
        async with self._reloading:
            was_degraded = bool(self.engine.last_reload_problems)
            old = self.engine.catalogue
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
                if not problems and self.engine.catalogue is not old:
                    task = asyncio.create_task(self._compare(old, self.engine.catalogue), name="legalbot-compare")
                    self._comparing.add(task)
                    task.add_done_callback(self._comparing.discard)
                    trimming = asyncio.create_task(self._release(), name="legalbot-release")
                    self._comparing.add(trimming)
                    trimming.add_done_callback(self._comparing.discard)
            del old  # the previous catalogue goes as soon as no turn and no comparison reads it
        async with self._changed:
            self.reloads += 1
            self._changed.notify_all()
        return problems

    async def _release(self) -> None:
        self.released.clear()
        await asyncio.to_thread(_release, self.engine.loader)
        self.released.set()

    async def _compare(self, old: Catalogue, new: Catalogue) -> None:
        """Log what the swap changed on the project's evaluation sets and conversation tests, where they exist."""
        root = self.engine.intents_dir.parent if self.engine.intents_dir is not None else None
        if root is None:
            return
        try:
            lines = await asyncio.to_thread(_summary, root, old, new)
        except Exception:
            logger.exception("could not compare the reloaded catalogue with the previous one")
            return
        if lines:
            level = logging.WARNING if lines[-1].startswith("结论：有指标变差") else logging.INFO
            logger.log(level, "catalogue reloaded; before and after:\n%s", "\n".join(lines))
            self.compared.set()


def _release(loader: object) -> None:
    """After a swap, once the cache writer has pickled the new catalogue (its buffers and the build's
    garbage are freed by then), give the freed heap back to the system: glibc keeps it for reuse
    otherwise, and a served 100,000-example catalogue grew by hundreds of MB a reload."""
    flush = getattr(loader, "flush", None)
    if callable(flush):
        flush()
    if _TRIM is not None:
        _TRIM(0)


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, where there is one (Linux with glibc; not musl, macOS or Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]  # ctypes releases the GIL
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def _summary(root: Path, old: Catalogue, new: Catalogue) -> list[str]:
    """`legalbot check`'s comparison of the previous and the new catalogue; [] when the project has no sets."""
    from bot.checks.comparison import CONVERSATIONS_DIR, compare, default_sets, format_comparison, read_checks

    paths = default_sets(root)
    if not paths:
        return []
    sets, conversations = read_checks(paths, root / CONVERSATIONS_DIR, root)
    return format_comparison(compare(old, new, sets, conversations), "替换前的版本")


def _layout(paths: tuple[Path, ...]) -> tuple[tuple[Path, ...], list[Path]]:
    """The folders to watch inside, and the parents to watch (not recursively) for the folders themselves.

    A watch on a folder ends with the folder: `rm -rf intents && git checkout intents`, a deploy that renames
    a new folder into place or repoints a symlink all leave it watching nothing. The parent may be a whole
    checkout (.git, .venv), so only its direct entries are watched, for the folders' own names.
    """
    roots = tuple(Path(os.path.abspath(p)) for p in paths)  # not resolve(): a symlink is watched by its name
    return roots, sorted({root.parent for root in roots if root.parent.is_dir()})
