"""Supabase hygiene (issue 13, points 8-11), on a database shaped like a Supabase project.

The test database is built like Supabase's own bootstrap (tests/supabase_bootstrap.py): the bot
logs in as the non-superuser `postgres`, and default privileges hand every API role ALL on new
tables in `public`. These tests pin what the migrations leave each API role with.
"""

from __future__ import annotations

import asyncpg
import pytest

from storage.db import Database
from storage.migrations import EQUIVALENT_REVISIONS, SQL_DIR, pending_migrations
from tests import platform_api

EMAIL = "tia@student.example"
# The schemas the bot creates or relies on (a real project has more, e.g. extensions).
SCHEMAS = ["public", "auth", "ptl_bot", "ptl_tutor", "ptl_student"]


async def test_the_test_database_is_shaped_like_supabase(db: Database) -> None:
    """If this fails, every other test here is testing against a laxer database."""
    async with db.service() as conn:
        me = await conn.fetchrow(
            "select current_user::text as name, rolsuper, rolbypassrls from pg_roles"
            " where rolname = current_user"
        )
        assert (me["name"], me["rolsuper"], me["rolbypassrls"]) == ("postgres", False, True)
        owner = await conn.fetchval(
            "select pg_get_userbyid(relowner)::text from pg_class"
            " where oid = 'public.ptl_patients'::regclass"
        )
        assert owner == "postgres"
        jwt_owner = await conn.fetchval(
            "select pg_get_userbyid(proowner)::text from pg_proc"
            " where oid = 'auth.jwt()'::regprocedure"
        )
        assert jwt_owner == "supabase_auth_admin"
        # Supabase's default privileges: a new table in public is open to every API role.
        await conn.execute("create table public.scratch (id int)")
        assert await conn.fetchval(
            "select has_table_privilege('anon', 'public.scratch', 'TRUNCATE')"
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("alter role authenticated bypassrls")


async def test_the_student_path_holds_only_what_it_needs(db: Database) -> None:
    """Point 9: no TRUNCATE (which ignores RLS), REFERENCES, TRIGGER or MAINTAIN for
    `authenticated`; only USAGE on the id sequence; nothing at all for `anon`."""
    await platform_api.insert(db, EMAIL, "PTL-T1")
    async with db.service() as conn:
        version = int(await conn.fetchval("show server_version_num"))
        privileges = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
        if version >= 170000:
            privileges.append("MAINTAIN")
        held = {
            role: {
                p
                for p in privileges
                if await conn.fetchval(
                    "select has_table_privilege($1, 'public.ptl_patients', $2)", role, p
                )
            }
            for role in ("authenticated", "anon")
        }
        seq = await conn.fetchval("select pg_get_serial_sequence('public.ptl_patients', 'id')")
        on_sequence = {
            role: {
                p
                for p in ("USAGE", "SELECT", "UPDATE")
                if await conn.fetchval("select has_sequence_privilege($1, $2, $3)", role, seq, p)
            }
            for role in ("authenticated", "anon")
        }
    assert held == {"authenticated": {"SELECT", "INSERT", "UPDATE", "DELETE"}, "anon": set()}
    assert on_sequence == {"authenticated": {"USAGE"}, "anon": set()}
    # And what that means through the platform's API: no emptying the table past RLS.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with platform_api.platform(db, EMAIL) as conn:
            await conn.execute("truncate public.ptl_patients")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with platform_api.platform(db, EMAIL) as conn:
            await conn.execute(f"select setval('{seq}', 1000000)")
    assert len(await platform_api.select(db, EMAIL)) == 1


async def test_policies_read_the_claim_once_per_statement(db: Database) -> None:
    """Point 10: `(select auth.jwt()) ->> 'email'`, never a bare auth.*() call in a policy
    (Supabase's Performance Advisor, auth_rls_initplan)."""
    async with db.service() as conn:
        rows = await conn.fetch(
            "select policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '') as expr"
            " from pg_policies where schemaname in ('public', 'ptl_student')"
        )
    assert rows
    for row in rows:
        expr = row["expr"]
        wrapped = expr.replace("( SELECT auth.jwt() AS jwt)", "")
        assert "auth." not in wrapped, (row["policyname"], expr)
        assert "( SELECT auth.jwt() AS jwt)" in expr, (row["policyname"], expr)


async def test_exactly_these_functions_are_callable_by_the_api_roles(db: Database) -> None:
    """Point 11: Postgres grants EXECUTE to PUBLIC on every new function and no per-schema
    default narrows that, so the list is pinned here: a new function that forgets its
    `revoke ... from public` fails this test."""
    async with db.service() as conn:
        callable_by = {
            role: sorted(
                r["fn"]
                for r in await conn.fetch(
                    "select p.oid::regprocedure::text as fn from pg_proc p"
                    " join pg_namespace n on n.oid = p.pronamespace"
                    " where n.nspname = any($2::text[])"
                    "   and has_schema_privilege($1, n.oid, 'USAGE')"
                    "   and has_function_privilege($1, p.oid, 'EXECUTE')",
                    role,
                    SCHEMAS,
                )
            )
            for role in ("anon", "authenticated")
        }
        # ptl_bot's functions (triggers, helpers) are out of reach: the schema is closed.
        reachable = await conn.fetchval(
            "select has_schema_privilege('authenticated', 'ptl_bot', 'USAGE')"
            " or has_schema_privilege('anon', 'ptl_bot', 'USAGE')"
        )
    supabase_auth = ["auth.email()", "auth.jwt()", "auth.role()", "auth.uid()"]
    assert callable_by["anon"] == supabase_auth
    assert callable_by["authenticated"] == sorted(
        [
            *supabase_auth,
            "ptl_student.caller_email()",
            "ptl_student.my_exercises()",
            "ptl_student.my_quiz_answers()",
            "ptl_tutor.cohort_bookings(bigint)",
            "ptl_tutor.cohort_members(bigint)",
            "ptl_tutor.cohort_students(bigint)",
            "ptl_tutor.exercise_answers(bigint)",
            "ptl_tutor.exercise_progress(bigint)",
            "ptl_tutor.my_cohorts()",
            "ptl_tutor.my_exercises(integer)",
            "ptl_tutor.remove_member(bigint,text)",
            "ptl_tutor.send_to_new_members(bigint)",
        ]
    )
    assert not reachable


def test_the_no_op_default_privileges_line_is_gone_from_040() -> None:
    text = (SQL_DIR / "040_tutoring.sql").read_text()
    assert "alter default privileges" not in text
    assert EQUIVALENT_REVISIONS["040_tutoring.sql"]


async def test_a_database_that_applied_the_old_040_is_not_refused(db: Database) -> None:
    (old,) = EQUIVALENT_REVISIONS["040_tutoring.sql"]
    async with db.service() as conn:
        await conn.execute(
            "update ptl_bot.schema_migrations set checksum = $1"
            " where filename = '040_tutoring.sql'",
            old,
        )
        assert await pending_migrations(conn) == []
        await conn.execute(
            "update ptl_bot.schema_migrations set checksum = 'x'"
            " where filename = '040_tutoring.sql'"
        )
    async with db.service() as conn:
        with pytest.raises(Exception, match="changed after it was applied"):
            await pending_migrations(conn)


async def test_every_function_the_bot_made_has_a_fixed_search_path(db: Database) -> None:
    """Point 8 (Supabase's Security Advisor, function_search_path_mutable)."""
    async with db.service() as conn:
        rows = await conn.fetch(
            "select p.oid::regprocedure::text as fn, p.proconfig from pg_proc p"
            " join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname in ('ptl_bot', 'ptl_tutor', 'ptl_student')"
            "    or p.oid in (select tgfoid from pg_trigger"
            "                  where tgrelid = 'public.ptl_patients'::regclass)"
        )
    assert {r["fn"] for r in rows} >= {
        "ptl_bot.ptl_patients_touch()",
        "ptl_bot.ptl_patients_clock_inputs()",
        "ptl_bot.ptl_patients_bot_columns()",
    }
    for row in rows:
        assert any(c.startswith("search_path=") for c in row["proconfig"] or []), row["fn"]
