"""Proving an email and linking it: the policy around whichever verifier is configured.

Why here and not in the verifiers: the rules students meet must be the same with Supabase
Auth, SMTP or the console, and must hold across restarts and replicas: a code expires after
10 minutes, 5 wrong tries end it, a Telegram account can have a new code at most once a
minute and 5 times an hour, and an address at most 10 times an hour from all accounts
together (so no one account can use up someone else's address). A code belongs to the
account that asked for it and the address: another account's code never completes this
account's challenge. All of that lives in the database (storage/otp.py), on its clock; the
verifier only delivers and checks. Nothing here logs an email or a code.

`join_cohort` is the one way into a cohort, shared by the /start deep link and the tutor
features.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from bot.rules.email_address import domain_allowed
from bot.services.verification import (
    CODE_TTL,
    EMAIL_HOURLY_CAP,
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
from storage.otp import Refusal, SendLimits

if TYPE_CHECKING:
    from bot.services.container import Services

log = logging.getLogger(__name__)

SendState = Literal[
    "sent", "too_soon", "hourly_cap", "email_cap", "provider_busy", "unavailable", "rejected",
    "domain_refused",
]  # fmt: skip
CheckState = Literal[
    "linked", "wrong", "expired", "locked", "none", "superseded", "unavailable"
]  # fmt: skip
JoinState = Literal["joined", "rejoined", "already_member", "invalid", "own_cohort"]

LIMITS = SendLimits(
    account_interval=RESEND_INTERVAL, account_hourly=HOURLY_CAP, email_hourly=EMAIL_HOURLY_CAP
)
Delivery = Callable[[], Awaitable["SendOutcome"]]


@dataclass(frozen=True)
class SendOutcome:
    status: SendState
    retry_at: datetime | None = None  # when the student may ask again (refusals), bot clock
    # Set when the code is being sent in the background (see `request_code`): run it, after
    # replying, to learn whether it went out.
    delivery: Delivery | None = None


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
    # After expired/locked/none/superseded: when a new code may be sent (bot clock).
    next_send_at: datetime | None = None


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

    def _at(self, wait: timedelta) -> datetime:
        """A wait measured on the database's clock, as a moment on the bot's clock (what the
        student reads: "in 42 seconds", "at 13:00")."""
        return self.services.clock.now() + wait

    async def request_code(self, telegram_user_id: int, email: str) -> SendOutcome:
        """Ask the verifier for a new code for `email`, within the sending limits.

        With a verifier whose answer time depends on whether the address has an account
        (Supabase Auth answers unknown addresses sooner), the code is only reserved here and
        the outcome is "sent" at once, carrying `delivery`: the caller replies first and then
        runs it in the background, so the reply's timing says nothing about the address.
        """
        email = normalise_email(email)
        if not domain_allowed(email, self.services.settings.email_domains):
            return SendOutcome("domain_refused")
        reserved = await self.services.otp.reserve(
            telegram_user_id=telegram_user_id,
            email_hash=await self._digest(email),
            verifier=self.verifier.name,
            ttl=CODE_TTL,
            limits=LIMITS,
        )
        if isinstance(reserved, Refusal):
            log.info("Telegram user %s: no new code (%s)", telegram_user_id, reserved.reason)
            return SendOutcome(reserved.reason, retry_at=self._at(reserved.retry_in))

        async def deliver() -> SendOutcome:
            return await self._deliver(reserved.id, telegram_user_id, email)

        if self.verifier.timing_reveals_accounts:
            return SendOutcome("sent", delivery=deliver)
        return await deliver()

    async def _deliver(self, challenge_id: int, telegram_user_id: int, email: str) -> SendOutcome:
        otp = self.services.otp
        try:
            result = await self.verifier.send_code(email, telegram_user_id)
        except BaseException:
            await otp.mark(challenge_id, "failed")
            raise
        if result.status is SendStatus.SENT:
            await otp.mark_sent(challenge_id)
            log.info(
                "Telegram user %s: a code was sent via %s", telegram_user_id, self.verifier.name
            )
            return SendOutcome("sent")
        await otp.mark(challenge_id, "failed")
        log.info("Telegram user %s: the code was not sent (%s)", telegram_user_id, result.status)
        if result.status is SendStatus.RATE_LIMITED:
            wait = timedelta(seconds=result.retry_after) if result.retry_after else None
            return SendOutcome("provider_busy", retry_at=self._at(wait) if wait else None)
        if result.status is SendStatus.REJECTED:
            return SendOutcome("rejected")
        return SendOutcome("unavailable")

    async def next_send(self, telegram_user_id: int, email: str) -> datetime | None:
        """When a new code could be sent, if not right now."""
        refusal = await self.services.otp.next_send_at(
            telegram_user_id=telegram_user_id,
            email_hash=await self._digest(normalise_email(email)),
            limits=LIMITS,
        )
        return self._at(refusal.retry_in) if refusal is not None else None

    async def waiting_for(self, telegram_user_id: int, email: str) -> bool:
        """Is a sent, unexpired code waiting for this user and email?"""
        challenge = await self.services.otp.live(telegram_user_id)
        return challenge is not None and challenge.email_hash == await self._digest(
            normalise_email(email)
        )

    async def cancel(self, telegram_user_id: int) -> None:
        await self.services.otp.cancel(telegram_user_id)

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
        attempt = await otp.spend_attempt(
            telegram_user_id,
            await self._digest(email),
            max_attempts=MAX_ATTEMPTS,
            only_newest_for_email=self.verifier.one_code_per_email,
        )
        challenge = attempt.challenge
        if challenge is None:
            why = attempt.why_not or "none"
            return CheckOutcome(why, next_send_at=await self.next_send(telegram_user_id, email))
        try:
            result = await self.verifier.check_code(email, code, telegram_user_id)
        except BaseException:
            await otp.refund_attempt(challenge.id)
            raise
        left = MAX_ATTEMPTS - challenge.attempts
        if result.status is CheckStatus.OK:
            link = await self._link(telegram_user_id, chat_id, email, first_name)
            await otp.mark(challenge.id, "verified")
            return CheckOutcome("linked", link=link)
        if result.status is CheckStatus.UNAVAILABLE:
            await otp.refund_attempt(challenge.id)
            return CheckOutcome("unavailable", attempts_left=left + 1)
        if result.status is CheckStatus.EXPIRED:
            await otp.mark(challenge.id, "expired")
            return CheckOutcome(
                "expired", next_send_at=await self.next_send(telegram_user_id, email)
            )
        if result.status is CheckStatus.LOCKED or left <= 0:
            await otp.mark(challenge.id, "locked")
            log.info("Telegram user %s: the code is locked after wrong tries", telegram_user_id)
            return CheckOutcome(
                "locked", next_send_at=await self.next_send(telegram_user_id, email)
            )
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
