"""Reload benchmark: the rebuild `legalbot serve` does after an operator saves one file, in a process
that started from the warm cache, timed by wall and CPU (the machine is shared: CPU time tells
more when it is busy).

Run: .venv/bin/python bench/bench_reload.py DIR [--saves 3]
DIR holds a catalogue (bench/scale_catalogue.py DIR writes the 100,000-example one, and writes it
afresh when it is from other code); its cache goes in DIR/cache-reload and is built first if missing. The match workers' share of a reload (each
reading the new cache file) is not included: bench_scale.py times the whole of it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue.cache import CatalogueLoader  # noqa: E402

EDITED = "synthetic_010.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--saves", type=int, default=3)
    args = parser.parse_args()
    intents, content, cache = args.dir / "intents", args.dir / "content", args.dir / "cache-reload"
    if not any(cache.glob("catalogue-*.bin")):
        builder = CatalogueLoader(cache)
        builder(intents, content)
        builder.flush()
    loader = CatalogueLoader(cache)  # as a serving process starts
    started = time.perf_counter()
    loader(intents, content)
    print(f"start from the cache: {time.perf_counter() - started:.1f} s (cache hits {loader.hits})")
    target = intents / EDITED
    original = target.read_text(encoding="utf-8")
    try:
        for n in range(args.saves):
            phrase = f"月亮上的房子归谁管呢{n}"
            target.write_text(original.replace("  examples:\n", f"  examples:\n  - {phrase}\n", 1), encoding="utf-8")
            wall, cpu = time.perf_counter(), time.process_time()
            catalogue = loader(intents, content)
            print(f"save {n + 1}: rebuilt in {time.perf_counter() - wall:.1f} s wall, "
                  f"{time.process_time() - cpu:.1f} s CPU ({loader.reused_rows} example rows reused)")
            assert any(phrase in e for i in catalogue.intents.values() for e in i.examples)
            loader.flush()
    finally:
        target.write_text(original, encoding="utf-8")


if __name__ == "__main__":
    main()
