"""One way to answer in place: edit the message whose button was pressed, else send anew.

Why shared: Telegram refuses an edit that changes nothing ("message is not modified"); every
screen that re-renders on a button press must treat that as success, not as an error.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.error import BadRequest

from bot.services.container import BotContext


async def say(
    update: Update, context: BotContext, body: str, keyboard: Any = None, *, new: bool = False
) -> None:
    """Edit the pressed message (button steps) or send a new one (typed steps, or `new`)."""
    query = update.callback_query
    if not new and query is not None and query.message is not None:
        try:
            await query.edit_message_text(body, reply_markup=keyboard)
            return
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, body, reply_markup=keyboard)
