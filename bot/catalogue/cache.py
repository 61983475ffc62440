"""Loaded catalogues cached on disk, keyed by the catalogue's files and the code that loads them.

`legalbot ask` on a 100,000-example catalogue spends seconds parsing YAML and preparing examples
(normalised text, sound keys, the n-gram prefilter). CatalogueLoader does that once: the checked
Catalogue, index included, is stored in a cache file named by a key made of
  - every file under intents/ and content/ (path and BLAKE2b of its bytes), and
  - the code version: the package version plus a hash of the bot/ sources that loading runs
    (LOADING_SOURCES),
so any edit of either is a different key, hence a rebuild. The file is checksummed (cachefile): a
truncated or garbled one is logged as a WARNING and rebuilt, never trusted.

A rebuild (a reload after an operator saved one file) reuses every example row prepared by the
build before (sound keys are most of the index's cost): the loader keeps them in memory and in a
"rows" file beside the catalogues, so a process that started from the cache reuses them too.

Beside them, a "sounds" file (keyed by the code version) holds pypinyin's reading of every common
character (bot.matching.phonetic.reading_table), so a process that reads its catalogue from the
cache keys messages without importing pypinyin, most of a short command's start-up; a "words" file
holds jieba's dictionary as bot.matching.domains segments with it, read only when a message needs it.

Extension point: DERIVED_STEPS run on each freshly built catalogue before it is cached; a step
returns the catalogue with something computed from it attached (a learned model, say). Whatever it
attaches must pickle, and big numpy arrays in it are memory-mapped when the cache is read. If that
code lives outside LOADING_SOURCES, add its module there so a change to it invalidates the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, MutableMapping
from pathlib import Path

import bot
from bot.catalogue import cachefile
from bot.catalogue.loader import Catalogue, load_catalogue, read_files
from bot.catalogue.model import MatcherSettings
from bot.config import Settings
from bot.matching.index import Index, keep
from bot.matching import domains, phonetic

logger = logging.getLogger(__name__)

CACHE_DIR_NAME = ".legalbot-cache"
# bot/ files and folders whose code decides what a loaded catalogue holds.
LOADING_SOURCES = ("__init__.py", "errors.py", "catalogue", "matching")
NOT_LOADING = frozenset({"catalogue/confusables.py"})  # in those folders, but run after loading
# Libraries whose data decides normalised text, sound keys and the learned model's out-of-scope
# nouns (jieba's dictionary): a new version is a new code version.
DEPENDENCIES = ("pypinyin", "opencc", "jieba")
# Steps computed from a freshly loaded catalogue and cached with it (see the module docstring).
DERIVED_STEPS: tuple[Callable[[Catalogue], Catalogue], ...] = ()
KEPT = 3  # catalogue files kept per folder, newest first: a few edits back, not every one
_STALE_TEMP_SECONDS = 3600  # a temporary file this old was left by a writer that died

Rows = dict[str, tuple[str, str, str]]


def code_version() -> str:
    """The package version and a hash of the loading code (LOADING_SOURCES) and Python's version."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{bot.__version__}|{sys.version_info[:2]}".encode())
    package = Path(bot.__file__).resolve().parent
    for name in LOADING_SOURCES:
        path = package / name
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if source.relative_to(package).as_posix() in NOT_LOADING:
                continue
            digest.update(str(source.relative_to(package)).encode() + b"\0")
            digest.update(source.read_bytes())
    for name in DEPENDENCIES:  # their __init__ holds their version; found without importing them
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin is not None:
            digest.update(name.encode() + b"\0" + Path(spec.origin).read_bytes())
    return digest.hexdigest()


def catalogue_digest(intents_dir: Path, content_dir: Path) -> str:
    """A hash of every file under intents/ and content/: relative path and content."""
    digest = hashlib.blake2b(digest_size=16)
    for label, folder in (("intents", intents_dir), ("content", content_dir)):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(f"{label}/{path.relative_to(folder).as_posix()}\0".encode())
            digest.update(hashlib.blake2b(path.read_bytes(), digest_size=16).digest())
    return digest.hexdigest()


def _location(intents_dir: Path, content_dir: Path, root: Path) -> str:
    """Where a catalogue is and where paths in its messages are shown from (they are in the cache)."""
    where = "\0".join(str(p.resolve()) for p in (intents_dir, content_dir, root))
    return hashlib.blake2b(where.encode(), digest_size=8).hexdigest()


class _Reusing(dict[str, tuple[str, str, str]]):
    """The rows a build prepares, looking up first the rows of the build before."""

    def __init__(self, previous: Rows) -> None:
        super().__init__()
        self.previous = previous
        self.reused = 0

    def get(self, example: str, default: tuple[str, str, str] | None = None) -> tuple[str, str, str] | None:  # type: ignore[override]
        found = super().get(example) or self.previous.get(example)
        if found is not None:
            self.reused += 1
        return found or default

    def update(self, rows: Iterable[tuple[str, tuple[str, str, str]]]) -> None:  # type: ignore[override]
        """Rows taken whole from the build before (build_index's reused blocks, bot.matching.blocks)."""
        before = len(self)
        super().update(rows)
        self.reused += len(self) - before


