"""The embedded Postgres used when no DATABASE_URL is configured.

Why: a newcomer (and CI) should run the real database, with the real migrations and real
row-level security, without installing a server. pgserver ships Postgres binaries in a wheel,
keeps the cluster under our data folder (so data survives restarts) and copes with being run
as root by running the server as an unprivileged system user.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

DATABASE_NAME = "ptl"
_servers: dict[Path, Any] = {}


def start_embedded(data_dir: Path, *, stop_at_exit: bool = True) -> str:
    """Start (or reuse) the cluster under `data_dir/postgres`; return an admin DSN for it."""
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR
        # (containers, CI) platformdirs warns and falls back to /tmp, which is fine here.
        warnings.simplefilter("ignore")
        import pgserver  # lazily: production with DATABASE_URL never needs it

    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = _servers.get(pgdata)
    if server is None:
        log.info("Starting embedded Postgres under %s", pgdata)
        server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
        _servers[pgdata] = server
    return str(server.get_uri())


def with_database(dsn: str, database: str) -> str:
    """Swap the database name in a pgserver-style DSN (`.../postgres?host=...`)."""
    base, sep, query = dsn.partition("?")
    head = base.rsplit("/", 1)[0]
    return f"{head}/{database}{sep}{query}"


async def ensure_database(admin_dsn: str, database: str = DATABASE_NAME) -> str:
    """Create the application database if it does not exist; return its DSN."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = $1", database)
        if not exists:
            await conn.execute(f'create database "{database}"')
    finally:
        await conn.close()
    return with_database(admin_dsn, database)


async def embedded_dsn(data_dir: Path) -> str:
    """The DSN of the bot's database on the embedded server, starting it if needed."""
    return await ensure_database(start_embedded(data_dir))
