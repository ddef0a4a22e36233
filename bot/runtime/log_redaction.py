"""Keep emails, one-time codes, message text and the bot token out of the logs, even at DEBUG.

Why: at DEBUG python-telegram-bot logs every Bot API call with its parameters (the text of
every message, including "I've sent a code to sam@..."), every incoming update (what the
student typed: their email, their code, patient details), webhook bodies, and the API URL
with the bot token in it. An operator who turns DEBUG on to chase a problem must not end up
with a log full of personal data. Filters on PTB's own loggers rewrite those records to
their shape only (endpoint, parameter names, update id) and scrub anything that still looks
like an email or a token. Filters on a logger run only when a record is actually emitted,
so at the default INFO level this costs nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.rules.email_address import EMAIL_IN_TEXT

# Loggers whose records can carry chat content (see the module docstring).
PTB_LOGGERS = (
    "telegram.Bot",
    "telegram.ext.ExtBot",
    "telegram.ext.Application",
    "telegram.ext.Updater",
    "telegram.ext.ConversationHandler",
    "telegram.ext.AIORateLimiter",
    "telegram.request.BaseRequest",
    "telegram.request.HTTPXRequest",
)

_EMAIL = EMAIL_IN_TEXT
_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
_CODE = re.compile(r"(?<![\d.:/-])\d{6}(?![\d.:/-])")


def scrub(text: str) -> str:
    """Remove emails, bot tokens and six-digit codes from free text."""
    text = _TOKEN.sub("<token>", text)
    text = _EMAIL.sub("<email>", text)
    return _CODE.sub("<digits>", text)


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(str(k) for k in value)) + "}"
    return f"<{type(value).__name__}>"


class RedactingFilter(logging.Filter):
    """Rewrites a record's message to what is safe to keep; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ptl_redacted", False):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        template = str(record.msg)
        if template.startswith("Calling Bot API endpoint") and len(args) == 2:
            message = f"Calling Bot API endpoint `{args[0]}` with parameters {_shape(args[1])}"
        elif template.startswith("Call to Bot API endpoint") and len(args) == 2:
            message = f"Call to Bot API endpoint `{args[0]}` finished ({_shape(args[1])})"
        elif template.startswith(("Processing update", "Dropping pending update")) and args:
            update_id = getattr(args[0], "update_id", None)
            message = template.split("%")[0] + (f"#{update_id}" if update_id else "<update>")
        elif template.startswith("Webhook received data") and args:
            message = f"Webhook received data ({len(str(args[0]))} characters)"
        elif template.startswith("Request had the wrong secret token"):
            message = "Request had the wrong secret token"
        else:
            try:
                message = scrub(record.getMessage())
            except Exception:  # a malformed record is logged as-is rather than lost
                return True
        record.msg, record.args = message, ()
        record._ptl_redacted = True
        return True


_FILTER = RedactingFilter()


def install() -> None:
    """Attach the filter to PTB's loggers (idempotent; safe to call for every Application)."""
    for name in PTB_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
