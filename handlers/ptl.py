"""/ptl: the student's PTL, most at risk first, one compact line per patient, paginated.

Why it looks like this: students check their PTL on a phone, often in a hurry. The first
screen answers "who is about to breach?" (the engine's breach-risk order), each patient is
one short line, and a tap opens the patient card. Paging and filters edit the same message
rather than filling the chat.

Callback data (<= 64 bytes):
- `ptl:<page>:<status>:<type>[:<booking>]`  show that page (status, type and booking are short
  filter codes from `bot.services.ptl_view.STATUS_FILTERS` / `TYPE_FILTERS` /
  `BOOKING_FILTERS`; unknown codes mean "all", and buttons sent before the booking filter
  existed have no booking part);
- `ptlf:<s|t|b>:<page>:<status>:<type>[:<booking>]`  show the status, type or booking choices.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.messages import bookings as booking_words
from bot.messages import clock as clock_words
from bot.messages import ptl as text
from bot.messages.html import esc
from bot.rules.fields import clip
from bot.services.container import BotContext
from bot.services.ptl_pages import PtlScreen
from bot.services.ptl_view import (
    BOOKING_FILTERS,
    STATUS_FILTERS,
    TYPE_FILTERS,
    PtlEntry,
)
from handlers.card import MAX_CALLBACK_BYTES, edit_or_send
from handlers.guards import Student, student_only

PAGE_SIZE = text.PAGE_SIZE
_PTL_DATA = re.compile(r"^ptl:(\d{1,4}):(\w{1,6}):(\w{1,6})(?::(\w{1,6}))?$")
_FILTER_DATA = re.compile(r"^ptlf:([stb]):(\d{1,4}):(\w{1,6}):(\w{1,6})(?::(\w{1,6}))?$")


@dataclass(frozen=True, slots=True)
class View:
    """Which page of which filtered PTL the student is looking at."""

    page: int = 0
    status: str = "all"
    ptype: str = "all"
    booking: str = "all"

    def __post_init__(self) -> None:
        # Unknown codes (an old button, a hand-typed callback) fall back to "all".
        if self.status not in STATUS_FILTERS:
            object.__setattr__(self, "status", "all")
        if self.ptype not in TYPE_FILTERS:
            object.__setattr__(self, "ptype", "all")
        if self.booking not in BOOKING_FILTERS:
            object.__setattr__(self, "booking", "all")

    @property
    def codes(self) -> str:
        """The filter part of callback data: status, type and booking codes."""
        return f"{self.status}:{self.ptype}:{self.booking}"

    def data(self, page: int | None = None) -> str:
        return f"ptl:{self.page if page is None else page}:{self.codes}"

    @property
    def filtered(self) -> bool:
        return self.status != "all" or self.ptype != "all" or self.booking != "all"


def entry_line(n: int, entry: PtlEntry, today: dt.date | None = None) -> str:
    """The compact line: status mark, name, weeks waited, breach date (or how it ended), and
    the next booking ("🗓 TCI 14 Jan", "undated", "❗ outcome needed")."""
    return _clock_part(n, entry) + booking_words.row_part(entry.bookings, today)


def _clock_part(n: int, entry: PtlEntry) -> str:
    state = entry.state
    name = esc(clip(entry.patient.patient_name or "(no name)", 40))
    weeks: object = state.weeks_waited if state is not None else "–"
    return text.LINE.format(
        n=n, mark=entry.mark, name=name, weeks=weeks, when=clock_words.ptl_when(state)
    )


def _counts(screen: PtlScreen) -> str:
    tally = screen.statuses
    line = text.COUNTS.format(
        breached=tally.get("breached", 0),
        at_risk=tally.get("at_risk", 0),
        on_track=tally.get("on_track", 0),
    )
    closed = screen.total - sum(tally.get(s, 0) for s in ("breached", "at_risk", "on_track"))
    return line + (text.CLOSED_COUNT.format(closed=closed) if closed else "")


def render_page(
    screen: PtlScreen, view: View, today: dt.date | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The PTL message for `view`: one page (`screen.entries`, in breach-risk order) and the
    whole PTL's counts."""
    if not screen.total:
        return text.EMPTY, None
    pages = max(1, -(-screen.shown // PAGE_SIZE))
    page = screen.page
    view = View(page, view.status, view.ptype, view.booking)
    total = screen.total
    lines = [
        text.TITLE.format(total=total, s="" if total == 1 else "s"),
        _counts(screen),
        booking_words.counts_line(dict(screen.bookings)),
    ]
    if view.filtered:
        template = text.FILTERED if view.booking == "all" else booking_words.FILTERED
        lines.append(
            template.format(
                status=text.STATUS_FILTER_LABELS[view.status],
                ptype=text.TYPE_FILTER_LABELS[view.ptype],
                booking=booking_words.FILTER_LABELS[view.booking],
                n=screen.shown,
                s="" if screen.shown == 1 else "s",
            )
        )
    lines.append("")
    people: list[InlineKeyboardButton] = []
    if not screen.shown:
        lines.append(text.EMPTY_FILTER)
    else:
        for n, entry in enumerate(screen.entries, start=page * PAGE_SIZE + 1):
            lines.append(entry_line(n, entry, today))
            data = f"card:{entry.patient.patient_id}:{page}:{view.codes}"
            if len(data.encode()) > MAX_CALLBACK_BYTES:
                data = f"card:{entry.patient.patient_id}"
            if len(data.encode()) <= MAX_CALLBACK_BYTES:
                label = clip(f"{n}. {entry.mark} {entry.patient.patient_name or '(no name)'}", 40)
                people.append(InlineKeyboardButton(label, callback_data=data))
        lines.append("")
        lines.append(text.PAGE.format(page=page + 1, pages=pages))
        if page == 0 and not view.filtered:
            lines.append(text.ORDER_NOTE)
    # Two patients per row keeps a page of 8 to four rows on a phone.
    rows = [people[i : i + 2] for i in range(0, len(people), 2)]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(InlineKeyboardButton(text.PREV, callback_data=view.data(page - 1)))
    nav.append(
        InlineKeyboardButton(
            text.PAGE_BUTTON.format(page=page + 1, pages=pages), callback_data=view.data()
        )
    )
    if page < pages - 1:
        nav.append(InlineKeyboardButton(text.NEXT, callback_data=view.data(page + 1)))
    rows.append(nav)
    status_label = text.STATUS_FILTER_LABELS[view.status]
    type_label = text.TYPE_FILTER_LABELS[view.ptype]
    rows.append(
        [
            InlineKeyboardButton(
                text.STATUS_BUTTON.format(label=status_label),
                callback_data=f"ptlf:s:{page}:{view.codes}",
            ),
            InlineKeyboardButton(
                text.TYPE_BUTTON.format(label=type_label),
                callback_data=f"ptlf:t:{page}:{view.codes}",
            ),
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                booking_words.FILTER_BUTTON.format(label=booking_words.FILTER_LABELS[view.booking]),
                callback_data=f"ptlf:b:{page}:{view.codes}",
            )
        ]
    )
    if view.filtered:
        rows.append([InlineKeyboardButton(text.CLEAR_FILTERS, callback_data=View().data())])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def filter_keyboard(which: str, view: View) -> InlineKeyboardMarkup:
    """Choices for the status (`s`), pathway-type (`t`) or booking (`b`) filter; the current
    one ticked."""
    if which == "b":
        labels, current = booking_words.FILTER_LABELS, view.booking
    elif which == "s":
        labels, current = text.STATUS_FILTER_LABELS, view.status
    else:
        labels, current = text.TYPE_FILTER_LABELS, view.ptype
    buttons = []
    for code, label in labels.items():
        if which == "b":
            target = View(0, view.status, view.ptype, code)
        elif which == "s":
            target = View(0, code, view.ptype, view.booking)
        else:
            target = View(0, view.status, code, view.booking)
        shown = f"• {label}" if code == current else label
        buttons.append(InlineKeyboardButton(shown, callback_data=target.data()))
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(text.BACK, callback_data=view.data())])
    return InlineKeyboardMarkup(rows)


