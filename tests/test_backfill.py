"""The stored clock fields stay honest: rows the platform writes or changes are marked by the
trigger (sql/030) and recomputed by the backfill with the rules engine; rows time may change
(future-dated events) are re-evaluated once a day. Platform writes go through the student
path (role `authenticated` + RLS), exactly as Supabase's API would make them."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from bot.rules.records import evaluate_row
from bot.services.reminders import stored_fields as stored_clock_fields
from storage.backfill import ClockBackfill
from storage.db import Database

EMAIL = "pat@student.example"
D = dt.date


async def platform_insert(db: Database, patient_id: str, **cols: Any) -> None:
    """A row as the web platform writes it: no breach_date, clock_state or computed time."""
    values = {"patient_name": "Platform Patient", "pathway_type": "rtt", **cols}
    names = ", ".join(values)
    marks = ", ".join(f"${i}" for i in range(3, len(values) + 3))
    async with db.student(EMAIL) as conn:
        await conn.execute(
            f"insert into public.ptl_patients (patient_id, user_email, {names})"
            f" values ($1, $2, {marks})",
            patient_id,
            EMAIL,
            *values.values(),
        )


async def platform_update(db: Database, patient_id: str, **cols: Any) -> None:
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(cols, start=2))
    async with db.student(EMAIL) as conn:
        await conn.execute(
            f"update public.ptl_patients set {sets} where patient_id = $1", patient_id,
            *cols.values(),
        )  # fmt: skip


async def bot_write(db: Database, patient_id: str, today: dt.date, **cols: Any) -> None:
    """A write the bot's save paths make: inputs plus `stored_clock_fields` in one UPDATE."""
    async with db.student(EMAIL) as conn:
        row = await conn.fetchrow(
            "select pathway_type, clock_start_date, events from public.ptl_patients"
            " where patient_id = $1",
            patient_id,
        )
        merged = {**dict(row), **cols}
        fields = stored_clock_fields(
            merged["pathway_type"], merged["clock_start_date"], merged["events"], today
        )
        changes = {**cols, **fields}
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(changes, start=2))
        await conn.execute(
            f"update public.ptl_patients set {sets} where patient_id = $1", patient_id,
            *changes.values(),
        )  # fmt: skip


async def row(db: Database, patient_id: str) -> dict[str, Any]:
    async with db.service() as conn:
        found = await conn.fetchrow(
            "select * from public.ptl_patients where patient_id = $1", patient_id
        )
    assert found is not None
    return dict(found)


async def test_platform_rows_without_clock_fields_are_backfilled(db: Database) -> None:
    today = D(2025, 3, 3)
    # Platform-shaped events: a date, an RTT code and free text, no engine `kind`.
    await platform_insert(
        db,
        "PTLA",
        clock_start_date=D(2024, 10, 1),
        events=[{"date": "2024-11-02", "code": "20", "description": "OPA"}],
    )
    await platform_insert(
        db,
        "PTLB",
        clock_start_date=D(2024, 12, 2),
        events=[{"date": "2025-02-10", "code": "30", "description": "Op"}],
    )
    await platform_insert(db, "PTLC", pathway_type="2ww", clock_start_date=D(2025, 2, 20))
    backfill = ClockBackfill(db, batch_size=2)
    assert await backfill.dirty_count() == 3

    report = await backfill.run(today, stored_clock_fields)

    assert report.dirty_written == 3
    assert await backfill.dirty_count() == 0
    a, b, c = [await row(db, p) for p in ("PTLA", "PTLB", "PTLC")]
    assert (a["clock_state"], a["breach_date"]) == ("running", D(2024, 10, 1) + dt.timedelta(127))
    # The platform's own columns are never filled in the background (issue 13, point 3).
    assert (a["rtt_code"], a["clock_status"]) == (None, None)
    assert b["clock_state"] == "stopped" and b["rtt_code"] is None
    # A legacy 2ww row is a 28-day FDS clock under the current rules.
    assert c["breach_date"] == D(2025, 2, 20) + dt.timedelta(29)
    assert all(r["clock_computed_at"] is not None for r in (a, b, c))


