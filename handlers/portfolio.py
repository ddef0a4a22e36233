"""/portfolio: choose what the PDF shows (name, email, period), then get the PDF.

A short form (handlers/forms.py, so it follows every form's rules): one message of choices
with buttons (✏️ Name, 📧 show or hide the email, the period, 📄 Make), and one typed step for
the name. The choices are kept in the
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
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatAction
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import portfolio as text
from bot.messages.html import esc
from bot.services import charts, pdf_fonts
from bot.services.container import BotContext
from bot.services.portfolio import PortfolioChoices, portfolio_pdf
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student, student_only
from handlers.my_progress import record_service
from handlers.replies import say

log = logging.getLogger(__name__)
CHOOSING, NAMING = "choose", "name"
NAME_LIMIT = 80
_KEY = "portfolio_choices"  # user_data; "portfolio" is the form's own draft


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


class PortfolioForm(Form):
    """The choices message is the form's prompt; ✏️ Name is its one typed step."""

    name = "portfolio"
    prefix = "pf"
    command = "/portfolio"
    own_commands = frozenset({"portfolio"})
    states = (CHOOSING, NAMING)
    cancelled = text.CANCELLED

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        start = self.entry(student_only(self._start))
        return [
            CommandHandler("portfolio", start),
            CallbackQueryHandler(start, pattern=r"^pf:open$"),
        ]

    async def _start(self, update: Update, context: BotContext, student: Student) -> object:
        if update.callback_query is not None:
            await update.callback_query.answer()
        return await self.fresh(update, context)

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        assert update.effective_chat is not None
        old = self.draft(context) or {}
        if old.get("prompt"):
            await self.strip_buttons(context, update.effective_chat.id, int(old["prompt"]))
        draft = self.new_draft(context, update.effective_chat.id, CHOOSING)
        return await self.show(CHOOSING, draft, update, context)

    def worth_keeping(self, draft: Draft) -> bool:
        return False  # the choices are kept anyway: /portfolio starts from them

    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        student = await current_student(update, context)
        assert student is not None
        if step == NAMING:
            body = text.ASK_NAME.format(name=esc(_choices(context, student)["name"]))
            return body, self.keyboard(cancel=False)
        return _options(context, student)

    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step != NAMING:
            return await self.show(step, draft, update, context, error=text.TAP_A_BUTTON)
        student = await current_student(update, context)
        if student is None:
            return END
        name = clean_name(raw)
        if name is None:
            error = text.NAME_BAD.format(limit=NAME_LIMIT)
            return await self.show(NAMING, draft, update, context, error=error)
        missing = await asyncio.to_thread(pdf_fonts.missing_characters, name)
        if missing:
            error = text.NAME_NO_FONT.format(chars=esc(" ".join(missing)))
            return await self.show(NAMING, draft, update, context, error=error)
        _choices(context, student)["name"] = name
        return await self.back_to(CHOOSING, draft, update, context)

    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        student = await current_student(update, context)
        if student is None:
            return END
        c = _choices(context, student)
        if action == "name":
            return await self.go(NAMING, draft, update, context)
        if action == "email":
            c["email"] = not c["email"]
        elif action == "period":
            c["recent"] = not c["recent"]
        elif action == "make":
            self.drop(context)
            await _make(update, context, student)
            return END
        return await self.show(CHOOSING, draft, update, context)


def clean_name(typed: str) -> str | None:
    """The name as the student typed it, spaces tidied; None when it is empty, too long or
    holds control characters (a name is letters in any script, marks, spaces, - ' .)."""
    name = " ".join(typed.split())
    if not 1 <= len(name) <= NAME_LIMIT:
        return None
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return None
    return name


async def _chart(context: BotContext, student: Student) -> bytes | None:
    """The /stats chart of the student's PTL now, or None when nobody is waiting. A PTL the
    chart cannot read (a malformed platform row) leaves the chart out of the PDF rather than
    failing the whole portfolio: the figures are counted in SQL and do not depend on it."""
    try:
        summary = await context.services.ptl.summary(student.email)
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


async def _warm_fonts(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Cut the body font and read the fonts' character maps in the background."""
    asyncio.get_running_loop().run_in_executor(None, pdf_fonts.warm_up)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    from bot.hooks import add_startup_hook

    PortfolioForm().register(app)
    add_startup_hook(app, _warm_fonts)
