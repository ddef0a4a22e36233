"""The last line of defence: no student ever sees a stack trace.

Any exception a handler lets through is logged in full under a short reference id, and the
student is told, in one friendly line, that something went wrong and which id to quote. The
log line says which kind of update failed and in which chat, never what the student typed
(that could be a patient's details); the root handler's redacting filter
(bot/runtime/logs.py) scrubs whatever the traceback itself repeats.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from telegram import Update
from telegram.error import Conflict, NetworkError, TimedOut
from telegram.ext import Application

from bot.messages import common as text
from bot.services.container import BotContext

log = logging.getLogger(__name__)

# Unambiguous characters only: a student reads the reference out to a tutor.
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    """A short id such as `K7QM2X`, quoted to the student and logged with the details."""
    return "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))


def describe_update(update: object) -> str:
    """What failed, without any content: kind of update, update id and chat id."""
    if not isinstance(update, Update):
        return "a background job" if update is None else type(update).__name__
    kind = next(
        (
            name
            for name in ("callback_query", "message", "edited_message", "poll_answer", "poll")
            if getattr(update, name, None) is not None
        ),
        "update",
    )
    where = f" in chat {update.effective_chat.id}" if update.effective_chat else ""
    if kind == "message" and update.message and update.message.text:
        first = update.message.text.split(maxsplit=1)[0]
        if first.startswith("/"):  # the command name helps and carries no personal data
            kind = f"command {first[:32]}"
    return f"{kind} (update {update.update_id}){where}"


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, Conflict):
        log.error(
            "Telegram refused polling: another process is polling with this token. Run one "
            "`worker` only, or switch to webhook mode (set WEBHOOK_URL) to run several replicas."
        )
        return
    if isinstance(error, TimedOut | NetworkError) and not isinstance(update, Update):
        log.warning("Network problem talking to Telegram: %s", error)
        return
    reference = new_reference()
    log.error(
        "Unhandled error [ref %s] while handling %s",
        reference,
        describe_update(update),
        exc_info=error,
        extra={"ref": reference},
    )
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
        except Exception:  # an old query cannot be answered: still send the message
            log.debug("Could not answer the callback query [ref %s]", reference)
        try:
            await context.bot.send_message(
                update.effective_chat.id, text.SOMETHING_WENT_WRONG.format(ref=reference)
            )
        except Exception:  # the error path must never raise in turn
            log.warning("Could not tell the user about error [ref %s]", reference)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_error_handler(on_error)
