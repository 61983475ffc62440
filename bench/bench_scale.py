"""Scale benchmark on a ~100,000-example catalogue: start-up (cold and warm cache), latency, reload, validate, memory.

Run: .venv/bin/python bench/bench_scale.py [--examples 100000] [--port 8765] [--dir DIR] [--runs 5]
Writes the catalogue (bench/scale_catalogue.py) to a temporary folder (or DIR, kept with its cache
for the next run of the same code, written afresh when the code or the generator changed); every
figure is wall time of a real `legalbot` process, so the shared machine's noise shows in them: each start-up and reload is repeated and reported as a range, and a reload's
CPU time (serve and its match workers) is given too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_engine import percentile, perturb  # noqa: E402
from scale_catalogue import prepare  # noqa: E402

LEGALBOT = str(Path(sys.executable).with_name("legalbot"))
QUESTION = "法律援助怎么申请"


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([LEGALBOT, *args], env=env, input=stdin, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, done.stdout


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used: on a busy machine it says more than wall time."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The match workers of `pid` (not multiprocessing's resource tracker, which holds no index)."""
    try:
        found = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return [p for p in found if b"resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes()]
    except OSError:
        return []


def _chat(port: int, text: str) -> dict[str, object]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/chat", method="POST",
                                     data=json.dumps({"user": "bench", "text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def startup(where: Path, env: dict[str, str], label: str, runs: int, cold: bool = True) -> None:
    args = ["ask", "--intents", str(where / "intents"), "--content", str(where / "content"), QUESTION]
    if cold:
        shutil.rmtree(Path(env["LEGALBOT_CACHE_DIR"]), ignore_errors=True)
    first, _ = _run(args, env)
    warm = sorted(_run(args, env)[0] for _ in range(runs))
    print(f"{label}: `legalbot ask` launch to answer: {'cold' if cold else 'first'} {first:.2f} s, warm cache "
          f"{warm[0]:.2f}–{warm[-1]:.2f} s (median {statistics.median(warm):.2f} s of {runs})")


def latency(where: Path, env: dict[str, str], n: int) -> None:
    rng = random.Random(7)
    examples = [line.strip()[2:] for f in sorted((where / "intents").glob("synthetic_*.yaml"))
                for line in f.read_text(encoding="utf-8").splitlines() if line.startswith("  - ")]
    lines = "\n".join(json.dumps({"text": perturb(rng.choice(examples), rng)}, ensure_ascii=False) for _ in range(n))
    args = ["ask", "--jsonl", "--intents", str(where / "intents"), "--content", str(where / "content")]
    base, _ = _run([*args], env, stdin="")
    total, _ = _run(args, env, stdin=lines + "\n")
    print(f"per message (`legalbot ask --jsonl`, {n} messages, start-up subtracted): {(total - base) / n * 1000:.1f} ms")


def served(where: Path, env: dict[str, str], port: int, runs: int) -> None:
    args = [LEGALBOT, "serve", "--port", str(port), "--intents", str(where / "intents"), "--content", str(where / "content")]
    _run(["ask", *args[4:], QUESTION], env)  # serve starts from the cache, as after a deploy's first start
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 900  # a cold cache on a busy machine
        while time.time() < deadline:
            try:
                _chat(port, QUESTION)
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(3)  # let the match workers load the index
        times = []
        for text in ("请问一下法律援助怎么申请", "离婚财产怎么分", "我想调解邻居纠纷") * 20:
            started = time.perf_counter()
            _chat(port, text)
            times.append((time.perf_counter() - started) * 1000)
        print(f"serve /api/chat round trip: p50 {percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms")
        workers = _children(server.pid)
        print(f"memory: serve {_rss_kb(server.pid) / 1024:.0f} MB RSS; match workers "
              + ", ".join(f"{_rss_kb(w) / 1024:.0f}" for w in workers) + " MB RSS each")
        target = where / "intents" / "synthetic_010.yaml"
        original = target.read_text(encoding="utf-8")
        # Each edit adds a phrase unlike any example (and unlike each other): only the reload can answer it.
        phrases = ("月亮上的房子归谁管呢", "潜水艇停车位怎么收费", "恐龙化石可以继承吗", "火星上的果园怎么承包",
                   "彩虹的颜色可以注册吗", "企鹅能不能办暂住证", "云朵的影子算谁的地", "外星人的邻居纠纷找谁")
        for attempt, text in enumerate(phrases[:runs]):
            edited = original.replace("  examples:\n", f"  examples:\n  - {text}\n", 1)  # one at a time
            processes = [server.pid, *_children(server.pid)]
            cpu = _cpu_seconds(processes)
            saved = time.perf_counter()
            target.write_text(edited, encoding="utf-8")
            while time.perf_counter() - saved < 120:
                reply = _chat(port, text)
                if reply.get("intent") and str(reply["intent"]).endswith("_x900"):
                    break
                time.sleep(0.05)
            print(f"reload: saved edit served after {time.perf_counter() - saved:.2f} s, "
                  f"{_cpu_seconds(processes) - cpu:.2f} s CPU of serve and its workers (attempt {attempt + 1})")
            time.sleep(1)
            print(f"  a second later: serve {_rss_kb(server.pid) / 1024:.0f} MB RSS")
        target.write_text(original, encoding="utf-8")
        print(f"memory after the reloads: serve {_rss_kb(server.pid) / 1024:.0f} MB RSS; match workers "
              + ", ".join(f"{_rss_kb(w) / 1024:.0f}" for w in _children(server.pid)) + " MB RSS each")
    finally:
        server.terminate()
        server.wait(timeout=30)


def validate(where: Path, env: dict[str, str]) -> None:
    args = ["validate", "--intents", str(where / "intents"), "--content", str(where / "content")]
    seconds, out = _run(args, env)
    print(f"`legalbot validate` (warm cache): {seconds:.1f} s — {out.strip().splitlines()[-1] if out.strip() else ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--serve-only", action="store_true", help="only the running-server figures")
    parser.add_argument("--dir", type=Path, help="write the catalogue here and keep it (and its cache) for the next run")
    parser.add_argument("--runs", type=int, default=5, help="warm start-ups and reloads measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="legalbot-scale-") as temp:
        where = args.dir or Path(temp)
        env = {**os.environ, "LEGALBOT_CACHE_DIR": str(where / "cache")}
        env.pop("LEGALBOT_DB", None)
        env["LEGALBOT_RATE_LIMIT"] = "1000000"  # one bench client sends far more than a citizen
        shipped = where / "shipped"
        shutil.rmtree(shipped, ignore_errors=True)
        shutil.copytree(ROOT / "intents", shipped / "intents")
        shutil.copytree(ROOT / "content", shipped / "content")
        kept = not prepare(where, args.examples)
        if not args.serve_only:
            startup(shipped, env, "shipped catalogue", args.runs, cold=not kept)
        print(f"synthetic catalogue: {args.examples} examples in {where / 'intents'}"
              f"{' (kept from the last run of this code)' if kept else ''}")
        if not args.serve_only:
            startup(where, env, f"{args.examples} examples", args.runs, cold=not kept)
            latency(where, env, args.messages)
            validate(where, env)
        served(where, env, args.port, args.runs)


if __name__ == "__main__":
    main()
