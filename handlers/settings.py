"""/settings: when breach reminders arrive (time, days), how far ahead they look, mute.

Why it is built like this: every choice is a button whose callback data says everything
(`set:t:0730`, `set:d:daily`, `set:w:14`...), so a settings message keeps working after a
restart, from an old message, or from the button under a digest; only typing a time needs a
conversation state, and that state is persistent (PostgresPersistence). Every change is
confirmed in place with the next send time, and is effective the same day: the minute tick
reads the settings from the database, and a "nothing to say" check already made today is
forgotten so today is looked at again under the new settings (a digest already sent today is
never sent twice).

The conversation lives in its own handler group so it can never swallow, or be swallowed by,
another feature's conversation; a command or a foreign button simply ends it.
"""

from __future__ import annotations

import datetime as dt
import html
import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.messages import reminders as text
from bot.rules.digest import DAYS, TIME_CHOICES, WINDOW_CHOICES, parse_time
from bot.services.container import BotContext
from bot.services.reminders import ReminderService
from handlers.guards import Student, student_only
from storage.reminders import Recipient

GROUP = 6
MAIN, TYPING_TIME = 0, 1  # ints: the persistence layer stores states as JSON numbers
TIMEOUT_SECONDS = 15 * 60
_MESSAGE_KEY = "settings_message"  # user_data: the settings message to update in place


# ---------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------


def main_keyboard(muted: bool) -> InlineKeyboardMarkup:
    mute = (
        InlineKeyboardButton(text.BTN_UNMUTE, callback_data="set:unmute")
        if muted
        else InlineKeyboardButton(text.BTN_MUTE, callback_data="set:mute")
    )
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text.BTN_TIME, callback_data="set:time"),
                InlineKeyboardButton(text.BTN_DAYS, callback_data="set:days"),
            ],
            [InlineKeyboardButton(text.BTN_WINDOW, callback_data="set:win"), mute],
            [
                InlineKeyboardButton(text.BTN_DEFAULTS, callback_data="set:reset"),
                InlineKeyboardButton(text.BTN_DONE, callback_data="set:done"),
            ],
        ]
    )


def _back_row() -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text.BTN_BACK, callback_data="set:back")]


def time_keyboard(current: dt.time) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text.time_button(c, current), callback_data=f"set:t:{c.replace(':', '')}"
        )
        for c in TIME_CHOICES
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return InlineKeyboardMarkup([*rows, _back_row()])


def days_keyboard(current: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            *[
                [InlineKeyboardButton(text.days_button(d, current), callback_data=f"set:d:{d}")]
                for d in DAYS
            ],
            _back_row(),
        ]
    )


def window_keyboard(current: int) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text.window_button(w, current), callback_data=f"set:w:{w}")
        for w in WINDOW_CHOICES
    ]
    return InlineKeyboardMarkup([buttons, _back_row()])


