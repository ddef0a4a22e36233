"""/export: the student's PTL as a CSV document (built by `bot.services.export`, which knows
nothing of Telegram)."""

from __future__ import annotations

import tempfile
from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.messages import export as text
from bot.rules.dates import format_date
from bot.services.container import BotContext
from bot.services.export import export_filename, write_csv
from handlers.guards import Student, student_only
from handlers.replies import show_action


async def send_export(update: Update, context: BotContext, student: Student) -> None:
    """The PTL streamed from the database into a temporary file, a chunk of rows at a time
    (the whole PTL is never in memory), then sent as one document."""
    today = context.services.clock.today()
    with tempfile.TemporaryFile() as out:
        n = await write_csv(context.services.ptl.stream(student.email), out)
        if not n:
            await context.bot.send_message(student.chat_id, text.EMPTY)
            return
        await show_action(context, student.chat_id, ChatAction.UPLOAD_DOCUMENT)
        out.seek(0)
        await context.bot.send_document(
            student.chat_id,
            document=out,
            filename=export_filename(today),
            caption=text.CAPTION.format(date=format_date(today), n=n, s="" if n == 1 else "s"),
        )


@student_only
async def export_command(update: Update, context: BotContext, student: Student) -> None:
    await send_export(update, context, student)


@student_only
async def export_menu(update: Update, context: BotContext, student: Student) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    await send_export(update, context, student)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("export", export_command))
    app.add_handler(CallbackQueryHandler(export_menu, pattern=r"^menu:export$"))
