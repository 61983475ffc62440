"""The catalogue to compare an edit with: the last git commit's intents/ and content/, or the last good copy."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

LAST_GOOD = Path(".legalbot/last-good")  # outside git: written by `legalbot check` when everything passes


def _git(cwd: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def committed(intents_dir: Path, content_dir: Path, into: Path) -> tuple[Path, Path] | None:
    """Write HEAD's version of both folders under `into`; None outside git or when HEAD has no such folders."""
    found = _git(intents_dir.resolve(), "rev-parse", "--show-toplevel")
    if found is None:
        return None
    top = Path(found.decode().strip())
    try:
        relative = [str(d.resolve().relative_to(top)) for d in (intents_dir, content_dir)]
    except ValueError:  # a folder outside the repository
        return None
    archive = _git(top, "archive", "--format=tar", "HEAD", "--", *relative)
    if archive is None:
        return None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    out = (into / relative[0], into / relative[1])
    return out if all(d.is_dir() for d in out) else None


def last_good(root: Path) -> tuple[Path, Path] | None:
    """The copy saved by the last passing check, if there is one."""
    saved = root / LAST_GOOD
    out = (saved / "intents", saved / "content")
    return out if all(d.is_dir() for d in out) else None


def save_last_good(root: Path, intents_dir: Path, content_dir: Path) -> None:
    """Keep a copy of both folders as the baseline of the next check."""
    saved = root / LAST_GOOD
    if saved.exists():
        shutil.rmtree(saved)
    shutil.copytree(intents_dir, saved / "intents")
    shutil.copytree(content_dir, saved / "content")
