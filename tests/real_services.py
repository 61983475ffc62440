"""A real redis-server and a real PostgreSQL, each started by the test on a free loopback port in a temp dir.

They skip when the binaries are missing, unless LEGALBOT_REQUIRE_SERVICES is set (as CI sets it).
PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (runuser).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

START_SECONDS = 30


def require(*names: str) -> list[str]:
    """The paths of the named programs; skip (or fail, with LEGALBOT_REQUIRE_SERVICES) when one is missing."""
    found = [_which(n) for n in names]
    missing = [n for n, path in zip(names, found) if path is None]
    if missing:
        if os.environ.get("LEGALBOT_REQUIRE_SERVICES"):
            pytest.fail(f"LEGALBOT_REQUIRE_SERVICES is set but {', '.join(missing)} is not installed")
        pytest.skip(f"{', '.join(missing)} not installed; set LEGALBOT_REQUIRE_SERVICES=1 to make this a failure")
    return [p for p in found if p is not None]


def _which(name: str) -> str | None:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:  # Debian keeps the PostgreSQL server programs out of PATH
        versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
        found = versions[-1] if versions else None
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_line(process: subprocess.Popen[str], marker: str, what: str) -> threading.Thread:
    """Read the process's output until `marker`; fail with the output if it exits or takes too long."""
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        with process.stdout:  # read to the end, so the server never blocks on a full pipe
            for line in process.stdout:
                seen.append(line)
                if marker in line:
                    found.set()
        found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not found.wait(START_SECONDS) or not any(marker in line for line in seen):
        process.kill()
        process.wait()
        reader.join()
        pytest.fail(f"{what} did not start:\n{''.join(seen)}")
    return reader


class RedisServer:
    """redis-server on a free port, without persistence; stop() and start() again keep the port."""

    def __init__(self, workdir: Path) -> None:
        self.binary = require("redis-server")[0]
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--loglevel", "notice"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = _wait_for_line(self.process, "Ready to accept connections", "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
            self._reader.join(10)
        self.process = None


class PostgresServer:
    """A throwaway PostgreSQL cluster (trust auth, user `bot` with a password) on a free loopback port."""

    password = "pg-Secret-42"

    def __init__(self) -> None:
        self.initdb, self.postgres = require("initdb", "postgres")
        self.port = free_port()
        # Its own folder under /tmp: the `postgres` user cannot enter pytest's (root's, mode 700).
        self.workdir = workdir = Path(tempfile.mkdtemp(prefix="legalbot-pg-"))
        self.data = workdir / "data"
        self.process: subprocess.Popen[str] | None = None
        self._as: list[str] = []
        (workdir / "pw").write_text(self.password)
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            pw = pwd.getpwnam("postgres")
            for path in (workdir, workdir / "pw"):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        subprocess.run([*self._as, self.initdb, "-D", str(self.data), "-U", "bot", "--auth=scram-sha-256",
                        f"--pwfile={workdir / 'pw'}", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql://bot:{self.password}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [*self._as, self.postgres, "-D", str(self.data), "-p", str(self.port), "-k", str(self.workdir),
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "logging_collector=off"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = _wait_for_line(self.process, "ready to accept connections", "postgres")

    def stop(self) -> None:
        """Fast shutdown: connected clients are cut off, as when the database restarts."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self._postmaster_pid(), signal.SIGINT)
            self.process.wait(30)
            self._reader.join(10)
        self.process = None

    def remove(self) -> None:
        """Stop the server and delete its cluster."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])
