"""One way to answer in place (edit the message whose button was pressed, else send anew),
and one way to make a cosmetic call.

Why shared: Telegram refuses an edit that changes nothing ("message is not modified"); every
screen that re-renders on a button press must treat that as success, not as an error. And a
call that only decorates a reply ("sending a photo...") must never cost the reply itself.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import BadRequest, TelegramError

from bot.services.container import BotContext

log = logging.getLogger(__name__)


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


async def show_action(context: BotContext, chat_id: int, action: str) -> None:
    """Show "uploading a photo..." while a slow reply is prepared. Cosmetic: a 429, a network
    blip or a Bot API server without sendChatAction (PTB reports its 404 as InvalidToken, a
    TelegramError too) is logged and the real reply goes ahead."""
    try:
        await context.bot.send_chat_action(chat_id, action)
    except TelegramError as exc:
        log.info("Chat action not shown (%s): %s", type(exc).__name__, exc)
