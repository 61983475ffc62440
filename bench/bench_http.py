"""HTTP benchmark: POST /api/chat on loopback with concurrent clients; requests/s, p50/p99 latency, server RSS.

Run: .venv/bin/python bench/bench_http.py [--clients 64] [--seconds 10] [--rate 1500] [--workers N] [--redis]

With --redis the server keeps conversation state in a redis-server the bench starts on a free port
(LEGALBOT_REDIS_URL), as each replica does in docs/deploy/compose.yaml; Redis round trips per
message are read from the server's /metrics.

The server is `legalbot serve --port 0` in a subprocess, on the shipped catalogue, with its default
match workers (one per core) unless --workers says otherwise (0: matching inline, in one process);
the clients are one asyncio process with a minimal HTTP/1.1 client (see Connection). Two kinds of run, because with a fixed number of clients that
each wait for their answer, latency is clients / throughput (Little's law) and says nothing on its own:
  1. closed loop: every client sends its next message as soon as the last is answered -> capacity;
  2. open loop: the clients together send --rate messages per second on a fixed schedule, and
     latency is counted from the scheduled send time, so a stall is not hidden -> latency at load.
Messages are the catalogue's own examples with fillers, typos and now and then a long story,
spread over --users citizens so the per-user rate limit (LEGALBOT_RATE_LIMIT) stays out of the way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue.loader import load_catalogue

FILLERS = ("", "", "请问", "你好，", "麻烦问下", "那个")
ENDINGS = ("", "", "？", "啊", "呢", "😭")
TYPOS = {"援": "缘", "证": "正", "议": "意", "调": "条", "律": "绿"}
STORY = "我家住在乡下，年纪大了不太会用手机，孩子都在外地打工，这件事拖了好久，"


def messages(n: int, seed: int = 7) -> list[str]:
    """Citizen-like messages built from the shipped examples."""
    rng = random.Random(seed)
    catalogue = load_catalogue(ROOT / "intents", ROOT / "content")
    examples = [e for intent in catalogue.intents.values() for e in intent.examples]
    out = []
    for _ in range(n):
        text = "".join(TYPOS.get(c, c) if rng.random() < 0.1 else c for c in rng.choice(examples))
        text = rng.choice(FILLERS) + text + rng.choice(ENDINGS)
        if rng.random() < 0.05:
            text = STORY * rng.randint(1, 3) + text
        out.append(text)
    return out


def start_redis() -> tuple[subprocess.Popen[str], str]:
    """redis-server on a free loopback port, without persistence; returns it and its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.PIPE, text=True)
    assert redis.stdout is not None
    for line in redis.stdout:
        if "Ready to accept connections" in line:
            threading.Thread(target=redis.stdout.read, daemon=True).start()
            return redis, f"redis://127.0.0.1:{port}/0"
    raise SystemExit("redis-server did not start")


def round_trips(url: str) -> tuple[float, float]:
    """Redis round trips and messages so far, from the server's /metrics."""
    text = urllib.request.urlopen(url.replace("/api/chat", "/metrics"), timeout=5).read().decode()
    trips = sum(float(line.split()[-1]) for line in text.splitlines()
                if line.startswith("legalbot_conversation_store_round_trips"))
    handled = sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("legalbot_messages_total"))
    return trips, handled


def start_server(workers: int | None, redis_url: str = "") -> tuple[subprocess.Popen[str], str]:
    """`legalbot serve --port 0` on the shipped catalogue; returns the process and the /api/chat URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_", "LEGALBOT_"))}
    env |= {"LEGALBOT_INTENTS": str(ROOT / "intents"), "LEGALBOT_CONTENT": str(ROOT / "content")}
    if redis_url:
        env["LEGALBOT_REDIS_URL"] = redis_url
    if workers is not None:
        env["LEGALBOT_MATCH_WORKERS"] = str(workers)
    script = Path(sys.executable).with_name("legalbot")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bot"]
    server = subprocess.Popen([*command, "serve", "--port", "0"], env=env, cwd=ROOT, text=True,
                              stderr=subprocess.PIPE)
    assert server.stderr is not None
    log = []
    for line in server.stderr:
        log.append(line)
        if found := re.search(r"serving on (http://127\.0\.0\.1:\d+)", line):
            # Keep draining stderr, or the server would block on a full pipe.
            threading.Thread(target=server.stderr.read, daemon=True).start()
            return server, f"{found[1]}/api/chat"
    raise SystemExit("legalbot serve did not start:\n" + "".join(log))


def rss_mb(pid: int) -> tuple[float, float]:
    """Resident set size of a process and its children (the match workers), in MiB: current and peak."""
    total = peak = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{p}/status").read_text().splitlines() if ":" in line)
        except FileNotFoundError:
            continue
        total += int(fields["VmRSS"].split()[0]) / 1024
        peak += int(fields["VmHWM"].split()[0]) / 1024
    return total, peak


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except FileNotFoundError:
        return ""


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


@dataclass
class Result:
    latencies: list[float]
    errors: int
    seconds: float

    def line(self, label: str) -> str:
        ordered = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

        return (f"{label:<34} {len(self.latencies) / self.seconds:8.0f} req/s   p50 {pct(50):6.2f} ms   "
                f"p99 {pct(99):6.2f} ms   max {ordered[-1] * 1000:7.2f} ms   errors {self.errors}")


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection sending a request and reading its whole response.

    The load generator shares the machine's two cores with the server, so it is kept lean: this
    takes about a quarter of the CPU per request that aiohttp's client does, leaving the rest to
    the server (the figures are the server's, not the client's). The server always sends
    Content-Length, which is all this needs.
    """

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.length: int | None = None
        self.status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.length is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            found = re.search(rb"\r\ncontent-length: *(\d+)", head)
            if found is None:
                raise RuntimeError("response without Content-Length")
            self.length = end + 4 + int(found[1])
        if len(self.buffer) >= self.length:
            del self.buffer[: self.length]
            self.length = None
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def post(self, host: str, path: str, body: bytes) -> int:
        """POST a JSON body; the response's status."""
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        return await self.waiter


