"""SMTP verifier: the bot makes the code and emails it through any provider's SMTP relay.

Why SMTP: every email provider (Microsoft 365, Google Workspace, SendGrid, Mailgun, Amazon
SES, Postmark, a university relay...) offers it, so the operator is not tied to Supabase's
email. The standard library's smtplib runs in a worker thread, so a slow relay never blocks
the bot. Failures are logged by kind and SMTP status only: an SMTP error text can quote the
recipient, so it is never logged.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Literal

from bot.messages import identity as text
from bot.rules.clock import Clock
from bot.services.verification.base import CODE_TTL, SendResult, SendStatus
from bot.services.verification.local import LocalCodeVerifier
from storage.otp import OtpRepository

log = logging.getLogger(__name__)

Security = Literal["starttls", "tls", "none"]


class SmtpVerifier(LocalCodeVerifier):
    name = "smtp"

    def __init__(
        self,
        otp: OtpRepository,
        clock: Clock,
        secret: str | None,
        *,
        host: str,
        port: int,
        security: Security,
        user: str | None,
        password: str | None,
        sender: str,
        timeout: float = 20.0,
    ) -> None:
        super().__init__(otp, clock, secret)
        self.host, self.port, self.security = host, port, security
        self.user, self._password = user, password
        self.sender, self.timeout = sender, timeout

    def build_message(self, email: str, code: str) -> EmailMessage:
        minutes = int(CODE_TTL.total_seconds() // 60)
        message = EmailMessage()
        message["Subject"] = text.EMAIL_SUBJECT
        message["From"] = self.sender
        message["To"] = email
        message["Date"] = format_datetime(self.clock.now())
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "ptl-bot.invalid"
        message["Message-ID"] = make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text.EMAIL_TEXT.format(code=code, minutes=minutes))
        message.add_alternative(text.EMAIL_HTML.format(code=code, minutes=minutes), subtype="html")
        return message

    async def deliver(self, email: str, code: str) -> SendResult:
        message = self.build_message(email, code)
        try:
            await asyncio.to_thread(self._send, message, email)
        except smtplib.SMTPRecipientsRefused:
            log.info("SMTP relay refused the recipient address")
            return SendResult(SendStatus.REJECTED, detail="recipient refused")
        except smtplib.SMTPResponseException as exc:
            kind = type(exc).__name__
            log.warning("SMTP relay answered %s (%s): code not sent", exc.smtp_code, kind)
            if 400 <= exc.smtp_code < 500:
                return SendResult(SendStatus.RATE_LIMITED, detail=f"smtp {exc.smtp_code}")
            return SendResult(SendStatus.UNAVAILABLE, detail=f"smtp {exc.smtp_code}")
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("Could not reach the SMTP relay (%s): code not sent", type(exc).__name__)
            return SendResult(SendStatus.UNAVAILABLE, detail=type(exc).__name__)
        return SendResult(SendStatus.SENT)

    def _send(self, message: EmailMessage, email: str) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if self.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self._password or "")
            envelope_from = parseaddr(self.sender)[1] or self.sender
            smtp.send_message(message, from_addr=envelope_from, to_addrs=[email])
