"""Shared fixtures: a real Postgres (migrated), a Database per test, a fixed clock.

Database fixtures are lazy: pure tests (the rules engine, dates) never start a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from tests import harness, pg


@pytest.fixture(scope="session")
async def pg_admin() -> AsyncIterator[str]:
    """Admin DSN of the session's Postgres, with a migrated template database."""
    admin = await pg.admin_dsn()
    await pg.create_template(admin)
    yield admin


@pytest.fixture
async def db_dsn(pg_admin: str) -> AsyncIterator[str]:
    """DSN of a fresh, fully migrated database for this test only."""
    name = await pg.create_test_database(pg_admin)
    yield pg.dsn_for(pg_admin, name)
    await pg.drop_database(pg_admin, name)


@pytest.fixture
async def db(db_dsn: str) -> AsyncIterator[Database]:
    database = await Database.connect(db_dsn, min_size=1, max_size=5)
    yield database
    await database.close()


@pytest.fixture
async def bot(db: Database) -> AsyncIterator[harness.Bot]:
    """A real Application on this test's database and the offline Bot API."""
    instance = await harness.make_bot(db)
    yield instance
    await harness.close_bot(instance)
