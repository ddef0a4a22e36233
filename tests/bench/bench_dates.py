"""Benchmark: parse_date() on 10,000 mixed inputs, and the cost of the first call.

Run from the repository root:

    /work/venv/bin/python -m tests.bench.bench_dates [--inputs N]

Goal: p50 under 1 ms per call after warm-up. The first-call figures are measured in
fresh child processes, because once dateparser is loaded in this one it stays loaded.
Prints figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta

TODAY = date(2025, 10, 20)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
# Forms dateparser handles (the fast path does not): about 5% of the mix.
SLOW_FORMS = [
    "2 weeks and 3 days ago",
    "Mon 13 Oct 2025",
    "yesterday at 3pm",
    "last week",
    "in 3 days",
    "three days ago",
    "Sunday 5th October",
    "5 days before yesterday",
]


def mixed_inputs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        d = TODAY - timedelta(days=rng.randrange(0, 900))
        form = rng.random()
        if form < 0.20:
            out.append(f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}")
        elif form < 0.35:
            out.append(f"{d.day}/{d.month}/{d.year}")
        elif form < 0.47:
            out.append(f"{d.day} {MONTHS[d.month - 1]}")
        elif form < 0.55:
            out.append(d.isoformat())
        elif form < 0.65:
            out.append(rng.choice(["today", "Yesterday", "today "]))
        elif form < 0.75:
            out.append(f"{rng.randrange(1, 30)} {rng.choice(['days', 'weeks', 'months'])} ago")
        elif form < 0.85:
            out.append(f"last {rng.choice(DAYS)}")
        elif form < 0.90:
            out.append(
                rng.choice(
                    ["31/02/2025", "29/02/2025", "10/13/2025", "tomorrow", "01/01/1999", "blah"]
                )
            )
        elif form < 0.95:
            out.append(f"{d.day} {MONTHS[d.month - 1]} {d.year}")
        else:
            out.append(rng.choice(SLOW_FORMS))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def time_calls(inputs: list[str], clear_cache: bool) -> list[float]:
    from bot import dates

    per_call = []
    for text in inputs:
        if clear_cache:
            dates._parse.cache_clear()
        t0 = time.perf_counter()
        dates.parse_date(text, TODAY)
        per_call.append(time.perf_counter() - t0)
    return per_call


def describe(label: str, per_call: list[float]) -> None:
    us = [t * 1e6 for t in per_call]
    print(
        f"{label:<46} p50 {percentile(us, 50):8.1f} µs  p90 {percentile(us, 90):8.1f} µs  "
        f"p99 {percentile(us, 99):8.1f} µs  mean {statistics.fmean(us):8.1f} µs  "
        f"total {sum(per_call):.3f} s"
    )


CHILD = """
import time, sys
from datetime import date
t0 = time.perf_counter()
import bot.rules.dates as d
t_import = time.perf_counter() - t0
mode = sys.argv[1]
t_warm = d.warm_up() if mode == "warm" else 0.0
today = date(2025, 10, 20)
t1 = time.perf_counter()
d.parse_date("12/10/25", today)
t_fast = time.perf_counter() - t1
t2 = time.perf_counter()
d.parse_date("2 weeks and 3 days ago", today)
t_slow = time.perf_counter() - t2
print(t_import, t_warm, t_fast, t_slow)
"""


def first_calls() -> None:
    for mode in ("cold", "warm"):
        runs = []
        for _ in range(3):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True
            ).stdout.split()
            runs.append([float(x) for x in out])
        imp, warm, fast, slow = (statistics.median(col) for col in zip(*runs, strict=True))
        if mode == "cold":
            print(
                f"fresh process, no warm_up():  import bot.dates {imp * 1e3:6.1f} ms, "
                f"first fast-path call {fast * 1e3:6.2f} ms, "
                f"first dateparser call {slow * 1e3:7.1f} ms"
            )
        else:
            print(
                f"fresh process, warm_up() first: warm_up {warm * 1e3:6.1f} ms, "
                f"then first fast-path call {fast * 1e3:6.2f} ms, "
                f"first dateparser call {slow * 1e3:7.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", type=int, default=10_000)
    args = parser.parse_args()

    first_calls()

    from bot import dates

    print(f"warm_up() in this process: {dates.warm_up() * 1e3:.1f} ms")
    inputs = mixed_inputs(args.inputs)
    print(f"{len(inputs):,} inputs, {len(set(inputs)):,} distinct")

    describe("no cache (cleared before every call)", time_calls(inputs, clear_cache=True))
    dates._parse.cache_clear()
    describe("with the lru_cache, from empty", time_calls(inputs, clear_cache=False))

    fast, slow = [], []
    for text in set(inputs):
        dates._parse.cache_clear()
        t0 = time.perf_counter()
        dates.parse_date(text, TODAY)
        (slow if text in SLOW_FORMS else fast).append(time.perf_counter() - t0)
    describe("distinct fast-path inputs (uncached)", fast)
    describe("distinct dateparser inputs (uncached)", slow)


if __name__ == "__main__":
    main()
