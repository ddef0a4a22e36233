"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the SMTP verifier's tests.

It runs on the test's own event loop (the verifier's smtplib client runs in a worker thread),
keeps every delivered message, and can refuse recipients or answer a temporary failure.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_recipients: set[str] = field(default_factory=set)
    fail_data_with: str | None = None  # e.g. "451 4.7.1 Try again later"
    port: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.refuse_recipients:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.fail_data_with:
            return self.fail_data_with
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if str(m["To"]).lower() == address.lower()]

    def code_for(self, address: str) -> str:
        """The code in the newest message to `address` (read from its plain-text part)."""
        messages = self.to(address)
        assert messages, f"no email was delivered to {address}"
        body = messages[-1].get_body(preferencelist=("plain",))
        assert body is not None
        found = re.search(r"\b(\d{6})\b", body.get_content())
        assert found, "no 6-digit code in the email"
        return found.group(1)


@asynccontextmanager
async def smtp_server() -> AsyncIterator[Inbox]:
    """Start an SMTP server on a free loopback port; `inbox.port` says which."""
    loop = asyncio.get_running_loop()
    inbox = Inbox()
    server = await loop.create_server(
        lambda: SMTP(inbox, hostname="smtp.test", ident="ptl-test-smtp"), "127.0.0.1", 0
    )
    inbox.port = server.sockets[0].getsockname()[1]
    try:
        yield inbox
    finally:
        server.close()
        await server.wait_closed()
