"""Telegram account <-> verified platform email links, and staff roles.

A link is what turns a Telegram user into a student: the email on the active link is the
identity `Database.student()` runs under. Only the verification flow creates links.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from storage.db import Database, normalise_email


class Link(BaseModel):
    telegram_user_id: int
    chat_id: int
    email: str
    first_name: str | None = None
    verified_at: datetime
    active: bool
    reminder_time: str | None = None
    reminder_days: str | None = None
    reminder_window_days: int | None = None
    reminders_muted: bool = False


_LINK_COLUMNS = (
    "telegram_user_id, chat_id, email, first_name, verified_at, active,"
    " to_char(reminder_time, 'HH24:MI') as reminder_time, reminder_days,"
    " reminder_window_days, reminders_muted"
)


class LinkRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def active_for_user(self, telegram_user_id: int) -> Link | None:
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"select {_LINK_COLUMNS} from ptl_bot.telegram_links"
                " where telegram_user_id = $1 and active",
                telegram_user_id,
            )
        return Link.model_validate(dict(row)) if row else None

    async def identity(self, telegram_user_id: int) -> tuple[Link, str | None] | None:
        """The active link and the email's staff role, in one round trip.

        Every student command asks this first, so it is a single autocommit statement
        rather than two transactions."""
        row = await self.db.pool.fetchrow(
            f"select {_LINK_COLUMNS}, s.role as staff_role"
            " from ptl_bot.telegram_links l left join ptl_bot.staff s using (email)"
            " where l.telegram_user_id = $1 and l.active",
            telegram_user_id,
        )
        if row is None:
            return None
        data = dict(row)
        role = data.pop("staff_role")
        return Link.model_validate(data), role

    async def active_for_email(self, email: str) -> Link | None:
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"select {_LINK_COLUMNS} from ptl_bot.telegram_links where email = $1 and active",
                normalise_email(email),
            )
        return Link.model_validate(dict(row)) if row else None

    async def link(
        self, telegram_user_id: int, chat_id: int, email: str, first_name: str | None = None
    ) -> list[Link]:
        """Create the active link after a successful verification.

        Any previous active link for this Telegram user or this email is deactivated in the
        same transaction; those links are returned so the caller can tell the old chat.
        """
        email = normalise_email(email)
        async with self.db.service() as conn:
            previous = await conn.fetch(
                f"update ptl_bot.telegram_links set active = false, deactivated_at = now(),"
                " deactivated_why = 'relinked'"
                " where active and (telegram_user_id = $1 or email = $2)"
                f" returning {_LINK_COLUMNS}",
                telegram_user_id,
                email,
            )
            # Keep the student's reminder preferences when they re-verify the same email.
            prefs = next((p for p in previous if p["email"] == email), None)
            await conn.execute(
                "insert into ptl_bot.telegram_links (telegram_user_id, chat_id, email, first_name,"
                " reminder_time, reminder_days, reminder_window_days, reminders_muted)"
                " values ($1, $2, $3, $4, $5::text::time, $6, $7, coalesce($8, false))",
                telegram_user_id,
                chat_id,
                email,
                first_name,
                prefs["reminder_time"] if prefs else None,
                prefs["reminder_days"] if prefs else None,
                prefs["reminder_window_days"] if prefs else None,
                prefs["reminders_muted"] if prefs else None,
            )
        return [Link.model_validate(dict(r)) for r in previous]

    async def unlink(self, telegram_user_id: int, why: str = "unlinked") -> bool:
        async with self.db.service() as conn:
            result = await conn.execute(
                "update ptl_bot.telegram_links set active = false, deactivated_at = now(),"
                " deactivated_why = $2 where telegram_user_id = $1 and active",
                telegram_user_id,
                why,
            )
        return result != "UPDATE 0"

    async def mark_blocked(self, chat_id: int) -> None:
        """The student blocked the bot (403): stop sending until they /start again."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.telegram_links set active = false, deactivated_at = now(),"
                " deactivated_why = 'blocked' where chat_id = $1 and active",
                chat_id,
            )

    async def reactivate_blocked(self, telegram_user_id: int, chat_id: int) -> Link | None:
        """The student unblocked the bot and sent /start: restore the link the block paused.

        Only when this user's newest link ended because of the block and its email has not
        been linked to any account since, even for a moment (verified elsewhere and unlinked
        again still counts): any later link of the email means a fresh code.
        """
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "select id, email, active, deactivated_why from ptl_bot.telegram_links"
                " where telegram_user_id = $1 order by id desc limit 1 for update",
                telegram_user_id,
            )
            if row is None or row["active"] or row["deactivated_why"] != "blocked":
                return None
            taken = await conn.fetchval(
                "select exists (select 1 from ptl_bot.telegram_links where email = $1 and id > $2)",
                row["email"],
                row["id"],
            )
            if taken:
                return None
            restored = await conn.fetchrow(
                "update ptl_bot.telegram_links set active = true, deactivated_at = null,"
                " deactivated_why = null, chat_id = $2, last_seen_at = now()"
                f" where id = $1 returning {_LINK_COLUMNS}",
                row["id"],
                chat_id,
            )
        return Link.model_validate(dict(restored)) if restored else None

    async def touch(self, telegram_user_id: int) -> None:
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.telegram_links set last_seen_at = now()"
                " where telegram_user_id = $1 and active",
                telegram_user_id,
            )


class StaffRepository:
    """Tutors and admins. Managed from the command line only."""

    ROLES = ("tutor", "admin")

    def __init__(self, db: Database) -> None:
        self.db = db

    async def role_of(self, email: str) -> str | None:
        async with self.db.service() as conn:
            role: str | None = await conn.fetchval(
                "select role from ptl_bot.staff where email = $1", normalise_email(email)
            )
        return role

    async def add(self, email: str, role: str) -> None:
        if role not in self.ROLES:
            raise ValueError(f"role must be one of {', '.join(self.ROLES)}")
        async with self.db.service() as conn:
            await conn.execute(
                "insert into ptl_bot.staff (email, role) values ($1, $2)"
                " on conflict (email) do update set role = excluded.role",
                normalise_email(email),
                role,
            )

    async def remove(self, email: str) -> bool:
        async with self.db.service() as conn:
            result = await conn.execute(
                "delete from ptl_bot.staff where email = $1", normalise_email(email)
            )
        return result != "DELETE 0"

    async def list(self) -> list[tuple[str, str]]:
        async with self.db.service() as conn:
            rows = await conn.fetch("select email, role from ptl_bot.staff order by role, email")
        return [(r["email"], r["role"]) for r in rows]