async def test_platform_changing_inputs_marks_row_and_backfill_recomputes(db: Database) -> None:
    today = D(2025, 3, 3)
    await platform_insert(db, "PTLA", clock_start_date=D(2024, 10, 1), events=[])
    await ClockBackfill(db).run(today, stored_clock_fields)
    assert (await row(db, "PTLA"))["clock_state"] == "running"

    # The platform records a treatment and leaves the stored fields as they were.
    await platform_update(db, "PTLA", events=[{"date": "2025-02-01", "code": "30",
                                               "description": "Treated"}])  # fmt: skip
    stale = await row(db, "PTLA")
    assert stale["clock_computed_at"] is None  # marked by the trigger
    assert stale["clock_state"] == "running"  # still the old value until the backfill

    await ClockBackfill(db).run(today, stored_clock_fields)
    fixed = await row(db, "PTLA")
    assert fixed["clock_state"] == "stopped" and fixed["clock_computed_at"] is not None


async def test_trigger_tells_engine_writes_from_other_writes(db: Database) -> None:
    today = D(2025, 3, 3)
    await platform_insert(db, "PTLA", clock_start_date=D(2024, 10, 1))
    await ClockBackfill(db).run(today, stored_clock_fields)

    # The bot's own save path: inputs and freshly computed fields in one statement.
    await bot_write(db, "PTLA", today, events=[
        {"date": "2025-01-15", "code": "30", "kind": "treatment_started", "description": "x"}
    ])  # fmt: skip
    after_bot = await row(db, "PTLA")
    assert after_bot["clock_computed_at"] is not None and after_bot["clock_state"] == "stopped"

    # An unrelated platform edit (notes) leaves the computation valid.
    await platform_update(db, "PTLA", notes="rang the patient")
    assert (await row(db, "PTLA"))["clock_computed_at"] is not None

    # The platform writing a breach date of its own (no engine) is not trusted.
    await platform_update(db, "PTLA", breach_date=D(2030, 1, 1))
    assert (await row(db, "PTLA"))["clock_computed_at"] is None

    # A stale copy of the computed time (an older read written back) is not trusted either.
    await ClockBackfill(db).run(today, stored_clock_fields)
    current = await row(db, "PTLA")
    await platform_update(
        db, "PTLA", clock_start_date=D(2024, 9, 1),
        clock_computed_at=current["clock_computed_at"] - dt.timedelta(hours=1),
    )  # fmt: skip
    assert (await row(db, "PTLA"))["clock_computed_at"] is None


async def test_an_inserted_copy_of_an_old_computation_is_not_trusted(db: Database) -> None:
    today = D(2025, 3, 3)
    fresh = stored_clock_fields("rtt", D(2024, 10, 1), [], today)
    await platform_insert(db, "PTLNEW", clock_start_date=D(2024, 10, 1), **fresh)
    assert (await row(db, "PTLNEW"))["clock_computed_at"] is not None  # the bot's own insert
    copied = {**fresh, "clock_computed_at": fresh["clock_computed_at"] - dt.timedelta(days=3)}
    await platform_insert(db, "PTLCOPY", clock_start_date=D(2024, 12, 1), **copied)
    assert (await row(db, "PTLCOPY"))["clock_computed_at"] is None  # a duplicated row


async def test_rows_that_time_changes_are_reevaluated_once_a_day(db: Database) -> None:
    day1 = D(2025, 3, 3)
    # Written by the bot on day 1 with a treatment booked for 10 March (future-dated: the
    # engine ignores it until then, so the stored clock is "running").
    await platform_insert(db, "PTLA", clock_start_date=D(2024, 12, 2))
    await bot_write(db, "PTLA", day1, events=[
        {"date": "2025-03-10", "code": "30", "kind": "treatment_started", "description": "TCI"}
    ])  # fmt: skip
    # And a nullified clock with a new clock booked to start on 5 March.
    await platform_insert(db, "PTLB", clock_start_date=D(2025, 1, 6))
    await bot_write(db, "PTLB", day1, events=[
        {"date": "2025-01-20", "code": "33", "kind": "dna_first_appointment", "description": ""},
        {"date": "2025-03-05", "code": "10", "kind": "new_clock", "description": "rebooked"},
    ])  # fmt: skip
    backfill = ClockBackfill(db)
    report = await backfill.run(day1, stored_clock_fields)
    assert report.refreshed_through == day1
    assert (await row(db, "PTLA"))["clock_state"] == "running"
    assert (await row(db, "PTLB"))["clock_state"] == "nullified"

    # Same day again: nothing time-dependent is re-read.
    again = await backfill.run(day1, stored_clock_fields)
    assert again.time_checked == 0

    # 5 March: the new clock has started; 10 March: the treatment has stopped the first.
    on5 = await backfill.run(D(2025, 3, 5), stored_clock_fields)
    assert on5.time_written == 1
    b = await row(db, "PTLB")
    assert b["clock_state"] == "running" and b["breach_date"] == D(2025, 3, 5) + dt.timedelta(127)
    assert (await row(db, "PTLA"))["clock_state"] == "running"
    await backfill.run(D(2025, 3, 12), stored_clock_fields)  # a missed day or two: still caught
    assert (await row(db, "PTLA"))["clock_state"] == "stopped"
    # After the last dated input, a row is final: no longer re-read.
    late = await backfill.run(D(2025, 3, 20), stored_clock_fields)
    assert late.time_checked == 0


