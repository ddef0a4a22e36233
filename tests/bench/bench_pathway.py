"""Benchmark: evaluate() over 100,000 patients with 5 events each (goal: under 1 s, one core).

Run from the repository root:

    .venv/bin/python -m tests.bench.bench_pathway [--patients N] [--repeat R]

Prints figures only; nothing here asserts a time (machines differ). Each line gives the wall
time and the CPU time of this process: on a shared machine the wall time includes waiting
for a core, the CPU time is what the engine itself costs.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from datetime import date, timedelta

from bot.rules.pathway import EVENT_KINDS, Event, evaluate, ordering_key

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
# Revision 2's rules in use: a first seen adjustment, a treatment adjustment, a DM01 reset,
# a decision to treat after active monitoring, and a cancer pathway that ends unreported.
R2_SHAPES = {
    "rtt": ["activity", "active_monitoring_clinician", "activity", "decision_to_treat", "activity"],
    "cancer_fds": [
        "dna_first_appointment",
        "new_clock",
        "activity",
        "activity",
        "cancer_ruled_out",
    ],
    "cancer_62": [
        "activity",
        "decision_to_treat",
        "admission_offer_declined",
        "patient_available",
        "treatment_started",
    ],
    "cancer_31": [
        "activity",
        "admission_offer_declined",
        "patient_available",
        "activity",
        "decision_not_to_treat",
    ],
    "diagnostic": [
        "activity",
        "dna_first_appointment",
        "activity",
        "patient_cancelled",
        "test_performed",
    ],
}
TYPES = ["rtt"] * 6 + ["cancer_fds", "cancer_62", "cancer_31", "diagnostic"]


def make_patients(
    n: int, seed: int = 1, shuffle: bool = False, noisy: bool = False, r2: bool = False
):
    rng = random.Random(seed)
    kinds = sorted(EVENT_KINDS)
    patients = []
    for _ in range(n):
        ptype = rng.choice(TYPES)
        start = TODAY - timedelta(days=rng.randrange(0, 400))
        span = (TODAY - start).days
        # Five events spread over the wait; about half the pathways are still open
        # (the last event falls after today and is ignored as not yet happened).
        offsets = sorted(rng.randrange(0, span + 60) for _ in range(5))
        shapes = R2_SHAPES if r2 else SHAPES
        shape = [rng.choice(kinds) for _ in range(5)] if noisy else shapes[ptype]
        events = [Event(start + timedelta(days=o), k) for o, k in zip(offsets, shape, strict=True)]
        if shuffle:
            rng.shuffle(events)
        patients.append((ptype, start, events))
    return patients


def run(patients, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each pass over the whole PTL."""
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        t0, c0 = time.perf_counter(), time.process_time()
        for ptype, start, events in patients:
            evaluate(ptype, start, events, TODAY, priority="Routine")
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - t0)
        gc.enable()
    return walls, cpus


def report(label: str, n: int, times: tuple[list[float], list[float]]) -> None:
    walls, cpus = times
    best, median, cpu = min(walls), statistics.median(walls), min(cpus)
    print(
        f"{label:<44} best {best:6.3f} s  median {median:6.3f} s  CPU {cpu:6.3f} s  "
        f"per call {best / n * 1e6:5.2f} µs (best) / {cpu / n * 1e6:5.2f} µs (CPU)"
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
    report("revision 2 rules (adjustments, resets)", n, run(make_patients(n, r2=True), args.repeat))

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
