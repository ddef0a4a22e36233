"""Every update gets an answer: the gate in front of every feature, and the replies for what no
feature claims.

How PTB routes an update here: features and forms live in handler group 0, where PTB gives an
update to the first handler that matches it. The handlers below are added at the end of group
0 at start-up (after every feature, including the forms' own /cancel and closed-form
buttons), so they only ever see what nothing else took:

- a command nobody answers ("I don't know /frobnicate" and the /help list; with a form open
  at a step, that the form is still open, so a typo of /cancel loses nothing);
- text with no form waiting for it: a form on hold says so (▶️ Carry on / ✖ Cancel),
  otherwise the text is offered back as a search (🔎 Find “…”) beside the menu, and someone
  not linked yet is told to /start;
- a photo, sticker or file outside a form, and edits of old messages;
- a button nothing claims (an old message from before a deploy, forged data): answered
  "that button no longer works", so the phone's spinner always stops.

The gate runs first of all (group -20): the bot works in private chats only, so patients,
emails and invite links never reach a group. In a group, a command (or a mention, a button,
the bot being added) gets one short line pointing to the private chat, and nothing else
happens. BotFather's /setjoingroups → Disable stops the bot being added to groups at all
(README, "Deploying").
"""

from __future__ import annotations

from typing import Any

from telegram import Chat, ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.hooks import add_startup_hook
from bot.messages import common
from bot.messages import menu as menu_text
from bot.messages import routing as text
from bot.messages.html import esc
from bot.services.container import BotContext
from handlers.find import offer_search
from handlers.forms import FormSignal, held_forms, is_command, open_form
from handlers.guards import current_student
from handlers.menu import help_for

GATE_GROUP = -20
"""Before the forms' hold check (-10) and every feature (0)."""


# --- the gate: private chats only ------------------------------------------------------------


def _addressed_to_bot(update: Update) -> bool:
    """A group message the bot should answer: a command, a mention, or a reply to it."""
    message = update.message
    if message is None:
        return False
    if is_command(update) is not None:
        return True
    bot = message.get_bot()
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot.id:
        return True
    username = (bot.username or "").casefold()
    return bool(username) and f"@{username}" in (message.text or "").casefold()


def _bot_just_added(update: Update) -> bool:
    change = update.my_chat_member
    if change is None:
        return False
    present = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR)
    return change.new_chat_member.status in present and (
        change.old_chat_member.status not in present
    )


async def private_chats_only(update: object, context: BotContext) -> None:
    """Anything from a group or channel stops here, with at most one short reply."""
    if not isinstance(update, Update) or isinstance(update, FormSignal):
        return
    chat = update.effective_chat
    if chat is None or chat.type == Chat.PRIVATE:
        return
    username = context.bot.username
    if update.callback_query is not None:
        await update.callback_query.answer(
            text.GROUP_BUTTON.format(username=username), show_alert=True
        )
    elif chat.type != Chat.CHANNEL and (_addressed_to_bot(update) or _bot_just_added(update)):
        await context.bot.send_message(
            chat.id, text.GROUP_ONLY_PRIVATE.format(link=f"https://t.me/{username}")
        )
    raise ApplicationHandlerStop


# --- what no feature claimed -----------------------------------------------------------------


async def unknown_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    command = is_command(update)
    if chat is None or command is None:
        return
    shown = esc("/" + command)
    opened = open_form(update, context)
    if opened is not None:
        form, draft = opened
        body = text.UNKNOWN_COMMAND_IN_FORM.format(
            command=shown, form=form.command, where=form.where(draft)
        )
    else:
        body = text.UNKNOWN_COMMAND.format(command=shown) + "\n\n" + await help_for(update, context)
    await context.bot.send_message(chat.id, body)


async def stray_text(update: Update, context: BotContext) -> None:
    message = update.message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    if await current_student(update, context) is None:
        await context.bot.send_message(chat.id, common.NOT_LINKED)
        return
    held = held_forms(update, context)
    if len(held) == 1:
        form, draft = held[0]
        body = text.ON_HOLD_TEXT.format(command=form.command, where=form.where(draft))
        await context.bot.send_message(chat.id, body, reply_markup=form.held_keyboard())
        return
    if held:
        forms = ", ".join(form.command for form, _ in held)
        rows = [row for form, _ in held for row in form.held_keyboard(named=True).inline_keyboard]
        await context.bot.send_message(
            chat.id,
            text.ON_HOLD_TEXT_MANY.format(forms=forms),
            reply_markup=InlineKeyboardMarkup(rows),
        )
        return
    await offer_search(update, context, message.text or "")


async def stray_other(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    if await current_student(update, context) is None:
        await context.bot.send_message(chat.id, common.NOT_LINKED)
        return
    menu = InlineKeyboardButton(menu_text.MENU_BUTTON, callback_data="menu:main")
    await context.bot.send_message(
        chat.id, text.TEXT_ONLY, reply_markup=InlineKeyboardMarkup([[menu]])
    )


async def edited(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is not None and update.edited_message is not None and update.edited_message.text:
        await context.bot.send_message(chat.id, text.EDITED)


async def unclaimed_button(update: Update, context: BotContext) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer(text.BUTTON_GONE)


async def _add_catch_alls(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # At start-up, after every feature registered its handlers: these come last in group 0.
    message = filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(message & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(message & filters.TEXT, stray_text))
    app.add_handler(MessageHandler(message, stray_other))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, edited))
    app.add_handler(CallbackQueryHandler(unclaimed_button))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Call last in `register_all`: the catch-alls must follow every feature's handlers."""
    app.add_handler(TypeHandler(Update, private_chats_only), group=GATE_GROUP)
    add_startup_hook(app, _add_catch_alls)
