"""Storage benchmark (issue 2): list / add / update / stats for one student with 200 patients
in a table of 20,000 rows (100 students), on the embedded Postgres, through the student
(RLS) path, against the same statements on the service path with an explicit owner filter.

Run: .venv/bin/python -m tests.bench.bench_storage [--iterations 300]
Prints p50 / p99 in milliseconds. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from storage.db import Database
from storage.embedded import embedded_dsn
from storage.migrations import migrate
from storage.models import PatientIn
from storage.patients import PatientRepository

STUDENTS = 100
PER_STUDENT = 200
ME = "student42@bench.example"
TODAY = date(2025, 3, 3)

# Platform-comparison figures from the issue (ms).
PLATFORM = {"list": 50, "add": 100, "update": 80, "stats": 150}


async def seed(db: Database) -> None:
    async with db.service() as conn:
        await conn.execute(
            """
            insert into public.ptl_patients
                (patient_id, user_email, patient_name, nhs_number, specialty, referral_date,
                 clock_start_date, pathway_type, events, breach_date, clock_state)
            select 'PTLB' || s || '-' || p,
                   'student' || s || '@bench.example',
                   'Patient ' || p,
                   '9990000018',
                   (array['Cardiology','Urology','ENT','Dermatology'])[1 + p % 4],
                   date '2024-06-01' + (p % 250),
                   date '2024-06-01' + (p % 250),
                   (array['rtt','cancer_62','diagnostic'])[1 + p % 3],
                   jsonb_build_array(jsonb_build_object('date', '2024-09-01', 'code', '20',
                       'description', 'Outpatient appointment', 'kind', 'activity')),
                   date '2024-06-01' + (p % 250) + 127,
                   (array['running','running','stopped'])[1 + p % 3]
              from generate_series(1, $1) s, generate_series(1, $2) p
            """,
            STUDENTS,
            PER_STUDENT,
        )
        await conn.execute("analyze public.ptl_patients")


async def timed(fn: Callable[[], Awaitable[object]], n: int) -> list[float]:
    for _ in range(min(20, n)):  # warm-up: connection, plan and statement caches
        await fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(iterations: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ptl-bench-"))
    dsn = await embedded_dsn(data_dir)
    await migrate(dsn)
    db = await Database.connect(dsn, min_size=2, max_size=4)
    await seed(db)
    repo = PatientRepository(db)
    target = (await repo.list(ME))[0]
    version = target.version

    async def rls_list() -> object:
        return await repo.list(ME)

    async def rls_add() -> object:
        return await repo.add(ME, PatientIn(patient_name="Bench Add", pathway_type="rtt",
                                            clock_start_date=TODAY))  # fmt: skip

    async def rls_update() -> object:
        nonlocal version
        p = await repo.update(ME, target.patient_id, version, {"notes": f"n{version}"})
        version = p.version
        return p

    async def rls_stats() -> object:
        return await repo.stats(ME, TODAY)

    owner = "lower(user_email) = lower($1)"

    async def rls_list_raw() -> object:
        async with db.student(ME) as conn:
            return await conn.fetch(
                "select * from public.ptl_patients where deleted_at is null order by id desc"
            )

    async def svc_list() -> object:
        async with db.service() as conn:
            return await conn.fetch(
                f"select * from public.ptl_patients where {owner} and deleted_at is null"
                " order by id desc", ME
            )  # fmt: skip

    async def svc_update() -> object:
        async with db.service() as conn:
            return await conn.fetchrow(
                f"update public.ptl_patients set notes = 'svc' where {owner}"
                " and patient_id = $2 returning *", ME, target.patient_id
            )  # fmt: skip

    async def svc_stats() -> object:
        async with db.service() as conn:
            return await conn.fetch(
                "select coalesce(specialty, 'Not recorded'), coalesce(clock_state, 'unknown'),"
                " count(*), count(*) filter (where clock_state = 'running'"
                " and breach_date <= $2) from public.ptl_patients"
                f" where {owner} and deleted_at is null group by 1, 2", ME, TODAY
            )  # fmt: skip

    print(f"ptl_patients: {STUDENTS * PER_STUDENT} rows, {PER_STUDENT} for the measured student;"
          f" {iterations} iterations each; times in ms")  # fmt: skip
    print(f"{'op':8} {'RLS p50':>8} {'RLS p99':>8} {'svc p50':>8} {'svc p99':>8}"
          f" {'RLS/svc':>8} {'x faster than platform':>24}")  # fmt: skip
    pairs = [
        ("list", rls_list, svc_list),
        ("list-raw", rls_list_raw, svc_list),
        ("add", rls_add, None),
        ("update", rls_update, svc_update),
        ("stats", rls_stats, svc_stats),
    ]
    for name, rls, svc in pairs:
        r = await timed(rls, iterations)
        s = await timed(svc, iterations) if svc else None
        r50, r99 = statistics.median(r), pct(r, 0.99)
        s50 = statistics.median(s) if s else float("nan")
        s99 = pct(s, 0.99) if s else float("nan")
        ratio = f"{r50 / s50:8.2f}" if s else "     n/a"
        print(f"{name:8} {r50:8.2f} {r99:8.2f} {s50:8.2f} {s99:8.2f} {ratio}"
              f" {PLATFORM[name.split('-')[0]] / r50:24.0f}")  # fmt: skip
    await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=300)
    asyncio.run(main(parser.parse_args().iterations))
