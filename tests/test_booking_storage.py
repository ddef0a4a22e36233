"""Stored booking summaries (sql/080): the trigger marks rows another writer changed, the
backfill summarises them with the rules engine, a bot write is never re-marked, and the
migration adds the columns without touching a platform row."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.rules.bookings import new_booking
from bot.rules.records import stored_booking_columns, stored_clock_fields
from storage.booking_backfill import BookingBackfill
from storage.db import Database
from storage.migrations import migrate
from storage.models import PatientIn
from storage.patients import PatientRepository
from tests import pg, platform_api

EMAIL = "sam@student.example"
NOW = dt.datetime(2025, 11, 3, 10, tzinfo=dt.UTC)
START = dt.date(2025, 9, 5)  # RTT: breach from 10 Jan 2026
TODAY = dt.date(2025, 11, 3)


def book(type_: str, on: dt.date) -> dict[str, Any]:
    return new_booking(type_, on, added_by=EMAIL, now=NOW)


async def platform_insert(db: Database, appointments: Any, patient_id: str = "PTLWEB1") -> int:
    """A row as the web platform writes it through the Data API: no stored clock or booking
    fields (tests/platform_api.py)."""
    await platform_api.insert(
        db, EMAIL, patient_id, patient_name="Web Row", clock_start_date=START,
        appointments=appointments,
    )  # fmt: skip
    async with db.service() as conn:
        row_id: int = await conn.fetchval(
            "select id from public.ptl_patients where patient_id = $1", patient_id
        )
    return row_id


async def summary(db: Database, row_id: int) -> asyncpg.Record:
    async with db.service() as conn:
        row = await conn.fetchrow(
            "select booking_open_dates, booking_late_dates, booking_open_places,"
            " booking_computed_at, version, updated_at from public.ptl_patients where id = $1",
            row_id,
        )
    assert row is not None
    return row


async def test_platform_bookings_are_summarised_by_the_backfill(db: Database) -> None:
    row_id = await platform_insert(
        db,
        [
            {"date": "2026-01-14", "type": "TCI", "status": "booked"},  # after the breach
            {"date": "2025-12-01", "type": "pre-op"},
            {"date": "2025-10-01", "type": "new", "status": "attended"},
            "phoned to confirm",
        ],
    )
    backfill = BookingBackfill(db)
    before = await summary(db, row_id)
    assert before["booking_computed_at"] is None
    assert await backfill.dirty_count() == 1
    assert await backfill.run(stored_booking_columns) == 1
    row = await summary(db, row_id)
    assert row["booking_open_dates"] == [dt.date(2025, 12, 1), dt.date(2026, 1, 14)]
    assert row["booking_late_dates"] == [dt.date(2026, 1, 14)]
    assert row["booking_open_places"] == [1, 0]  # (where each date's booking sits: sql/084)
    assert row["booking_computed_at"] is not None
    # A machine write: the platform's "last modified" and the row's version are left alone.
    assert (row["version"], row["updated_at"]) == (before["version"], before["updated_at"])
    assert await backfill.dirty_count() == 0
    assert await backfill.run(stored_booking_columns) == 0

    # The platform moves the TCI into time: marked again, and summarised again.
    async with platform_api.platform(db, EMAIL) as conn:
        await conn.execute(
            "update public.ptl_patients set appointments = jsonb_set(appointments,"
            " '{0,date}', '\"2026-01-05\"') where id = $1",
            row_id,
        )
    moved = await summary(db, row_id)
    assert moved["booking_computed_at"] is None
    assert moved["version"] == row["version"] + 1  # the platform's edit is an edit
    await backfill.run(stored_booking_columns)
    again = await summary(db, row_id)
    assert again["booking_late_dates"] == []
    assert (again["version"], again["updated_at"]) == (moved["version"], moved["updated_at"])


async def test_a_platform_write_cannot_forge_the_summaries(db: Database) -> None:
    row_id = await platform_insert(db, [{"date": "2026-01-14", "type": "TCI"}])
    await BookingBackfill(db).run(stored_booking_columns)
    honest = await summary(db, row_id)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    # A student writing the summaries through the Data API, claiming the engine's timestamp:
    # nothing moves, so the digest and the tutor's counts still see a TCI after the breach.
    async with platform_api.platform(db, EMAIL) as conn:
        await conn.execute(
            "update public.ptl_patients set booking_late_dates = '{}',"
            " booking_open_dates = '{}', booking_open_places = '{3}', booking_computed_at = $2"
            " where id = $1",
            row_id,
            later,
        )
    row = await summary(db, row_id)
    for column in ("booking_open_dates", "booking_late_dates", "booking_open_places",
                   "booking_computed_at"):  # fmt: skip
        assert row[column] == honest[column], column
    # Forged along with a real change to the bookings: the change is summarised, the forgery
    # is not kept.
    async with platform_api.platform(db, EMAIL) as conn:
        await conn.execute(
            "update public.ptl_patients set booking_late_dates = '{}', booking_computed_at = $2,"
            " booking_open_places = '{3}',"
            ' appointments = appointments || \'[{"date": "2026-02-02"}]\' where id = $1',
            row_id,
            later,
        )
    assert (await summary(db, row_id))["booking_computed_at"] is None
    await BookingBackfill(db).run(stored_booking_columns)
    row = await summary(db, row_id)
    assert row["booking_late_dates"] == [dt.date(2026, 1, 14), dt.date(2026, 2, 2)]
    assert row["booking_open_places"] == [0, 1]
    assert row["booking_computed_at"] < later


async def test_a_single_booking_object_is_summarised_like_a_list(db: Database) -> None:
    """Every screen shows one object (not in a list) as one read-only booking (sql/083), so
    the summaries the filters, counts and digest read must count it too."""
    row_id = await platform_insert(
        db, {"type": "admission_day_case", "date": "2026-01-14", "status": "booked"}
    )
    assert (await summary(db, row_id))["booking_computed_at"] is None
    assert await BookingBackfill(db).run(stored_booking_columns) == 1
    row = await summary(db, row_id)
    assert row["booking_open_dates"] == [dt.date(2026, 1, 14)]
    assert row["booking_computed_at"] is not None


@pytest.mark.parametrize("appointments", [[], "TCI 14 Jan", 7])
async def test_rows_without_a_list_of_bookings_need_no_engine(
    db: Database, appointments: Any
) -> None:
    row_id = await platform_insert(db, appointments)
    row = await summary(db, row_id)
    assert row["booking_open_dates"] == [] and row["booking_late_dates"] == []
    assert row["booking_computed_at"] is not None
    assert await BookingBackfill(db).dirty_count() == 0


async def test_a_bot_write_with_its_summaries_is_not_marked(db: Database) -> None:
    repo = PatientRepository(db)
    appointments = [book("admission_day_case", dt.date(2026, 1, 14))]
    patient = await repo.add(
        EMAIL,
        PatientIn(
            patient_name="Bot Row",
            pathway_type="rtt",
            clock_start_date=START,
            appointments=appointments,
            **stored_clock_fields("rtt", START, [], TODAY),
            **stored_booking_columns(appointments, "rtt", START, []),
        ),
    )
    assert patient.booking_late_dates == [dt.date(2026, 1, 14)]
    assert patient.booking_computed_at is not None
    moved = [{**appointments[0], "date": "2026-01-06"}]
    updated = await repo.update(
        EMAIL,
        patient.patient_id,
        patient.version,
        {"appointments": moved, **stored_booking_columns(moved, "rtt", START, [])},
    )
    assert updated.booking_late_dates == [] and updated.booking_computed_at is not None
    assert updated.booking_open_dates == [dt.date(2026, 1, 6)]
    assert await BookingBackfill(db).dirty_count() == 0
    # An events change by the bot without new summaries is caught by the trigger.
    events = [{"date": "2025-10-01", "code": "20", "kind": "activity", "description": "Seen"}]
    plain = await repo.update(EMAIL, patient.patient_id, updated.version, {"events": events})
    assert plain.booking_computed_at is None


_STAMPS = "select patient_id, version, updated_at from public.ptl_patients order by 1"


@asynccontextmanager
async def migrated_over(
    pg_admin: str, tmp_path: Path, first_new: str, insert: str, before: str = _STAMPS
) -> AsyncIterator[tuple[Database, list[asyncpg.Record]]]:
    """A scratch database (Supabase-shaped, owned by the bot's role) migrated as the bot was
    before migration `first_new`, holding the rows `insert` writes, then migrated to now: the
    database, and what the query `before` read before the migration."""
    name = f"ptl_before_{first_new}_{id(object())}"
    await pg.create_database(pg_admin, name)
    dsn = pg.dsn_for(pg_admin, name)
    try:
        await pg.migrate_before(dsn, tmp_path, first_new)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(insert)
            old = await conn.fetch(before)
        finally:
            await conn.close()
        await migrate(dsn)
        db = await Database.connect(dsn)
        try:
            yield db, old
        finally:
            await db.close()
    finally:
        await pg.drop_database(pg_admin, name)


async def rows_after(db: Database, old: list[asyncpg.Record], column: str) -> list[Any]:
    """Each row's `column` now, having checked that no row's version or "last modified" moved
    (the platform's columns are not touched: only bot-owned ones)."""
    async with db.service() as conn:
        new = await conn.fetch(
            f"select patient_id, version, updated_at, {column} from public.ptl_patients order by 1"
        )
    assert [(r["version"], r["updated_at"]) for r in new] == [
        (r["version"], r["updated_at"]) for r in old
    ]
    return [r[column] for r in new]


async def test_migration_adds_the_columns_without_touching_platform_rows(
    pg_admin: str, tmp_path: Path
) -> None:
    insert = (
        "insert into public.ptl_patients (patient_id, user_email, clock_start_date,"
        " pathway_type, appointments) values"
        " ('PTL1', 'a@x', '2025-09-05', 'rtt', '[{\"date\": \"2026-01-14\"}]'),"
        " ('PTL2', 'a@x', '2025-09-05', 'rtt', '[]')"
    )
    async with migrated_over(pg_admin, tmp_path, "080", insert) as (db, old):
        assert await rows_after(db, old, "booking_open_dates") == [[], []]
        assert await BookingBackfill(db).dirty_count() == 1  # only the row with a booking


async def test_sql_083_marks_rows_holding_one_booking_object(pg_admin: str, tmp_path: Path) -> None:
    """A database migrated before sql/083 holds a single-object row summarised as "nothing
    open": the migration marks it for the booking backfill, which then counts its booking."""
    insert = (
        "insert into public.ptl_patients (patient_id, user_email, clock_start_date,"
        " pathway_type, appointments) values"
        " ('PTL1', 'a@x', '2025-09-05', 'rtt',"
        '  \'{"date": "2026-01-14", "type": "admission_day_case", "status": "booked"}\'),'
        " ('PTL2', 'a@x', '2025-09-05', 'rtt', '[]')"
    )
    before = (
        "select patient_id, version, updated_at, booking_computed_at is not null as known"
        " from public.ptl_patients order by 1"
    )
    async with migrated_over(pg_admin, tmp_path, "083", insert, before) as (db, old):
        assert [r["known"] for r in old] == [True, True]  # (the old trigger: nothing to do)
        assert await BookingBackfill(db).dirty_count() == 1
        await BookingBackfill(db).run(stored_booking_columns)
        assert await rows_after(db, old, "booking_open_dates") == [[dt.date(2026, 1, 14)], []]


async def test_sql_084_marks_rows_summarised_without_places(pg_admin: str, tmp_path: Path) -> None:
    """A database migrated before sql/084 holds rows summarised with open dates but no places:
    the migration marks them (only them) for the booking backfill, which stores where each
    date's first booking sits."""
    insert = (
        "insert into public.ptl_patients (patient_id, user_email, clock_start_date,"
        " pathway_type, appointments, booking_open_dates, booking_computed_at) values"
        " ('PTL1', 'a@x', '2025-09-05', 'rtt',"
        '  \'[{"date": "2026-01-14", "status": "booked", "time": "14:00"},'
        '     {"date": "2026-01-14", "status": "booked", "time": "09:00"}]\','
        "  '{2026-01-14}', now()),"
        " ('PTL2', 'a@x', '2025-09-05', 'rtt', '[]', '{}', now()),"
        " ('PTL3', 'a@x', '2025-09-05', 'rtt',"
        '  \'[{"date": "2025-10-01", "status": "attended"}]\', \'{}\', now())'
    )
    async with migrated_over(pg_admin, tmp_path, "084", insert) as (db, old):
        assert await BookingBackfill(db).dirty_count() == 1
        await BookingBackfill(db).run(stored_booking_columns)
        assert await rows_after(db, old, "booking_open_places") == [[1], [], []]