async def settings_view(
    service: ReminderService, recipient: Recipient, saved: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    prefs = service.preferences(recipient)
    entry = await service.repo.entry(recipient.email, service.clock.today())
    nxt = await service.next_send_for(recipient)
    body = text.settings_text(
        prefs,
        nxt,
        sent_today=entry is not None and entry.status == "sent",
        send_empty=service.settings.reminder_send_empty,
        saved=saved,
        zone=service.clock.tz.key,
    )
    return body, main_keyboard(prefs.muted)


# ---------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------


async def _show(
    update: Update,
    context: BotContext,
    body: str,
    markup: InlineKeyboardMarkup | None,
    *,
    edit: bool,
) -> None:
    """Edit the pressed message in place when `edit`, else post a new settings message."""
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        try:
            await query.edit_message_text(body, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
            # Too old to edit, or deleted: fall through and post a fresh one.
    chat = update.effective_chat
    if chat is None:
        return
    sent = await context.bot.send_message(chat.id, body, reply_markup=markup)
    if context.user_data is not None:
        context.user_data[_MESSAGE_KEY] = sent.message_id


async def _recipient(service: ReminderService, student: Student) -> Recipient | None:
    return await service.repo.recipient_for_user(student.telegram_user_id)


@student_only
async def settings_command(update: Update, context: BotContext, student: Student) -> int:
    """/settings, the main menu's Reminders button, or the button under a digest."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    service = context.services.reminders
    recipient = await _recipient(service, student)
    if recipient is None:  # unlinked between the guard and here
        return ConversationHandler.END
    body, markup = await settings_view(service, recipient)
    await _show(update, context, body, markup, edit=False)
    return MAIN


@student_only
async def on_button(update: Update, context: BotContext, student: Student) -> int:
    query = update.callback_query
    assert query is not None and query.data is not None
    service = context.services.reminders
    recipient = await _recipient(service, student)
    if recipient is None:
        await query.answer()
        return ConversationHandler.END
    prefs = service.preferences(recipient)
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    value = parts[2] if len(parts) > 2 else ""

    if action == "time":
        await query.answer()
        prompt = text.TIME_PROMPT.format(zone=text.zone_label(service.clock.tz.key))
        await _show(update, context, prompt, time_keyboard(prefs.send_time), edit=True)
        _remember(update, context)
        return TYPING_TIME
    if action == "days":
        await query.answer()
        await _show(update, context, text.DAYS_PROMPT, days_keyboard(prefs.days), edit=True)
        return MAIN
    if action == "win":
        await query.answer()
        await _show(
            update, context, text.WINDOW_PROMPT, window_keyboard(prefs.window_days), edit=True
        )
        return MAIN
    if action in ("back", "menu"):
        await query.answer()
        body, markup = await settings_view(service, recipient)
        await _show(update, context, body, markup, edit=action == "back")
        return MAIN
    if action == "done":
        await query.answer()
        nxt = await service.next_send_for(recipient)
        await _show(update, context, text.DONE.format(next=text.next_send_text(nxt)), None,
                    edit=True)  # fmt: skip
        return ConversationHandler.END

    changes: dict[str, Any] | None = None
    saved = ""
    if action == "t":
        chosen = parse_time(value[:2] + ":" + value[2:]) if len(value) == 4 else None
        if chosen is not None:
            changes, saved = {"reminder_time": chosen}, text.SAVED_TIME.format(time=_hhmm(chosen))
    elif action == "d" and value in DAYS:
        changes = {"reminder_days": value}
        saved = text.SAVED_DAYS.format(days=text.DAYS_LABEL[value])
    elif action == "w" and value.isdigit() and int(value) in WINDOW_CHOICES:
        days = int(value)
        changes = {"reminder_window_days": days}
        saved = text.SAVED_WINDOW.format(days=f"{days} days")
    elif action == "mute":
        changes, saved = {"reminders_muted": True}, text.SAVED_MUTE
    elif action == "unmute":
        changes, saved = {"reminders_muted": False}, text.SAVED_UNMUTE
    elif action == "reset":
        changes = {"reminder_time": None, "reminder_days": None, "reminder_window_days": None}
        saved = text.SAVED_DEFAULTS
    if changes is None:  # an old or tampered button: show the current settings
        await query.answer()
        body, markup = await settings_view(service, recipient)
        await _show(update, context, body, markup, edit=True)
        return MAIN
    await query.answer("Saved")
    updated = await service.update_preferences(student.telegram_user_id, changes)
    if updated is None:
        return ConversationHandler.END
    body, markup = await settings_view(service, updated, saved=saved)
    await _show(update, context, body, markup, edit=True)
    return MAIN


@student_only
async def on_time_text(update: Update, context: BotContext, student: Student) -> int:
    message = update.effective_message
    typed = (message.text or "") if message else ""
    chosen = parse_time(typed)
    if chosen is None:
        shown = html.escape(typed.strip()[:30], quote=False)
        await context.bot.send_message(student.chat_id, text.TIME_INVALID.format(text=shown))
        return TYPING_TIME
    service = context.services.reminders
    updated = await service.update_preferences(student.telegram_user_id, {"reminder_time": chosen})
    if updated is None:
        return ConversationHandler.END
    body, markup = await settings_view(
        service, updated, saved=text.SAVED_TIME.format(time=_hhmm(chosen))
    )
    # Replace the time picker with the updated settings, so one message stays current.
    old = context.user_data.get(_MESSAGE_KEY) if context.user_data is not None else None
    if isinstance(old, int):
        try:
            await context.bot.edit_message_text(
                body, chat_id=student.chat_id, message_id=old, reply_markup=markup
            )
            return MAIN
        except BadRequest:
            pass
    await _show(update, context, body, markup, edit=False)
    return MAIN


def _remember(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is not None and query.message is not None and context.user_data is not None:
        context.user_data[_MESSAGE_KEY] = query.message.message_id


async def end_quietly(update: Update, context: BotContext) -> int:
    """Another command or another feature's button: the student moved on."""
    return ConversationHandler.END


def _hhmm(t: dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def build_conversation() -> ConversationHandler[Any]:
    entry = [
        CommandHandler("settings", settings_command),
        CallbackQueryHandler(settings_command, pattern=r"^menu:settings$"),
        CallbackQueryHandler(on_button, pattern=r"^set:"),
    ]
    with warnings.catch_warnings():
        # Button entry points in a per-chat conversation: PTB asks whether per-message
        # tracking was intended. It is not: every button carries its full meaning.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=entry,
            states={
                MAIN: [CallbackQueryHandler(on_button, pattern=r"^set:")],
                TYPING_TIME: [
                    CallbackQueryHandler(on_button, pattern=r"^set:"),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, on_time_text),
                ],
            },
            fallbacks=[
                *entry,
                MessageHandler(filters.COMMAND, end_quietly),
                CallbackQueryHandler(end_quietly),
            ],
            name="settings",
            persistent=True,
            allow_reentry=True,
            conversation_timeout=TIMEOUT_SECONDS,
        )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(build_conversation(), group=GROUP)
