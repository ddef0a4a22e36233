"""What the database says about its own safety: the facts `python -m bot doctor` judges.

Why facts here and judgement in bot/runtime/doctor.py: the catalog queries are SQL (which lives only
in storage/), while what counts as wrong, and how to say so to the operator, is policy.
Everything here reads; the one write (the student-path insert probe) runs inside a
savepoint that is always rolled back, so doctor is safe to run against production.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from storage.db import Database

PATIENTS = "public.ptl_patients"
# API roles that Supabase's Data API (and anyone with the anon key) can act as.
API_ROLES = ("anon", "authenticated")


@dataclass(frozen=True)
class TableSecurity:
    exists: bool
    rls_enabled: bool = False
    rls_forced: bool = False


@dataclass(frozen=True)
class Policy:
    name: str
    permissive: bool
    roles: tuple[str, ...]
    command: str  # ALL | SELECT | INSERT | UPDATE | DELETE
    using: str | None
    with_check: str | None


@dataclass(frozen=True)
class RoleFacts:
    login_role: str
    login_superuser: bool
    login_bypass_rls: bool
    can_become_authenticated: bool
    authenticated_exists: bool
    authenticated_superuser: bool
    authenticated_bypass_rls: bool


@dataclass(frozen=True)
class StudentProbe:
    """What a made-up student (an email no row can have) could see and do."""

    current_user: str | None
    visible_rows: int | None
    other_email_insert: str  # "refused" | "allowed" | "inconclusive: <reason>"
    error: str | None = None


@dataclass
class DatabaseFacts:
    server_version: str
    is_supabase: bool
    patients: TableSecurity
    policies: list[Policy] = field(default_factory=list)
    anon_privileges: list[str] = field(default_factory=list)
    private_schema_usage: list[str] = field(default_factory=list)  # API roles with usage


async def ping(db: Database) -> None:
    await db.fetchval("select 1")


async def database_facts(conn: asyncpg.Connection) -> DatabaseFacts:
    version = await conn.fetchval("show server_version")
    is_supabase = bool(
        await conn.fetchval("select to_regclass('auth.users') is not null")
    ) and bool(await conn.fetchval("select to_regnamespace('storage') is not null"))
    row = await conn.fetchrow(
        "select c.relrowsecurity, c.relforcerowsecurity from pg_class c"
        " where c.oid = to_regclass($1)",
        PATIENTS,
    )
    security = (
        TableSecurity(True, row["relrowsecurity"], row["relforcerowsecurity"])
        if row
        else TableSecurity(False)
    )
    facts = DatabaseFacts(version, is_supabase, security)
    if not security.exists:
        return facts
    rows = await conn.fetch(
        "select policyname, permissive, roles::text[] as roles, cmd, qual, with_check"
        " from pg_policies where schemaname = 'public' and tablename = 'ptl_patients'"
        " order by policyname"
    )
    facts.policies = [
        Policy(
            r["policyname"],
            r["permissive"] == "PERMISSIVE",
            tuple(r["roles"]),
            r["cmd"],
            r["qual"],
            r["with_check"],
        )
        for r in rows
    ]
    facts.anon_privileges = [
        privilege
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE")
        if await conn.fetchval(
            "select exists (select 1 from pg_roles where rolname = 'anon')"
            " and has_table_privilege('anon', $1, $2)",
            PATIENTS,
            privilege,
        )
    ]
    facts.private_schema_usage = [
        role
        for role in API_ROLES
        if await conn.fetchval(
            "select exists (select 1 from pg_roles where rolname = $1)"
            " and to_regnamespace('ptl_bot') is not null"
            " and has_schema_privilege($1, 'ptl_bot', 'USAGE')",
            role,
        )
    ]
    return facts


async def role_facts(conn: asyncpg.Connection) -> RoleFacts:
    row = await conn.fetchrow(
        """
        select current_user::text as login_role,
               me.rolsuper as login_superuser,
               me.rolbypassrls as login_bypass_rls,
               coalesce(au.rolname is not null
                        and pg_has_role(current_user, 'authenticated', 'member'), false)
                   as can_become_authenticated,
               au.rolname is not null as authenticated_exists,
               coalesce(au.rolsuper, false) as authenticated_superuser,
               coalesce(au.rolbypassrls, false) as authenticated_bypass_rls
        from pg_roles me
        left join pg_roles au on au.rolname = 'authenticated'
        where me.rolname = current_user
        """
    )
    return RoleFacts(**dict(row))


class _RollBack(Exception):
    """Raised to undo the probe insert whatever happened."""


async def student_probe(db: Database, email: str, patient_id: str) -> StudentProbe:
    """Act as a student whose email owns no rows, through the bot's real student path."""
    try:
        async with db.student(email) as conn:
            user = await conn.fetchval("select current_user::text")
            visible = await conn.fetchval(f"select count(*) from {PATIENTS}")
            outcome = "inconclusive: not tried"
            try:
                async with conn.transaction():  # a savepoint, always rolled back
                    await conn.execute(
                        f"insert into {PATIENTS} (patient_id, user_email) values ($1, $2)",
                        patient_id,
                        "someone-else@" + email.partition("@")[2],
                    )
                    outcome = "allowed"
                    raise _RollBack
            except _RollBack:
                pass
            except asyncpg.InsufficientPrivilegeError:  # RLS WITH CHECK, or no grant
                outcome = "refused"
            except asyncpg.PostgresError as exc:
                outcome = f"inconclusive: {type(exc).__name__}"
            return StudentProbe(user, int(visible), outcome)
    except asyncpg.PostgresError as exc:
        return StudentProbe(
            None, None, "inconclusive: probe failed", f"{type(exc).__name__}: {exc}"
        )


