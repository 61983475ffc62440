"""A match worker process: loads the index named in each task and answers examine() for it."""

from __future__ import annotations

import pickle
import signal
from collections.abc import Mapping
from multiprocessing.connection import Connection
from pathlib import Path

from bot.catalogue import cachefile
from bot.matching.index import Index
from bot.matching.phonetic import sound_keys, use_readings
from bot.matching.ranking import Examined, examine


def write(index: Index, path: Path) -> None:
    """Pickle the index for the workers (when the catalogue cache does not hold it), atomically."""
    path.parent.mkdir(mode=0o700, exist_ok=True)  # in case a temporary-files cleaner removed it
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        pickle.dump(index, out, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)


def read(path: Path, key: str) -> Index:
    """The index in a cache file written under `key` (checked, arrays memory-mapped), or in our pickle."""
    if key:
        index = cachefile.read(path, key).index
    else:
        with path.open("rb") as source:
            index = pickle.load(source)
    if not isinstance(index, Index):
        raise TypeError(f"{path} holds no index")
    return index


def serve(tasks: Connection, results: Connection, readings: Mapping[str, str] | None) -> None:
    """A worker: answer tasks until the serving process closes the task pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the server decides
    if readings is not None:
        use_readings(readings)  # the serving process's character readings: no pypinyin import here
    else:
        sound_keys("中")  # reads pypinyin now, not on the first message
    loaded: tuple[str, Index] | None = None
    answer: tuple[int, bool, Examined | str]
    while True:
        try:
            task, path, key, text = pickle.loads(tasks.recv_bytes())
        except EOFError:
            return
        try:
            if loaded is None or loaded[0] != path:
                loaded = None  # the index before is released before the next one is read
                loaded = (path, read(Path(path), key))
            answer = (task, True, examine(text, loaded[1]))
        except Exception as exc:  # reported to the message's caller, which matches inline instead
            answer = (task, False, f"{type(exc).__name__}: {exc}")
        results.send_bytes(pickle.dumps(answer, pickle.HIGHEST_PROTOCOL))
