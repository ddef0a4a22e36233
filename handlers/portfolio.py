"""/portfolio: choose what the PDF shows (name, email, period), then get the PDF.

A short conversation: one message of choices with buttons (✏️ Name, 📧 show or hide the
email, the period, 📄 Make), and one typed step for the name. The choices are kept in the
student's `user_data` (persisted), so the next portfolio starts from the last one. Nothing
is stored in the database; the PDF is made from the student's record
(`bot.services.progress`, counted in SQL as the student), their /stats chart and those
choices, in a worker thread, and sent as a document.

Callback data: `pf:open` (from /progress), `pf:name`, `pf:email`, `pf:period`, `pf:make`,
`pf:cancel`.
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.messages import portfolio as text
from bot.messages.html import esc
from bot.services import charts, pdf_fonts
from bot.services.container import BotContext
from bot.services.portfolio import PortfolioChoices, portfolio_pdf
from bot.services.stats import summarise
from handlers.guards import Student, student_only
from handlers.my_progress import record_service
from handlers.ptl import load_entries
from handlers.replies import say

log = logging.getLogger(__name__)
GROUP = 8
CHOOSING, NAMING = range(2)
NAME_LIMIT = 80
_KEY = "portfolio"


def _choices(context: BotContext, student: Student) -> dict[str, Any]:
    saved = context.user_data.setdefault(_KEY, {}) if context.user_data is not None else {}
    saved.setdefault("name", (student.first_name or student.email.split("@")[0]).strip())
    saved.setdefault("email", False)
    saved.setdefault("recent", False)
    return saved


def _options(context: BotContext, student: Student) -> tuple[str, InlineKeyboardMarkup]:
    c = _choices(context, student)
    body = text.OPTIONS.format(
        name=esc(c["name"]),
        email=esc(student.email) if c["email"] else text.EMAIL_HIDDEN,
        period=text.PERIOD_RECENT if c["recent"] else text.PERIOD_ALL,
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text.NAME_BUTTON, callback_data="pf:name"),
                InlineKeyboardButton(
                    text.EMAIL_HIDE if c["email"] else text.EMAIL_SHOW, callback_data="pf:email"
                ),
            ],
            [
                InlineKeyboardButton(
                    text.PERIOD_TO_ALL if c["recent"] else text.PERIOD_TO_RECENT,
                    callback_data="pf:period",
                )
            ],
            [
                InlineKeyboardButton(text.MAKE, callback_data="pf:make"),
                InlineKeyboardButton(text.CANCEL, callback_data="pf:cancel"),
            ],
        ]
    )
    return body, keyboard


@student_only
async def portfolio_command(update: Update, context: BotContext, student: Student) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    await say(update, context, *_options(context, student), new=True)
    return CHOOSING


@student_only
async def choose(update: Update, context: BotContext, student: Student) -> int:
    query = update.callback_query
    assert query is not None
    await query.answer()
    action = (query.data or "").removeprefix("pf:")
    c = _choices(context, student)
    if action == "name":
        await say(update, context, text.ASK_NAME.format(name=esc(c["name"])))
        return NAMING
    if action == "email":
        c["email"] = not c["email"]
    elif action == "period":
        c["recent"] = not c["recent"]
    elif action == "cancel":
        await say(update, context, text.CANCELLED)
        return ConversationHandler.END
    elif action == "make":
        await _make(update, context, student)
        return ConversationHandler.END
    await say(update, context, *_options(context, student))
    return CHOOSING


def clean_name(typed: str) -> str | None:
    """The name as the student typed it, spaces tidied; None when it is empty, too long or
    holds control characters (a name is letters in any script, marks, spaces, - ' .)."""
    name = " ".join(typed.split())
    if not 1 <= len(name) <= NAME_LIMIT:
        return None
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return None
    return name


@student_only
async def name_typed(update: Update, context: BotContext, student: Student) -> int:
    message = update.effective_message
    assert message is not None
    name = clean_name(message.text or "")
    if name is None:
        await say(update, context, text.NAME_BAD.format(limit=NAME_LIMIT))
        return NAMING
    missing = await asyncio.to_thread(pdf_fonts.missing_characters, name)
    if missing:
        await say(update, context, text.NAME_NO_FONT.format(chars=esc(" ".join(missing))))
        return NAMING
    _choices(context, student)["name"] = name
    await say(update, context, *_options(context, student))
    return CHOOSING


async def _chart(context: BotContext, student: Student) -> bytes | None:
    """The /stats chart of the student's PTL now, or None when nobody is waiting. A PTL the
    chart cannot read (a malformed platform row) leaves the chart out of the PDF rather than
    failing the whole portfolio: the figures are counted in SQL and do not depend on it."""
    try:
        summary = summarise(await load_entries(context, student))
        if not summary.waiting:
            return None
        return await asyncio.to_thread(charts.waiting_chart_png, summary.by_standard)
    except Exception:
        log.warning("Portfolio: the PTL chart was left out", exc_info=True)
        return None


async def _make(update: Update, context: BotContext, student: Student) -> None:
    services = context.services
    today = services.clock.today()
    record = await record_service(context).record(student.email, today)
    if record.empty:
        await say(update, context, text.EMPTY)
        return
    await say(update, context, text.MAKING)
    await context.bot.send_chat_action(student.chat_id, ChatAction.UPLOAD_DOCUMENT)
    c = _choices(context, student)
    choices = PortfolioChoices(c["name"], student.email if c["email"] else None, c["recent"])
    chart = await _chart(context, student)
    pdf = await asyncio.to_thread(portfolio_pdf, record, choices, chart)
    await context.bot.send_document(
        student.chat_id,
        document=InputFile(pdf, filename=text.FILE_NAME.format(date=today.isoformat())),
        caption=text.SENT_CAPTION.format(
            period=text.PERIOD_RECENT if c["recent"] else text.PERIOD_ALL
        ),
    )


async def end_quietly(update: Update, context: BotContext) -> int:
    """Another command or someone else's button: the student moved on."""
    return ConversationHandler.END


def build_conversation() -> ConversationHandler[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBUserWarning)  # callback entry, per-chat on purpose
        return ConversationHandler(
            entry_points=[
                CommandHandler("portfolio", portfolio_command),
                CallbackQueryHandler(portfolio_command, pattern=r"^pf:open$"),
            ],
            states={
                CHOOSING: [
                    CallbackQueryHandler(choose, pattern=r"^pf:(name|email|period|make|cancel)$")
                ],
                NAMING: [MessageHandler(filters.TEXT & ~filters.COMMAND, name_typed)],
            },
            fallbacks=[
                CommandHandler("portfolio", portfolio_command),
                MessageHandler(filters.COMMAND, end_quietly),
                CallbackQueryHandler(end_quietly),
            ],
            name="portfolio",
            persistent=True,
            allow_reentry=True,
        )


async def _warm_fonts(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Cut the body font and read the fonts' character maps in the background."""
    asyncio.get_running_loop().run_in_executor(None, pdf_fonts.warm_up)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    from bot.hooks import add_startup_hook

    app.add_handler(build_conversation(), group=GROUP)
    add_startup_hook(app, _warm_fonts)