async def load_screen(context: BotContext, student: Student, view: View) -> PtlScreen:
    """The page `view` asks for, ordered, filtered and counted in the database."""
    return await context.services.ptl.screen(
        student.email,
        page=view.page,
        status=view.status,
        ptype=view.ptype,
        booking=view.booking,
        size=PAGE_SIZE,
    )


async def send_ptl(
    update: Update, context: BotContext, student: Student, view: View, *, edit: bool
) -> None:
    today = context.services.clock.today()
    body, keyboard = render_page(await load_screen(context, student, view), view, today)
    if edit:
        await edit_or_send(update, context, body, keyboard)
    else:
        await context.bot.send_message(student.chat_id, body, reply_markup=keyboard)


@student_only
async def ptl_command(update: Update, context: BotContext, student: Student) -> None:
    await send_ptl(update, context, student, View(), edit=False)


@student_only
async def ptl_menu(update: Update, context: BotContext, student: Student) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    await send_ptl(update, context, student, View(), edit=False)


@student_only
async def ptl_page(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _PTL_DATA.match(query.data or "")
    view = View(int(match[1]), match[2], match[3], match[4] or "all") if match else View()
    await query.answer()
    await send_ptl(update, context, student, view, edit=True)


@student_only
async def ptl_filter(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _FILTER_DATA.match(query.data or "")
    await query.answer()
    if match is None:
        await send_ptl(update, context, student, View(), edit=True)
        return
    view = View(int(match[2]), match[3], match[4], match[5] or "all")
    prompt = {"s": text.CHOOSE_STATUS, "t": text.CHOOSE_TYPE, "b": booking_words.CHOOSE}[match[1]]
    await edit_or_send(update, context, prompt, filter_keyboard(match[1], view))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("ptl", ptl_command))
    app.add_handler(CallbackQueryHandler(ptl_menu, pattern=r"^menu:ptl$"))
    app.add_handler(CallbackQueryHandler(ptl_page, pattern=r"^ptl:"))
    app.add_handler(CallbackQueryHandler(ptl_filter, pattern=r"^ptlf:"))
