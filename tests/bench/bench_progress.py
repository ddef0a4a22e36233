"""A student's own record (issue 17): /progress and /portfolio for a student with 200 patients
and 2,000 events, in a table of 20,200 rows (100 other students), on the embedded Postgres,
through the real Application and the offline Bot API, everything counted as the student.

Run: .venv/bin/python -m tests.bench.bench_progress [--iterations 50]

Prints p50 / p99 in milliseconds for: the record's SQL alone, /progress end to end (the
command in, the message out), a figure's patient list (a button press), and /portfolio end
to end (the Make button to the PDF sent, chart included), plus the PDF for a name in a CJK
script. Goals from the issue: /progress p50 under 50 ms, /portfolio under 1 s. Nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.messages import portfolio as text
from bot.rules.records import event_entry, stored_clock_fields
from bot.services.portfolio import PortfolioChoices, portfolio_pdf
from bot.services.progress import StudentRecordService
from storage.db import Database
from storage.embedded import embedded_dsn
from storage.migrations import migrate
from tests import harness

ME = "bench.student@bench.example"
PATIENTS = 200
EVENTS_EACH = 10
OTHERS = 100
TODAY = harness.TODAY
KINDS = ("activity", "activity", "decision_to_treat", "activity", "treatment_started")


async def seed(db: Database) -> None:
    """200 patients with 10 events each for ME (written as ME), and 100 other students with
    200 patients each (service path, bulk) so row-level security has a real table to sift."""
    async with db.service() as conn:
        await conn.execute(
            """
            insert into public.ptl_patients
                (patient_id, user_email, patient_name, clock_start_date, pathway_type, events,
                 breach_date, clock_state, added_date, last_updated)
            select 'PTLO' || s || '-' || p, 'other' || s || '@bench.example', 'Other ' || p,
                   date '2024-06-01' + (p % 250), 'rtt',
                   jsonb_build_array(jsonb_build_object('date', '2024-09-01', 'code', '20',
                       'kind', 'activity')),
                   date '2024-06-01' + (p % 250) + 127, 'running', now(), now()
              from generate_series(1, $1) s, generate_series(1, $2) p
            """,
            OTHERS,
            PATIENTS,
        )
    rows = []
    for p in range(PATIENTS):
        start = TODAY - dt.timedelta(days=30 + (p * 7) % 300)
        entries: list[dict[str, object]] = []
        for e in range(EVENTS_EACH):
            on = start + dt.timedelta(days=1 + e * 3 + p % 3)
            kind = "activity" if e < EVENTS_EACH - 1 or p % 4 else "treatment_started"
            entries.append(
                event_entry(kind, min(on, TODAY), added_by=ME, previous=entries,
                            clock_start=start, today=TODAY)
            )  # fmt: skip
        clock = stored_clock_fields("rtt", start, entries, TODAY)
        added = dt.datetime.combine(start, dt.time(9), tzinfo=dt.UTC)
        rows.append(
            (f"PTLME{p:05d}", ME, f"Patient {p}", start, "rtt", entries, added,
             added + dt.timedelta(days=20), clock["breach_date"], clock["clock_state"],
             clock["clock_stopped_on"], clock["clock_breached"], clock["clock_computed_at"])
        )  # fmt: skip
    async with db.student(ME) as conn:
        await conn.executemany(
            "insert into public.ptl_patients (patient_id, user_email, patient_name,"
            " clock_start_date, pathway_type, events, added_date, created_at, last_updated,"
            " breach_date, clock_state, clock_stopped_on, clock_breached, clock_computed_at)"
            " values ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13)",
            rows,
        )
        await conn.execute("analyze public.ptl_patients")


def line(name: str, values: list[float]) -> str:
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return f"{name:<44} p50 {statistics.median(values):8.1f} ms   p99 {p99:8.1f} ms"


async def timed(n: int, step: Callable[[], Awaitable[object]]) -> list[float]:
    await step()  # warm
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await step()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def main(iterations: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ptl-bench-"))
    dsn = await embedded_dsn(data_dir)
    await migrate(dsn)
    db = await Database.connect(dsn, min_size=2, max_size=4)
    try:
        await seed(db)
        bot = await harness.make_bot(db)
        await bot.services.links.link(901, 901, ME, "Sam")
        sam = bot.user(901)
        service = StudentRecordService(db, bot.services.settings.tz)
        record = await service.record(ME, TODAY)
        events = record.figure("events").total
        print(f"{PATIENTS} patients, {events} events for the student; "
              f"{OTHERS * PATIENTS} other rows in the table")  # fmt: skip

        print(line("record SQL (one transaction, as the student)",
                   await timed(iterations, lambda: service.record(ME, TODAY))))  # fmt: skip
        progress = await timed(iterations, lambda: sam.send("/progress"))
        print(line("/progress end to end", progress)
              + ("  goal p50 < 50 ms: " + ("met" if statistics.median(progress) < 50
                                          else "NOT met")))  # fmt: skip
        await sam.send("/progress")
        label = next(b for b in sam.last.button_labels if b.startswith("Events recorded"))

        async def press_figure() -> None:
            await sam.send("/progress")
            await sam.press(label)

        print(line("/progress + a figure's patients (2 updates)",
                   await timed(iterations, press_figure)))  # fmt: skip

        async def make_portfolio() -> None:
            await sam.send("/portfolio")
            await sam.press(text.MAKE)

        runs = max(5, iterations // 5)
        portfolio = await timed(runs, make_portfolio)
        print(
            line("/portfolio end to end (PDF sent)", portfolio)
            + ("  goal < 1 s: " + ("met" if max(portfolio) < 1000 else "NOT met"))
        )
        size = len(sam.last.file_bytes or b"")
        print(f"    PDF {size // 1024} KB")

        def pdf_for(name: str) -> bytes:
            return portfolio_pdf(record, PortfolioChoices(name, ME, False), None)

        for name in ("Siobhán Ní Bhriain", "محمد عبد الله", "王小明"):
            values = []
            pdf_for(name)
            for _ in range(runs):
                t0 = time.perf_counter()
                pdf_for(name)
                values.append((time.perf_counter() - t0) * 1000)
            print(line(f"PDF alone, name {name}", values))
        await harness.close_bot(bot)
    finally:
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=50)
    asyncio.run(main(parser.parse_args().iterations))
