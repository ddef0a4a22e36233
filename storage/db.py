"""The connection pool and the two ways into the database.

Why two paths: a student's work must be kept apart by the database itself, not by `WHERE`
clauses the bot remembers to write. `student(email)` therefore runs every statement as the
`authenticated` role with the student's email in `request.jwt.claims`, exactly as Supabase's
API gateway does for a signed-in user, so the row-level security policies in `sql/` decide
what is visible. `service()` is the deliberately separate, explicitly named path for jobs that
must see every student (reminders, broadcasts, backfills); it runs as the bot's own login role.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

BOT_CLAIM = "ptl_bot"
"""The claim that tells the database a student transaction is the bot's, not the platform's."""


def normalise_email(email: str) -> str:
    """Emails are stored trimmed and lower-case and always compared that way."""
    return email.strip().lower()


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Decode json/jsonb to Python objects so no caller ever parses JSON text by hand."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


class Database:
    """An asyncpg pool plus the student-scoped and service transactions."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        statement_cache_size: int = 100,
    ) -> Database:
        """Open the pool. `statement_cache_size=0` is required behind a transaction pooler
        (Supabase port 6543), where prepared statements do not survive between transactions."""
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            statement_cache_size=statement_cache_size,
            init=_init_connection,
            command_timeout=30,
        )
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def student(self, email: str) -> AsyncIterator[asyncpg.Connection]:
        """A transaction in which row-level security applies as the given student.

        The claims also carry `"ptl_bot": true`, which marks the transaction as the bot's
        (sql/051): only then are the bin's rows visible and the bot-owned columns writable.
        A student's own token cannot carry it: Supabase Auth signs the top-level claims."""
        claims = json.dumps(
            {"email": normalise_email(email), "role": "authenticated", BOT_CLAIM: True}
        )
        async with self.pool.acquire() as conn, conn.transaction():
            # One round trip: switch role and set claims for this transaction only.
            await conn.execute(
                "select set_config('role', 'authenticated', true),"
                " set_config('request.jwt.claims', $1, true)",
                claims,
            )
            yield conn

    @asynccontextmanager
    async def anonymous(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction as Supabase's `anon` role: what an unauthenticated caller could see."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "select set_config('role', 'anon', true),"
                " set_config('request.jwt.claims', '{\"role\": \"anon\"}', true)"
            )
            yield conn

    @asynccontextmanager
    async def service(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction as the bot's own role, which sees every student's rows.

        Only jobs that genuinely need everyone (reminders, broadcasts, backfill, staff admin)
        may use this; student-facing handlers go through `student()`.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    async def fetchval(self, query: str, *args: Any) -> Any:
        """Service-path convenience for single values (health checks, counts)."""
        async with self.pool.acquire() as conn:
            return await conn.fetchval(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """Service-path rows from one read-only statement, outside a transaction block.

        Why: a single statement is atomic on its own, and a BEGIN/COMMIT around it is two more
        round trips that a job reading in a pipeline (the reminder candidates) waits for."""
        async with self.pool.acquire() as conn:
            return await conn.fetch(query, *args)
