"""`legalbot serve` as a real subprocess on port 0: started, its address read, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path


def legalbot_command() -> list[str]:
    """The installed `legalbot` script beside this Python, or `python -m bot`."""
    script = Path(sys.executable).with_name("legalbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without bot settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "LEGALBOT_", "WECHAT_"))}
    return env | settings


@dataclass
class Served:
    """A running `legalbot serve`: its base URL, and its stderr (complete once it has stopped)."""

    url: str
    lines: list[str]
    pid: int = 0
    returncode: int | None = None
    rest: str = field(default="")
    stderr: asyncio.StreamReader | None = field(default=None, repr=False)

    @property
    def log(self) -> str:
        return "".join(self.lines) + self.rest

    async def logged(self, pattern: str) -> str:
        """Read the server's log up to the next line matching `pattern` (bound it with asyncio.timeout)."""
        assert self.stderr is not None
        while True:
            line = (await self.stderr.readline()).decode()
            assert line, "serve exited:\n" + self.log
            self.lines.append(line)
            if re.search(pattern, line):
                return line


@asynccontextmanager
async def serving(env: Mapping[str, str], cwd: Path, *, stop_within: float = 15) -> AsyncIterator[Served]:
    """Start `legalbot serve --port 0 -v`, yield once it listens, then SIGTERM it and wait for it to exit."""
    process = await asyncio.create_subprocess_exec(*legalbot_command(), "serve", "--port", "0", "-v", env=dict(env),
                                                   cwd=cwd, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not (found := re.search(r"serving on (http://127\.0\.0\.1:\d+)", lines[-1] if lines else "")):
                line = (await process.stderr.readline()).decode()
                assert line, "serve exited early:\n" + "".join(lines)
                lines.append(line)
        served = Served(found[1], lines, process.pid, stderr=process.stderr)
        yield served
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # a test may have killed it
                process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(stop_within):
            served.rest = (await process.stderr.read()).decode()
            served.returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
