"""The patient card: one patient's details, clock, recent events and what to do next.

Why one renderer: the card is shown from /ptl, /find, after /add and /update, from a breach
reminder and after a stale edit; students must see the same facts in the same place every
time. The clock comes from the rules engine (`bot.services.ptl_view.evaluate_patient`); this module
only lays it out. Everything a student typed is HTML-escaped here.

Callback data (<= 64 bytes):
- `card:<patient_id>` opens the card as a new message (from reminders, confirmations...);
- `card:<patient_id>:<page>:<status>:<type>[:<booking>]` opens it in place of a PTL page, and
  its "« PTL" button goes back to that same page (`ptl:<page>:<status>:<type>:<booking>`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler

from bot.messages import bookings as booking_words
from bot.messages import card as text
from bot.messages import clock as clock_words
from bot.messages.html import esc
from bot.rules.dates import format_date
from bot.rules.fields import clip
from bot.rules.nhs_number import format_nhs
from bot.rules.pathway import (
    DATED_AHEAD_KINDS,
    EVENT_KINDS,
    PATHWAY_TYPES,
    ClockState,
    rtt_code_for,
)
from bot.rules.records import events_from_json
from bot.services.container import BotContext
from bot.services.ptl_view import at_risk_days, booking_summary, evaluate_patient, pathway_key
from handlers.guards import Student, student_only
from storage.models import Patient
from storage.patients import PatientNotFoundError

DEFAULT_BACK = "ptl:0:all:all"
MAX_EVENTS_SHOWN = 6
MAX_CALLBACK_BYTES = 64
_CARD_DATA = re.compile(r"^card:([^:]{1,40})(?::(\d{1,4}):(\w{1,6}):(\w{1,6})(?::(\w{1,6}))?)?$")


def _callback(data: str) -> str | None:
    return data if len(data.encode()) <= MAX_CALLBACK_BYTES else None


def card_keyboard(
    patient_id: str, back: str = DEFAULT_BACK, *, manage: bool = False
) -> InlineKeyboardMarkup:
    """Update / Book / (Bookings) / Delete / Validate / back to the PTL. A button whose data
    would exceed Telegram's 64 bytes (an unusually long platform id) is left out rather than
    failing. `manage`: the patient has bookings that can be moved, cancelled or given an
    outcome."""
    pairs = [
        (text.UPDATE, _callback(f"upd:{patient_id}")),
        (booking_words.BOOK, _callback(f"bk:{patient_id}")),
        *([(booking_words.MANAGE, _callback(f"bkm:{patient_id}"))] if manage else []),
        (text.DELETE, _callback(f"del:{patient_id}")),
        (text.VALIDATE, _callback(f"val:{patient_id}")),
        (text.BACK_TO_PTL, _callback(back) or DEFAULT_BACK),
    ]
    buttons = [InlineKeyboardButton(label, callback_data=data) for label, data in pairs if data]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _event_lines(patient: Patient, state: ClockState | None) -> list[str]:
    events = events_from_json(patient.events)
    rtt = (state.pathway_type if state is not None else pathway_key(patient, None)) == "rtt"
    if not events:
        return [text.NO_EVENTS]
    ignored = (
        {
            ig.index
            for ig in state.ignored
            if not (ig.reason == "in_future" and ig.kind in DATED_AHEAD_KINDS)
        }
        if state is not None
        else set()
    )
    order = sorted(range(len(events)), key=lambda i: (events[i].date, events[i].recorded_order))
    shown = order[-MAX_EVENTS_SHOWN:]
    lines: list[str] = []
    if len(order) > len(shown):
        lines.append(text.EARLIER_EVENTS.format(n=len(order) - len(shown)))
    for i in shown:
        ev = events[i]
        label = EVENT_KINDS[ev.kind].label
        described = ev.description.strip()
        shown_text = label if not described or described == label else f"{label}: {described}"
        template, code = text.EVENT_LINE_NO_CODE, ""
        if rtt:
            # RTT status codes mean what they say only on RTT rows (cancer and DM01 waits
            # don't use them), so the code is shown there alone.
            raw = (
                patient.events[ev.recorded_order] if ev.recorded_order < len(patient.events) else {}
            )
            code = str(raw.get("code") or rtt_code_for(ev.kind))
            template = text.EVENT_LINE
        lines.append(
            template.format(
                date=format_date(ev.date),
                code=esc(clip(code, 4)),
                text=esc(clip(shown_text, 90)),
                flag=text.EVENT_IGNORED_FLAG if i in ignored else "",
            )
        )
    return lines


def render_card(
    patient: Patient,
    state: ClockState | None,
    today: date,
    *,
    back: str = DEFAULT_BACK,
) -> tuple[str, InlineKeyboardMarkup]:
    """The card's HTML text (always under Telegram's 4096 characters) and its buttons.

    `state` is the engine's clock for this patient as at `today` (None when the row has no
    usable clock). `back` is the callback data of "« PTL" (the page the student came from).
    """
    name = esc(clip(patient.patient_name or text.UNNAMED, 80))
    lines = [f"{clock_words.mark(state)} <b>{name}</b>"]
    ident = [text.ID_LINE.format(patient_id=esc(patient.patient_id))]
    if patient.nhs_number:
        ident.append(text.NHS.format(nhs=esc(_nhs(patient.nhs_number))))
    lines.append(" · ".join(ident))

    details: list[str] = []
    ptype = state.pathway_type if state is not None else None
    if ptype is not None and ptype in PATHWAY_TYPES:
        details.append(PATHWAY_TYPES[ptype].label)
    elif patient.pathway_type:
        details.append(esc(clip(patient.pathway_type, 30)))
    if patient.priority:
        details.append(text.PRIORITY.format(priority=esc(clip(patient.priority, 40))))
    if details:
        lines.append(" · ".join(details))
    who: list[str] = []
    if patient.specialty:
        who.append(text.SPECIALTY.format(specialty=esc(clip(patient.specialty, 60))))
    if patient.consultant:
        who.append(text.CONSULTANT.format(consultant=esc(clip(patient.consultant, 60))))
    if who:
        lines.append(" · ".join(who))
    dates: list[str] = []
    if patient.referral_date:
        dates.append(text.REFERRAL.format(date=format_date(patient.referral_date)))
    if state is not None:
        start = text.CLOCK_START.format(
            date=format_date(state.clock_start),
            # What the start date is, for the row's own first clock (a later or reset
            # clock starts on its event, shown in the clock lines and the history).
            meaning=text.CLOCK_START_MEANS.get(state.pathway_type, "")
            if state.clock_number == 1 and state.reset_by is None
            else "",
        )
        if state.clock_number > 1:
            start += text.CLOCK_NUMBER.format(n=state.clock_number)
        dates.append(start)
    elif patient.clock_start_date:
        dates.append(
            text.CLOCK_START.format(date=format_date(patient.clock_start_date), meaning="")
        )
    if dates:
        lines.append(" · ".join(dates))

    lines.append("")
    lines.extend(clock_words.card_lines(state))
    summary = booking_summary(patient, state, today)
    reminder = clock_words.rebook_reminder(
        state, events_from_json(patient.events), booked_ahead=summary.next is not None
    )
    if reminder is not None:
        lines.append(reminder)
    lines.append("")
    lines.extend(booking_words.card_lines(summary, state, today))
    lines.append("")
    lines.append(text.EVENTS_TITLE)
    lines.extend(_event_lines(patient, state))
    if patient.notes and patient.notes.strip():
        lines.append("")
        lines.append(text.NOTES.format(notes=esc(clip(patient.notes, 400))))
    manage = any(b.open and b.editable for b in summary.bookings)
    return "\n".join(lines), card_keyboard(patient.patient_id, back, manage=manage)


def _nhs(value: str) -> str:
    try:
        return format_nhs(value)
    except (ValueError, TypeError):
        return value


async def send_card(
    update: Update,
    context: BotContext,
    student: Student,
    patient: Patient,
    *,
    edit: bool = False,
    back: str = DEFAULT_BACK,
) -> None:
    """Show `patient`'s card: in place of the pressed message when `edit` (and there is one),
    otherwise as a new message. Safe to call with an identical card (no "not modified")."""
    services = context.services
    today = services.clock.today()
    state = evaluate_patient(patient, today, at_risk_days(services.settings))
    body, keyboard = render_card(patient, state, today, back=back)
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        await edit_or_send(update, context, body, keyboard)
        return
    await context.bot.send_message(student.chat_id, body, reply_markup=keyboard)


async def edit_or_send(
    update: Update,
    context: BotContext,
    body: str,
    keyboard: InlineKeyboardMarkup | None,
) -> None:
    """Edit the pressed message; if Telegram says nothing changed, leave it; if it can no
    longer be edited (too old, deleted, a photo), send a fresh message instead."""
    query = update.callback_query
    chat = update.effective_chat
    if query is not None and query.message is not None:
        try:
            await query.edit_message_text(body, reply_markup=keyboard)
            return
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return
    if chat is not None:
        await context.bot.send_message(chat.id, body, reply_markup=keyboard)


@student_only
async def card_callback(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _CARD_DATA.match(query.data or "")
    if match is None:
        await query.answer()
        return
    patient_id, page, status, ptype, booking = match.groups()
    try:
        patient = await context.services.patients.get(student.email, patient_id)
    except PatientNotFoundError:
        await query.answer(text.NOT_FOUND, show_alert=True)
        return
    await query.answer()
    if page is not None:
        await send_card(
            update,
            context,
            student,
            patient,
            edit=True,
            back=f"ptl:{page}:{status}:{ptype}:{booking or 'all'}",
        )
    else:
        await send_card(update, context, student, patient)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CallbackQueryHandler(card_callback, pattern=r"^card:"))
