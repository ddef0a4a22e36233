"""Cohorts (a tutor's class) and their members: the tables and the join path.

Why invite codes are random tokens: a deep link `t.me/<bot>?start=join_<code>` is shared in
class chats and emails, so the code must be unguessable (not the cohort id) and replaceable:
rotating it makes every old link stop working without touching the members who already
joined. Tutor-side management queries live in `storage/tutoring.py`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from storage.db import Database, normalise_email

# Telegram's start parameter: up to 64 characters from [A-Za-z0-9_-]. "join_" + 16 fits well.
INVITE_PREFIX = "join_"
INVITE_CODE = re.compile(r"^[A-Za-z0-9_-]{8,59}$")
_INVITE_BYTES = 12  # 16 URL-safe characters, 96 bits of randomness


def new_invite_code() -> str:
    return secrets.token_urlsafe(_INVITE_BYTES)


def is_invite_code(value: str) -> bool:
    return bool(INVITE_CODE.fullmatch(value))


@dataclass(frozen=True)
class Cohort:
    id: int
    name: str
    tutor_email: str
    invite_code: str
    created_at: datetime
    archived_at: datetime | None

    @property
    def start_parameter(self) -> str:
        """The deep-link payload: `https://t.me/<bot>?start=<this>`."""
        return INVITE_PREFIX + self.invite_code


JoinStatus = Literal["joined", "rejoined", "already_member"]

_COLUMNS = "id, name, tutor_email, invite_code, created_at, archived_at"


class CohortRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, name: str, tutor_email: str) -> Cohort:
        name = name.strip()
        if not name:
            raise ValueError("a cohort needs a name")
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "insert into ptl_bot.cohorts (name, tutor_email, invite_code)"
                f" values ($1, $2, $3) returning {_COLUMNS}",
                name,
                normalise_email(tutor_email),
                new_invite_code(),
            )
        return Cohort(**dict(row))

    async def rotate_invite(self, cohort_id: int) -> Cohort | None:
        """Give the cohort a new invite code; links with the old one stop working."""
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"update ptl_bot.cohorts set invite_code = $2 where id = $1 returning {_COLUMNS}",
                cohort_id,
                new_invite_code(),
            )
        return Cohort(**dict(row)) if row else None

    async def get(self, cohort_id: int) -> Cohort | None:
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"select {_COLUMNS} from ptl_bot.cohorts where id = $1", cohort_id
            )
        return Cohort(**dict(row)) if row else None

    async def find_by_code(self, invite_code: str) -> Cohort | None:
        """The open (not archived) cohort with this invite code, if any."""
        if not is_invite_code(invite_code):
            return None
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"select {_COLUMNS} from ptl_bot.cohorts"
                " where invite_code = $1 and archived_at is null",
                invite_code,
            )
        return Cohort(**dict(row)) if row else None

    async def join(self, cohort_id: int, email: str) -> JoinStatus:
        """Add a member; idempotent. A member the tutor had removed is added back, because
        the invite link is the tutor's own permission (rotate it to withdraw it)."""
        email = normalise_email(email)
        async with self.db.service() as conn:
            previous = await conn.fetchrow(
                "select removed_at from ptl_bot.cohort_members"
                " where cohort_id = $1 and email = $2 for update",
                cohort_id,
                email,
            )
            if previous is None:
                await conn.execute(
                    "insert into ptl_bot.cohort_members (cohort_id, email) values ($1, $2)"
                    " on conflict (cohort_id, email) do nothing",
                    cohort_id,
                    email,
                )
                return "joined"
            if previous["removed_at"] is None:
                return "already_member"
            await conn.execute(
                "update ptl_bot.cohort_members set removed_at = null, joined_at = now()"
                " where cohort_id = $1 and email = $2",
                cohort_id,
                email,
            )
            return "rejoined"

    async def memberships(self, email: str) -> list[Cohort]:
        """Open cohorts this email currently belongs to, oldest first."""
        async with self.db.service() as conn:
            rows = await conn.fetch(
                f"select {', '.join('c.' + c for c in _COLUMNS.split(', '))}"
                " from ptl_bot.cohorts c join ptl_bot.cohort_members m on m.cohort_id = c.id"
                " where m.email = $1 and m.removed_at is null and c.archived_at is null"
                " order by m.joined_at, c.id",
                normalise_email(email),
            )
        return [Cohort(**dict(r)) for r in rows]
