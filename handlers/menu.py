"""/menu and /help: the two ways in for a student who does not remember a command.

Each main-menu button carries `menu:<feature>`; the feature's own module registers the
handler for it (so this module knows the menu's shape, not what each feature does).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.messages import menu as text
from bot.services.container import BotContext
from handlers.guards import Student, current_student, student_only


def main_menu_keyboard() -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(label, callback_data=data) for label, data in text.MENU_BUTTONS]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def send_main_menu(update: Update, context: BotContext, student: Student) -> None:
    """Post the main menu in the student's chat (used by /menu, /start and after a form)."""
    chat = update.effective_chat
    if chat is None:
        return
    name = student.first_name or "there"
    await context.bot.send_message(
        chat.id,
        text.MENU_TITLE.format(name=_escape(name)),
        reply_markup=main_menu_keyboard(),
    )


@student_only
async def menu_command(update: Update, context: BotContext, student: Student) -> None:
    await send_main_menu(update, context, student)


@student_only
async def menu_button(update: Update, context: BotContext, student: Student) -> None:
    """📋 Menu on a message that offers it (e.g. a reply to stray text)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await send_main_menu(update, context, student)


async def help_for(update: Update, context: BotContext) -> str:
    """The /help text for whoever sent `update`: unlinked, student or tutor."""
    student = await current_student(update, context)
    return text.help_text(linked=student is not None, tutor=bool(student and student.is_tutor))


async def help_command(update: Update, context: BotContext) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, await help_for(update, context))


def _escape(value: str) -> str:
    import html

    return html.escape(value, quote=False)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("menu", menu_command))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CallbackQueryHandler(help_command, pattern=r"^menu:help$"))
    app.add_handler(CallbackQueryHandler(menu_button, pattern=r"^menu:main$"))
