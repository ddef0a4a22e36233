"""/find: a patient by name fragment, patient ID or NHS number.

`/find smith` answers at once. `/find` alone (or 🔎 Find on the menu) asks what to look for
and takes the next message as the search: a small ConversationHandler, persistent so a
restart between the question and the answer doesn't lose it.

Why group 1: the waiting state must never swallow a command or a button meant for another
feature. The conversation lives in its own handler group, so a command typed instead of a
search (say /ptl or /add) is handled normally in group 0 and also quietly ends the search
here; a button press does the same. One match opens the card straight away; several are
listed most at risk first, like /ptl.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.messages import find as text
from bot.messages.html import esc
from bot.rules.fields import clip
from bot.services.container import BotContext
from bot.services.ptl_view import at_risk_days, build_entries
from handlers.card import MAX_CALLBACK_BYTES, send_card
from handlers.guards import Student, student_only
from handlers.ptl import entry_line

GROUP = 1
WAITING = 0
MAX_RESULTS = 20
MAX_QUERY = 100


def check_query(query: str) -> str | None:
    """Why a search can't run (a message for the student), or None if it can."""
    cleaned = query.strip()
    if len(cleaned) > MAX_QUERY:
        return text.TOO_LONG
    if len(cleaned.replace(" ", "")) < 2:
        return text.TOO_SHORT
    return None


def _again_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text.SEARCH_AGAIN, callback_data="menu:find"),
                InlineKeyboardButton(text.TO_PTL, callback_data="ptl:0:all:all"),
            ]
        ]
    )


async def search(update: Update, context: BotContext, student: Student, query: str) -> bool:
    """Run a search and show the outcome. False when the query itself was unusable."""
    problem = check_query(query)
    if problem is not None:
        await context.bot.send_message(student.chat_id, problem)
        return False
    services = context.services
    found = await services.patients.find(student.email, query.strip(), limit=MAX_RESULTS + 1)
    shown_query = esc(clip(query.strip(), 40))
    if not found:
        lines = [text.NO_MATCH.format(query=shown_query), text.NO_MATCH_HINT]
        digits = "".join(ch for ch in query if ch.isdigit())
        if len(digits) >= 6 and len(digits) != 10:
            lines.append(text.DIGITS_HINT.format(n=len(digits)))
        await context.bot.send_message(
            student.chat_id, "\n".join(lines), reply_markup=_again_keyboard()
        )
        return True
    if len(found) == 1:
        await send_card(update, context, student, found[0])
        return True
    more = len(found) > MAX_RESULTS
    entries = build_entries(
        found[:MAX_RESULTS], services.clock.today(), at_risk_days(services.settings)
    )
    lines = [text.MATCHES.format(n=len(entries), query=shown_query), ""]
    buttons: list[InlineKeyboardButton] = []
    for n, entry in enumerate(entries, start=1):
        lines.append(entry_line(n, entry))
        data = f"card:{entry.patient.patient_id}"
        if len(data.encode()) <= MAX_CALLBACK_BYTES:
            label = clip(f"{n}. {entry.mark} {entry.patient.patient_name or '(no name)'}", 40)
            buttons.append(InlineKeyboardButton(label, callback_data=data))
    if more:
        lines.extend(["", text.MORE.format(n=MAX_RESULTS)])
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await context.bot.send_message(
        student.chat_id, "\n".join(lines), reply_markup=InlineKeyboardMarkup(rows)
    )
    return True


@student_only
async def find_command(update: Update, context: BotContext, student: Student) -> int:
    query = " ".join(context.args or [])
    if query.strip():
        await search(update, context, student, query)
        return ConversationHandler.END
    await context.bot.send_message(student.chat_id, text.PROMPT)
    return WAITING


@student_only
async def find_menu(update: Update, context: BotContext, student: Student) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    await context.bot.send_message(student.chat_id, text.PROMPT)
    return WAITING


@student_only
async def find_text(update: Update, context: BotContext, student: Student) -> int:
    message = update.effective_message
    ok = await search(update, context, student, message.text if message and message.text else "")
    # An unusable query (too short, too long) keeps waiting, so the student just retypes.
    return ConversationHandler.END if ok else WAITING


async def end_quietly(update: Update, context: BotContext) -> int:
    """Another command or a button: the student moved on; stop waiting without a word."""
    return ConversationHandler.END


def build_conversation() -> ConversationHandler[Any]:
    with warnings.catch_warnings():
        # menu:find is a CallbackQueryHandler entry point in a per-chat conversation, which
        # PTB flags in case per-message tracking was intended; it is not.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler("find", find_command),
                CallbackQueryHandler(find_menu, pattern=r"^menu:find$"),
            ],
            states={
                WAITING: [MessageHandler(filters.TEXT & ~filters.COMMAND, find_text)],
            },
            fallbacks=[
                CommandHandler("find", find_command),
                CallbackQueryHandler(find_menu, pattern=r"^menu:find$"),
                MessageHandler(filters.COMMAND, end_quietly),
                CallbackQueryHandler(end_quietly),
            ],
            name="find",
            persistent=True,
            allow_reentry=True,
            # No conversation_timeout: PTB's timeout jobs are not persisted (a restart would
            # forget them) and the wait needs none: the next message, command or button
            # ends it, and free text has no other meaning outside a form anyway.
        )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(build_conversation(), group=GROUP)
