"""The last line of defence: no student ever sees a stack trace.

Any exception a handler lets through is logged in full under a short reference id, and the
student is told, in one friendly line, that something went wrong and which id to quote.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.context import BotContext
from bot.messages import common as text

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    reference = secrets.token_hex(3).upper()
    log.error("Unhandled error [ref %s]", reference, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            if update.callback_query is not None:
                await update.callback_query.answer()
            await context.bot.send_message(
                update.effective_chat.id, text.SOMETHING_WENT_WRONG.format(ref=reference)
            )
        except Exception:  # the error path must never raise in turn
            log.warning("Could not tell the user about error [ref %s]", reference)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_error_handler(on_error)  # type: ignore[arg-type]