class CatalogueLoader:
    """load_catalogue() through the cache in `folder` (None: no cache, but rows are still reused
    between reloads). Callable like load_catalogue, so the engine reloads through it too."""

    def __init__(self, folder: Path | None, *, root: Path | None = None,
                 steps: Iterable[Callable[[Catalogue], Catalogue]] = DERIVED_STEPS) -> None:
        self.folder = folder
        self.root = root
        self.steps = tuple(steps)
        self.builds = 0  # catalogues built from the files (not read from the cache)
        self.hits = 0  # catalogues read from the cache
        self.reused_rows = 0  # example rows the last build took from the build before
        self._rows: tuple[MatcherSettings, Rows] | None = None
        self._pending: tuple[MatcherSettings, _Reusing] | None = None
        self._lock = threading.Lock()  # one load at a time per loader: the rows are shared
        self._warned_unwritable = False
        self._writer: threading.Thread | None = None
        self._readings = False  # the stored character readings are installed (bot.matching.phonetic)
        self._last: Catalogue | None = None  # the catalogue loaded last: a rebuild updates its learned model
        self._file: tuple[Catalogue, Path, str] | None = None  # the cache file holding the last one, and its key

    def __call__(self, intents_dir: Path, content_dir: Path) -> Catalogue:
        with self._lock:
            self.flush()  # the previous build's files first, so they are never written out of order
            root = self.root or Path.cwd()
            version = code_version() if self.folder is not None else ""
            key = self._key(intents_dir, content_dir, root, version)
            path = self.folder / f"catalogue-{key}.bin" if self.folder and key else None
            store_readings = self._install_readings(version)
            if self.folder is not None:
                words = self.folder / f"words-{version}.bin"
                domains.keep_table(lambda: self._read(words, version), lambda t: self._write(words, version, t))
            if path is not None and key is not None:
                cached = self._read(path, key)
                if isinstance(cached, Catalogue):
                    self.hits += 1
                    logger.debug("catalogue read from the cache %s", path)
                    if store_readings:
                        self._writer = threading.Thread(target=self._store_readings, args=(version,),
                                                        name="legalbot-cache-writer")
                        self._writer.start()
                    self._last = cached
                    self._file = (cached, path, key)
                    return cached
            rows_path = self._rows_path(intents_dir, content_dir, root) if self.folder is not None else None
            catalogue = self._build(intents_dir, content_dir, root, rows_path, version)
            if path is not None and key is not None and rows_path is not None:
                # Written in the background: a reload serves the new catalogue without waiting for it.
                self._writer = threading.Thread(target=self._store, name="legalbot-cache-writer",
                                                args=(path, key, catalogue, rows_path, version, self._rows,
                                                      store_readings))
                self._writer.start()
            return catalogue

    def read_ahead(self, intents_dir: Path, content_dir: Path) -> None:
        """Read now what the first rebuild would, if no build has: the rows file, every file's parse,
        its intents, each example's normalised form and the index's rows in blocks (what a rebuild
        keeps for the next). After a
        start from the cache a serving process calls this in the background, so the first saved edit
        parses only the saved file and is served as quickly as later ones (and the first look-alike
        does not wait for jieba's dictionary)."""
        with self._lock:
            if self.builds:
                return
            root = self.root or Path.cwd()
            if self.folder is not None:
                self._read_rows(self._rows_path(intents_dir, content_dir, root), code_version())
            started = time.perf_counter()
            read_files(intents_dir, content_dir, root=root)
            domains.table()  # the dictionary that a look-alike's decision and the next build read
            last = self._last
            if last is not None and self._rows is not None and self._rows[0] == last.settings:
                # The index's rows in blocks, so the first rebuild reuses every unchanged intent's whole.
                keep(last.index, tuple(last.intents.values()), last.out_of_scope, last.followups, self._rows[1])
            logger.info("catalogue files read ahead for the next reload in %.1f s", time.perf_counter() - started)

    def flush(self) -> None:
        """Wait until the last built catalogue is written to the cache."""
        writer = self._writer
        if writer is not None:
            writer.join()

    def stored(self, index: Index) -> tuple[Path, str] | None:
        """The cache file holding the catalogue of `index` and its key, once written (waits for the
        writer), so that match workers read it from there (its arrays memory-mapped) rather than
        from a second pickle; None if the cache does not hold it."""
        self.flush()
        found = self._file
        if found is None or found[0].index is not index or not found[1].is_file():
            return None
        return found[1], found[2]

    def _store(self, path: Path, key: str, catalogue: Catalogue, rows_path: Path, version: str,
               rows: tuple[MatcherSettings, Rows] | None, store_readings: bool) -> None:
        if self._write(path, key, catalogue):
            self._file = (catalogue, path, key)
        self._write(rows_path, version, rows)
        if store_readings:
            self._store_readings(version)
        else:
            self._prune()

    def _readings_path(self, version: str) -> Path:
        assert self.folder is not None
        return self.folder / f"sounds-{version}.bin"

    def _install_readings(self, version: str) -> bool:
        """Key characters by the stored readings from now on; True if they must be (re)stored."""
        if self.folder is None or self._readings:
            return False
        table = self._read(self._readings_path(version), version)
        if not isinstance(table, dict):
            return True
        phonetic.use_readings(table)
        self._readings = True
        return False

    def _store_readings(self, version: str) -> None:
        table = phonetic.reading_table()
        phonetic.use_readings(table)
        self._readings = True
        self._write(self._readings_path(version), version, table)
        self._prune()

    def _key(self, intents_dir: Path, content_dir: Path, root: Path, version: str) -> str | None:
        if self.folder is None or not intents_dir.is_dir() or not content_dir.is_dir():
            return None  # load_catalogue reports missing folders
        try:
            mixed = f"{version}|{catalogue_digest(intents_dir, content_dir)}|{_location(intents_dir, content_dir, root)}"
        except OSError as exc:  # a file removed while being hashed (an editor's save): load without cache
            logger.info("catalogue not cached this time: %s", exc)
            return None
        return hashlib.blake2b(mixed.encode(), digest_size=16).hexdigest()

    def _rows_path(self, intents_dir: Path, content_dir: Path, root: Path) -> Path:
        assert self.folder is not None
        return self.folder / f"rows-{_location(intents_dir, content_dir, root)}.bin"

    def _build(self, intents_dir: Path, content_dir: Path, root: Path, rows_path: Path | None,
               version: str) -> Catalogue:
        if rows_path is not None:
            self._read_rows(rows_path, version)
        started = time.perf_counter()
        previous = self._last.index if self._last is not None else None
        catalogue = load_catalogue(intents_dir, content_dir, root=root, prepared=self._prepared, previous=previous,
                                   previous_danger=self._last.danger if self._last is not None else None)
        for step in self.steps:
            catalogue = step(catalogue)
        self.builds += 1
        if self._pending is not None:
            settings, rows = self._pending
            self.reused_rows = rows.reused
            self._rows, self._pending = (settings, dict(rows)), None
        logger.info("catalogue built in %.1f s (%d example rows reused)",
                    time.perf_counter() - started, self.reused_rows)
        self._last = catalogue
        return catalogue

    def _read_rows(self, rows_path: Path, version: str) -> None:
        """The rows of the same code from an earlier process, unless this one has rows already."""
        if self._rows is None:
            stored = self._read(rows_path, version)
            if isinstance(stored, tuple) and len(stored) == 2 and isinstance(stored[1], dict):
                self._rows = stored

    def _prepared(self, settings: MatcherSettings) -> MutableMapping[str, tuple[str, str, str]]:
        """The rows build_index may reuse: the last build's, if it had the same matcher settings."""
        previous = self._rows[1] if self._rows is not None and self._rows[0] == settings else {}
        rows = _Reusing(previous)
        self._pending = (settings, rows)
        return rows

    def _read(self, path: Path, key: str) -> object | None:
        try:
            return cachefile.read(path, key)
        except FileNotFoundError:
            return None
        except cachefile.ForeignCache:
            logger.debug("cache file %s is from another code version; replacing it", path)
            return None
        except (OSError, cachefile.DamagedCache) as exc:
            logger.warning("cache file %s cannot be used (%s); rebuilding it", path, exc)
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass  # unreadable and undeletable: writing the rebuilt one will say why
            return None

    def _write(self, path: Path, key: str, obj: object) -> bool:
        try:
            cachefile.write(path, key, obj)
            return True
        except Exception as exc:  # a full disk, a read-only folder, something a derived step added that cannot pickle
            if not self._warned_unwritable:
                logger.warning("cannot write the catalogue cache in %s (%s); set LEGALBOT_CACHE_DIR to a "
                               "writable folder for a fast start", path.parent, exc)
                self._warned_unwritable = True
            return False

    def _prune(self) -> None:
        """Keep the KEPT newest catalogue files and remove temporary files left by dead writers."""
        assert self.folder is not None
        try:
            for pattern, kept in (("catalogue-*.bin", KEPT), ("sounds-*.bin", 1), ("words-*.bin", 1)):
                files = sorted(self.folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
                for old in files[kept:]:
                    old.unlink(missing_ok=True)
            for temp in self.folder.glob(f"{cachefile.TEMP_PREFIX}*"):
                if time.time() - temp.stat().st_mtime > _STALE_TEMP_SECONDS:
                    temp.unlink(missing_ok=True)
        except OSError:  # another process pruning at the same time
            pass


def catalogue_loader(settings: Settings) -> CatalogueLoader:
    """The loader `legalbot` commands use: cached where the settings say (LEGALBOT_CACHE_DIR)."""
    return CatalogueLoader(settings.catalogue_cache_dir())
