"""Writes a ~100,000-example catalogue to disk: the shipped intents/ and content/, plus cloned intents.

Run: .venv/bin/python bench/scale_catalogue.py OUT_DIR [--examples 100000]
The clones come from bench_engine's perturb(), spread over several files (as operators split theirs),
so a benchmark can edit one file and watch a reload. Every example is unique after normalisation,
so `legalbot validate` passes on the result. The folder is stamped with what made it (this
generator, the shipped catalogue, the size and the bot's code): prepare() regenerates a folder whose
stamp differs, with its cache, since figures from another version's folder mean nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import perturb  # noqa: E402

from bot.catalogue.cache import catalogue_digest  # noqa: E402
from bot.catalogue.loader import load_catalogue  # noqa: E402
from bot.matching.normalize import normalize  # noqa: E402

PER_INTENT = 28
INTENTS_PER_FILE = 100
STAMP = "generated.stamp"
WRITTEN = ("intents", "content", "cache", "cache-reload", STAMP)  # what prepare() replaces in a stale folder


def stamp(examples: int) -> str:
    """What a generated folder is made from: the generator, the shipped catalogue, the size and the bot's code
    (a cache and figures from older code are not this code's)."""
    digest = hashlib.blake2b(f"{examples}|{catalogue_digest(ROOT / 'intents', ROOT / 'content')}".encode(),
                             digest_size=16)
    for source in (Path(__file__), ROOT / "bench" / "bench_engine.py", *sorted((ROOT / "bot").rglob("*.py"))):
        digest.update(source.relative_to(ROOT).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def prepare(out: Path, examples: int = 100_000) -> bool:
    """Make `out` hold the catalogue this code generates, reusing it (and its cache) if its stamp says it
    already does; True if it was (re)written."""
    wanted = stamp(examples)
    marker = out / STAMP
    if marker.is_file() and marker.read_text(encoding="utf-8") == wanted:
        return False
    for name in WRITTEN:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    write_catalogue(out, examples)
    marker.write_text(wanted, encoding="utf-8")
    return True


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
    written = prepare(args.out, args.examples)
    print(f"{'wrote' if written else 'kept (same generator, catalogue and code)'} {args.out / 'intents'} and {args.out / 'content'}")


if __name__ == "__main__":
    main()
