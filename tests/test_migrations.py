"""Migrations: idempotent, ordered, locked, checksummed, and kind to an existing platform table."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from storage.migrations import SQL_DIR, MigrationError, migrate, pending_migrations
from tests import pg


@pytest.fixture
async def empty_dsn(pg_admin: str):
    """A new Supabase-shaped database nothing has migrated (the bot's DSN for it)."""
    name = f"ptl_empty_{id(object())}"
    await pg.create_database(pg_admin, name)
    yield pg.dsn_for(pg_admin, name)
    await pg.drop_database(pg_admin, name)


async def test_second_run_is_a_no_op(db_dsn: str) -> None:
    assert await migrate(db_dsn) == []
    conn = await asyncpg.connect(db_dsn)
    try:
        assert await pending_migrations(conn) == []
        names = await conn.fetch("select filename from ptl_bot.schema_migrations order by 1")
        assert [r["filename"] for r in names] == sorted(p.name for p in SQL_DIR.glob("*.sql"))
    finally:
        await conn.close()


async def test_two_migrators_at_once_are_safe(empty_dsn: str) -> None:
    first, second = await asyncio.gather(migrate(empty_dsn), migrate(empty_dsn))
    assert sorted(first + second) == sorted(p.name for p in SQL_DIR.glob("*.sql"))
    assert not set(first) & set(second)


async def test_changed_applied_file_is_refused(db_dsn: str, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    first = sorted(sql_dir.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after release\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(db_dsn, sql_dir)


async def test_failed_migration_leaves_no_trace(db_dsn: str, tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    (sql_dir / "999_broken.sql").write_text(
        "create table public.half_done (id int);\nselect * from no_such_table;\n"
    )
    with pytest.raises(MigrationError) as refused:
        await migrate(db_dsn, sql_dir)
    # One message naming the file, what the database said and what to do; no traceback.
    assert str(refused.value).startswith("999_broken.sql failed and was rolled back:")
    assert 'relation "no_such_table" does not exist' in str(refused.value)
    assert "Fix:" in str(refused.value)
    conn = await asyncpg.connect(db_dsn)
    try:
        assert await conn.fetchval("select to_regclass('public.half_done')") is None
        assert "999_broken.sql" in await pending_migrations(conn, sql_dir)
    finally:
        await conn.close()


async def test_old_platform_table_is_adapted_without_losing_rows(empty_dsn: str) -> None:
    conn = await asyncpg.connect(empty_dsn)
    try:
        # The platform's table as it was before updated_at, events and friends existed.
        await conn.execute(
            """
            create table public.ptl_patients (
                id serial primary key,
                patient_id text unique not null,
                user_email text not null,
                patient_name text,
                nhs_number text,
                referral_date date,
                clock_start_date date,
                pathway_type text
            );
            insert into public.ptl_patients
                (patient_id, user_email, patient_name, nhs_number, clock_start_date, pathway_type)
            values ('PTL001', 'Alice@Student.Example', 'Old Row One', '9990000018',
                    '2025-01-06', 'routine'),
                   ('PTL002', 'bob@student.example', 'Old Row Two', null, null, '2ww');
            """
        )
    finally:
        await conn.close()
    await migrate(empty_dsn)
    conn = await asyncpg.connect(empty_dsn)
    try:
        rows = await conn.fetch("select * from public.ptl_patients order by patient_id")
        assert [r["patient_name"] for r in rows] == ["Old Row One", "Old Row Two"]
        assert rows[0]["pathway_type"] == "routine"  # legacy values are kept, mapped on read
        assert rows[0]["version"] == 1 and rows[0]["deleted_at"] is None
        assert rows[0]["events"] == "[]"  # default applied to existing rows
        assert await conn.fetchval(
            "select relrowsecurity from pg_class where oid = 'public.ptl_patients'::regclass"
        )
        # Mixed-case email from the platform still belongs to its owner under RLS.
        async with conn.transaction():
            await conn.execute(
                "select set_config('role', 'authenticated', true),"
                " set_config('request.jwt.claims', '{\"email\": \"alice@student.example\"}', true)"
            )
            assert await conn.fetchval("select count(*) from public.ptl_patients") == 1
    finally:
        await conn.close()


async def test_policies_use_the_email_index(db_dsn: str) -> None:
    """The owner policy must be index-driven, not a scan of every student's rows."""
    conn = await asyncpg.connect(db_dsn)
    try:
        await conn.execute(
            "insert into public.ptl_patients (patient_id, user_email, patient_name)"
            " select 'PTL' || g, 'student' || (g % 100) || '@example.ac.uk', 'P' || g"
            " from generate_series(1, 5000) g; analyze public.ptl_patients;"
        )
        async with conn.transaction():
            await conn.execute(
                "select set_config('role', 'authenticated', true),"
                " set_config('request.jwt.claims',"
                ' \'{"email": "student7@example.ac.uk"}\', true)'
            )
            plan = "\n".join(
                r[0]
                for r in await conn.fetch(
                    "explain select * from public.ptl_patients where deleted_at is null"
                )
            )
        assert "Index" in plan or "Bitmap" in plan, plan
        assert "Seq Scan" not in plan, plan
    finally:
        await conn.close()
