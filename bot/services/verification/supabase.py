"""Supabase Auth verifier: Supabase emails the code (email OTP) and checks it.

Why a throwaway client per call: verifying a code signs the student in, and a supabase-py
client keeps the session it receives. A shared client would switch to whichever student
verified last, so each send or check builds its own client (memory storage, no refresh timer,
no persistence), revokes the session it was handed, and closes its HTTP connections.

Error mapping never reveals whether an email has a platform account: Supabase answers
`otp_disabled` or `signup_disabled` when the address is unknown and sign-ups are off, and
that is reported as SENT, exactly like a real send, so the student sees the same message.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from supabase import AsyncClient, AsyncClientOptions, acreate_client
from supabase_auth.errors import AuthApiError, AuthError

from bot.services.verification.base import (
    CheckResult,
    CheckStatus,
    SendResult,
    SendStatus,
    Verifier,
)

log = logging.getLogger(__name__)

# Supabase answers these for an address that has no account (with should_create_user off) or
# is not allowed to sign in; treating them as "sent" keeps membership secret.
_SILENT_ON_SEND = frozenset(
    {"otp_disabled", "signup_disabled", "user_not_found", "user_banned", "email_not_confirmed"}
)
_RATE_LIMITED = frozenset(
    {"over_email_send_rate_limit", "over_request_rate_limit", "over_sms_send_rate_limit"}
)
_REJECTED = frozenset({"email_address_invalid", "validation_failed"})
_WRONG_ON_CHECK = frozenset(
    {
        "otp_expired",  # Supabase's answer for both a wrong and an expired code
        "invalid_credentials",
        "user_not_found",
        "otp_disabled",
        "signup_disabled",
        "user_banned",
        "email_not_confirmed",
        "validation_failed",
    }
)
_CONFIG_HINTS = {
    "email_address_not_authorized": (
        "Supabase's built-in email only delivers to the project's team members: configure "
        "custom SMTP in Supabase (Authentication > Emails > SMTP settings)"
    ),
    "email_provider_disabled": "the Email provider is disabled in Supabase Authentication",
}


class SupabaseVerifier(Verifier):
    name = "supabase"
    timing_reveals_accounts = True  # 422 otp_disabled comes back sooner than a real send
    one_code_per_email = True  # a new sign-in code replaces the address's last one

    def __init__(
        self, url: str, key: str, *, should_create_user: bool = False, timeout: float = 15.0
    ) -> None:
        self.url, self._key = url.rstrip("/"), key
        self.should_create_user, self.timeout = should_create_user, timeout

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[AsyncClient]:
        http = httpx.AsyncClient(timeout=self.timeout, follow_redirects=True)
        try:
            options = AsyncClientOptions(
                auto_refresh_token=False,
                persist_session=False,
                flow_type="implicit",
                httpx_client=http,
            )
            yield await acreate_client(self.url, self._key, options=options)
        finally:
            await http.aclose()

    async def send_code(self, email: str, requester: int) -> SendResult:
        try:
            async with self._client() as client:
                await client.auth.sign_in_with_otp(
                    {"email": email, "options": {"should_create_user": self.should_create_user}}
                )
        except AuthApiError as exc:
            return _send_error(exc)
        except AuthError as exc:
            log.warning("Supabase Auth unreachable (%s): code not sent", type(exc).__name__)
            return SendResult(SendStatus.UNAVAILABLE, detail=type(exc).__name__)
        except httpx.HTTPError as exc:
            log.warning("Supabase Auth unreachable (%s): code not sent", type(exc).__name__)
            return SendResult(SendStatus.UNAVAILABLE, detail=type(exc).__name__)
        return SendResult(SendStatus.SENT)

    async def check_code(self, email: str, code: str, requester: int) -> CheckResult:
        try:
            async with self._client() as client:
                response = await client.auth.verify_otp(
                    {"email": email, "token": code, "type": "email"}
                )
                verified = (response.user.email or "").strip().lower() if response.user else ""
                if response.session is not None:
                    await _revoke(client)
        except AuthApiError as exc:
            return _check_error(exc)
        except (AuthError, httpx.HTTPError) as exc:
            log.warning("Supabase Auth unreachable (%s): code not checked", type(exc).__name__)
            return CheckResult(CheckStatus.UNAVAILABLE, detail=type(exc).__name__)
        if verified != email:
            # Never link on an answer that is not about this very address.
            log.warning("Supabase Auth verified a different or missing user: refused")
            return CheckResult(CheckStatus.WRONG, detail="user mismatch")
        return CheckResult(CheckStatus.OK)


async def _revoke(client: AsyncClient) -> None:
    """Sign the throwaway session out at Supabase: the bot never needs a student's session."""
    try:
        await client.auth.sign_out({"scope": "local"})
    except (AuthError, httpx.HTTPError) as exc:
        log.info("Could not revoke the verification session (%s)", type(exc).__name__)


def _send_error(exc: AuthApiError) -> SendResult:
    code = str(exc.code or "")
    if code in _SILENT_ON_SEND:
        log.info(
            "Supabase Auth did not send a code (%s): the address has no account and sign-ups"
            " are off, or email OTP is disabled. The student was answered as if it were sent.",
            code,
        )
        return SendResult(SendStatus.SENT, detail=code)
    if code in _RATE_LIMITED or exc.status == 429:
        log.warning("Supabase Auth rate limit (%s): code not sent", code or exc.status)
        return SendResult(SendStatus.RATE_LIMITED, detail=code)
    if code in _REJECTED:
        return SendResult(SendStatus.REJECTED, detail=code)
    hint = _CONFIG_HINTS.get(code, "")
    log.warning(
        "Supabase Auth refused to send a code (%s %s)%s",
        exc.status,
        code or "no code",
        f": {hint}" if hint else "",
    )
    return SendResult(SendStatus.UNAVAILABLE, detail=code)


def _check_error(exc: AuthApiError) -> CheckResult:
    code = str(exc.code or "")
    if code in _WRONG_ON_CHECK or (exc.status in (400, 401, 403, 404, 422) and not code):
        return CheckResult(CheckStatus.WRONG, detail=code)
    if code in _RATE_LIMITED or exc.status == 429:
        log.warning("Supabase Auth rate limit while checking a code (%s)", code or 429)
        return CheckResult(CheckStatus.UNAVAILABLE, detail=code)
    log.warning("Supabase Auth could not check a code (%s %s)", exc.status, code or "no code")
    return CheckResult(CheckStatus.UNAVAILABLE, detail=code)
