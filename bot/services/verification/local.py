"""Verifiers whose codes the bot makes itself (SMTP, console): shared code handling.

The bot draws a code from `secrets`, stores only its keyed hash (bound to the email and to
the Telegram account that asked) with an expiry, and hands the clear code to `deliver`
exactly once. Checking compares hashes in constant time; a match uses the code up, and
`MAX_ATTEMPTS` wrong tries delete it.
"""

from __future__ import annotations

import secrets
from abc import abstractmethod

from bot.rules.clock import Clock
from bot.services.verification.base import (
    CODE_LENGTH,
    CODE_TTL,
    MAX_ATTEMPTS,
    CheckResult,
    CheckStatus,
    SendResult,
    SendStatus,
    Verifier,
)
from bot.services.verification.keys import code_hash, email_hash
from storage.otp import OtpRepository

_CHECKS = {
    "ok": CheckStatus.OK,
    "wrong": CheckStatus.WRONG,
    "expired": CheckStatus.EXPIRED,
    "locked": CheckStatus.LOCKED,
}


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


class LocalCodeVerifier(Verifier):
    def __init__(self, otp: OtpRepository, clock: Clock, secret: str | None) -> None:
        self.otp, self.clock, self._secret = otp, clock, secret

    async def send_code(self, email: str, requester: int) -> SendResult:
        key = await self.otp.hmac_key(self._secret)
        digest = email_hash(key, email)
        code = new_code()
        result = await self.deliver(email, code)
        if result.status is SendStatus.SENT:
            # Stored only once delivered: a failed send leaves the previous code working.
            await self.otp.put_code(requester, digest, code_hash(key, digest, code), ttl=CODE_TTL)
        return result

    async def check_code(self, email: str, code: str, requester: int) -> CheckResult:
        key = await self.otp.hmac_key(self._secret)
        digest = email_hash(key, email)
        outcome = await self.otp.check_code(
            requester, digest, code_hash(key, digest, code), max_attempts=MAX_ATTEMPTS
        )
        return CheckResult(_CHECKS[outcome])

    @abstractmethod
    async def deliver(self, email: str, code: str) -> SendResult:
        """Get `code` to the owner of `email`. Must never log either."""
