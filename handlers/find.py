"""/find: a patient by name fragment, patient ID or NHS number.

`/find smith` answers at once. `/find` alone (or 🔎 Find on the menu) asks what to look for
and takes the next message as the search. That waiting is a `Form` (handlers/forms.py), the
smallest one there is: one step, nothing worth holding. So it follows every rule a form
follows: while it waits, the next text is the search and nothing else's; another command
closes it quietly (there is nothing to lose); /cancel ends it. A query too short or too long
keeps it waiting with the reason above the question, so the student just types again
(`/find o` included).

Text a student sends when nothing is waiting for it is offered back as a search
(`offer_search`, used by handlers/routing.py): 🔎 Find “smith” runs it.

One match opens the card straight away; several are listed most at risk first, like /ptl.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import find as text
from bot.messages import menu as menu_text
from bot.messages import routing as routing_text
from bot.messages.html import esc
from bot.rules.fields import clip
from bot.services.container import BotContext
from bot.services.ptl_view import at_risk_days, build_entries
from handlers.card import MAX_CALLBACK_BYTES, send_card
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student, student_only
from handlers.ptl import entry_line

QUERY = "query"
MAX_RESULTS = 20
MAX_QUERY = 100
OFFERS_KEY = "find_offers"
"""user_data: {message id: text} for the last few 🔎 Find “…” offers (callback data can't
carry the text itself: it is limited to 64 bytes)."""
OFFERS_KEPT = 5
OFFER_SHOWN = 30


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


async def search(update: Update, context: BotContext, student: Student, query: str) -> None:
    """Run a (usable: see `check_query`) search and show the outcome."""
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
        return
    if len(found) == 1:
        await send_card(update, context, student, found[0])
        return
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


class FindForm(Form):
    name = "find"
    prefix = "fndf"
    command = "/find"
    own_commands = frozenset({"find"})
    own_callbacks = ("menu:find",)
    states = (QUERY,)

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        return [
            CommandHandler("find", self.entry(student_only(self._command))),
            CallbackQueryHandler(self.entry(student_only(self._menu)), pattern=r"^menu:find$"),
        ]

    async def _command(self, update: Update, context: BotContext, student: Student) -> object:
        query = " ".join(context.args or [])
        if not query.strip():
            return await self.fresh(update, context)
        problem = check_query(query)
        if problem is None:
            await self.close_quietly(update, context)
            await search(update, context, student, query)
            return END
        return await self.fresh(update, context, error=problem)

    async def _menu(self, update: Update, context: BotContext, student: Student) -> object:
        if update.callback_query is not None:
            await update.callback_query.answer()
        return await self.fresh(update, context)

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        assert update.effective_chat is not None
        old = self.draft(context) or {}
        # A new question at the bottom of the chat, even when a button opened it.
        draft = self.new_draft(context, update.effective_chat.id, QUERY)
        if old.get("prompt"):
            await self.strip_buttons(context, update.effective_chat.id, int(old["prompt"]))
        return await self.show(QUERY, draft, update, context, error=kwargs.get("error", ""))

    def worth_keeping(self, draft: Draft) -> bool:
        return False  # nothing typed yet: another command just closes the question

    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        return text.PROMPT, self.keyboard(back=False)

    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        problem = check_query(raw)
        if problem is not None:
            return await self.show(QUERY, draft, update, context, error=problem)
        student = await current_student(update, context)
        if student is None:
            return END
        self.drop(context)
        if draft.get("prompt"):
            await self.strip_buttons(context, student.chat_id, int(draft["prompt"]))
        await search(update, context, student, raw)
        return END

    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        return None  # the prompt's only button is Cancel, which the form handles


# --- text nobody was waiting for, offered back as a search -----------------------------------


async def offer_search(update: Update, context: BotContext, typed: str) -> None:
    """Reply to stray text: search the PTL for it (🔎 Find “…”), or open the menu."""
    chat = update.effective_chat
    if chat is None:
        return
    menu = InlineKeyboardButton(menu_text.MENU_BUTTON, callback_data="menu:main")
    cleaned = " ".join(typed.split())
    if check_query(cleaned) is not None or "\n" in typed.strip():
        await context.bot.send_message(
            chat.id, routing_text.NOT_WAITING_LONG, reply_markup=InlineKeyboardMarkup([[menu]])
        )
        return
    shown = clip(cleaned, OFFER_SHOWN)
    find = InlineKeyboardButton(routing_text.FIND_BUTTON.format(text=shown), callback_data="fnd:o")
    sent = await context.bot.send_message(
        chat.id,
        routing_text.NOT_WAITING.format(text=esc(shown)),
        reply_markup=InlineKeyboardMarkup([[find], [menu]]),
    )
    if context.user_data is not None:
        offers = dict(context.user_data.get(OFFERS_KEY) or {})
        offers[str(sent.message_id)] = cleaned
        context.user_data[OFFERS_KEY] = dict(list(offers.items())[-OFFERS_KEPT:])


@student_only
async def run_offer(update: Update, context: BotContext, student: Student) -> None:
    """🔎 Find “…” under a reply to stray text: search for that text."""
    query = update.callback_query
    assert query is not None
    offers = (context.user_data or {}).get(OFFERS_KEY) or {}
    typed = offers.get(str(query.message.message_id)) if query.message is not None else None
    if not isinstance(typed, str):
        await query.answer(routing_text.BUTTON_GONE)
        return
    await query.answer()
    await search(update, context, student, typed)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    FindForm().register(app)
    app.add_handler(CallbackQueryHandler(run_offer, pattern=r"^fnd:o$"))
