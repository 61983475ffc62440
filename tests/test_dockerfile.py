"""The Dockerfile cannot be built here, so check what it says: README's install line, non-root, healthcheck."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def install_steps(command: str) -> list[str]:
    """The `&&`-separated steps of a shell command up to and including its `pip install`."""
    steps = [" ".join(step.split()) for step in command.split("&&")]
    last = next(n for n, step in enumerate(steps) if re.search(r"\bpip3? install\b", step))
    return steps[:last + 1]


def shell_commands(line: str) -> list[str]:
    """The `pip install` commands on a README line: inside `backticks`, or the whole line of a code block."""
    pieces = re.findall(r"`([^`]+)`", line) if "`" in line else [line.strip().removeprefix("$ ")]
    return [piece.strip() for piece in pieces if re.search(r"\bpip3? install\b", piece)]


@pytest.fixture(scope="module")
def docker() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def test_install_line_matches_the_readme(docker: list[tuple[str, str]]) -> None:
    readme = ROOT / "README.md"
    assert readme.exists(), "README.md is missing: the Dockerfile must install the way it says"
    commands = [command for line in readme.read_text(encoding="utf-8").splitlines()
                for command in shell_commands(line) if "[test]" not in command]
    assert commands, "README.md has no `pip install` command without the test extra"
    runs = [args for keyword, args in docker if keyword == "RUN" and re.search(r"\bpip3? install\b", args)]
    assert len(runs) == 1, runs
    assert install_steps(runs[0]) == install_steps(commands[0])


def test_slim_base_non_root_user_and_sources(docker: list[tuple[str, str]]) -> None:
    [base] = [args for keyword, args in docker if keyword == "FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base), base
    users = [args for keyword, args in docker if keyword == "USER"]
    assert users
    assert users[-1] not in {"root", "0"}
    copied = {shlex.split(args)[0] for keyword, args in docker if keyword == "COPY"}
    assert {"intents", "content", "bot", "pyproject.toml"} <= copied | {part for c in copied for part in c.split()}
    assert any(keyword == "WORKDIR" for keyword, _ in docker)


def test_runs_serve_with_a_healthcheck_on_healthz(docker: list[tuple[str, str]]) -> None:
    [cmd] = [args for keyword, args in docker if keyword == "CMD"]
    argv = shlex.split(cmd.strip("[]").replace(",", " "))
    assert argv[:2] == ["legalbot", "serve"]
    port = argv[argv.index("--port") + 1]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"  # reachable from outside the container
    [health] = [args for keyword, args in docker if keyword == "HEALTHCHECK"]
    assert f"127.0.0.1:{port}/healthz" in health
