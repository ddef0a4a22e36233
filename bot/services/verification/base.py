"""The one small interface every email verifier implements, and the code policy numbers.

Why an interface: the operator chooses how codes reach students (Supabase Auth, any SMTP
relay, or the console in development) with one setting, and the linking flow, its limits and
its wording stay the same whichever is chosen. A verifier only delivers and checks codes; the
limits (expiry, wrong tries, resend pacing) are enforced by `bot.services.identity` for all of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_INTERVAL = timedelta(seconds=60)
HOURLY_CAP = 5  # codes per Telegram account per hour, whatever the address
EMAIL_HOURLY_CAP = 10  # codes per address per hour, from all accounts together


class SendStatus(StrEnum):
    SENT = "sent"  # accepted for delivery (or deliberately indistinguishable from it)
    REJECTED = "rejected"  # the mail system refused this address as an address
    RATE_LIMITED = "rate_limited"  # the provider's own sending limit
    UNAVAILABLE = "unavailable"  # network, credentials or provider configuration


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    retry_after: int | None = None  # seconds, when the provider says
    detail: str = ""  # for the operator's log; never an email or a code


class CheckStatus(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # not the code (Supabase: also "expired", it does not tell them apart)
    EXPIRED = "expired"
    LOCKED = "locked"  # too many wrong tries at the provider
    UNAVAILABLE = "unavailable"  # could not check; the try does not count


@dataclass(frozen=True)
class CheckResult:
    status: CheckStatus
    detail: str = ""


class Verifier(ABC):
    """Delivers a one-time code to an email address and checks a code typed back."""

    name: str = "verifier"
    # The provider answers sooner for an address without an account (Supabase Auth): the
    # code is then sent after the student has been answered, never while they wait.
    timing_reveals_accounts: bool = False
    # The provider keeps one code per address, each new one replacing the last (Supabase
    # Auth): only the newest request for an address can be completed.
    one_code_per_email: bool = False

    @abstractmethod
    async def send_code(self, email: str, requester: int) -> SendResult:
        """Send a fresh code to `email` (already validated and lower-cased) for the Telegram
        account `requester`."""

    @abstractmethod
    async def check_code(self, email: str, code: str, requester: int) -> CheckResult:
        """Check `code` (digits only) typed by `requester` for `email`; a correct code is
        used up."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; most verifiers hold none between calls."""


def mask_email(email: str) -> str:
    """`s***@example.ac.uk`: enough for a person to recognise, too little to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
