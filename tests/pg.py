"""A real Postgres for the test session, with the real migrations, and a fresh database per test.

Why a database per test: each test sees exactly the migrated schema and nothing another test
left behind, with no mocking and no shared state. Copying a migrated template database is a
file copy on the server (tens of milliseconds), far cheaper than migrating again.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import asyncpg

from storage.embedded import start_embedded, with_database
from storage.migrations import migrate

TEMPLATE = f"ptl_test_template_{os.getpid()}"
_counter = itertools.count(1)


async def admin_dsn() -> str:
    """`PTL_TEST_DATABASE_URL` (a superuser DSN) if set, else the embedded server."""
    url = os.environ.get("PTL_TEST_DATABASE_URL")
    if url:
        return url
    data_dir = Path(tempfile.mkdtemp(prefix="ptl-test-pg-"))
    admin = start_embedded(data_dir)
    await _throwaway_durability(admin)
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


def dsn_for(admin: str, database: str) -> str:
    if "?" in admin or admin.rstrip("/").count("/") >= 3:
        return with_database(admin, database)
    return f"{admin.rstrip('/')}/{database}"


async def create_template(admin: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'drop database if exists "{TEMPLATE}" with (force)')
        await conn.execute(f'create database "{TEMPLATE}"')
    finally:
        await conn.close()
    await migrate(dsn_for(admin, TEMPLATE))


async def create_test_database(admin: str) -> str:
    name = f"ptl_test_{os.getpid()}_{next(_counter)}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'create database "{name}" template "{TEMPLATE}" strategy file_copy')
    finally:
        await conn.close()
    return name


async def drop_database(admin: str, name: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()