async def anonymous_visible_rows(db: Database) -> int | None:
    """Rows the `anon` role (the public API key) can read; None when it may not read at all."""
    try:
        async with db.anonymous() as conn:
            return int(await conn.fetchval(f"select count(*) from {PATIENTS}"))
    except asyncpg.InsufficientPrivilegeError:
        return None


# The bot's own schemas, and the privileges the student path needs and no more (sql/050).
BOT_SCHEMAS = ("ptl_bot", "ptl_tutor", "ptl_student")
STUDENT_TABLE_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
STUDENT_SEQUENCE_PRIVILEGES = frozenset({"USAGE"})
_TABLE_PRIVILEGES = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN",
)  # fmt: skip


async def functions_without_search_path(conn: asyncpg.Connection) -> list[str]:
    """The bot's functions, and any function a trigger on ptl_patients runs, whose
    search_path is not fixed (Supabase's Security Advisor: function_search_path_mutable)."""
    rows = await conn.fetch(
        """
        select distinct p.oid::regprocedure::text as name
          from pg_proc p
          join pg_namespace n on n.oid = p.pronamespace
         where (n.nspname = any($1::text[])
                or p.oid in (select t.tgfoid from pg_trigger t
                              where t.tgrelid = to_regclass($2) and not t.tgisinternal))
           and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c
                            where c like 'search_path=%')
         order by 1
        """,
        list(BOT_SCHEMAS),
        PATIENTS,
    )
    return [r["name"] for r in rows]


BOT_TRIGGERS = (
    "ptl_patients_bot_columns",
    "ptl_patients_clock_inputs",
    "ptl_patients_mark_bookings",
    "ptl_patients_touch",
    "ptl_patients_revise_insert",
    "ptl_patients_revise_update",
    "ptl_patients_revise_delete",
)
"""The bot's triggers on ptl_patients (sql/030, 051, 056, 082): the bot-owned columns, the
clock and booking recomputation marks, version and updated_at, the change counter."""


async def missing_triggers(conn: asyncpg.Connection) -> list[str]:
    """The bot's triggers on ptl_patients that are missing or disabled."""
    found = await conn.fetch(
        "select tgname from pg_trigger"
        " where tgrelid = to_regclass($1) and not tgisinternal and tgenabled <> 'D'",
        PATIENTS,
    )
    there = {r["tgname"] for r in found}
    return [name for name in BOT_TRIGGERS if name not in there]


@dataclass(frozen=True)
class ApiGrants:
    """What each API role holds on ptl_patients and on its id sequence."""

    sequence: str | None
    table: dict[str, frozenset[str]]
    on_sequence: dict[str, frozenset[str]]


async def api_grants(conn: asyncpg.Connection) -> ApiGrants:
    version = int(await conn.fetchval("show server_version_num"))
    privileges = [p for p in _TABLE_PRIVILEGES if p != "MAINTAIN" or version >= 170000]
    sequence = await conn.fetchval(
        "select case when to_regclass($1) is null then null"
        " else pg_get_serial_sequence($1, 'id') end",
        PATIENTS,
    )
    table: dict[str, frozenset[str]] = {}
    on_sequence: dict[str, frozenset[str]] = {}
    for role in API_ROLES:
        if not await conn.fetchval("select 1 from pg_roles where rolname = $1", role):
            continue
        held = await conn.fetchval(
            "select coalesce(array_agg(p), '{}') from unnest($3::text[]) p"
            " where has_table_privilege($1, $2, p)",
            role,
            PATIENTS,
            privileges,
        )
        table[role] = frozenset(held)
        if sequence:
            held = await conn.fetchval(
                "select coalesce(array_agg(p), '{}') from unnest($3::text[]) p"
                " where has_sequence_privilege($1, $2, p)",
                role,
                sequence,
                ["USAGE", "SELECT", "UPDATE"],
            )
            on_sequence[role] = frozenset(held)
    return ApiGrants(sequence, table, on_sequence)
