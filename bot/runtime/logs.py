"""Logging: readable by default, JSON on request, and never a secret or a person's details.

Why a redacting filter on the root handler rather than care at each call site: the lines that
leak are mostly not ours. httpx logs every request URL at INFO, and Telegram's URLs carry the
bot token (`.../bot123:AA.../sendMessage`); asyncpg and smtplib errors quote connection strings
and addresses; a traceback can repeat whatever a student typed. A filter attached to the
handler sees every record from every library after it propagates, so one place guarantees
that tokens, passwords, one-time codes, emails and NHS numbers never reach the log stream.
The exception text is rendered and redacted in the filter too, so tracebacks are covered.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote

from pydantic import SecretStr

from bot.rules.email_address import EMAIL_IN_TEXT
from bot.rules.nhs_number import is_valid

__all__ = [
    "REDACTOR",
    "JsonFormatter",
    "RedactingFilter",
    "Redactor",
    "redact",
    "setup_logging",
]

# What replaces each kind of secret: short, greppable, and says what was there.
TOKEN = "[bot-token]"
PASSWORD = "[password]"
SECRET = "[secret]"
EMAIL = "[email]"
NHS = "[nhs-number]"
CODE = "[code]"
JWT = "[jwt]"

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _const(text: str) -> Callable[[re.Match[str]], str]:
    return lambda _m: text


def _keep_prefix(text: str) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(1) + text


def _nhs_if_valid(m: re.Match[str]) -> str:
    # Only checksum-valid unbroken numbers: every real NHS number passes Modulus 11, while
    # about ten in eleven other ten-digit numbers (Telegram ids, timestamps) do not.
    return NHS if is_valid(m.group(0)) else m.group(0)


# Order matters: credentials inside URLs before emails ("pass@host.com" looks like an email),
# tokens before the generic key=value rule.
_RULES: tuple[_Rule, ...] = (
    # scheme://user:password@host  (postgresql://, smtp://, redis://...)
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]+:)[^@\s/]+@"),
        lambda m: m.group(1) + PASSWORD + "@",
    ),
    # Authorization: Bearer <token>
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]+"), _keep_prefix(SECRET)),
    # JWTs (Supabase anon/service keys, access tokens)
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), _const(JWT)),
    # Supabase's newer API keys
    (re.compile(r"\bsb_(?:secret|publishable)_[A-Za-z0-9_\-]+"), _const(SECRET)),
    # Telegram bot tokens, also inside URLs such as /bot123456:AA.../getMe (no \b there)
    (re.compile(r"(?<![0-9])\d{6,12}(?::|%3A)[A-Za-z0-9_\-]{30,}"), _const(TOKEN)),
    # password=..., "api_key": "...", secret: ...
    (
        re.compile(
            r"(?i)(?<![a-z])((?:password|passwd|pwd|secret|api[_\-]?key|apikey|access[_\-]?token|"
            r"refresh[_\-]?token|otp[_\-]?secret|webhook[_\-]?secret|secret[_\-]?token)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&}]+"
        ),
        _keep_prefix(SECRET),
    ),
    # Emails
    # Emails: every address the email validator accepts (bot.rules.email_address)
    (EMAIL_IN_TEXT, _const(EMAIL)),
    # One-time codes: digits shortly after a word that says it is a code
    (
        re.compile(
            r"(?i)\b((?:code|codes|otp|passcode|pin|one[\- ]time)\b[^0-9\n]{0,24}?)"
            r"(?<![0-9])\d{4,10}(?![0-9])"
        ),
        _keep_prefix(CODE),
    ),
    # NHS numbers said to be NHS numbers, whatever their checksum
    (
        re.compile(r"(?i)\b(nhs[\w ]{0,12}?[\"']?\s*[:=]?\s*[\"']?)\d{3}[ \-]?\d{3}[ \-]?\d{4}\b"),
        _keep_prefix(NHS),
    ),
    # NHS numbers written the NHS way: 3-3-4 with spaces or dashes
    (re.compile(r"(?<![0-9])\d{3}[ \-]\d{3}[ \-]\d{4}(?![0-9])"), _const(NHS)),
    # Unbroken ten-digit numbers that pass the NHS checksum
    (re.compile(r"(?<![0-9.])\d{10}(?![0-9])"), _nhs_if_valid),
)


class Redactor:
    """Removes secrets and personal details from text.

    Beyond the patterns, it knows the literal secrets this process was configured with (the
    bot token, passwords, keys): those are replaced wherever they appear, whatever their shape.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str | SecretStr | None) -> None:
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        if not secret or len(secret) < 6:  # too short to replace without mangling text
            return
        variants = {secret, quote(secret, safe=""), quote(secret, safe=":/")}
        with self._lock:
            merged = set(self._secrets) | variants
            # Longest first, so a secret containing another is replaced whole.
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def add_secrets_from(self, settings: Any) -> None:
        """Register every SecretStr field of a settings object, and the DSN's password."""
        for name in type(settings).model_fields:
            value = getattr(settings, name, None)
            if isinstance(value, SecretStr):
                self.add_secret(value)
                if name == "database_url":
                    self.add_secret(_dsn_password(value.get_secret_value()))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, SECRET)
        for pattern, replace in _RULES:
            text = pattern.sub(replace, text)
        return text


def _dsn_password(dsn: str) -> str | None:
    match = re.match(r"^[a-z][a-z0-9+.\-]*://[^:/@\s]+:([^@\s/]+)@", dsn, re.IGNORECASE)
    return match.group(1) if match else None


#: The process-wide redactor; settings add their secrets to it at start-up.
REDACTOR = Redactor()


def redact(text: str) -> str:
    return REDACTOR(text)


_TRACEBACK_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Rewrites each record in place so that no handler after it sees a secret.

    The message is rendered (`msg % args`) and redacted; the exception and stack text are
    rendered and redacted into `exc_text`/`stack_info`, which formatters reuse as they are.
    Attach it to handlers, not loggers: a logger's filters do not see records from its
    children, a handler's do.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or REDACTOR

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ptl_root_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACK_FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redactor(value))
        record._ptl_root_redacted = True
        return True


_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName", "_ptl_root_redacted"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log platforms that index fields.

    Fields: time (UTC, ISO 8601), level, logger, message, then any `extra=` fields (such as
    the error reference `ref`), and `exception` with the (already redacted) traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value if _jsonable(value) else repr(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False, default=str)


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | list | dict)


READABLE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_HANDLER_NAME = "ptl-bot"
# Libraries that are chatty at INFO; raised to WARNING unless LOG_LEVEL=DEBUG.
NOISY = ("httpx", "httpcore", "apscheduler", "pgserver", "tornado.access", "asyncio")


def setup_logging(
    level: str = "INFO",
    *,
    json_lines: bool = False,
    settings: Any = None,
    stream: TextIO | None = None,
) -> logging.Handler:
    """Install the bot's one root handler (idempotent) and return it.

    `settings` registers its secrets with the redactor first, so even a DEBUG line that
    prints a URL with the token is safe.
    """
    if settings is not None:
        REDACTOR.add_secrets_from(settings)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(READABLE_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # PTB logs every 'network error while polling' with a traceback; its own WARNING is enough.
    logging.getLogger("telegram.ext.Updater").setLevel(max(logging.INFO, root.level))
    return handler