async def test_unreadable_rows_are_stored_unknown_and_keep_platform_values(db: Database) -> None:
    today = D(2025, 3, 3)
    await platform_insert(db, "PTLA", rtt_code="11", clock_status="Active")  # no clock start
    await platform_insert(db, "PTLB", clock_start_date=D(2025, 1, 6),
                          events={"oops": "not a list"})  # fmt: skip
    await platform_insert(db, "PTLC", clock_start_date=D(2025, 1, 6), events=[
        {"date": "2025-02-30", "code": "30"}, {"date": "soon", "code": "30"}, "junk", None,
    ])  # fmt: skip
    await ClockBackfill(db).run(today, stored_clock_fields)
    a, b, c = await row(db, "PTLA"), await row(db, "PTLB"), await row(db, "PTLC")
    assert a["clock_state"] == "unknown" and a["breach_date"] is None
    assert (a["rtt_code"], a["clock_status"]) == ("11", "Active")  # the platform's own values
    # An `events` value that is not a list reads as no events: the clock start still counts.
    assert b["clock_state"] == "running" and b["clock_computed_at"] is not None
    # Unreadable event dates are ignored by the engine: the clock is still running, and the
    # row is re-read daily because SQL cannot tell what those dates mean.
    assert c["clock_state"] == "running" and c["clock_inputs_until"] == D(9999, 12, 31)


async def test_two_backfills_at_once_share_the_work(db: Database) -> None:
    today = D(2025, 3, 3)
    for i in range(40):
        await platform_insert(db, f"PTL{i:03d}", clock_start_date=D(2024, 6, 1) + dt.timedelta(i))
    one, two = ClockBackfill(db, batch_size=7), ClockBackfill(db, batch_size=5)
    r1, r2 = await asyncio.gather(
        one.run(today, stored_clock_fields), two.run(today, stored_clock_fields)
    )
    assert await one.dirty_count() == 0
    # Every row was written by exactly one of them (SKIP LOCKED), or rewritten identically.
    assert r1.dirty_written + r2.dirty_written >= 40
    async with db.service() as conn:
        rows = await conn.fetch("select * from public.ptl_patients")
    for r in rows:
        state = evaluate_row(r["pathway_type"], r["clock_start_date"], r["events"], today)
        assert state is not None and r["breach_date"] == state.breach_date


async def test_dirty_and_candidate_queries_have_an_index(db: Database) -> None:
    """The predicates the backfill and the reminder selection use match the sql/030 indexes
    (on a tiny table the planner would scan; forbidding that shows the index applies)."""
    async with db.service() as conn:
        await conn.execute("set local enable_seqscan = off")
        dirty = await conn.fetch(
            "explain select id from public.ptl_patients"
            " where (clock_computed_at is null or clock_inputs_until is null) and id > 0"
            " order by id limit 10"
        )
        running = await conn.fetch(
            "explain select id from public.ptl_patients p where lower(p.user_email) = 'a@b.c'"
            " and p.deleted_at is null and p.clock_state = 'running'"
            " and p.breach_date <= date '2025-03-10'"
        )
    assert "ptl_patients_clock_dirty_idx" in "\n".join(r[0] for r in dirty)
    assert "ptl_patients_running_breach_idx" in "\n".join(r[0] for r in running)
