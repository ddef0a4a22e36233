"""/settings: when breach reminders arrive (time, days), how far ahead they look, mute.

Why it is built like this: every choice on the settings panel is a button whose callback data
says everything (`set:d:daily`, `set:w:14`, `set:mute`...), so a settings message keeps
working after a restart, from an old message, or from the button under a digest. Only typing
a time waits for the student's text, so only that is a form (`TimeForm`, handlers/forms.py):
⏰ Time opens it on the panel itself, a tapped or typed time saves and closes it, and while it
waits it follows every form's rules (another command closes it quietly, since nothing is
lost; /cancel ends it). Every change is confirmed with the next send time, and is effective
the same day: the minute tick reads the settings from the database, and a "nothing to say"
check already made today is forgotten so today is looked at again under the new settings (a
digest already sent today is never sent twice).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import reminders as text
from bot.messages.html import esc
from bot.rules.digest import DAYS, TIME_CHOICES, WINDOW_CHOICES, parse_time
from bot.services.container import BotContext
from bot.services.patient_form import Choice
from bot.services.reminders import ReminderService
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student, student_only
from storage.reminders import Recipient

TIME = "time"


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
# The panel: stateless buttons
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
    if chat is not None:
        await context.bot.send_message(chat.id, body, reply_markup=markup)


async def _recipient(service: ReminderService, student: Student) -> Recipient | None:
    return await service.repo.recipient_for_user(student.telegram_user_id)


@student_only
async def settings_command(update: Update, context: BotContext, student: Student) -> None:
    """/settings, the main menu's Reminders button, or the button under a digest."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    service = context.services.reminders
    recipient = await _recipient(service, student)
    if recipient is None:  # unlinked between the guard and here
        return
    body, markup = await settings_view(service, recipient)
    await _show(update, context, body, markup, edit=False)


@student_only
async def on_button(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    service = context.services.reminders
    recipient = await _recipient(service, student)
    if recipient is None:
        await query.answer()
        return
    prefs = service.preferences(recipient)
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    value = parts[2] if len(parts) > 2 else ""

    if action == "days":
        await query.answer()
        await _show(update, context, text.DAYS_PROMPT, days_keyboard(prefs.days), edit=True)
        return
    if action == "win":
        await query.answer()
        await _show(
            update, context, text.WINDOW_PROMPT, window_keyboard(prefs.window_days), edit=True
        )
        return
    if action in ("back", "menu"):
        await query.answer()
        body, markup = await settings_view(service, recipient)
        await _show(update, context, body, markup, edit=action == "back")
        return
    if action == "done":
        await query.answer()
        nxt = await service.next_send_for(recipient)
        await _show(update, context, text.DONE.format(next=text.next_send_text(nxt)), None,
                    edit=True)  # fmt: skip
        return

    changes: dict[str, Any] | None = None
    saved = ""
    if action == "t":  # a time button on a picker sent before the time became a form
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
        return
    await query.answer("Saved")
    updated = await service.update_preferences(student.telegram_user_id, changes)
    if updated is None:
        return
    body, markup = await settings_view(service, updated, saved=saved)
    await _show(update, context, body, markup, edit=True)


def _hhmm(t: dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


# ---------------------------------------------------------------------------------------
# The reminder time: a one-step form
# ---------------------------------------------------------------------------------------


class TimeForm(Form):
    """⏰ Time on the panel: pick a time or type one (07:45, 7.45, 6pm)."""

    name = "settings"
    prefix = "sett"
    command = "/settings"
    own_commands = frozenset[str]()  # /settings again: a new panel, and the picker closes
    own_callbacks = ("set:time",)
    states = (TIME,)

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        return [CallbackQueryHandler(self.entry(student_only(self._open)), pattern=r"^set:time$")]

    async def _open(self, update: Update, context: BotContext, student: Student) -> object:
        query = update.callback_query
        assert query is not None and update.effective_chat is not None
        await query.answer()
        old = self.draft(context) or {}
        # The panel itself turns into the time picker.
        prompt = query.message.message_id if query.message is not None else None
        if old.get("prompt") and old["prompt"] != prompt:
            await self.strip_buttons(context, update.effective_chat.id, int(old["prompt"]))
        draft = self.new_draft(context, update.effective_chat.id, TIME, prompt=prompt)
        return await self.show(TIME, draft, update, context)

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        assert update.effective_chat is not None
        draft = self.new_draft(context, update.effective_chat.id, TIME)
        return await self.show(TIME, draft, update, context)

    def worth_keeping(self, draft: Draft) -> bool:
        return False  # nothing typed yet: another command just closes the picker

    def where(self, draft: Draft) -> str:
        return text.BTN_TIME

    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        service = context.services.reminders
        student = await current_student(update, context)
        recipient = await _recipient(service, student) if student else None
        current = service.preferences(recipient).send_time if recipient else None
        choices = [
            Choice(text.time_button(c, current) if current else c, c.replace(":", ""))
            for c in TIME_CHOICES
        ]
        rows = [choices[i : i + 4] for i in range(0, len(choices), 4)]
        prompt = text.TIME_PROMPT.format(zone=text.zone_label(service.clock.tz.key))
        keyboard = self.keyboard(rows, back=False, cancel=False, extra=[[(text.BTN_BACK, "panel")]])
        return prompt, keyboard

    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        chosen = parse_time(raw)
        if chosen is None:
            shown = esc(raw.strip()[:30])
            return await self.show(
                TIME, draft, update, context, error=text.TIME_INVALID.format(text=shown)
            )
        return await self._save(chosen, draft, update, context)

    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if action == "panel":
            return await self._close(draft, update, context)
        value = action.removeprefix("c:")
        chosen = parse_time(value[:2] + ":" + value[2:]) if len(value) == 4 else None
        if chosen is None:
            return None
        return await self._save(chosen, draft, update, context)

    async def _save(
        self, chosen: dt.time, draft: Draft, update: Update, context: BotContext
    ) -> object:
        service = context.services.reminders
        user = update.effective_user
        assert user is not None
        updated = await service.update_preferences(user.id, {"reminder_time": chosen})
        if updated is None:
            self.drop(context)
            return END
        body, markup = await settings_view(
            service, updated, saved=text.SAVED_TIME.format(time=_hhmm(chosen))
        )
        return await self.finish(body, draft, update, context, keyboard=markup)

    async def _close(self, draft: Draft, update: Update, context: BotContext) -> object:
        service = context.services.reminders
        user = update.effective_user
        assert user is not None
        recipient = await service.repo.recipient_for_user(user.id)
        if recipient is None:
            self.drop(context)
            return END
        body, markup = await settings_view(service, recipient)
        return await self.finish(body, draft, update, context, keyboard=markup)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    TimeForm().register(app)
    app.add_handler(CommandHandler("settings", settings_command))
    app.add_handler(CallbackQueryHandler(settings_command, pattern=r"^menu:settings$"))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^set:"))
