"""Matching in worker processes: every core matches messages and the event loop never waits on the CPU.

The engine keeps everything about users (context, buttons offered) in the serving process; only
examine(text, index), which depends on nothing else, runs in a worker. Workers get the index
through a file named in each task: the catalogue cache's file when it holds the index (`stored`:
the serving process pickles a catalogue once, and the workers' arrays are memory-mapped from the
same file, shared rather than copied), else a pickle file written once per catalogue. After a hot
reload, messages for the new index are matched in the serving process (the same answers) while the
file is written and every worker loads it; then the workers take them again. So an edit is served
as soon as the index is built, a worker loads each catalogue once and drops the one before, and a
message is matched against the catalogue that was current when it arrived.

Each worker has a pipe for tasks and one for results; the serving process reads results from the
event loop (add_reader), with no helper threads, since the point is to leave its CPU to HTTP. A
worker that dies fails its tasks over to inline matching and is replaced: no message is lost.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import multiprocessing
import pickle
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from bot.matching.index import Index
from bot.matching.phonetic import installed_readings
from bot.matching.ranking import Examined, examine
from bot.service.matchworker import serve as _serve
from bot.service.matchworker import write as _write

logger = logging.getLogger(__name__)

# Tasks sent ahead to each worker. A worker with a queue never waits for the serving process, and
# reads tasks and writes answers in runs that keep its caches warm: 16 doubled the throughput of 2.
_DEPTH = 16
# Bytes of tasks a worker may have waiting: well inside a pipe's 64 KiB buffer, so sending a task
# never blocks the event loop, even with stories of thousands of characters in the queue.
_PIPE_BUDGET = 32 * 1024
_KEPT_FILES = 2  # the current catalogue's file and the one before, for tasks sent before a reload
_MAX_RESTARTS = 20  # workers replaced within _RESTART_WINDOW; past that, matching goes inline
_RESTART_WINDOW = 3600.0  # seconds
_CLOSE_WAIT = 5.0  # seconds close() waits for answers, so a stop fits in a container's 10 s grace
_WARN_EVERY = 60.0  # seconds between warnings about messages matched inline


class WorkerLost(Exception):
    """The worker running a task stopped before answering."""


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    tasks: Connection  # we write
    results: Connection  # we read
    # Tasks sent and not yet answered, with their size. An entry stays until the worker answers,
    # even if its caller gave up (cancelled), because the task is still in the pipe.
    pending: dict[int, tuple[asyncio.Future[Examined], int]] = field(default_factory=dict)
    queued: int = 0  # bytes of the pending tasks
    alive: bool = True


class MatchPool:
    """Worker processes running examine(); start() it, set it as Engine.matcher, close() it on the way out."""

    def __init__(self, workers: int, stored: Callable[[Index], tuple[Path, str] | None] | None = None) -> None:
        """`stored(index)`, if given, names a cache file holding the index's catalogue and its key
        (bot.catalogue.cache.CatalogueLoader.stored)."""
        if workers < 1:
            raise ValueError("a match pool needs at least one worker")
        self.size = workers
        self.fallbacks = 0  # messages matched inline because a worker failed
        self.switching_inline = 0  # messages matched inline while the workers load a reloaded index
        self.restarts = 0  # workers replaced after one stopped
        self._restarted: list[float] = []  # when, for the rate limit on restarts
        self._warned = (0.0, 0)  # last warning about inline matching, and messages since
        self._context = multiprocessing.get_context("spawn")  # not fork: the server runs threads
        self._folder = Path(tempfile.mkdtemp(prefix="legalbot-index-"))
        self._stored = stored
        # Each index published, its file and the file's key ("": our pickle). The index is held weakly:
        # once the engine and every message have let go of a reloaded one, its memory is free.
        self._files: list[tuple[weakref.ref[Index], Path, str]] = []
        self._generation = 0
        self._checked = 0  # restarts when the current file was last seen to exist
        self._ids = itertools.count()
        self._workers: list[_Worker] = []
        self._started = False
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()  # for room, in order
        self._publishing = asyncio.Lock()
        self._switches: dict[int, asyncio.Task[None]] = {}  # by id() of the index the workers are loading
        self._ready: list[weakref.ref[Index]] = []  # indexes the workers have loaded, the newest last
        self._closed = False
        self._change = asyncio.Event()  # set, then replaced, whenever a worker answers, stops or is started

    @property
    def running(self) -> int:
        """Worker processes alive now."""
        return len(self._workers)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait until predicate() holds, checking it again each time a worker answers, stops or is
        replaced (bound it with asyncio.timeout): what waits on the pool's workers waits on this."""
        while not predicate():
            await self._change.wait()

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def start(self, index: Index) -> None:
        """Start the workers and have each load the index, so the first messages do not wait for it."""
        for _ in range(self.size):
            self._workers.append(self._spawn())  # one by one: close() stops those started if one fails
        self._started = True
        await self.switch(index)

    async def switch(self, index: Index) -> None:
        """Publish the index and have every running worker load it; until then (and if that fails)
        examine() matches messages for it in this process."""
        if not self._closed:
            await asyncio.shield(self._switching(index))

    def _switching(self, index: Index) -> asyncio.Task[None]:
        """The one task loading `index` into the workers, started if none is."""
        switching = self._switches.get(id(index))
        if switching is None:
            switching = asyncio.create_task(self._switch(index), name="legalbot-match-switch")
            self._switches[id(index)] = switching
            switching.add_done_callback(lambda _: self._switches.pop(id(index), None))
        return switching

    async def _switch(self, index: Index) -> None:
        for _ in range(2):  # a second time if the cache's file was pruned before the workers read it
            try:
                path, key = await self._publish(index)
            except (OSError, pickle.PickleError) as exc:
                logger.warning("match workers cannot read the reloaded index (%s: %s); matching it inline",
                               type(exc).__name__, exc)
                return
            loads = []
            for worker in self._workers:
                if worker.alive:
                    with contextlib.suppress(OSError):  # a worker gone: its successor loads the file on its first task
                        loads.append(self._send(worker, *self._task(path, key, "")))
            failed = [r for r in await asyncio.gather(*loads, return_exceptions=True) if isinstance(r, WorkerLost)]
            if not (failed and key):
                break  # a worker failing our own pickle fails each message over to inline matching, as any task
            self._files = [f for f in self._files if f[1] != path]  # published again, as our own pickle
        self._ready.append(weakref.ref(index))
        del self._ready[:-_KEPT_FILES]

    def _task(self, path: Path, key: str, text: str) -> tuple[int, bytes]:
        task = next(self._ids)
        return task, pickle.dumps((task, str(path), key, text), pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def _send(worker: _Worker, task: int, data: bytes) -> asyncio.Future[Examined]:
        """Send one task to `worker`; _receive answers the future (or _fail, if the worker stops)."""
        worker.tasks.send_bytes(data)
        answer: asyncio.Future[Examined] = asyncio.get_running_loop().create_future()
        worker.pending[task] = (answer, len(data))
        worker.queued += len(data)
        return answer

    async def examine(self, text: str, index: Index) -> Examined:
        """examine(text, index) in the least busy worker; inline if no worker can do it, or while
        the workers load the index (after a reload: the edit is served without waiting for them)."""
        if not self._started or self._closed:
            return examine(text, index)
        if not any(ready() is index for ready in self._ready):
            self._switching(index)
            self.switching_inline += 1
            return examine(text, index)
        try:
            path, key = await self._publish(index)
        except (OSError, pickle.PickleError) as exc:
            return self._inline(text, index, f"{type(exc).__name__}: {exc}")
        task, data = self._task(path, key, text)
        worker = await self._worker_for(len(data))
        if worker is None:
            return self._inline(text, index, "no worker running")
        try:
            answer = self._send(worker, task, data)
        except OSError as exc:  # the worker is gone; its reader callback will see EOF
            return self._inline(text, index, f"{type(exc).__name__}: {exc}")
        try:
            return await answer
        except WorkerLost as exc:
            if key:  # the cache may have pruned its file: the next message has the index published again
                self._files = [f for f in self._files if f[1] != path]
            return self._inline(text, index, str(exc))

    async def _worker_for(self, size: int) -> _Worker | None:
        """The running worker with the fewest bytes waiting that has room for `size` more.

        Messages wait for room first come, first served: a newcomer never overtakes one waiting,
        and each answer wakes one waiting message, not all of them.
        """
        if not self._waiting:
            worker = self._room(size)
            if worker is not None or self._closed or not any(w.alive for w in self._workers):
                return worker
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            while True:
                await turn
                worker = self._room(size)
                if worker is not None or self._closed or not any(w.alive for w in self._workers):
                    return worker
                turn = asyncio.get_running_loop().create_future()  # still too big: first in line again
                self._waiting.appendleft(turn)
        finally:
            if not turn.done():  # cancelled while waiting
                self._waiting.remove(turn)

    def _room(self, size: int) -> _Worker | None:
        room = [w for w in self._workers if w.alive and (
            not w.pending or (len(w.pending) < _DEPTH and w.queued + size <= _PIPE_BUDGET))]
        return min(room, key=lambda w: (w.queued, len(w.pending))) if room else None

    def _wake(self, everyone: bool = False) -> None:
        """Room was freed: let the first waiting message (or, when workers stop, all) look again."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                if not everyone:
                    return

    def _inline(self, text: str, index: Index, why: str) -> Examined:
        """Match in this process; warn at most once a minute (with the count), not once a message."""
        self.fallbacks += 1
        last, since = self._warned
        now = time.monotonic()
        if now - last >= _WARN_EVERY:
            logger.warning("match pool could not take %d message(s) (last: %s); matched inline", since + 1, why)
            self._warned = (now, 0)
        else:
            self._warned = (last, since + 1)
        return examine(text, index)

    def _spawn(self) -> _Worker:
        task_reader, task_writer = self._context.Pipe(duplex=False)
        result_reader, result_writer = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_serve, args=(task_reader, result_writer, installed_readings()),
                                        daemon=True,
                                        name="legalbot-match")
        process.start()
        task_reader.close()  # the worker's ends: closing ours lets either side see the other stop
        result_writer.close()
        worker = _Worker(process, task_writer, result_reader)
        asyncio.get_running_loop().add_reader(result_reader.fileno(), self._receive, worker)
        return worker

    def _receive(self, worker: _Worker) -> None:
        """A result is ready (or the worker is gone): hand it to the waiting message."""
        try:
            task, ok, value = pickle.loads(worker.results.recv_bytes())
        except (EOFError, OSError, pickle.PickleError) as exc:
            self._lost(worker, exc)
            return
        answer, size = worker.pending.pop(task, (None, 0))
        worker.queued -= size
        self._wake()
        self._changed()
        if answer is not None and not answer.done():  # done: its caller was cancelled
            if ok:
                answer.set_result(value)
            else:
                answer.set_exception(WorkerLost(f"examine failed in the worker: {value}"))

    def _lost(self, worker: _Worker, exc: BaseException) -> None:
        worker.alive = False
        asyncio.get_running_loop().remove_reader(worker.results.fileno())
        _fail(worker, WorkerLost(f"match worker stopped ({type(exc).__name__})"))
        self._wake(everyone=True)  # messages waiting for room go to the other workers (or inline)
        worker.tasks.close()
        worker.results.close()
        self._workers = [w for w in self._workers if w is not worker]
        self._changed()
        pid = worker.process.pid
        reaped = asyncio.get_running_loop().run_in_executor(None, worker.process.join, 10)  # no zombie
        if self._closed:
            return
        now = time.monotonic()
        self._restarted = [t for t in self._restarted if now - t < _RESTART_WINDOW]
        if len(self._restarted) >= _MAX_RESTARTS:
            logger.error("match worker %s stopped; %d restarts within the hour already, not starting another",
                         pid, len(self._restarted))
            return
        self._restarted.append(now)
        self.restarts += 1
        reaped.add_done_callback(lambda _: logger.error("match worker %s stopped (exit code %s); started another",
                                                        pid, worker.process.exitcode))
        self._workers.append(self._spawn())
        self._changed()

    async def _publish(self, index: Index) -> tuple[Path, str]:
        """The file workers read this index from, and its key: the cache's file, or a pickle file
        written (off the event loop) the first time the index is seen, and again if it went missing
        (a temporary-files cleaner, a pruned cache), since a new worker must read it."""
        for known, path, key in self._files:
            if known() is index and (self.restarts == self._checked or path.exists()):
                self._checked = self.restarts
                return path, key
        async with self._publishing:
            for n, (known, path, key) in enumerate(self._files):
                if known() is index:
                    if path.exists():
                        self._checked = self.restarts
                        return path, key
                    del self._files[n]
                    break
            found = await asyncio.to_thread(self._stored, index) if self._stored is not None else None
            if found is None:
                self._generation += 1
                found = (self._folder / f"index-{self._generation}.pickle", "")
                await asyncio.to_thread(_write, index, found[0])
            self._files.append((weakref.ref(index), *found))
            for _, old, key in self._files[:-_KEPT_FILES]:
                if not key:  # the cache's own files are the cache's to prune
                    old.unlink(missing_ok=True)
            del self._files[:-_KEPT_FILES]
            self._checked = self.restarts
            return found

    async def close(self) -> None:
        """Let the workers answer what they hold (for a few seconds), stop them and remove the index files."""
        self._closed = True
        self._wake(everyone=True)  # messages waiting for room now match inline
        for switching in list(self._switches.values()):
            switching.cancel()
        workers, self._workers = self._workers, []
        for worker in workers:
            if worker.alive:
                worker.tasks.close()  # end of tasks: the worker answers what it has, then exits
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_WAIT):
                await self.wait_until(lambda: all(answer.done() for w in workers for answer, _ in w.pending.values()))
        loop = asyncio.get_running_loop()
        for worker in workers:
            _fail(worker, WorkerLost("the match pool closed"))  # whatever is left is matched inline
            if worker.alive:
                worker.alive = False
                loop.remove_reader(worker.results.fileno())
                worker.results.close()
        await asyncio.to_thread(_join, [w.process for w in workers])
        shutil.rmtree(self._folder, ignore_errors=True)


def _fail(worker: _Worker, exc: WorkerLost) -> None:
    for answer, _ in worker.pending.values():
        if not answer.done():
            answer.set_exception(exc)
    worker.pending.clear()
    worker.queued = 0


def _join(processes: list[BaseProcess]) -> None:
    for process in processes:
        process.join(2)
        if process.is_alive():
            process.kill()
            process.join()
