"""Writes a ~100,000-example catalogue to disk: the shipped intents/ and content/, plus cloned intents.

Run: .venv/bin/python bench/scale_catalogue.py OUT_DIR [--examples 100000]
The clones come from bench_engine's perturb(), spread over several files (as operators split theirs),
so a benchmark can edit one file and watch a reload. Every example is unique after normalisation,
so `legalbot validate` passes on the result.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import perturb  # noqa: E402

from bot.catalogue.loader import load_catalogue  # noqa: E402
from bot.matching.normalize import normalize  # noqa: E402

PER_INTENT = 28
INTENTS_PER_FILE = 100


def write_catalogue(out: Path, examples: int = 100_000, seed: int = 20201231) -> tuple[Path, Path]:
    """Copy intents/ and content/ under `out` and add synthetic intent files; returns (intents, content)."""
    rng = random.Random(seed)
    shipped = load_catalogue(ROOT / "intents", ROOT / "content", root=ROOT)
    intents_dir, content_dir = out / "intents", out / "content"
    shutil.copytree(ROOT / "intents", intents_dir, dirs_exist_ok=True)
    shutil.copytree(ROOT / "content", content_dir, dirs_exist_ok=True)
    base = [i for i in shipped.intents.values() if i.examples]
    seen = {normalize(e) for i in shipped.intents.values() for e in i.examples}
    shipped_count = len(seen)
    written, n, batch = 0, 0, []
    while shipped_count + written < examples:
        source = base[n % len(base)]
        mine = []
        for _ in range(PER_INTENT * 3):
            text = perturb(rng.choice(source.examples), rng) + f"第{n}"
            key = normalize(text)
            if key and key not in seen:
                seen.add(key)
                mine.append(text)
            if len(mine) == PER_INTENT:
                break
        batch.append({"id": f"{source.id}_x{n}", "title": f"{source.title}（{n}）",
                      "answer": source.answer.id, "examples": mine})
        written += len(mine)
        n += 1
        if len(batch) == INTENTS_PER_FILE:
            _dump(intents_dir / f"synthetic_{n // INTENTS_PER_FILE:03d}.yaml", batch)
            batch = []
    if batch:
        _dump(intents_dir / f"synthetic_{n // INTENTS_PER_FILE + 1:03d}.yaml", batch)
    return intents_dir, content_dir


def _dump(path: Path, intents: list[dict[str, object]]) -> None:
    path.write_text(yaml.safe_dump({"intents": intents}, allow_unicode=True, sort_keys=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--examples", type=int, default=100_000)
    args = parser.parse_args()
    intents, content = write_catalogue(args.out, args.examples)
    print(f"wrote {intents} and {content}")


if __name__ == "__main__":
    main()
