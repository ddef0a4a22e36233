"""Development verifier: the code is printed in the console, never sent anywhere.

Only chosen explicitly (VERIFIER=console) or when no Telegram token is configured (console
mode, tests): with a real token it would let anyone link any email, so the factory refuses to
pick it silently. The code goes to the console's output stream, never through logging.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from bot.rules.clock import Clock
from bot.services.verification.base import SendResult, SendStatus, mask_email
from bot.services.verification.local import LocalCodeVerifier
from storage.otp import OtpRepository


class ConsoleVerifier(LocalCodeVerifier):
    name = "console"

    def __init__(
        self,
        otp: OtpRepository,
        clock: Clock,
        secret: str | None,
        output: Callable[[], TextIO | None],
    ) -> None:
        super().__init__(otp, clock, secret)
        self._output = output  # looked up per code: console mode sets its stream after start-up

    async def deliver(self, email: str, code: str) -> SendResult:
        stream = self._output() or sys.stdout
        print(f"[console verifier] code for {mask_email(email)}: {code}", file=stream, flush=True)
        return SendResult(SendStatus.SENT)
