"""Shared fixtures: a real Postgres (migrated), a Database per test, a fixed clock.

Database fixtures are lazy: pure tests (the rules engine, dates) never start a server.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.messages.common import SOMETHING_WENT_WRONG
from bot.runtime.offline import OfflineBotAPI
from storage.db import Database
from tests import harness, pg

_USELESS = SOMETHING_WENT_WRONG.split(" on our side", 1)[0]
"""The start of the last-resort reply ("Sorry, something went wrong"), which says nothing a
person can act on."""

_CLUMSY = re.compile(
    r"\w\((?:s|es)\)"  # "3 student(s)"
    r"|(?<![\d.,/:-])1 (?:students|patients|questions|answers|members|exercises|cohorts|weeks"
    r"|days|events|bookings|problems|people|rows|errors|warnings)\b"  # "1 weeks"
    r"|average no answers"
)
"""Tutor and student wording that reads like a form letter (issue 15 point 14): "(s)"
plurals, "1 weeks", "average no answers yet"."""


@pytest.fixture(scope="session")
async def pg_admin() -> AsyncIterator[str]:
    """Admin DSN of the session's Postgres, with a migrated template database."""
    admin = await pg.admin_dsn()
    await pg.create_template(admin)
    yield admin


@pytest.fixture
async def db_name(pg_admin: str) -> AsyncIterator[str]:
    """A fresh, fully migrated database for this test only."""
    name = await pg.create_test_database(pg_admin)
    yield name
    await pg.drop_database(pg_admin, name)


@pytest.fixture
def db_dsn(pg_admin: str, db_name: str) -> str:
    """The bot's DSN for this test's database: `postgres`, not a superuser, as on Supabase."""
    return pg.dsn_for(pg_admin, db_name)


@pytest.fixture
def superuser_dsn(pg_admin: str, db_name: str) -> str:
    """supabase_admin on this test's database: for what only Supabase itself could do
    (changing role attributes, owning objects as supabase_admin)."""
    return pg.superuser_dsn_for(pg_admin, db_name)


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


@pytest.fixture(autouse=True)
def no_reply_says_nothing_useful(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No transcript of any test contains the last-resort "something went wrong" reply: every
    path a person can take gets a reply that says what to do. Tests that provoke it on purpose
    (the error handler's own) carry `@pytest.mark.error_reference`. Nor does any reply count
    clumsily ("2 student(s)", "1 weeks"): every count is a proper plural."""
    apis: list[OfflineBotAPI] = []
    original = OfflineBotAPI.__init__

    def recording_init(self: OfflineBotAPI, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        apis.append(self)

    monkeypatch.setattr(OfflineBotAPI, "__init__", recording_init)
    yield
    if request.node.get_closest_marker("error_reference"):
        return
    for api in apis:
        for message in api.messages.values():
            assert _USELESS not in message.text, f"a reply said nothing useful: {message.text}"
            clumsy = _CLUMSY.search(message.text)
            assert clumsy is None, f"clumsy wording {clumsy.group(0)!r} in: {message.text}"
