"""Applies `sql/NNN_name.sql` in order, once each, with a checksum, under an advisory lock.

Why this shape: the operator runs one command against Supabase and never pastes SQL by hand.
Each file runs in its own transaction, so a failure leaves the database as it was before that
file; the advisory lock makes two migrators (two replicas starting at once) safe; and a file
that was changed after it was applied is refused, because silently re-running or skipping
edited SQL is how production and the repository drift apart.

Before anything is applied, `storage.platform_table` checks that the bot may live in this
database's `ptl_patients` (its owner, its column names and types, `auth.jwt()`); and any
database error while a file runs is turned into one MigrationError naming the file and the
fix, so the operator never reads a traceback and never has half a file applied.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from storage.platform_table import problems, table_facts

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# An arbitrary, fixed key: every ptl-bot migrator takes the same lock.
LOCK_KEY = 741_852_963
LEDGER = "ptl_bot.schema_migrations"


class MigrationError(Exception):
    """A migration cannot be applied safely; the message says what to do."""


# Applied files whose text changed in a way that provably changes nothing on any database,
# with the checksums they had before. Only a statement that does nothing may be dropped:
# 040's `alter default privileges in schema ptl_tutor revoke execute on functions from
# public` (Postgres cannot narrow the global default per schema; it left no entry in
# pg_default_acl) was removed, so databases that applied the old text are not refused.
EQUIVALENT_REVISIONS: dict[str, frozenset[str]] = {
    "040_tutoring.sql": frozenset(
        {"881cd0757eef0ffb8faacf2b35732c2e4a48084798b796baa90479037932f6ce"}
    ),
}


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(sql_dir: Path = SQL_DIR) -> list[Migration]:
    files = sorted(p for p in sql_dir.glob("*.sql") if p.name[:3].isdigit())
    return [Migration(p.name, p.read_text(encoding="utf-8")) for p in files]


async def _ensure_ledger(conn: asyncpg.Connection) -> None:
    await conn.execute(
        """
        create schema if not exists ptl_bot;
        create table if not exists ptl_bot.schema_migrations (
            filename   text primary key,
            checksum   text not null,
            applied_at timestamptz not null default now()
        );
        """
    )


async def applied_migrations(conn: asyncpg.Connection) -> dict[str, str]:
    """filename -> checksum of what the database has applied (empty if never migrated)."""
    exists = await conn.fetchval("select to_regclass($1) is not null", LEDGER)
    if not exists:
        return {}
    rows = await conn.fetch(f"select filename, checksum from {LEDGER}")
    return {r["filename"]: r["checksum"] for r in rows}


async def pending_migrations(conn: asyncpg.Connection, sql_dir: Path = SQL_DIR) -> list[str]:
    """Names of files not yet applied; raises MigrationError if an applied file changed."""
    applied = await applied_migrations(conn)
    pending = []
    for m in load_migrations(sql_dir):
        if m.name not in applied:
            pending.append(m.name)
        elif applied[m.name] != m.checksum and applied[m.name] not in EQUIVALENT_REVISIONS.get(
            m.name, frozenset()
        ):
            raise MigrationError(
                f"{m.name} was changed after it was applied. Applied migrations must never be "
                "edited: restore the original file and put the change in a new numbered file."
            )
    return pending


async def migrate(dsn_or_conn: str | asyncpg.Connection, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date)."""
    own = isinstance(dsn_or_conn, str)
    conn: asyncpg.Connection = (
        await asyncpg.connect(dsn_or_conn) if isinstance(dsn_or_conn, str) else dsn_or_conn
    )
    try:
        await conn.execute("select pg_advisory_lock($1)", LOCK_KEY)
        try:
            try:
                await _ensure_ledger(conn)
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"The bot's bookkeeping (schema ptl_bot) could not be set up: {exc.message}. "
                    "Fix: connect as the database's owner (on Supabase, the `postgres` user's "
                    "connection string from Supabase > Connect), then run migrate again."
                ) from None
            pending = set(await pending_migrations(conn, sql_dir))
            if not pending:
                return []
            await preflight(conn, pending)
            applied: list[str] = []
            for m in load_migrations(sql_dir):
                if m.name not in pending:
                    continue
                log.info("Applying migration %s", m.name)
                try:
                    async with conn.transaction():
                        await conn.execute(m.sql)
                        await conn.execute(
                            f"insert into {LEDGER} (filename, checksum) values ($1, $2)",
                            m.name,
                            m.checksum,
                        )
                except asyncpg.PostgresError as exc:
                    raise MigrationError(await _explain(conn, m.name, exc, applied)) from None
                applied.append(m.name)
            return applied
        finally:
            await conn.execute("select pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        if own:
            await conn.close()


async def preflight(conn: asyncpg.Connection, pending: set[str]) -> None:
    """Refuse, before anything runs, when the bot must not or cannot migrate this database
    (see storage/platform_table.py); one message lists every problem and its fix."""
    found = problems(await table_facts(conn), pending)
    if found:
        raise MigrationError(
            "Nothing was changed: " + " ".join(f"({n}) {p}" for n, p in enumerate(found, start=1))
            if len(found) > 1
            else f"Nothing was changed: {found[0]}"
        )


async def _explain(
    conn: asyncpg.Connection, name: str, exc: asyncpg.PostgresError, applied: list[str]
) -> str:
    """One sentence for a file that failed: which file, what the database said (its message
    only: details can quote row values), and what to do."""
    done = f" ({', '.join(applied)} applied before it)" if applied else ""
    what = f"{name} failed and was rolled back{done}: {exc.message}."
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        user = await conn.fetchval("select current_user::text")
        if "must be owner" in exc.message:
            fix = (
                f"the object it changes belongs to another role: in the Supabase SQL editor run "
                f"`alter table public.ptl_patients owner to {user};` (or the same for the "
                "object named above), then run migrate again"
            )
        else:
            fix = (
                f"the bot's database user ({user}) lacks a privilege: use the connection "
                "string of the `postgres` user (Supabase > Connect), or grant it, then run "
                "migrate again"
            )
    else:
        fix = "correct what the message describes, then run migrate again"
    return f"{what} Fix: {fix}."
