"""Redaction benchmark: milliseconds to redact a message, short and at 4,000 characters.

Run: .venv/bin/python bench/bench_redact.py
Redaction runs on every stored message; its cost should grow with the message's length, not faster
(a quadratic pattern shows as the long message costing far more than 50 short ones).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.service.redact import redact

SHORT = "我一九九八年来的江山，两个孩子，一三八一二三四五六七八是我电话，QQ 123456789 微信号 abc_12345，护照E12345678，三三两两的邻居，第一次找法律援助。"
LONG = SHORT * 50


def per_call_ms(text: str, rounds: int = 20) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        redact(text)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    short, long = per_call_ms(SHORT), per_call_ms(LONG)
    print(f"short message ({len(SHORT)} chars): {short:.3f} ms")
    print(f"long message ({len(LONG)} chars): {long:.3f} ms")
    print(f"long / (50 x short): {long / (50 * short):.2f}  (about 1 when cost grows linearly)")


if __name__ == "__main__":
    main()
