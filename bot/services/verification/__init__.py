"""Email verification adapters behind one interface, chosen by the VERIFIER setting.

`make_verifier(settings, otp=..., clock=..., console_output=...)` is the only place that
reads the choice:
- `supabase`: Supabase Auth email OTP (SUPABASE_URL, SUPABASE_KEY);
- `smtp`: the bot's own code through an SMTP relay (SMTP_HOST, SMTP_FROM, ...);
- `console`: development only, the code is printed in the console;
- unset: `console` when no Telegram token is configured; with a token it is a start-up error,
  because silently accepting console codes on a real bot would let anyone claim any email.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.config import StartupError
from bot.services.verification.base import (
    CODE_LENGTH,
    CODE_TTL,
    EMAIL_HOURLY_CAP,
    HOURLY_CAP,
    MAX_ATTEMPTS,
    RESEND_INTERVAL,
    CheckResult,
    CheckStatus,
    SendResult,
    SendStatus,
    Verifier,
    mask_email,
)

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.rules.clock import Clock
    from storage.otp import OtpRepository

__all__ = [
    "CODE_LENGTH",
    "CODE_TTL",
    "EMAIL_HOURLY_CAP",
    "HOURLY_CAP",
    "MAX_ATTEMPTS",
    "RESEND_INTERVAL",
    "CheckResult",
    "CheckStatus",
    "SendResult",
    "SendStatus",
    "Verifier",
    "VerifierConfigError",
    "make_verifier",
    "mask_email",
]

log = logging.getLogger(__name__)


class VerifierConfigError(StartupError):
    """The verification settings are incomplete; the message names what to set (the CLI
    prints it and exits with status 2, like any other start-up error)."""


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def make_verifier(
    settings: Settings,
    *,
    otp: OtpRepository,
    clock: Clock,
    console_output: Callable[[], Any] = lambda: None,
) -> Verifier:
    """The verifier the settings ask for. `console_output` returns where the console
    verifier prints codes at the moment it sends one (the console mode sets it late)."""
    choice = settings.verifier
    if choice is None:
        if settings.telegram_bot_token is not None:
            raise VerifierConfigError(
                "VERIFIER is not set. With a real Telegram token, choose how students prove "
                "their email: VERIFIER=supabase (Supabase Auth email codes) or VERIFIER=smtp "
                "(the bot emails codes through SMTP_HOST). VERIFIER=console shows codes in "
                "the server console and is for development only."
            )
        choice = "console"
    otp_secret = _secret(settings.otp_secret)
    if choice == "supabase":
        missing = [
            name
            for name, value in (
                ("SUPABASE_URL", settings.supabase_url),
                ("SUPABASE_KEY", settings.supabase_key),
            )
            if not value
        ]
        if missing:
            raise VerifierConfigError(
                f"VERIFIER=supabase needs {' and '.join(missing)} (Supabase: Project Settings "
                "> API: the project URL and the anon/publishable key)."
            )
        from bot.services.verification.supabase import SupabaseVerifier

        return SupabaseVerifier(
            str(settings.supabase_url),
            _secret(settings.supabase_key) or "",
            should_create_user=settings.supabase_should_create_user,
        )
    if choice == "smtp":
        missing = [
            name
            for name, value in (
                ("SMTP_HOST", settings.smtp_host),
                ("SMTP_FROM", settings.smtp_from),
            )
            if not value
        ]
        if missing:
            raise VerifierConfigError(
                f"VERIFIER=smtp needs {' and '.join(missing)} (your email provider's SMTP "
                "relay host, and the address codes are sent from)."
            )
        if settings.smtp_user and settings.smtp_password is None:
            raise VerifierConfigError("SMTP_USER is set but SMTP_PASSWORD is not.")
        if settings.smtp_security == "none" and settings.smtp_host not in (
            "localhost",
            "127.0.0.1",
            "::1",
        ):
            log.warning("SMTP_SECURITY=none: codes travel unencrypted to %s", settings.smtp_host)
        from bot.services.verification.smtp import SmtpVerifier

        return SmtpVerifier(
            otp,
            clock,
            otp_secret,
            host=str(settings.smtp_host),
            port=settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=_secret(settings.smtp_password),
            sender=str(settings.smtp_from),
        )
    if settings.telegram_bot_token is not None:
        log.warning(
            "VERIFIER=console with a real Telegram token: codes are only printed on this "
            "server's console. Use it for development only."
        )
    from bot.services.verification.console import ConsoleVerifier

    return ConsoleVerifier(otp, clock, otp_secret, output=console_output)
