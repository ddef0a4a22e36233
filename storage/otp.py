"""One-time-code state: challenges (limits, expiry, wrong tries), bot-made codes, the hash key.

Why in the database: the limits must hold across restarts and between replicas, so a student
cannot reset their wrong tries or resend allowance by waiting for a redeploy. Every decision
that reads counts and then writes (reserving a send, spending a try) happens in one
transaction under advisory locks or as one conditional UPDATE, so two replicas (or two quick
taps) cannot both slip under a limit.

Times come from the caller (the bot's Clock), never from `now()` in SQL, so tests can move
time and the console's `--today` behaves consistently. Emails and codes arrive here already
hashed; this module never sees either in clear.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from storage.db import Database

ONE_HOUR = timedelta(hours=1)
# Challenge rows older than this are deleted on the next reservation: the hourly window is all
# the limits need, and a day keeps enough for an operator to look at a recent complaint.
RETENTION = timedelta(days=1)

RefusalReason = Literal["too_soon", "hourly_cap"]
CodeCheck = Literal["ok", "wrong", "expired", "locked"]


@dataclass(frozen=True)
class Challenge:
    id: int
    telegram_user_id: int
    email_hash: str
    verifier: str
    created_at: datetime
    expires_at: datetime
    attempts: int
    state: str


@dataclass(frozen=True)
class Refusal:
    """A new code may not be sent yet; `retry_at` is the first moment it may."""

    reason: RefusalReason
    retry_at: datetime


@dataclass(frozen=True)
class Attempt:
    """The outcome of spending one try on a challenge."""

    challenge: Challenge | None  # None: no live challenge (none, expired or locked)
    why_not: Literal["none", "expired", "locked"] | None = None


_CHALLENGE_COLUMNS = (
    "id, telegram_user_id, email_hash, verifier, created_at, expires_at, attempts, state"
)


def _challenge(row: object) -> Challenge:
    return Challenge(**dict(row))  # type: ignore[call-overload]


def _lock_key(kind: str, value: str) -> str:
    return f"ptl-otp:{kind}:{value}"


class OtpRepository:
    """Storage for the verification flow (see module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._key: bytes | None = None

    # -- the hashing key -------------------------------------------------------------------
    async def hmac_key(self, configured: str | None) -> bytes:
        """The key for hashing codes and emails: OTP_SECRET if set, else a random key made
        once and kept in `ptl_bot.secrets`, so it survives restarts and replicas share it."""
        if configured:
            return configured.encode()
        if self._key is None:
            async with self.db.service() as conn:
                await conn.execute(
                    "insert into ptl_bot.secrets (name, value) values ('otp_secret', $1)"
                    " on conflict (name) do nothing",
                    secrets.token_urlsafe(48),
                )
                value: str = await conn.fetchval(
                    "select value from ptl_bot.secrets where name = 'otp_secret'"
                )
            self._key = value.encode()
        return self._key

    # -- challenges: limits and tries -------------------------------------------------------
    async def reserve(
        self,
        *,
        telegram_user_id: int,
        email_hash: str,
        verifier: str,
        now: datetime,
        ttl: timedelta,
        min_interval: timedelta,
        hourly_cap: int,
    ) -> Challenge | Refusal:
        """Start a new challenge unless the user or the email is over a sending limit.

        Limits count every send in the last hour that did not fail, per Telegram user and per
        email hash: no new code within `min_interval` of the last one, at most `hourly_cap`
        in any hour. On success the new challenge is returned in state `sending` (it already
        counts, so a second tap cannot race it); `mark_sent` makes it the live one.
        """
        async with self.db.service() as conn:
            await conn.execute(
                "select pg_advisory_xact_lock(hashtextextended($1, 0)),"
                " pg_advisory_xact_lock(hashtextextended($2, 0))",
                _lock_key("user", str(telegram_user_id)),
                _lock_key("email", email_hash),
            )
            rows = await conn.fetch(
                "select telegram_user_id, email_hash, created_at from ptl_bot.otp_challenges"
                " where (telegram_user_id = $1 or email_hash = $2) and state <> 'failed'"
                " and created_at > $3 and created_at <= $4 order by created_at",
                telegram_user_id,
                email_hash,
                now - ONE_HOUR,
                now,
            )
            refusal = _refusal(rows, telegram_user_id, email_hash, now, min_interval, hourly_cap)
            if refusal is not None:
                return refusal
            await conn.execute(
                "delete from ptl_bot.otp_challenges where created_at < $1", now - RETENTION
            )
            row = await conn.fetchrow(
                "insert into ptl_bot.otp_challenges"
                " (telegram_user_id, email_hash, verifier, created_at, expires_at)"
                f" values ($1, $2, $3, $4, $5) returning {_CHALLENGE_COLUMNS}",
                telegram_user_id,
                email_hash,
                verifier,
                now,
                now + ttl,
            )
        return _challenge(row)

    async def next_send_at(
        self,
        *,
        telegram_user_id: int,
        email_hash: str,
        now: datetime,
        min_interval: timedelta,
        hourly_cap: int,
    ) -> Refusal | None:
        """What `reserve` would refuse right now, without reserving (for refusal messages)."""
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "select telegram_user_id, email_hash, created_at from ptl_bot.otp_challenges"
                " where (telegram_user_id = $1 or email_hash = $2) and state <> 'failed'"
                " and created_at > $3 and created_at <= $4 order by created_at",
                telegram_user_id,
                email_hash,
                now - ONE_HOUR,
                now,
            )
        return _refusal(rows, telegram_user_id, email_hash, now, min_interval, hourly_cap)

    async def mark_sent(self, challenge_id: int, now: datetime) -> None:
        """The code went out: this challenge is now the user's live one, and any earlier one
        stops counting (only now, so a failed send leaves the previous code usable)."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.otp_challenges set state = 'superseded', closed_at = $2"
                " where telegram_user_id = (select telegram_user_id from ptl_bot.otp_challenges"
                "                           where id = $1)"
                " and id <> $1 and state in ('sending', 'pending')",
                challenge_id,
                now,
            )
            await conn.execute(
                "update ptl_bot.otp_challenges set state = 'pending' where id = $1", challenge_id
            )

    async def mark(self, challenge_id: int, state: str, now: datetime) -> None:
        """Close a challenge (failed, verified, expired, locked...)."""
        closed = None if state == "pending" else now
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.otp_challenges set state = $2, closed_at = $3 where id = $1",
                challenge_id,
                state,
                closed,
            )

    async def live(self, telegram_user_id: int) -> Challenge | None:
        """The user's newest challenge if it is still waiting for a code (maybe expired)."""
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"select {_CHALLENGE_COLUMNS} from ptl_bot.otp_challenges"
                " where telegram_user_id = $1 and state = 'pending'"
                " order by created_at desc limit 1",
                telegram_user_id,
            )
        return _challenge(row) if row else None

    async def spend_attempt(
        self, telegram_user_id: int, email_hash: str, *, now: datetime, max_attempts: int
    ) -> Attempt:
        """Use up one try on the user's live challenge for this email, atomically.

        The try is counted *before* the code is checked, so parallel guesses cannot exceed
        `max_attempts`; `refund_attempt` gives it back when the check could not be made.
        """
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "update ptl_bot.otp_challenges set attempts = attempts + 1"
                " where id = (select id from ptl_bot.otp_challenges"
                "             where telegram_user_id = $1 and email_hash = $2"
                "             and state = 'pending' order by created_at desc limit 1)"
                " and attempts < $3 and expires_at > $4"
                f" returning {_CHALLENGE_COLUMNS}",
                telegram_user_id,
                email_hash,
                max_attempts,
                now,
            )
            if row is not None:
                return Attempt(_challenge(row))
            latest = await conn.fetchrow(
                f"select {_CHALLENGE_COLUMNS} from ptl_bot.otp_challenges"
                " where telegram_user_id = $1 and email_hash = $2 and state = 'pending'"
                " order by created_at desc limit 1",
                telegram_user_id,
                email_hash,
            )
            if latest is None:
                return Attempt(None, "none")
            if latest["expires_at"] <= now:
                await conn.execute(
                    "update ptl_bot.otp_challenges set state = 'expired', closed_at = $2"
                    " where id = $1",
                    latest["id"],
                    now,
                )
                return Attempt(None, "expired")
            await conn.execute(
                "update ptl_bot.otp_challenges set state = 'locked', closed_at = $2 where id = $1",
                latest["id"],
                now,
            )
            return Attempt(None, "locked")

    async def refund_attempt(self, challenge_id: int) -> None:
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.otp_challenges set attempts = greatest(attempts - 1, 0)"
                " where id = $1",
                challenge_id,
            )

    async def cancel(self, telegram_user_id: int, now: datetime) -> None:
        """The student gave up or changed email: their waiting code stops working."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.otp_challenges set state = 'cancelled', closed_at = $2"
                " where telegram_user_id = $1 and state in ('sending', 'pending')",
                telegram_user_id,
                now,
            )

    # -- codes the bot makes (SMTP / console) ------------------------------------------------
    async def put_code(
        self, email_hash: str, code_hash: str, *, now: datetime, expires_at: datetime
    ) -> None:
        """Store the newest code for an email; any older code for it stops working."""
        async with self.db.service() as conn:
            await conn.execute(
                "insert into ptl_bot.otp_codes (email_hash, code_hash, created_at, expires_at)"
                " values ($1, $2, $3, $4) on conflict (email_hash) do update set"
                " code_hash = excluded.code_hash, created_at = excluded.created_at,"
                " expires_at = excluded.expires_at, attempts = 0",
                email_hash,
                code_hash,
                now,
                expires_at,
            )
            await conn.execute("delete from ptl_bot.otp_codes where expires_at < $1", now)

    async def check_code(
        self, email_hash: str, code_hash: str, *, now: datetime, max_attempts: int
    ) -> CodeCheck:
        """Compare a candidate code (as its hash) with the stored one; a match consumes it.

        Comparison is constant-time; `max_attempts` wrong tries delete the code.
        """
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "select code_hash, expires_at, attempts from ptl_bot.otp_codes"
                " where email_hash = $1 for update",
                email_hash,
            )
            if row is None:
                return "wrong"
            if row["expires_at"] <= now:
                await conn.execute(
                    "delete from ptl_bot.otp_codes where email_hash = $1", email_hash
                )
                return "expired"
            if secrets.compare_digest(row["code_hash"], code_hash):
                await conn.execute(
                    "delete from ptl_bot.otp_codes where email_hash = $1", email_hash
                )
                return "ok"
            if row["attempts"] + 1 >= max_attempts:
                await conn.execute(
                    "delete from ptl_bot.otp_codes where email_hash = $1", email_hash
                )
                return "locked"
            await conn.execute(
                "update ptl_bot.otp_codes set attempts = attempts + 1 where email_hash = $1",
                email_hash,
            )
            return "wrong"


def _refusal(
    rows: list[Any],
    telegram_user_id: int,
    email_hash: str,
    now: datetime,
    min_interval: timedelta,
    hourly_cap: int,
) -> Refusal | None:
    """The latest-lifting refusal across the two subjects (this user, this email)."""
    refusal: Refusal | None = None
    for subset in (
        [r["created_at"] for r in rows if r["telegram_user_id"] == telegram_user_id],
        [r["created_at"] for r in rows if r["email_hash"] == email_hash],
    ):
        candidate = _limit(subset, now, min_interval, hourly_cap)
        if candidate and (refusal is None or candidate.retry_at > refusal.retry_at):
            refusal = candidate
    return refusal


def _limit(
    sent: list[datetime], now: datetime, min_interval: timedelta, hourly_cap: int
) -> Refusal | None:
    """The refusal (if any) for one subject (a user or an email) given its sends this hour."""
    if not sent:
        return None
    refusals: list[Refusal] = []
    last = sent[-1]
    if now - last < min_interval:
        refusals.append(Refusal("too_soon", last + min_interval))
    if len(sent) >= hourly_cap:
        refusals.append(Refusal("hourly_cap", sent[len(sent) - hourly_cap] + ONE_HOUR))
    return max(refusals, key=lambda r: r.retry_at) if refusals else None