async def drive(url: str, texts: list[str], *, clients: int, seconds: float, users: int,
                rate: float | None) -> Result:
    """Send messages for `seconds`; closed loop when rate is None, else `rate` messages/s in total."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    deadline = start + seconds

    async def client(number: int) -> None:
        nonlocal errors
        _, connection = await loop.create_connection(Connection, host, port)
        interval = clients / rate if rate else 0.0
        due = start + number * interval / clients
        try:
            while True:
                if rate:
                    now = time.perf_counter()
                    if due > now:
                        await asyncio.sleep(due - now)
                sent = due if rate else time.perf_counter()
                if sent >= deadline:
                    return
                n = next(counter)
                body = json.dumps({"user": f"citizen{n % users}", "text": texts[n % len(texts)]},
                                  ensure_ascii=False).encode()
                if await connection.post(f"{host}:{port}", address.path, body) != 200:
                    errors += 1
                latencies.append(time.perf_counter() - sent)
                due += interval
        finally:
            if connection.transport is not None:
                connection.transport.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    return Result(latencies, errors, time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1500.0,
                        help="messages/s of the open-loop run (a second one runs at half the measured capacity)")
    parser.add_argument("--users", type=int, default=5000, help="distinct citizens the messages come from")
    parser.add_argument("--workers", type=int, help="LEGALBOT_MATCH_WORKERS of the server (default: its own default)")
    parser.add_argument("--text", help="send only this message (e.g. '？', which skips matching: the HTTP layer alone)")
    parser.add_argument("--redis", action="store_true", help="conversation state in a redis-server started here")
    args = parser.parse_args()

    texts = [args.text] if args.text else messages(2000)
    redis, redis_url = start_redis() if args.redis else (None, "")
    server, url = start_server(args.workers, redis_url)
    try:
        time.sleep(1.0)  # let the match workers finish loading
        idle, _ = rss_mb(server.pid)
        asyncio.run(drive(url, texts, clients=args.clients, seconds=2.0, users=args.users, rate=None))  # warm-up
        closed = asyncio.run(drive(url, texts, clients=args.clients, seconds=args.seconds, users=args.users,
                                   rate=None))
        capacity = len(closed.latencies) / closed.seconds
        rates = sorted({args.rate, round(capacity / 2)})
        opened = [asyncio.run(drive(url, texts, clients=args.clients, seconds=args.seconds, users=args.users,
                                    rate=rate)) for rate in rates]
        rss, peak = rss_mb(server.pid)
        workers = sum("spawn_main" in _cmdline(c) for c in _children(server.pid))
        trips, handled = round_trips(url)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        if redis is not None:
            redis.terminate()
            redis.wait(10)
    what = f"the message {args.text!r}" if args.text else "the shipped catalogue's examples, varied"
    print(f"POST /api/chat, {args.clients} concurrent clients, {args.seconds:g} s per run, {what}, "
          f"server with {workers} match worker process(es)")
    print(closed.line("closed loop (capacity):"))
    for rate, result in zip(rates, opened, strict=True):
        print(result.line(f"open loop at {rate:g} req/s:"))
    print(f"server RSS with its workers: {idle:.0f} MiB idle, {rss:.0f} MiB after the runs (peak {peak:.0f} MiB)")
    if args.redis:
        print(f"Redis round trips per message: {trips / max(handled, 1):.2f} ({trips:.0f} for {handled:.0f} messages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
