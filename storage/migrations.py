"""Applies `sql/NNN_name.sql` in order, once each, with a checksum, under an advisory lock.

Why this shape: the operator runs one command against Supabase and never pastes SQL by hand.
Each file runs in its own transaction, so a failure leaves the database as it was before that
file; the advisory lock makes two migrators (two replicas starting at once) safe; and a file
that was changed after it was applied is refused, because silently re-running or skipping
edited SQL is how production and the repository drift apart.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# An arbitrary, fixed key: every ptl-bot migrator takes the same lock.
LOCK_KEY = 741_852_963
LEDGER = "ptl_bot.schema_migrations"


class MigrationError(Exception):
    """A migration cannot be applied safely; the message says what to do."""


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
        elif applied[m.name] != m.checksum:
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
            await _ensure_ledger(conn)
            pending = set(await pending_migrations(conn, sql_dir))
            applied = []
            for m in load_migrations(sql_dir):
                if m.name not in pending:
                    continue
                log.info("Applying migration %s", m.name)
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        f"insert into {LEDGER} (filename, checksum) values ($1, $2)",
                        m.name,
                        m.checksum,
                    )
                applied.append(m.name)
            return applied
        finally:
            await conn.execute("select pg_advisory_unlock($1)", LOCK_KEY)
    finally:
        if own:
            await conn.close()
