"""The stored character readings (bot.matching.phonetic.reading_table): the same tokens as pypinyin,
kept in the catalogue cache, rebuilt when damaged, and pypinyin read only for a character they lack."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.catalogue import cachefile
from bot.catalogue.cache import CatalogueLoader, code_version
from bot.engine import Engine
from bot.matching import phonetic
from catalogue_copy import CatalogueCopy

ROOT = Path(__file__).resolve().parent.parent
RARE = "\U00020001"  # CJK Extension B: outside the table's ranges, yet pypinyin reads it
QUESTIONS = ("法律缘助咋申请", "离婚财产怎么分", f"我叫{RARE}，想问公证", "falv yuanzhu", "房东不退押金😭")


def test_table_gives_every_character_the_reading_pypinyin_gives() -> None:
    from pypinyin import Style, lazy_pinyin

    table = phonetic.reading_table()
    chars = [chr(c) for start, end in phonetic.TABLE_RANGES for c in range(start, end)]
    assert len(chars) > 60000 and "援" in table and table["援"] == "yuan"
    for ch in chars:
        part = lazy_pinyin(ch, style=Style.NORMAL, errors=lambda chunk: list(chunk))[0]
        assert table.get(ch, ch) == part, hex(ord(ch))


def _keys_in_a_process(table_file: Path | None, texts: tuple[str, ...]) -> dict[str, object]:
    """Sound keys of `texts` in a fresh process, with the stored table installed or without one."""
    script = (
        "import json, pickle, sys\n"
        "from bot.matching import phonetic\n"
        f"path = {str(table_file)!r} if {table_file is not None} else None\n"
        "if path: phonetic.use_readings(pickle.loads(open(path, 'rb').read()))\n"
        "keys, imported = [], []\n"
        f"for text in {list(texts)!r}:\n"
        "    keys.append(phonetic.sound_keys(text))\n"
        "    imported.append('pypinyin' in sys.modules)\n"
        "print(json.dumps({'keys': keys, 'imported': imported}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_character_the_table_lacks_is_keyed_by_pypinyin_alike(tmp_path: Path) -> None:
    table_file = tmp_path / "table.pickle"
    table_file.write_bytes(__import__("pickle").dumps(phonetic.reading_table()))
    with_table = _keys_in_a_process(table_file, QUESTIONS)
    without = _keys_in_a_process(None, QUESTIONS)
    assert with_table["keys"] == without["keys"]
    rare_key = with_table["keys"][2][0]  # type: ignore[index]
    assert RARE not in rare_key  # read as a syllable, not kept as a character
    # pypinyin is imported for the rare character only, not for the common ones before it.
    assert with_table["imported"] == [False, False, True, True, True]
    assert without["imported"] == [True] * len(QUESTIONS)


def _sounds_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("sounds-*.bin"))


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_damaged_table_is_rebuilt_with_a_warning(tmp_path: Path, damage: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    copy = CatalogueCopy(tmp_path / "catalogue")
    folder = tmp_path / "cache"
    first = CatalogueLoader(folder)
    built = first(copy.intents, copy.content)
    first.flush()
    [path] = _sounds_files(folder)
    assert cachefile.read(path, code_version()) == phonetic.reading_table()
    data = path.read_bytes()
    middle = len(data) // 2
    path.write_bytes(data[:middle] if damage == "truncate" else data[:middle] + bytes([data[middle] ^ 0x55]) + data[middle + 1:])
    with caplog.at_level(logging.WARNING, logger="bot.catalogue.cache"):
        second = CatalogueLoader(folder)
        cached = second(copy.intents, copy.content)
        second.flush()
    assert second.hits == 1  # the catalogue itself was sound
    assert any("sounds-" in r.getMessage() and "rebuilding" in r.getMessage() for r in caplog.records)
    assert cachefile.read(path, code_version()) == phonetic.reading_table()  # sound again
    for text in QUESTIONS:
        assert Engine(cached).respond("u", text).to_dict() == Engine(built).respond("u", text).to_dict()


def _ask(cache: Path, *extra: str) -> dict[str, object]:
    """`legalbot ask --json` in a fresh process; also says whether it imported pypinyin."""
    script = ("import sys\nfrom bot.cli import main\n"
              f"code = main(['ask', '--json', *{list(extra)!r}], environ={{'LEGALBOT_CACHE_DIR': {str(cache)!r}}})\n"
              "print('pypinyin' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    *reply, imported = done.stdout.strip().splitlines()
    return {"reply": json.loads("\n".join(reply)), "pypinyin": imported == "True"}


def test_ask_from_a_warm_cache_answers_alike_without_pypinyin(tmp_path: Path) -> None:
    cold = _ask(tmp_path / "cache", "法律缘助咋申请")
    warm = _ask(tmp_path / "cache", "法律缘助咋申请")
    uncached = _ask(Path("off"), "法律缘助咋申请")
    assert cold["pypinyin"] and uncached["pypinyin"]
    assert not warm["pypinyin"]
    assert warm["reply"] == cold["reply"] == uncached["reply"]
    assert warm["reply"]["intent"] == "legal_aid"  # type: ignore[index]
