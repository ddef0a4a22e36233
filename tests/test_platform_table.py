"""Living beside the web platform (issue 13, points 1-5, 12, 13), on a Supabase-shaped database.

Platform writes go through `tests.platform_api` (what Supabase's Data API does with a
student's JWT); bot writes through the bot's own repositories. Each test states the promise
it pins from the README's "the platform's table".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.rules.records import event_entry, stored_clock_fields
from bot.runtime.doctor import examine, render
from bot.runtime.offline import OfflineBotAPI
from bot.services.reminders import stored_fields
from storage.backfill import ClockBackfill
from storage.db import Database
from storage.migrations import SQL_DIR, MigrationError, migrate, pending_migrations
from storage.models import PatientIn
from storage.patients import PatientRepository
from storage.tutoring import TutorRepository
from tests import harness, pg, platform_api
from tests.ptl_support import EMAIL, add_patient, link

TODAY = harness.TODAY
OTHER = "oli@student.example"


async def _row(db: Database, patient_id: str) -> dict[str, object]:
    async with db.service() as conn:
        row = await conn.fetchrow(
            "select * from public.ptl_patients where patient_id = $1", patient_id
        )
    assert row is not None
    return dict(row)


# -- 1. the bin ------------------------------------------------------------------------------


async def test_a_binned_patient_disappears_from_the_platform(
    bot: harness.Bot, db: Database
) -> None:
    await link(bot)
    kept = await add_patient(bot, "Kept Kay", TODAY - dt.timedelta(days=9))
    gone = await add_patient(bot, "Binned Ben", TODAY - dt.timedelta(days=9))
    await bot.services.patients.soft_delete(EMAIL, gone.patient_id, gone.version)
    shown = await platform_api.select(db, EMAIL, "patient_id")
    assert shown == [{"patient_id": kept.patient_id}]
    # Nor can the platform edit, delete, or un-bin it through the API.
    assert await platform_api.update(db, EMAIL, gone.patient_id, patient_name="Edited") == 0
    assert await platform_api.update(db, EMAIL, gone.patient_id, deleted_at=None) == 0
    async with platform_api.platform(db, EMAIL) as conn:
        assert await conn.execute(
            "delete from public.ptl_patients where patient_id = $1", gone.patient_id
        ) == "DELETE 0"  # fmt: skip
    # A platform insert cannot arrive binned, nor bin a live row.
    await platform_api.insert(db, EMAIL, "PTL-WEB", deleted_at=dt.datetime.now(dt.UTC))
    assert await platform_api.update(
        db, EMAIL, kept.patient_id, deleted_at=dt.datetime.now(dt.UTC)
    ) == 1  # fmt: skip
    assert {r["patient_id"] for r in await platform_api.select(db, EMAIL, "patient_id")} == {
        kept.patient_id,
        "PTL-WEB",
    }
    # The bot still sees its bin, and the student's live rows.
    assert [p.patient_id for p in await bot.services.patients.list(EMAIL, deleted=True)] == [
        gone.patient_id
    ]
    assert (await _row(db, gone.patient_id))["patient_name"] == "Binned Ben"


async def test_the_purge_never_removes_a_row_changed_after_it_was_binned(
    bot: harness.Bot, db: Database
) -> None:
    await link(bot)
    patients = bot.services.patients
    quiet = await add_patient(bot, "Quiet Quinn", TODAY - dt.timedelta(days=9))
    edited = await add_patient(bot, "Edited Eve", TODAY - dt.timedelta(days=9))
    for p in (quiet, edited):
        await patients.soft_delete(EMAIL, p.patient_id, p.version, at=bot.clock.now())
    # The platform's server (service_role: it bypasses row-level security) edits one.
    async with db.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "select set_config('role', 'service_role', true),"
            " set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)"
        )
        await conn.execute(
            "update public.ptl_patients set notes = 'typed on the web' where patient_id = $1",
            edited.patient_id,
        )
    # A backfill pass (a machine write) does not count as a change.
    await ClockBackfill(db).run(TODAY, stored_fields)
    later = bot.clock.now() + dt.timedelta(days=31)
    assert await patients.purge_bin(EMAIL, later) == 1
    assert await patients.purge_all_bins(later) == 0
    left = [p.patient_id for p in await patients.list(EMAIL, deleted=True)]
    assert left == [edited.patient_id]
    assert (await _row(db, edited.patient_id))["notes"] == "typed on the web"


@pytest.fixture
async def empty(pg_admin: str) -> AsyncIterator[tuple[str, str]]:
    """A new Supabase-shaped database nothing has migrated: (bot DSN, superuser DSN)."""
    name = f"ptl_platform_{id(object())}"
    await pg.create_database(pg_admin, name)
    yield pg.dsn_for(pg_admin, name), pg.superuser_dsn_for(pg_admin, name)
    await pg.drop_database(pg_admin, name)


async def test_rows_binned_and_edited_before_the_upgrade_are_never_purged(
    empty: tuple[str, str], tmp_path: Path
) -> None:
    dsn, _ = empty
    await pg.migrate_before(dsn, tmp_path, "050")
    db = await Database.connect(dsn)
    try:
        async with db.service() as conn:
            await conn.execute(
                "insert into public.ptl_patients (patient_id, user_email, patient_name)"
                " values ('PTL-Q', $1, 'Quiet'), ('PTL-E', $1, 'Edited')",
                EMAIL,
            )
            # The old bin: both binned from the bot; one then (still visible on the web)
            # edited there, which the old trigger stamped in updated_at.
            await conn.execute(
                "update public.ptl_patients set deleted_at = now() where patient_id = 'PTL-Q'"
            )
            await conn.execute(
                "update public.ptl_patients set deleted_at = now() - interval '1 day'"
                " where patient_id = 'PTL-E'"
            )
            await conn.execute(
                "update public.ptl_patients set notes = 'typed on the web'"
                " where patient_id = 'PTL-E'"
            )
        await migrate(dsn)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
        purged = await PatientRepository(db).purge_all_bins(later)
        assert purged == 1
        async with db.service() as conn:
            assert await conn.fetchval("select array_agg(patient_id) from public.ptl_patients") == [
                "PTL-E"
            ]
    finally:
        await db.close()


# -- 2 and 5. columns the bot adds, and the types it needs -------------------------------------


PLATFORM_TABLE = """
create table public.ptl_patients (
    id serial primary key,
    patient_id text unique not null,
    user_email text not null,
    patient_name text,
    clock_start_date date,
    events {events} default '[]',
    {extra}
);
insert into public.ptl_patients (patient_id, user_email, patient_name)
values ('PTL-OLD', 'amy@student.example', 'Amy Platform');
"""


async def _platform_table(dsn: str, *, events: str = "jsonb", extra: str = "notes text") -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(PLATFORM_TABLE.format(events=events, extra=extra))
    finally:
        await conn.close()


async def _refusal(dsn: str) -> str:
    with pytest.raises(MigrationError) as refused:
        await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        # Nothing was applied: the ledger is empty, the table as the platform left it.
        assert await conn.fetchval("select count(*) from ptl_bot.schema_migrations") == 0
        assert await conn.fetchval(
            "select count(*) from pg_attribute where attrelid = 'public.ptl_patients'::regclass"
            " and attname = 'clock_computed_at'"
        ) == 0  # fmt: skip
    finally:
        await conn.close()
    return str(refused.value)


async def _doctor(dsn: str) -> str:
    settings = harness.test_settings(database_url=dsn)
    return render(await examine(settings, dsn=dsn, request=OfflineBotAPI()))


@pytest.mark.parametrize(
    "extra", ["deleted_at text", "deleted_at timestamptz", "version text", "breach_date date"]
)
async def test_a_platform_column_the_bot_would_add_is_never_adopted(
    empty: tuple[str, str], extra: str
) -> None:
    dsn, _ = empty
    await _platform_table(dsn, extra=extra)
    column = extra.split()[0]
    message = await _refusal(dsn)
    assert f"already has a column {column}" in message
    assert f"rename column {column} to platform_{column}" in message
    report = await _doctor(dsn)
    assert f"✗ Platform columns: ptl_patients already has a column {column}" in report


@pytest.mark.parametrize("events", ["json", "text"])
async def test_events_of_another_type_are_refused_not_migrated(
    empty: tuple[str, str], events: str
) -> None:
    dsn, _ = empty
    await _platform_table(dsn, events=events)
    message = await _refusal(dsn)
    assert f"ptl_patients.events is {events}" in message
    assert "alter column events type jsonb using events::jsonb" in message
    assert "✗ Column types: ptl_patients.events" in await _doctor(dsn)


async def test_doctor_reports_a_bot_column_changed_after_migrating(
    db: Database, db_dsn: str
) -> None:
    async with db.service() as conn:
        await conn.execute("alter table public.ptl_patients alter column version type text")
        await conn.execute("alter table public.ptl_patients alter column events type json")
    report = await _doctor(db_dsn)
    assert "✗ Platform columns: ptl_patients.version is text" in report
    assert "✗ Column types: ptl_patients.events is json" in report


# -- 3. machine writes leave the platform's columns and "last modified" alone ----------------


async def test_the_backfill_never_rewrites_platform_columns_or_last_modified(db: Database) -> None:
    # The student typed "30 / Stopped" on the web; the events say the clock is running.
    await platform_api.insert(
        db,
        EMAIL,
        "PTL-WEB",
        clock_start_date=dt.date(2024, 10, 1),
        rtt_code="30",
        clock_status="Stopped",
        events=[{"date": "2024-11-01", "code": "20", "description": "Seen in clinic"}],
    )
    before = await _row(db, "PTL-WEB")
    report = await ClockBackfill(db).run(TODAY, stored_fields)
    assert report.dirty_written == 1
    after = await _row(db, "PTL-WEB")
    assert after["clock_state"] == "running" and after["breach_date"] is not None
    assert (after["rtt_code"], after["clock_status"]) == ("30", "Stopped")
    assert (after["version"], after["updated_at"]) == (before["version"], before["updated_at"])
    # A later pass that finds nothing new writes nothing either.
    await ClockBackfill(db).run(TODAY + dt.timedelta(days=1), stored_fields)
    assert (await _row(db, "PTL-WEB"))["updated_at"] == before["updated_at"]


async def test_a_students_edit_in_the_bot_writes_the_platforms_words(bot: harness.Bot) -> None:
    await link(bot)
    start = dt.date(2024, 12, 2)
    events = [event_entry("treatment_started", dt.date(2025, 2, 1), added_by=EMAIL)]
    patient = await bot.services.patients.add(
        EMAIL,
        PatientIn(
            patient_name="Word Will",
            clock_start_date=start,
            events=events,
            **stored_clock_fields("rtt", start, events, TODAY),
        ),
    )
    assert (patient.rtt_code, patient.clock_status) == ("30", "Stopped")
    saved = await bot.services.patients.update(
        EMAIL, patient.patient_id, patient.version, {"priority": "Urgent"}
    )
    assert saved.version == patient.version + 1  # an edit is an edit


# -- 4. stored clock fields cannot be forged through the API ----------------------------------


async def test_students_cannot_forge_the_clock_fields_tutors_count(db: Database) -> None:
    forged = {
        "clock_state": "running",
        "breach_date": dt.date(2000, 1, 1),
        "clock_computed_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
        "clock_inputs_until": dt.date(2000, 1, 1),
        "exercise_id": 42,
        "booking_open_dates": [dt.date(2000, 1, 1)],
        "booking_computed_at": dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    }
    # Forged on insert: the bot-owned columns start empty (the engine fills them).
    await platform_api.insert(
        db, EMAIL, "PTL-F", clock_start_date=TODAY - dt.timedelta(days=3), **forged
    )
    row = await _row(db, "PTL-F")
    assert all(
        row[c] is None for c in ("clock_state", "breach_date", "clock_computed_at", "exercise_id")
    )
    assert row["booking_open_dates"] == []
    await ClockBackfill(db).run(TODAY, stored_fields)
    honest = await _row(db, "PTL-F")
    assert honest["clock_state"] == "running" and honest["breach_date"] > TODAY
    # Forged on update: nothing moves.
    assert await platform_api.update(db, EMAIL, "PTL-F", **forged, version=99) == 1
    row = await _row(db, "PTL-F")
    for column in ("clock_state", "breach_date", "clock_computed_at", "clock_inputs_until",
                   "exercise_id", "booking_open_dates", "booking_computed_at"):  # fmt: skip
        assert row[column] == honest[column], column
    assert row["version"] == honest["version"]


# -- 12. a table owned by someone else, a project without auth.jwt() --------------------------


async def test_a_table_owned_by_supabase_admin_is_explained(empty: tuple[str, str]) -> None:
    dsn, superuser = empty
    await _platform_table(superuser)  # made in the dashboard: owned by supabase_admin
    message = await _refusal(dsn)
    assert "owned by supabase_admin" in message
    assert "alter table public.ptl_patients owner to postgres;" in message
    report = await _doctor(dsn)
    assert "✗ Table owner: public.ptl_patients is owned by supabase_admin" in report
    assert "alter table public.ptl_patients owner to postgres;" in report
    # The fix works.
    conn = await asyncpg.connect(superuser)
    try:
        await conn.execute("alter table public.ptl_patients owner to postgres")
    finally:
        await conn.close()
    assert await migrate(dsn)
    assert "✗ Table owner" not in await _doctor(dsn)


async def test_a_project_without_auth_jwt_is_explained(empty: tuple[str, str]) -> None:
    dsn, superuser = empty
    conn = await asyncpg.connect(superuser)
    try:
        # A hosted project today: `auth` is closed to new objects, and this one lacks jwt().
        await conn.execute("drop function auth.jwt()")
        await conn.execute("revoke create on schema auth from postgres, supabase_auth_admin")
    finally:
        await conn.close()
    message = await _refusal_without_table(dsn)
    assert "has no function auth.jwt()" in message and "may not create it" in message
    assert "✗ Supabase auth" in await _doctor(dsn)


async def _refusal_without_table(dsn: str) -> str:
    with pytest.raises(MigrationError) as refused:
        await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        assert await pending_migrations(conn) == sorted(p.name for p in SQL_DIR.glob("*.sql"))
    finally:
        await conn.close()
    return str(refused.value)


async def test_any_database_error_while_migrating_is_one_message(
    empty: tuple[str, str], tmp_path: Path
) -> None:
    dsn, superuser = empty
    await pg.migrate_before(dsn, tmp_path, "051")
    # Someone hands one of the bot's functions to supabase_admin (self-hosted Studio).
    conn = await asyncpg.connect(superuser)
    try:
        await conn.execute("alter function ptl_bot.ptl_patients_touch() owner to supabase_admin")
    finally:
        await conn.close()
    with pytest.raises(MigrationError) as refused:
        await migrate(dsn)
    message = str(refused.value)
    assert message.startswith("051_platform_rows.sql failed and was rolled back:")
    assert "must be owner of function ptl_patients_touch" in message and "Fix:" in message
    conn = await asyncpg.connect(dsn)
    try:
        assert "051_platform_rows.sql" in await pending_migrations(conn)
    finally:
        await conn.close()


# -- 13. tutors' "today" is the database's ---------------------------------------------------


async def test_tutor_breach_counts_use_the_databases_today(db: Database) -> None:
    tutor = "tess@tutor.example"
    async with db.service() as conn:
        db_today = await conn.fetchval("select (now() at time zone 'Europe/London')::date")
        await conn.execute("insert into ptl_bot.staff (email, role) values ($1, 'tutor')", tutor)
        cohort = await conn.fetchval(
            "insert into ptl_bot.cohorts (name, tutor_email, invite_code)"
            " values ('Class', $1, 'INV1') returning id",
            tutor,
        )
        await conn.execute(
            "insert into ptl_bot.cohort_members (cohort_id, email) values ($1, $2)", cohort, EMAIL
        )
        # Stored by the engine (bot path): one clock breaches today, one tomorrow.
        for pid, breach in (("PTL-1", db_today), ("PTL-2", db_today + dt.timedelta(days=1))):
            await conn.execute(
                "insert into public.ptl_patients (patient_id, user_email, patient_name,"
                " clock_state, breach_date, clock_computed_at)"
                " values ($1, $2, 'P', 'running', $3, now())",
                pid,
                EMAIL,
                breach,
            )
    [summary] = await TutorRepository(db, timezone="Europe/London").students(tutor, cohort)
    assert (summary.ptl_size, summary.breached) == (2, 1)
    # The caller can no longer choose the date (sweeping it recovered breach dates).
    with pytest.raises(asyncpg.PostgresError):
        async with db.student(tutor) as conn:
            await conn.fetch(
                "select * from ptl_tutor.cohort_students($1, $2::date)", cohort, db_today
            )
    async with db.service() as conn:
        assert await conn.fetchval("select timezone from ptl_bot.clock_zone") == "Europe/London"


# -- doctor on points 8 and 9 ------------------------------------------------------------------


async def test_doctor_reports_a_mutable_search_path_and_extra_grants(
    db: Database, db_dsn: str
) -> None:
    report = await _doctor(db_dsn)
    assert "✓ Function search_path" in report and "✓ API grants" in report
    async with db.service() as conn:
        await conn.execute("alter function ptl_bot.ptl_patients_touch() reset search_path")
        await conn.execute("grant truncate, trigger on public.ptl_patients to authenticated")
        seq = await conn.fetchval("select pg_get_serial_sequence('public.ptl_patients', 'id')")
        await conn.execute(f"grant update on sequence {seq} to authenticated")
    report = await _doctor(db_dsn)
    assert "⚠ Function search_path: ptl_bot.ptl_patients_touch()" in report
    assert "alter function ptl_bot.ptl_patients_touch() set search_path = '';" in report
    assert (
        "✗ API grants: authenticated (every signed-in user of the platform) holds TRIGGER, "
        "TRUNCATE on ptl_patients" in report
    )
    assert "TRUNCATE ignores row-level security" in report
    assert "revoke trigger, truncate on public.ptl_patients from authenticated;" in report
    assert f"revoke update on sequence {seq} from authenticated;" in report


async def test_doctor_reports_a_missing_or_disabled_bot_trigger(db: Database, db_dsn: str) -> None:
    report = await _doctor(db_dsn)
    assert "✓ Triggers: the bot's 7 triggers on ptl_patients are in place" in report
    async with db.service() as conn:
        await conn.execute("alter table public.ptl_patients disable trigger ptl_patients_touch")
        await conn.execute("drop trigger ptl_patients_revise_update on public.ptl_patients")
    report = await _doctor(db_dsn)
    assert (
        "✗ Triggers: ptl_patients_touch, ptl_patients_revise_update missing or disabled" in report
    )
