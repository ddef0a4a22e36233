"""One-time-code state: challenges (limits, expiry, wrong tries), bot-made codes, the hash key.

Why in the database: the limits must hold across restarts and between replicas, so a student
cannot reset their wrong tries or resend allowance by waiting for a redeploy. Every decision
that reads counts and then writes (reserving a send, spending a try) happens in one
transaction under advisory locks or as one conditional UPDATE, so two replicas (or two quick
taps) cannot both slip under a limit.

Why the database's clock: every stamp and every comparison uses Postgres's `now()`, so all
replicas measure "a minute ago" and "expired" against one clock, and no replica's clock
running fast or slow can stamp rows another replica then ignores or misjudges. (The bot's
injectable Clock still decides what a student *reads*: a refusal carries how long to wait,
and the caller turns that into a time on its own clock.)

Why codes belong to an account and an address: a challenge is one Telegram account asking
for a code for one email. Its wrong tries, and the code the bot made for it, are that pair's
alone, so another account asking for (and guessing at) the same address cannot burn or use
the code someone else is waiting for. Emails and codes arrive here already hashed; this
module never sees either in clear.
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

RefusalReason = Literal["too_soon", "hourly_cap", "email_cap"]
CodeCheck = Literal["ok", "wrong", "expired", "locked"]
NoChallenge = Literal["none", "expired", "locked", "superseded"]


@dataclass(frozen=True)
class SendLimits:
    """How often codes may be sent: per Telegram account (whatever the address), and per
    address from all accounts together. The address's cap is higher than an account's, so
    no single account can use up an address's allowance."""

    account_interval: timedelta
    account_hourly: int
    email_hourly: int


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
    """A new code may not be sent yet; `retry_in` is how long until it may (database time)."""

    reason: RefusalReason
    retry_in: timedelta


@dataclass(frozen=True)
class Attempt:
    """The outcome of spending one try on a challenge."""

    challenge: Challenge | None  # None: no live challenge (see why_not)
    why_not: NoChallenge | None = None


