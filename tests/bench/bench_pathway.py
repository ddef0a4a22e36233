"""Benchmark: evaluate() over 100,000 patients with 5 events each (goal: under 1 s, one core).

Run from the repository root:

    /work/venv/bin/python -m tests.bench.bench_pathway [--patients N] [--repeat R]

Prints figures only; nothing here asserts a time (machines differ).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from datetime import date, timedelta

from bot.rules.pathway import Event, evaluate, ordering_key

TODAY = date(2025, 10, 20)

# Realistic five-event pathways per type (dates drawn per patient).
SHAPES = {
    "rtt": ["activity", "activity", "decision_to_treat", "activity", "treatment_started"],
    "cancer_fds": ["activity", "activity", "test_performed", "activity", "diagnosis_communicated"],
    "cancer_62": [
        "activity",
        "diagnosis_communicated",
        "decision_to_treat",
        "activity",
        "treatment_started",
    ],
    "cancer_31": ["decision_to_treat", "activity", "activity", "activity", "treatment_started"],
    "diagnostic": ["activity", "activity", "activity", "activity", "test_performed"],
}
TYPES = ["rtt"] * 6 + ["cancer_fds", "cancer_62", "cancer_31", "diagnostic"]


def make_patients(n: int, seed: int = 1, shuffle: bool = False, noisy: bool = False):
    rng = random.Random(seed)
    kinds = sorted(
        {k for shape in SHAPES.values() for k in shape}
        | {"dna_first_appointment", "new_clock", "discharged"}
    )
    patients = []
    for _ in range(n):
        ptype = rng.choice(TYPES)
        start = TODAY - timedelta(days=rng.randrange(0, 400))
        span = (TODAY - start).days
        # Five events spread over the wait; about half the pathways are still open
        # (the last event falls after today and is ignored as not yet happened).
        offsets = sorted(rng.randrange(0, span + 60) for _ in range(5))
        shape = [rng.choice(kinds) for _ in range(5)] if noisy else SHAPES[ptype]
        events = [Event(start + timedelta(days=o), k) for o, k in zip(offsets, shape, strict=True)]
        if shuffle:
            rng.shuffle(events)
        patients.append((ptype, start, events))
    return patients


def run(patients, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        for ptype, start, events in patients:
            evaluate(ptype, start, events, TODAY)
        times.append(time.perf_counter() - t0)
        gc.enable()
    return times


def report(label: str, n: int, times: list[float]) -> None:
    best, median = min(times), statistics.median(times)
    print(
        f"{label:<44} best {best:6.3f} s  median {median:6.3f} s  "
        f"per call {best / n * 1e6:5.2f} µs (best) / {median / n * 1e6:5.2f} µs (median)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.patients

    t0 = time.perf_counter()
    in_order = make_patients(n)
    print(f"built {n:,} patients x 5 events in {time.perf_counter() - t0:.2f} s (not timed below)")

    report("events stored in date order (typical)", n, run(in_order, args.repeat))
    report(
        "events in random order (sorted per call)",
        n,
        run(make_patients(n, shuffle=True), args.repeat),
    )
    report("random kinds (many ignored events)", n, run(make_patients(n, noisy=True), args.repeat))

    states = [evaluate(p, s, e, TODAY) for p, s, e in in_order]
    t0 = time.perf_counter()
    states.sort(key=ordering_key)
    print(f"{'sorting the whole PTL by ordering_key':<44} {time.perf_counter() - t0:6.3f} s")
    by_status: dict[str, int] = {}
    for s in states:
        by_status[s.status] = by_status.get(s.status, 0) + 1
    print("status mix:", ", ".join(f"{k} {v:,}" for k, v in sorted(by_status.items())))


if __name__ == "__main__":
    main()
