"""The core imports no channel library: only bot/channels/ may import telegram or aiohttp."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHANNEL_LIBRARIES = ("telegram", "aiohttp")


@pytest.mark.parametrize(
    "module",
    ["bot.engine", "bot.matching.ranking", "bot.catalogue.loader", "bot.matching.normalize", "bot.checks.evaluation", "bot.cli", "bot.checks.pytest_plugin"],
)
def test_core_module_leaves_channel_libraries_unimported(module: str) -> None:
    code = (
        f"import json, sys; import {module}; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(CHANNEL_LIBRARIES)!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