_CHALLENGE_COLUMNS = (
    "id, telegram_user_id, email_hash, verifier, created_at, expires_at, attempts, state"
)
# The sends that count towards the limits: this hour's, except deliveries that failed.
_RECENT = (
    "select telegram_user_id, email_hash, created_at, now() as db_now"
    " from ptl_bot.otp_challenges"
    " where (telegram_user_id = $1 or email_hash = $2) and state <> 'failed'"
    " and created_at > now() - interval '1 hour' order by created_at"
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
        ttl: timedelta,
        limits: SendLimits,
    ) -> Challenge | Refusal:
        """Start a new challenge unless the account or the address is over a limit.

        On success the new challenge is returned in state `sending` (it already counts, so a
        second tap cannot race it); `mark_sent` makes it the live one."""
        async with self.db.service() as conn:
            await conn.execute(
                "select pg_advisory_xact_lock(hashtextextended($1, 0)),"
                " pg_advisory_xact_lock(hashtextextended($2, 0))",
                _lock_key("user", str(telegram_user_id)),
                _lock_key("email", email_hash),
            )
            rows = await conn.fetch(_RECENT, telegram_user_id, email_hash)
            refusal = _refusal(rows, telegram_user_id, email_hash, limits)
            if refusal is not None:
                return refusal
            await conn.execute(
                "delete from ptl_bot.otp_challenges where created_at < now() - $1::interval",
                RETENTION,
            )
            row = await conn.fetchrow(
                "insert into ptl_bot.otp_challenges"
                " (telegram_user_id, email_hash, verifier, created_at, expires_at)"
                " values ($1, $2, $3, now(), now() + $4::interval)"
                f" returning {_CHALLENGE_COLUMNS}",
                telegram_user_id,
                email_hash,
                verifier,
                ttl,
            )
        return _challenge(row)

    async def next_send_at(
        self, *, telegram_user_id: int, email_hash: str, limits: SendLimits
    ) -> Refusal | None:
        """What `reserve` would refuse right now, without reserving (for refusal messages)."""
        async with self.db.service() as conn:
            rows = await conn.fetch(_RECENT, telegram_user_id, email_hash)
        return _refusal(rows, telegram_user_id, email_hash, limits)

    async def mark_sent(self, challenge_id: int) -> None:
        """The code went out: this challenge is now its account's live one, and the account's
        earlier one stops counting (only now, so a failed send leaves the previous code
        usable)."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.otp_challenges set state = 'superseded', closed_at = now()"
                " where telegram_user_id = (select telegram_user_id from ptl_bot.otp_challenges"
                "                           where id = $1)"
                " and id <> $1 and state in ('sending', 'pending')",
                challenge_id,
            )
            await conn.execute(
                "update ptl_bot.otp_challenges set state = 'pending' where id = $1",
                challenge_id,
            )

    async def mark(self, challenge_id: int, state: str) -> None:
        """Close a challenge (failed, verified, expired, locked...)."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.otp_challenges set state = $2,"
                " closed_at = case when $2 = 'pending' then null else now() end where id = $1",
                challenge_id,
                state,
            )

    async def live(self, telegram_user_id: int) -> Challenge | None:
        """The account's newest challenge if a code is still waiting for it (not expired)."""
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"select {_CHALLENGE_COLUMNS} from ptl_bot.otp_challenges"
                " where telegram_user_id = $1 and state = 'pending' and expires_at > now()"
                " order by created_at desc limit 1",
                telegram_user_id,
            )
        return _challenge(row) if row else None

    async def spend_attempt(
        self,
        telegram_user_id: int,
        email_hash: str,
        *,
        max_attempts: int,
        only_newest_for_email: bool = False,
    ) -> Attempt:
        """Use up one try on the account's live challenge for this address, atomically.

        The try is counted *before* the code is checked, so parallel guesses cannot exceed
        `max_attempts`; `refund_attempt` gives it back when the check could not be made.
        `only_newest_for_email`: the verifier keeps one code per address (Supabase Auth: a
        new sign-in code replaces the last), so only the challenge whose request produced the
        current code may be completed; an older one is `superseded`, and a code another
        account asked for can never complete this account's challenge.
        """
        async with self.db.service() as conn:
            latest = await conn.fetchrow(
                f"select {_CHALLENGE_COLUMNS}, expires_at <= now() as expired,"
                " exists (select 1 from ptl_bot.otp_challenges o"
                "         where o.email_hash = c.email_hash and o.id > c.id"
                "         and o.state not in ('sending', 'failed')) as newer"
                " from ptl_bot.otp_challenges c"
                " where telegram_user_id = $1 and email_hash = $2 and state = 'pending'"
                " order by created_at desc limit 1",
                telegram_user_id,
                email_hash,
            )
            if latest is None:
                return Attempt(None, "none")
            why_not: NoChallenge | None = None
            if latest["expired"]:
                why_not = "expired"
            elif only_newest_for_email and latest["newer"]:
                why_not = "superseded"
            if why_not is not None:
                await self._close(conn, latest["id"], why_not)
                return Attempt(None, why_not)
            row = await conn.fetchrow(
                "update ptl_bot.otp_challenges set attempts = attempts + 1"
                " where id = $1 and state = 'pending' and attempts < $2 and expires_at > now()"
                f" returning {_CHALLENGE_COLUMNS}",
                latest["id"],
                max_attempts,
            )
            if row is not None:
                return Attempt(_challenge(row))
            await self._close(conn, latest["id"], "locked")
            return Attempt(None, "locked")

    @staticmethod
    async def _close(conn: Any, challenge_id: int, state: str) -> None:
        await conn.execute(
            "update ptl_bot.otp_challenges set state = $2, closed_at = now()"
            " where id = $1 and state = 'pending'",
            challenge_id,
            state,
        )

    async def refund_attempt(self, challenge_id: int) -> None:
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.otp_challenges set attempts = greatest(attempts - 1, 0)"
                " where id = $1",
                challenge_id,
            )

    async def cancel(self, telegram_user_id: int) -> None:
        """The student gave up or changed email: their waiting code stops working."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.otp_challenges set state = 'cancelled', closed_at = now()"
                " where telegram_user_id = $1 and state in ('sending', 'pending')",
                telegram_user_id,
            )

    # -- codes the bot makes (SMTP / console) ------------------------------------------------
    async def put_code(
        self, telegram_user_id: int, email_hash: str, code_hash: str, *, ttl: timedelta
    ) -> None:
        """Store the newest code this account asked for this address; the pair's older code
        stops working, other accounts' codes for the address do not."""
        async with self.db.service() as conn:
            await conn.execute(
                "insert into ptl_bot.otp_codes"
                " (telegram_user_id, email_hash, code_hash, created_at, expires_at)"
                " values ($1, $2, $3, now(), now() + $4::interval)"
                " on conflict (telegram_user_id, email_hash) do update set"
                " code_hash = excluded.code_hash, created_at = excluded.created_at,"
                " expires_at = excluded.expires_at, attempts = 0",
                telegram_user_id,
                email_hash,
                code_hash,
                ttl,
            )
            await conn.execute("delete from ptl_bot.otp_codes where expires_at < now()")

    async def check_code(
        self, telegram_user_id: int, email_hash: str, code_hash: str, *, max_attempts: int
    ) -> CodeCheck:
        """Compare a candidate code (as its hash) with the one this account asked for this
        address; a match consumes it. Constant-time comparison; `max_attempts` wrong tries
        delete the code."""
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "select code_hash, expires_at <= now() as expired, attempts"
                " from ptl_bot.otp_codes where telegram_user_id = $1 and email_hash = $2"
                " for update",
                telegram_user_id,
                email_hash,
            )
            if row is None:
                return "wrong"
            gone = "delete from ptl_bot.otp_codes where telegram_user_id = $1 and email_hash = $2"
            if row["expired"]:
                await conn.execute(gone, telegram_user_id, email_hash)
                return "expired"
            if secrets.compare_digest(row["code_hash"], code_hash):
                await conn.execute(gone, telegram_user_id, email_hash)
                return "ok"
            if row["attempts"] + 1 >= max_attempts:
                await conn.execute(gone, telegram_user_id, email_hash)
                return "locked"
            await conn.execute(
                "update ptl_bot.otp_codes set attempts = attempts + 1"
                " where telegram_user_id = $1 and email_hash = $2",
                telegram_user_id,
                email_hash,
            )
            return "wrong"


def _refusal(
    rows: list[Any], telegram_user_id: int, email_hash: str, limits: SendLimits
) -> Refusal | None:
    """The latest-lifting refusal across the account's limits and the address's cap."""
    if not rows:
        return None
    now: datetime = rows[0]["db_now"]
    refusals: list[Refusal] = []
    mine = [r["created_at"] for r in rows if r["telegram_user_id"] == telegram_user_id]
    if mine and now - mine[-1] < limits.account_interval:
        refusals.append(Refusal("too_soon", mine[-1] + limits.account_interval - now))
    if len(mine) >= limits.account_hourly:
        refusals.append(Refusal("hourly_cap", mine[-limits.account_hourly] + ONE_HOUR - now))
    address = [r["created_at"] for r in rows if r["email_hash"] == email_hash]
    if len(address) >= limits.email_hourly:
        refusals.append(Refusal("email_cap", address[-limits.email_hourly] + ONE_HOUR - now))
    return max(refusals, key=lambda r: r.retry_in) if refusals else None
