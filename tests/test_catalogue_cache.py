"""The on-disk catalogue cache: used when sound, rebuilt when the files or the code change or it is damaged."""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import pytest

from bot.catalogue import cache as cache_module
from bot.catalogue import cachefile, yamlfile
from bot.catalogue import loader as loader_module
from bot.catalogue.cache import CatalogueLoader, catalogue_loader
from bot.catalogue.confusables import confusable_pairs
from bot.catalogue.loader import Catalogue
from bot.checks.evaluation import load_cases
from bot.config import Settings
from bot.engine import Engine
from bot.matching import domains
from catalogue_copy import NEW_EXAMPLE, CatalogueCopy

EVAL_FILE = Path(__file__).resolve().parent / "eval" / "jiangshan.yml"


@pytest.fixture()
def copy(tmp_path: Path) -> CatalogueCopy:
    return CatalogueCopy(tmp_path / "catalogue")


def _loaded(folder: Path, copy: CatalogueCopy) -> tuple[CatalogueLoader, Catalogue]:
    loader = CatalogueLoader(folder)
    catalogue = loader(copy.intents, copy.content)
    loader.flush()
    return loader, catalogue


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("catalogue-*.bin"))


def test_second_load_reads_the_cache_without_building(tmp_path: Path, copy: CatalogueCopy,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    first, built = _loaded(tmp_path / "cache", copy)
    assert (first.builds, first.hits) == (1, 0)

    def refuse(*args: object, **kwargs: object) -> Catalogue:
        raise AssertionError("the catalogue was built although the cache holds it")

    monkeypatch.setattr(cache_module, "load_catalogue", refuse)
    second, cached = _loaded(tmp_path / "cache", copy)
    assert (second.builds, second.hits) == (0, 1)
    assert cached.intents.keys() == built.intents.keys()
    assert cached.index.keys == built.index.keys


def test_content_edit_rebuilds(tmp_path: Path, copy: CatalogueCopy) -> None:
    _loaded(tmp_path / "cache", copy)
    copy.add_example()
    loader, catalogue = _loaded(tmp_path / "cache", copy)
    assert loader.builds == 1
    assert NEW_EXAMPLE in catalogue.intents["legal_aid"].examples
    assert len(_cache_files(tmp_path / "cache")) == 2


def test_answer_edit_rebuilds(tmp_path: Path, copy: CatalogueCopy) -> None:
    _loaded(tmp_path / "cache", copy)
    messages = copy.content / "messages.yaml"
    messages.write_text(messages.read_text(encoding="utf-8") + "\n# 注释\n", encoding="utf-8")
    loader, _ = _loaded(tmp_path / "cache", copy)
    assert loader.builds == 1


def test_code_version_change_rebuilds(tmp_path: Path, copy: CatalogueCopy, monkeypatch: pytest.MonkeyPatch) -> None:
    _loaded(tmp_path / "cache", copy)
    monkeypatch.setattr(cache_module, "code_version", lambda: "a newer version of the loading code")
    loader, _ = _loaded(tmp_path / "cache", copy)
    assert loader.builds == 1


def test_code_version_covers_the_loading_sources() -> None:
    version = cache_module.code_version()
    assert version == cache_module.code_version()
    package = Path(cache_module.__file__).resolve().parent.parent
    assert (package / "matching" / "index.py").is_file()  # a LOADING_SOURCES folder, hashed file by file


@pytest.mark.parametrize("damage", ["truncate", "garble", "empty", "other"])
def test_damaged_cache_is_rebuilt_with_a_warning(tmp_path: Path, copy: CatalogueCopy, damage: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    _, built = _loaded(tmp_path / "cache", copy)
    [path] = _cache_files(tmp_path / "cache")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garble":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(b"not a cache at all\n" * 10)
    with caplog.at_level(logging.WARNING, logger="bot.catalogue.cache"):
        loader, catalogue = _loaded(tmp_path / "cache", copy)
    assert loader.builds == 1
    assert any(r.levelno == logging.WARNING and "rebuilding" in r.getMessage() for r in caplog.records)
    assert catalogue.index.keys == built.index.keys
    cachefile.read(path, path.name.removeprefix("catalogue-").removesuffix(".bin"))  # sound again


def test_cached_catalogue_answers_like_a_fresh_one(tmp_path: Path, copy: CatalogueCopy) -> None:
    _loaded(tmp_path / "cache", copy)
    loader, cached = _loaded(tmp_path / "cache", copy)
    assert loader.hits == 1
    fresh = CatalogueLoader(None)(copy.intents, copy.content)
    texts = [case.text for case in load_cases(EVAL_FILE)]
    assert len(texts) > 100
    for text in texts:
        got = Engine(cached).respond("u", text, channel="eval").to_dict()
        want = Engine(fresh).respond("u", text, channel="eval").to_dict()
        assert got == want, text
    assert confusable_pairs(cached) == confusable_pairs(fresh)
    assert cached.warnings == fresh.warnings


def _load_in_process(folder: str, intents: str, content: str) -> int:
    loader = CatalogueLoader(Path(folder))
    catalogue = loader(Path(intents), Path(content))
    loader.flush()  # pool workers end with os._exit, which would not wait for the writer thread
    return len(catalogue.index)


def test_concurrent_processes_leave_a_sound_cache(tmp_path: Path, copy: CatalogueCopy) -> None:
    folder = tmp_path / "cache"
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        sizes = pool.starmap(_load_in_process, [(str(folder), str(copy.intents), str(copy.content))] * 4)
    assert len(set(sizes)) == 1
    [path] = _cache_files(folder)
    assert not list(folder.glob(f"{cachefile.TEMP_PREFIX}*"))
    loader, catalogue = _loaded(folder, copy)
    assert (loader.hits, len(catalogue.index)) == (1, sizes[0])


def test_rebuild_after_one_file_changed_reuses_the_other_rows(tmp_path: Path, copy: CatalogueCopy) -> None:
    loader = CatalogueLoader(tmp_path / "cache")
    first = loader(copy.intents, copy.content)
    copy.add_example()
    second = loader(copy.intents, copy.content)
    assert loader.builds == 2
    assert len(second.index) == len(first.index) + 1
    assert loader.reused_rows >= len(first.index) - 5  # every row but the new one (and none of keyword rows) came from before
    # A process that started from the cache reuses the rows written beside it.
    loader.flush()
    copy.restore()
    restarted = CatalogueLoader(tmp_path / "cache")
    third = restarted(copy.intents, copy.content)
    assert restarted.hits == 1 and third.index.keys == first.index.keys
    copy.add_example("刚刚搬来江山想问问法律援助去哪里申请")
    restarted(copy.intents, copy.content)
    assert restarted.builds == 1 and restarted.reused_rows >= len(first.index) - 5


def test_a_process_started_from_the_cache_reads_ahead_for_its_first_reload(tmp_path: Path, copy: CatalogueCopy) -> None:
    """read_ahead() leaves the first rebuild only the saved file to parse, as every later one."""
    _, first = _loaded(tmp_path / "cache", copy)
    yamlfile._parsed.clear()  # what a new process has: no file parsed yet
    loader_module._intents_read.clear()
    restarted = CatalogueLoader(tmp_path / "cache")
    assert restarted(copy.intents, copy.content).index.keys == first.index.keys and restarted.hits == 1
    assert not yamlfile._parsed
    restarted.read_ahead(copy.intents, copy.content)
    parsed = {where: known[1] for where, known in yamlfile._parsed.items()}
    assert {Path(path).name for path, _ in parsed} >= {p.name for p in copy.intents.glob("*.yaml")}
    copy.add_example()
    reloaded = restarted(copy.intents, copy.content)
    assert NEW_EXAMPLE in reloaded.intents["legal_aid"].examples
    again = {where for where, known in yamlfile._parsed.items() if parsed.get(where) is not known[1]}
    assert {Path(path) for path, _ in again} == {copy.legal}  # only the saved file was parsed again
    assert restarted.reused_rows >= len(first.index) - 5  # the rows file was read ahead too
    restarted.read_ahead(copy.intents, copy.content)  # after a build: nothing left to read
    assert {Path(path) for path, _ in yamlfile._parsed} == {Path(path) for path, _ in parsed}


def test_cached_rows_equal_fresh_rows_after_an_edit(tmp_path: Path, copy: CatalogueCopy) -> None:
    loader = CatalogueLoader(tmp_path / "cache")
    loader(copy.intents, copy.content)
    copy.add_example()
    reused = loader(copy.intents, copy.content)
    fresh = CatalogueLoader(None)(copy.intents, copy.content)
    assert reused.index.keys == fresh.index.keys
    assert reused.index.texts == fresh.index.texts
    assert reused.index.exact_keys == fresh.index.exact_keys


async def test_engine_reload_goes_through_the_cache(tmp_path: Path, copy: CatalogueCopy) -> None:
    loader = CatalogueLoader(tmp_path / "cache")
    engine = Engine.from_paths(copy.intents, copy.content, loader=loader)
    copy.add_example()
    assert await engine.reload() == ()
    assert NEW_EXAMPLE in engine.catalogue.intents["legal_aid"].examples
    assert loader.builds == 2 and loader.reused_rows > 0


def test_cache_folder_setting(tmp_path: Path) -> None:
    base = {"LEGALBOT_INTENTS": str(tmp_path / "intents"), "HOME": str(tmp_path / "home")}
    assert Settings.from_env(base).catalogue_cache_dir() == tmp_path / ".legalbot-cache"
    chosen = Settings.from_env({**base, "LEGALBOT_CACHE_DIR": str(tmp_path / "elsewhere")})
    assert chosen.catalogue_cache_dir() == tmp_path / "elsewhere"
    assert Settings.from_env({**base, "LEGALBOT_CACHE_DIR": "off"}).catalogue_cache_dir() is None
    assert catalogue_loader(Settings.from_env({**base, "LEGALBOT_CACHE_DIR": "off"})).folder is None


def test_unwritable_cache_folder_still_loads(tmp_path: Path, copy: CatalogueCopy,
                                             caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("x")
    with caplog.at_level(logging.WARNING, logger="bot.catalogue.cache"):
        loader, catalogue = _loaded(blocker / "cache", copy)
    assert catalogue.intents and loader.builds == 1
    assert any("cannot write" in r.getMessage() for r in caplog.records)


def test_the_dictionary_table_is_kept_beside_the_catalogues_and_read_back(tmp_path: Path, copy: CatalogueCopy,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "cache"
    domains.table.cache_clear()
    try:
        CatalogueLoader(folder)(copy.intents, copy.content)  # a build segments with the table
        kept = list(folder.glob("words-*.bin"))
        assert len(kept) == 1
        built = domains.table()
        domains.table.cache_clear()
        kept[0].write_bytes(kept[0].read_bytes()[:-10])  # a truncated one is rebuilt, never trusted
        assert domains.table() == built
        domains.table.cache_clear()
        monkeypatch.setattr(domains, "_built", lambda: pytest.fail("the kept table was built again"))
        assert domains.table() == built  # read back from the rewritten file
    finally:
        domains.keep_table(None, None)
        domains.table.cache_clear()
