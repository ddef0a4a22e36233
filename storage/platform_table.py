"""Can the bot live in this database's `ptl_patients`? The checks `migrate` and doctor share.

Why before migrating: the migrations add columns with `add column if not exists` and install
triggers that assume the platform's column types. Run blindly on the wrong table they succeed
and then break the platform: a platform column that happens to share a name with one the bot
adds (`deleted_at`, `version`, ...) would silently be taken over; `events` stored as `json`
or `text`, or `version` as `text`, would make every platform insert fail in the trigger; a
table owned by another role ends in a permission error half-way; a project whose `auth`
schema lacks `auth.jwt()` cannot get one from the bot. Each problem is found here, by reading
the catalog only, and described once with its fix, for `migrate` to refuse with and for
doctor to report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

TABLE = "public.ptl_patients"

# Columns the bot adds, with the migrations that add each (`add column if not exists`) and
# its type. If none of them has run yet but the column is already there, it is the
# platform's: never adopted.
_P2, _P30, _P40 = ("002_ptl_patients.sql",), ("030_reminders.sql",), ("040_tutoring.sql",)
_P51, _P53, _P80 = ("051_platform_rows.sql",), ("053_ptl_order.sql",), ("080_bookings.sql",)
_P51_90 = ("051_platform_rows.sql", "090_student_progress.sql")
_P84 = ("084_booking_places.sql",)
BOT_COLUMNS: Mapping[str, tuple[tuple[str, ...], str]] = {
    "version": (_P2, "integer"),
    "deleted_at": (_P2, "timestamp with time zone"),
    "breach_date": (_P2, "date"),
    "clock_state": (_P2, "text"),
    "clock_computed_at": (_P2, "timestamp with time zone"),
    "clock_inputs_until": (_P30, "date"),
    "exercise_id": (_P40, "bigint"),
    "exercise_patient_key": (_P40, "text"),
    "bin_version": (_P51, "integer"),
    "clock_as_of": (_P51, "date"),
    "clock_rank": (_P51, "smallint"),
    "clock_pathway": (_P51, "text"),
    "clock_order_on": (_P53, "date"),
    "clock_order_days": (_P53, "integer"),
    "clock_stopped_on": (_P51_90, "date"),
    "clock_breached": (_P51_90, "boolean"),
    "booking_open_dates": (_P80, "date[]"),
    "booking_late_dates": (_P80, "date[]"),
    "booking_open_places": (_P84, "integer[]"),
    "booking_computed_at": (_P80, "timestamp with time zone"),
}

_TEXT = ("text", "character varying")
_STAMP = ("timestamp with time zone", "timestamp without time zone")
# Platform columns the bot reads and writes with typed values, and the types that work.
PLATFORM_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "id": ("integer", "bigint"),
    "patient_id": _TEXT,
    "user_email": _TEXT,
    "patient_name": _TEXT,
    "nhs_number": _TEXT,
    "specialty": _TEXT,
    "referral_date": ("date",),
    "clock_start_date": ("date",),
    "referral_source": _TEXT,
    "pathway_type": _TEXT,
    "priority": _TEXT,
    "current_status": _TEXT,
    "consultant": _TEXT,
    "contact_number": _TEXT,
    "rtt_code": _TEXT,
    "clock_status": _TEXT,
    "notes": _TEXT,
    "appointments": ("jsonb",),
    "events": ("jsonb",),
    "added_date": _STAMP,
    "last_updated": _STAMP,
    "created_at": _STAMP,
    "updated_at": _STAMP,
}


@dataclass(frozen=True)
class Problem:
    """One reason the bot cannot (or must not) migrate or run on this table."""

    check: str  # the doctor line it belongs to
    detail: str
    fix: str

    def __str__(self) -> str:
        return f"{self.detail} Fix: {self.fix}"


@dataclass(frozen=True)
class TableFacts:
    exists: bool
    owner: str | None
    login_role: str
    owner_is_login: bool  # the login role is the owner or inherits its rights
    columns: Mapping[str, str]  # name -> formatted type
    jwt_exists: bool
    auth_exists: bool
    can_create_in_auth: bool  # or, with no schema auth yet, may create it


async def table_facts(conn: asyncpg.Connection) -> TableFacts:
    row = await conn.fetchrow(
        """
        select c.oid is not null as exists,
               pg_get_userbyid(c.relowner)::text as owner,
               current_user::text as login_role,
               coalesce(pg_has_role(current_user, c.relowner, 'usage'), false) as owner_is_login,
               to_regprocedure('auth.jwt()') is not null as jwt_exists,
               to_regnamespace('auth') is not null as auth_exists,
               case when to_regnamespace('auth') is null
                    then has_database_privilege(current_database(), 'CREATE')
                    else has_schema_privilege('auth', 'CREATE') end as can_create_in_auth
          from (select to_regclass($1) as oid) t
          left join pg_class c on c.oid = t.oid
        """,
        TABLE,
    )
    columns: dict[str, str] = {}
    if row["exists"]:
        for r in await conn.fetch(
            "select attname::text as name, format_type(atttypid, atttypmod) as type"
            " from pg_attribute where attrelid = $1::regclass and attnum > 0"
            " and not attisdropped",
            TABLE,
        ):
            columns[r["name"]] = r["type"]
    return TableFacts(
        exists=row["exists"],
        owner=row["owner"],
        login_role=row["login_role"],
        owner_is_login=row["owner_is_login"],
        columns=columns,
        jwt_exists=row["jwt_exists"],
        auth_exists=row["auth_exists"],
        can_create_in_auth=row["can_create_in_auth"],
    )


def _base_type(formatted: str) -> str:
    """`character varying(200)` -> `character varying`: lengths do not change what works."""
    return formatted.split("(", 1)[0].strip()


def problems(facts: TableFacts, pending: set[str] | frozenset[str]) -> list[Problem]:
    """Everything that stops the bot from migrating or running safely on this database.
    `pending` are the migration files not yet applied (a bot column already present before
    the file that adds it has run belongs to the platform)."""
    out: list[Problem] = []
    if not facts.jwt_exists and not facts.can_create_in_auth:
        where = "has no schema auth" if not facts.auth_exists else "has no function auth.jwt()"
        out.append(
            Problem(
                "Supabase auth",
                f"the database {where}, which the row-level security policies use, and "
                f"{facts.login_role} may not create it.",
                "on Supabase, check the project is healthy (Database > Roles: the `auth` "
                "schema is Supabase's own; Project Settings > General > restart, or ask "
                "Supabase support to restore auth.jwt()); on plain Postgres, run the bot's "
                "migrations as the database owner",
            )
        )
    if not facts.exists:
        return out
    if not facts.owner_is_login:
        out.append(
            Problem(
                "Table owner",
                f"public.ptl_patients is owned by {facts.owner}, not by the bot's database "
                f"user {facts.login_role}, so the bot cannot add its columns, indexes and "
                "policies.",
                f"in the Supabase SQL editor (which runs as supabase_admin or postgres), run "
                f"`alter table public.ptl_patients owner to {facts.login_role};` (the table's "
                "rows, grants and the platform's access stay as they are), then run migrate "
                "again",
            )
        )
    for name, (migrations, wanted) in BOT_COLUMNS.items():
        have = facts.columns.get(name)
        if have is None:
            continue
        migration = migrations[0]
        if all(m in pending for m in migrations):
            out.append(
                Problem(
                    "Platform columns",
                    f"ptl_patients already has a column {name} ({have}) that the bot did not "
                    f"create; {migration} adds {name} ({wanted}) for its own use and would "
                    "take the platform's column over.",
                    f"rename the platform's column (`alter table public.ptl_patients rename "
                    f"column {name} to platform_{name};`) and point the platform at the new "
                    "name, then run migrate again",
                )
            )
        elif _base_type(have) != wanted:
            out.append(
                Problem(
                    "Platform columns",
                    f"ptl_patients.{name} is {have}, but the bot's column {name} is {wanted}: "
                    "it was taken from the platform or changed since, and the bot's triggers "
                    "and queries will fail on it.",
                    f"restore it: `alter table public.ptl_patients alter column {name} type "
                    f"{wanted} using {name}::{wanted};` (check the platform does not use it "
                    "first)",
                )
            )
    for name, allowed in PLATFORM_COLUMNS.items():
        have = facts.columns.get(name)
        if have is None or _base_type(have) in allowed:
            continue
        wanted = allowed[0]
        out.append(
            Problem(
                "Column types",
                f"ptl_patients.{name} is {have}; the bot (and its triggers, which run on "
                f"every platform insert and update) need {' or '.join(allowed)}.",
                f"convert it: `alter table public.ptl_patients alter column {name} type "
                f"{wanted} using {name}::{wanted};` (values that do not convert must be "
                "fixed first), then run migrate again",
            )
        )
    return out
