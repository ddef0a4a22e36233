"""A real Postgres for the test session, with the real migrations, and a fresh database per test.

Why a database per test: each test sees exactly the migrated schema and nothing another test
left behind, with no mocking and no shared state. Copying a migrated template database is a
file copy on the server (tens of milliseconds), far cheaper than migrating again.

The server is shaped like a Supabase project (tests/supabase_bootstrap.py): the bot logs in as
the non-superuser `postgres`, owns what it migrates, and meets Supabase's default grants and
`auth` functions. `dsn_for` gives the bot's DSN for a database; `superuser_dsn_for` the
supabase_admin one, for what only Supabase itself could do.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

import asyncpg

from storage.embedded import start_embedded, with_database
from storage.migrations import SQL_DIR, migrate
from tests import supabase_bootstrap as supabase

TEMPLATE = f"ptl_test_template_{os.getpid()}"
_counter = itertools.count(1)


async def admin_dsn() -> str:
    """A superuser DSN (supabase_admin) on a Supabase-shaped server: `PTL_TEST_DATABASE_URL`
    if set (e.g. a supabase/postgres container, logged in as supabase_admin), else a fresh
    embedded cluster made to look like one."""
    url = os.environ.get("PTL_TEST_DATABASE_URL")
    if url:
        admin = url
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="ptl-test-pg-"))
        bootstrap = start_embedded(data_dir)
        await _throwaway_durability(bootstrap)
        admin = await supabase.take_over_embedded_cluster(bootstrap)
    await supabase.create_roles(admin)
    return admin


async def _throwaway_durability(admin: str) -> None:
    """The test server's data dies with the session: skip fsync so `create database ...
    strategy file_copy` (a checkpoint per test) costs a third of the time. Only this
    throwaway cluster is changed; never a server given by PTL_TEST_DATABASE_URL."""
    conn = await asyncpg.connect(admin)
    try:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            await conn.execute(f"alter system set {setting} = off")
        await conn.execute("select pg_reload_conf()")
    finally:
        await conn.close()


def superuser_dsn_for(admin: str, database: str) -> str:
    if "?" in admin or admin.rstrip("/").count("/") >= 3:
        return with_database(admin, database)
    return f"{admin.rstrip('/')}/{database}"


def dsn_for(admin: str, database: str) -> str:
    """The bot's DSN for `database`: logged in as `postgres`, as on Supabase."""
    return supabase.role_dsn(superuser_dsn_for(admin, database), supabase.BOT_ROLE)


async def create_database(admin: str, name: str, *, template: str | None = None) -> None:
    """A database owned by `postgres`, set up as a Supabase project's (or copied from one)."""
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        copy = f' template "{template}" strategy file_copy' if template else ""
        await conn.execute(f'create database "{name}" owner {supabase.BOT_ROLE}{copy}')
    finally:
        await conn.close()
    if template is None:
        await supabase.prepare_database(superuser_dsn_for(admin, name))


async def create_template(admin: str) -> None:
    await create_database(admin, TEMPLATE)
    await migrate(dsn_for(admin, TEMPLATE))


async def create_test_database(admin: str) -> str:
    name = f"ptl_test_{os.getpid()}_{next(_counter)}"
    await create_database(admin, name, template=TEMPLATE)
    return name


async def drop_database(admin: str, name: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


async def migrate_before(dsn: str, tmp_path: Path, first_new: str) -> None:
    """Migrate `dsn` as the bot was before migration `first_new` (and those after it) existed,
    to test what a migration does to a database that already holds rows."""
    partial = tmp_path / "sql"
    partial.mkdir()
    for path in sorted(SQL_DIR.glob("*.sql")):
        if path.name < first_new:
            shutil.copy(path, partial / path.name)
    await migrate(dsn, partial)
