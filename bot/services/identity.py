"""Proving an email and linking it: the policy around whichever verifier is configured.

Why here and not in the verifiers: the rules students meet must be the same with Supabase
Auth, SMTP or the console, and must hold across restarts: a code expires after 10 minutes,
5 wrong tries end it, and a new code can be had at most once a minute and 5 times an hour,
per Telegram user and per email. All of that lives in the database (storage/otp.py); the
verifier only delivers and checks. Nothing here logs an email or a code.

`join_cohort` is the one way into a cohort, shared by the /start deep link and the tutor
features.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from bot.rules.email_address import domain_allowed
from bot.services.verification import (
    CODE_TTL,
    HOURLY_CAP,
    MAX_ATTEMPTS,
    RESEND_INTERVAL,
    CheckStatus,
    SendStatus,
    Verifier,
)
from bot.services.verification.keys import email_hash
from storage.cohorts import Cohort
from storage.db import normalise_email
from storage.links import Link
from storage.otp import Refusal

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

SendState = Literal[
    "sent", "too_soon", "hourly_cap", "provider_busy", "unavailable", "rejected",
    "domain_refused",
]  # fmt: skip
CheckState = Literal["linked", "wrong", "expired", "locked", "none", "unavailable"]
JoinState = Literal["joined", "rejoined", "already_member", "invalid", "own_cohort"]


@dataclass(frozen=True)
class SendOutcome:
    status: SendState
    retry_at: datetime | None = None  # when the student may ask again (refusals)
    expires_at: datetime | None = None  # when the code stops working (sent)


@dataclass(frozen=True)
class LinkResult:
    email: str
    role: str | None
    moved_from: list[Link] = field(default_factory=list)  # other Telegram accounts unlinked
    previous_email: str | None = None  # this account's earlier email, if it changed


@dataclass(frozen=True)
class CheckOutcome:
    status: CheckState
    attempts_left: int = 0
    link: LinkResult | None = None
    next_send: Refusal | None = None  # after expired/locked/none: when a new code may be sent


@dataclass(frozen=True)
class JoinResult:
    status: JoinState
    cohort: Cohort | None = None
    queued: int = 0
    """Open exercises queued for a student who has just joined (late joiners catch up)."""


class Identity:
    """The linking flow's operations, on the services of one Application."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def verifier(self) -> Verifier:
        if self.services.verifier is None:
            raise RuntimeError("no verifier configured (build_services sets one)")
        return self.services.verifier

    async def _digest(self, email: str) -> str:
        secret = self.services.settings.otp_secret
        key = await self.services.otp.hmac_key(secret.get_secret_value() if secret else None)
        return email_hash(key, email)

    async def request_code(self, telegram_user_id: int, email: str) -> SendOutcome:
        """Ask the verifier for a new code for `email`, within the sending limits."""
        email = normalise_email(email)
        if not domain_allowed(email, self.services.settings.email_domains):
            return SendOutcome("domain_refused")
        now = self.services.clock.now()
        digest = await self._digest(email)
        reserved = await self.services.otp.reserve(
            telegram_user_id=telegram_user_id,
            email_hash=digest,
            verifier=self.verifier.name,
            now=now,
            ttl=CODE_TTL,
            min_interval=RESEND_INTERVAL,
            hourly_cap=HOURLY_CAP,
        )
        if isinstance(reserved, Refusal):
            log.info("Telegram user %s: no new code (%s)", telegram_user_id, reserved.reason)
            return SendOutcome(reserved.reason, retry_at=reserved.retry_at)
        try:
            result = await self.verifier.send_code(email)
        except BaseException:
            await self.services.otp.mark(reserved.id, "failed", now)
            raise
        if result.status is SendStatus.SENT:
            await self.services.otp.mark_sent(reserved.id, now)
            log.info(
                "Telegram user %s: a code was sent via %s", telegram_user_id, self.verifier.name
            )
            return SendOutcome("sent", expires_at=reserved.expires_at)
        await self.services.otp.mark(reserved.id, "failed", now)
        log.info("Telegram user %s: the code was not sent (%s)", telegram_user_id, result.status)
        if result.status is SendStatus.RATE_LIMITED:
            retry = now + timedelta(seconds=result.retry_after) if result.retry_after else None
            return SendOutcome("provider_busy", retry_at=retry)
        if result.status is SendStatus.REJECTED:
            return SendOutcome("rejected")
        return SendOutcome("unavailable")

    async def next_send(self, telegram_user_id: int, email: str) -> Refusal | None:
        """Why a new code could not be sent right now, if it could not."""
        return await self.services.otp.next_send_at(
            telegram_user_id=telegram_user_id,
            email_hash=await self._digest(normalise_email(email)),
            now=self.services.clock.now(),
            min_interval=RESEND_INTERVAL,
            hourly_cap=HOURLY_CAP,
        )

    async def waiting_for(self, telegram_user_id: int, email: str) -> bool:
        """Is a sent, unexpired code waiting for this user and email?"""
        challenge = await self.services.otp.live(telegram_user_id)
        return (
            challenge is not None
            and challenge.email_hash == await self._digest(normalise_email(email))
            and challenge.expires_at > self.services.clock.now()
        )

    async def cancel(self, telegram_user_id: int) -> None:
        await self.services.otp.cancel(telegram_user_id, self.services.clock.now())

    async def check_code(
        self,
        telegram_user_id: int,
        chat_id: int,
        email: str,
        code: str,
        first_name: str | None = None,
    ) -> CheckOutcome:
        """Spend one try on the user's waiting code; link the account if it is right."""
        email = normalise_email(email)
        otp = self.services.otp
        now = self.services.clock.now()
        attempt = await otp.spend_attempt(
            telegram_user_id, await self._digest(email), now=now, max_attempts=MAX_ATTEMPTS
        )
        challenge = attempt.challenge
        if challenge is None:
            why = attempt.why_not or "none"
            return CheckOutcome(why, next_send=await self.next_send(telegram_user_id, email))
        try:
            result = await self.verifier.check_code(email, code)
        except BaseException:
            await otp.refund_attempt(challenge.id)
            raise
        left = MAX_ATTEMPTS - challenge.attempts
        if result.status is CheckStatus.OK:
            link = await self._link(telegram_user_id, chat_id, email, first_name)
            await otp.mark(challenge.id, "verified", now)
            return CheckOutcome("linked", link=link)
        if result.status is CheckStatus.UNAVAILABLE:
            await otp.refund_attempt(challenge.id)
            return CheckOutcome("unavailable", attempts_left=left + 1)
        if result.status is CheckStatus.EXPIRED:
            await otp.mark(challenge.id, "expired", now)
            return CheckOutcome("expired", next_send=await self.next_send(telegram_user_id, email))
        if result.status is CheckStatus.LOCKED or left <= 0:
            await otp.mark(challenge.id, "locked", now)
            log.info("Telegram user %s: the code is locked after wrong tries", telegram_user_id)
            return CheckOutcome("locked", next_send=await self.next_send(telegram_user_id, email))
        return CheckOutcome("wrong", attempts_left=left)

    async def _link(
        self, telegram_user_id: int, chat_id: int, email: str, first_name: str | None
    ) -> LinkResult:
        previous = await self.services.links.link(telegram_user_id, chat_id, email, first_name)
        role = await self.services.staff.role_of(email)
        moved = [p for p in previous if p.telegram_user_id != telegram_user_id]
        earlier = next(
            (
                p.email
                for p in previous
                if p.telegram_user_id == telegram_user_id and p.email != email
            ),
            None,
        )
        log.info(
            "Telegram user %s linked after verification (%d other account(s) unlinked)",
            telegram_user_id,
            len(moved),
        )
        return LinkResult(email, role, moved, earlier)


async def join_cohort(services: Services, email: str, invite_code: str) -> JoinResult:
    """Add the (verified) `email` to the open cohort whose invite code this is.

    Idempotent: joining twice reports `already_member`. A bad, rotated or archived code is
    `invalid`, with no hint of which. The cohort's own tutor is not added as a member.
    """
    cohort = await services.cohorts.find_by_code(invite_code)
    if cohort is None:
        return JoinResult("invalid")
    email = normalise_email(email)
    if cohort.tutor_email == email:
        return JoinResult("own_cohort", cohort)
    status = await services.cohorts.join(cohort.id, email)
    queued = 0
    if status == "joined":  # the cohort's exercises still open (not past due) reach them too
        queued = await services.exercises.deliver_open_exercises(
            cohort.id, email, services.clock.today()
        )
    return JoinResult(status, cohort, queued)
