"""The scale benchmark's folder: kept for the next run of the same code, written afresh when it is from other code."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import scale_catalogue  # noqa: E402

EXAMPLES = 2_600  # the shipped catalogue and a few clones: the same code path as 100,000, in seconds


def test_a_folder_from_this_code_is_kept_and_a_stale_one_written_afresh(tmp_path: Path) -> None:
    assert scale_catalogue.prepare(tmp_path, EXAMPLES)
    clones = sorted(p.name for p in (tmp_path / "intents").glob("synthetic_*.yaml"))
    assert clones
    (tmp_path / "cache").mkdir()
    kept_cache = tmp_path / "cache" / "catalogue-kept.bin"
    kept_cache.write_bytes(b"a cache of this code")
    assert not scale_catalogue.prepare(tmp_path, EXAMPLES)  # the same code: reused, cache and all
    assert kept_cache.is_file()

    # A folder written by other code (or before folders were stamped): its files and cache are replaced.
    (tmp_path / scale_catalogue.STAMP).write_text("older generator", encoding="utf-8")
    (tmp_path / "intents" / "synthetic_999.yaml").write_text("intents: []\n", encoding="utf-8")
    assert scale_catalogue.prepare(tmp_path, EXAMPLES)
    assert not kept_cache.exists() and not (tmp_path / "intents" / "synthetic_999.yaml").exists()
    assert sorted(p.name for p in (tmp_path / "intents").glob("synthetic_*.yaml")) == clones
    (tmp_path / scale_catalogue.STAMP).unlink()
    assert scale_catalogue.prepare(tmp_path, EXAMPLES)
    assert (tmp_path / scale_catalogue.STAMP).read_text(encoding="utf-8") == scale_catalogue.stamp(EXAMPLES)
    assert scale_catalogue.stamp(EXAMPLES) != scale_catalogue.stamp(EXAMPLES + 1)
