"""HTTP benchmark: POST /api/chat on loopback with concurrent clients; requests/s, p50/p99 latency, server RSS.

Run: .venv/bin/python bench/bench_http.py [--clients 64] [--seconds 10] [--rate 1500]

The server is the real app (`create_app` inside `services`, as `legalbot serve` runs it) in a child
process on 127.0.0.1, port 0, on the shipped catalogue; the clients are one aiohttp process.
Two runs, because with a fixed number of clients that each wait for their answer, latency is
clients / throughput (Little's law) and says nothing on its own:
  1. closed loop: every client sends its next message as soon as the last is answered -> capacity;
  2. open loop: the clients together send --rate messages per second on a fixed schedule, and
     latency is counted from the scheduled send time, so a stall is not hidden -> latency at load.
Messages are the catalogue's own examples with fillers, typos and now and then a long story,
spread over --users citizens so the per-user rate limit (LEGALBOT_RATE_LIMIT) stays out of the way.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue import load_catalogue
from bot.channels.http import create_app
from bot.config import Settings
from bot.engine import Engine
from bot.runtime import services

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


def _server(conn: Connection) -> None:
    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env({"LEGALBOT_INTENTS": str(ROOT / "intents"), "LEGALBOT_CONTENT": str(ROOT / "content")})
    engine = Engine.from_paths(settings.intents_dir, settings.content_dir)

    async def run() -> None:
        async with services(engine, settings):
            runner = web.AppRunner(create_app(engine, settings), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            conn.send(runner.addresses[0][1])
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
            await runner.cleanup()

    asyncio.run(run())


def rss_mb(pid: int) -> tuple[float, float]:
    """Current and peak resident set size of a process, in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


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


async def drive(url: str, texts: list[str], *, clients: int, seconds: float, users: int,
                rate: float | None) -> Result:
    """Send messages for `seconds`; closed loop when rate is None, else `rate` messages/s in total."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    start = time.perf_counter()
    deadline = start + seconds

    async def client(session: ClientSession, number: int) -> None:
        nonlocal errors
        interval = clients / rate if rate else 0.0
        due = start + number * interval / clients
        while True:
            if rate:
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
            sent = due if rate else time.perf_counter()
            if sent >= deadline:
                return
            n = next(counter)
            body = {"user": f"citizen{n % users}", "text": texts[n % len(texts)]}
            async with session.post(url, json=body) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - sent)
            due += interval

    async with ClientSession(connector=TCPConnector(limit=clients)) as session:
        await asyncio.gather(*(client(session, k) for k in range(clients)))
    return Result(latencies, errors, time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1500.0,
                        help="messages/s of the open-loop run (a second one runs at half the measured capacity)")
    parser.add_argument("--users", type=int, default=5000, help="distinct citizens the messages come from")
    parser.add_argument("--text", help="send only this message (e.g. '？', which skips matching: the HTTP layer alone)")
    args = parser.parse_args()

    texts = [args.text] if args.text else messages(2000)
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_server, args=(child,), daemon=True)
    server.start()
    try:
        port = parent.recv()
        url = f"http://127.0.0.1:{port}/api/chat"
        idle, _ = rss_mb(server.pid or 0)
        asyncio.run(drive(url, texts, clients=args.clients, seconds=2.0, users=args.users, rate=None))  # warm-up
        closed = asyncio.run(drive(url, texts, clients=args.clients, seconds=args.seconds, users=args.users,
                                   rate=None))
        capacity = len(closed.latencies) / closed.seconds
        rates = sorted({args.rate, round(capacity / 2)})
        opened = [asyncio.run(drive(url, texts, clients=args.clients, seconds=args.seconds, users=args.users,
                                    rate=rate)) for rate in rates]
        rss, peak = rss_mb(server.pid or 0)
    finally:
        parent.send("stop")
        server.join(10)
        if server.is_alive():
            server.terminate()
    what = f"the message {args.text!r}" if args.text else "the shipped catalogue's examples, varied"
    print(f"POST /api/chat, {args.clients} concurrent clients, {args.seconds:g} s per run, {what}")
    print(closed.line("closed loop (capacity):"))
    for rate, result in zip(rates, opened, strict=True):
        print(result.line(f"open loop at {rate:g} req/s:"))
    print(f"server RSS: {idle:.0f} MiB idle, {rss:.0f} MiB after the runs (peak {peak:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
