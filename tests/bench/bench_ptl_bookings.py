"""/ptl with bookings (issue 16): a student with 40 patients each with 5 bookings, against one
with 40 patients and no bookings (today's /ptl), measured in the same run, interleaved.

What it measures, on the embedded Postgres with the real migrations, the real Application
(handlers, persistence written through after every update, the RLS student path) and the
offline Bot API: the time from an update arriving to its replies being sent, for `/ptl` (the
first page: every patient's clock and next booking, the counts), a page turn and a patient card,
for each student, ROUNDS times in alternation so both see the same machine load. Goal: the
booked student's /ptl p50 within 1.5x of the unbooked one's.

Run: .venv/bin/python -m tests.bench.bench_ptl_bookings [--patients 40] [--bookings 5]
     [--rounds 60]
Prints figures in milliseconds; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.rules.bookings import BOOKING_TYPES, new_booking
from bot.rules.records import stored_booking_columns, stored_clock_fields
from storage.db import Database
from storage.embedded import embedded_dsn
from storage.migrations import migrate
from storage.models import PatientIn
from tests.harness import close_bot, make_bot

TODAY = dt.date(2025, 3, 3)
NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
TYPES = list(BOOKING_TYPES)


def bookings_for(i: int, n: int) -> list[dict[str, Any]]:
    """n bookings: past ones with outcomes, one passed with none, upcoming ones."""
    out = []
    for j in range(n):
        on = TODAY + dt.timedelta(days=(j - 2) * 9 + i % 7)
        entry = new_booking(TYPES[(i + j) % len(TYPES)], on, added_by="b@x", now=NOW,
                            clinic="Outpatients", notes="booked in turn")  # fmt: skip
        if j == 0:
            entry["status"] = "attended"
        out.append(entry)
    return out


async def add_ptl(db: Database, bot: Any, email: str, patients: int, bookings: int) -> None:
    repo = bot.services.patients
    for i in range(patients):
        start = TODAY - dt.timedelta(days=(i * 37) % 200)
        events: list[dict[str, Any]] = []
        appointments = bookings_for(i, bookings) if bookings else []
        await repo.add(
            email,
            PatientIn(
                patient_name=f"Patient {i:02d}",
                specialty="Urology",
                priority="Routine",
                pathway_type="rtt",
                clock_start_date=start,
                appointments=appointments,
                events=events,
                **stored_clock_fields("rtt", start, events, TODAY),
                **stored_booking_columns(appointments, "rtt", start, events),
            ),
        )


async def timed(coro: Any) -> float:
    started = time.perf_counter()
    await coro
    return (time.perf_counter() - started) * 1000


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(patients: int, bookings: int, rounds: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ptl-bench-bookings-"))
    dsn = await embedded_dsn(data_dir)
    await migrate(dsn)
    db = await Database.connect(dsn, min_size=2, max_size=10)
    bot = await make_bot(db, today=TODAY)
    plain_email, booked_email = "plain@student.example", "booked@student.example"
    await bot.services.links.link(801, 801, plain_email, "Plain")
    await bot.services.links.link(802, 802, booked_email, "Booked")
    await add_ptl(db, bot, plain_email, patients, 0)
    await add_ptl(db, bot, booked_email, patients, bookings)
    users = {"no bookings": bot.user(801), f"{bookings} bookings each": bot.user(802)}
    print(f"/ptl with bookings: {patients} patients per student, {rounds} rounds, interleaved")
    print(f"  (machine load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for user in users.values():  # warm up: caches, dateparser, prepared statements
        await user.send("/ptl")
    samples: dict[str, dict[str, list[float]]] = {k: {"ptl": [], "page": [], "card": []}
                                                  for k in users}  # fmt: skip
    for _ in range(rounds):
        for label, user in users.items():
            samples[label]["ptl"].append(await timed(user.send("/ptl")))
            samples[label]["page"].append(await timed(user.press("Next ›")))
            first = next(b for b in user.last.button_labels if b.startswith("9."))
            samples[label]["card"].append(await timed(user.press(first)))
    for label, kinds in samples.items():
        parts = [
            f"{kind} p50 {statistics.median(v):.1f} ms, p90 {p(v, 0.9):.1f} ms"
            for kind, v in kinds.items()
        ]
        print(f"  {label:>18}: " + "; ".join(parts))
    base = statistics.median(samples["no bookings"]["ptl"])
    booked = statistics.median(samples[f"{bookings} bookings each"]["ptl"])
    print(f"  /ptl p50 ratio, booked / no bookings: {booked / base:.2f}x (goal <= 1.5x)")
    print(f"  (machine load average at end: {os.getloadavg()[0]:.1f})")
    await close_bot(bot)
    await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--bookings", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=60)
    a = parser.parse_args()
    asyncio.run(main(a.patients, a.bookings, a.rounds))
