"""Deleting a patient (confirm, soft delete, Undo) and /bin (restore within 30 days).

Why soft delete with Undo: a student deleting on a phone, in a hurry, will sometimes tap the
wrong patient. Nothing is lost at once: the row is marked deleted (hidden everywhere), an
Undo button brings it straight back, and /bin restores it for 30 days. After that it is
removed for good, both when the student opens /bin and by a daily clean-up job.

The delete carries the version the student confirmed, so a patient changed elsewhere in the
meantime (on the web platform) is not deleted: the student sees the fresh card instead.

Callback data: `del:<id>` (ask), `delok:<id>:<version>` (confirmed), `undo:<id>`,
`rst:<id>:<page>` (restore from the bin list), `bin:<page>`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.messages import bin as text
from bot.messages.html import esc
from bot.rules.dates import format_date
from bot.rules.fields import clip
from bot.services.container import SERVICES_KEY, BotContext
from bot.services.ptl_view import at_risk_days, evaluate_patient
from handlers.card import MAX_CALLBACK_BYTES, edit_or_send, render_card
from handlers.guards import Student, student_only
from storage.models import Patient
from storage.patients import PatientNotFoundError, StaleWriteError

BIN_DAYS = text.BIN_DAYS
PAGE_SIZE = 8
PURGE_AT = dt.time(3, 17)  # a quiet moment, local time; minutes off the hour spread load
_DEL = re.compile(r"^del:([^:]{1,40})$")
_DELOK = re.compile(r"^delok:([^:]{1,40}):(\d{1,9})$")
_UNDO = re.compile(r"^undo:([^:]{1,40})$")
_RESTORE = re.compile(r"^rst:([^:]{1,40}):(\d{1,4})$")
_BIN_PAGE = re.compile(r"^bin:(\d{1,4})$")
_WINDOW = dt.timedelta(days=BIN_DAYS)


def _name(patient: Patient) -> str:
    return esc(clip(patient.patient_name or "(no name)", 60))


def _card_for(context: BotContext, patient: Patient) -> tuple[str, InlineKeyboardMarkup]:
    services = context.services
    today = services.clock.today()
    state = evaluate_patient(patient, today, at_risk_days(services.settings))
    return render_card(patient, state, today)


def days_left(deleted_at: dt.datetime, now: dt.datetime) -> int:
    """Whole days (rounded up) until a binned row is removed for good; 0 when overdue."""
    remaining = deleted_at + _WINDOW - now
    if remaining <= dt.timedelta(0):
        return 0
    return -(-remaining // dt.timedelta(days=1))


# --- delete ---------------------------------------------------------------------------------


@student_only
async def ask_delete(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _DEL.match(query.data or "")
    try:
        if match is None:
            raise PatientNotFoundError(query.data)
        patient = await context.services.patients.get(student.email, match[1])
    except PatientNotFoundError:
        await query.answer(text.GONE, show_alert=True)
        return
    await query.answer()
    confirm = f"delok:{patient.patient_id}:{patient.version}"
    keep = f"card:{patient.patient_id}:0:all:all"
    if len(keep.encode()) > MAX_CALLBACK_BYTES:
        keep = f"card:{patient.patient_id}"
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text.YES_DELETE, callback_data=confirm),
                InlineKeyboardButton(text.KEEP, callback_data=keep),
            ]
        ]
    )
    body = text.CONFIRM.format(name=_name(patient), days=BIN_DAYS)
    await edit_or_send(update, context, body, keyboard)


@student_only
async def confirm_delete(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _DELOK.match(query.data or "")
    patients = context.services.patients
    try:
        if match is None:
            raise PatientNotFoundError(query.data)
        deleted = await patients.soft_delete(
            student.email, match[1], int(match[2]), at=context.services.clock.now()
        )
    except PatientNotFoundError:
        binned = await _binned(context, student, match[1] if match else None)
        if binned is None:
            await query.answer(text.GONE, show_alert=True)
            return
        # A second tap on "Yes, delete" (or a double tap): it is in the bin already.
        await query.answer()
        body = text.ALREADY_BINNED.format(name=_name(binned), days=BIN_DAYS)
        await edit_or_send(update, context, body, _deleted_keyboard(binned))
        return
    except StaleWriteError as stale:
        await query.answer()
        if stale.current is None:  # pragma: no cover - the repository always sends the row
            return
        body, keyboard = _card_for(context, stale.current)
        await edit_or_send(update, context, f"{text.STALE_DELETE}\n\n{body}", keyboard)
        return
    await query.answer()
    body = text.DELETED.format(name=_name(deleted), days=BIN_DAYS)
    await edit_or_send(update, context, body, _deleted_keyboard(deleted))


def _deleted_keyboard(patient: Patient) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text.UNDO, callback_data=f"undo:{patient.patient_id}"),
                InlineKeyboardButton(text.TO_PTL, callback_data="ptl:0:all:all"),
            ]
        ]
    )


async def _binned(context: BotContext, student: Student, patient_id: str | None) -> Patient | None:
    """The patient if it is in the bin (still within its days), else None."""
    if patient_id is None:
        return None
    try:
        patient = await context.services.patients.get(
            student.email, patient_id, include_deleted=True
        )
    except PatientNotFoundError:
        return None
    if patient.deleted_at is None:
        return None
    return patient if days_left(patient.deleted_at, context.services.clock.now()) else None


async def _restore(context: BotContext, student: Student, patient_id: str) -> tuple[str, Patient]:
    """Restore one patient. Returns ("restored" | "live" | "expired", patient) or raises
    PatientNotFoundError when it is neither on the PTL nor in the bin."""
    patients = context.services.patients
    current = await patients.get(student.email, patient_id, include_deleted=True)
    if current.deleted_at is None:
        return "live", current
    if days_left(current.deleted_at, context.services.clock.now()) == 0:
        await patients.purge_bin(student.email, context.services.clock.now() - _WINDOW)
        return "expired", current
    try:
        return "restored", await patients.restore(student.email, patient_id)
    except PatientNotFoundError:
        # Restored by another tap a moment ago: show it as it is now.
        return "live", await patients.get(student.email, patient_id)


@student_only
async def undo_delete(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _UNDO.match(query.data or "")
    try:
        if match is None:
            raise PatientNotFoundError(query.data)
        outcome, patient = await _restore(context, student, match[1])
    except PatientNotFoundError:
        await query.answer(text.GONE, show_alert=True)
        return
    if outcome == "expired":
        await query.answer(text.EXPIRED.format(days=BIN_DAYS), show_alert=True)
        return
    await query.answer()
    heading = (text.RESTORED if outcome == "restored" else text.ALREADY_LIVE).format(
        name=_name(patient)
    )
    body, keyboard = _card_for(context, patient)
    await edit_or_send(update, context, f"{heading}\n\n{body}", keyboard)


# --- the bin --------------------------------------------------------------------------------


async def _render_bin(
    context: BotContext,
    student: Student,
    page: int,
    notice: str = "",
    opened: Patient | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    services = context.services
    now = services.clock.now()
    await services.patients.purge_bin(student.email, now - _WINDOW)
    binned = await services.patients.list(student.email, deleted=True)
    binned.sort(key=lambda p: p.deleted_at or now, reverse=True)
    head = [notice, ""] if notice else []
    rows: list[list[InlineKeyboardButton]] = []
    if opened is not None:
        data = f"card:{opened.patient_id}"
        if len(data.encode()) <= MAX_CALLBACK_BYTES:
            label = text.OPEN.format(name=clip(opened.patient_name or "(no name)", 30))
            rows.append([InlineKeyboardButton(label, callback_data=data)])
    if not binned:
        body = "\n".join([*head, text.BIN_EMPTY.format(days=BIN_DAYS)])
        return body, InlineKeyboardMarkup(rows) if rows else None
    pages = max(1, -(-len(binned) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    n = len(binned)
    lines = [
        *head,
        text.BIN_TITLE.format(n=n, s="" if n == 1 else "s"),
        text.BIN_EXPLAIN.format(days=BIN_DAYS),
        "",
    ]
    restore_buttons: list[InlineKeyboardButton] = []
    for i, p in enumerate(binned[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], page * PAGE_SIZE + 1):
        deleted_at = p.deleted_at or now
        left = days_left(deleted_at, now)
        lines.append(
            text.BIN_LINE.format(
                n=i,
                name=_name(p),
                date=format_date(deleted_at.astimezone(services.clock.tz).date()),
                left=text.ONE_DAY_LEFT if left <= 1 else text.DAYS_LEFT.format(days=left),
            )
        )
        data = f"rst:{p.patient_id}:{page}"
        if len(data.encode()) <= MAX_CALLBACK_BYTES:
            label = text.RESTORE.format(n=i, name=clip(p.patient_name or "(no name)", 30))
            restore_buttons.append(InlineKeyboardButton(label, callback_data=data))
    rows.extend([b] for b in restore_buttons)
    if pages > 1:
        lines.extend(["", text.PAGE.format(page=page + 1, pages=pages)])
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton(text.PREV, callback_data=f"bin:{page - 1}"))
        if page < pages - 1:
            nav.append(InlineKeyboardButton(text.NEXT, callback_data=f"bin:{page + 1}"))
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


@student_only
async def bin_command(update: Update, context: BotContext, student: Student) -> None:
    body, keyboard = await _render_bin(context, student, 0)
    await context.bot.send_message(student.chat_id, body, reply_markup=keyboard)


@student_only
async def bin_page(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _BIN_PAGE.match(query.data or "")
    await query.answer()
    body, keyboard = await _render_bin(context, student, int(match[1]) if match else 0)
    await edit_or_send(update, context, body, keyboard)


@student_only
async def restore_from_bin(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _RESTORE.match(query.data or "")
    page = int(match[2]) if match else 0
    try:
        if match is None:
            raise PatientNotFoundError(query.data)
        outcome, patient = await _restore(context, student, match[1])
    except PatientNotFoundError:
        await query.answer(text.GONE, show_alert=True)
        body, keyboard = await _render_bin(context, student, page)
        await edit_or_send(update, context, body, keyboard)
        return
    if outcome == "expired":
        await query.answer(text.EXPIRED.format(days=BIN_DAYS), show_alert=True)
        body, keyboard = await _render_bin(context, student, page)
    else:
        await query.answer()
        notice = (text.RESTORED if outcome == "restored" else text.ALREADY_LIVE).format(
            name=_name(patient)
        )
        body, keyboard = await _render_bin(context, student, page, notice, opened=patient)
    await edit_or_send(update, context, body, keyboard)


async def purge_job(context: BotContext) -> None:
    """Daily: remove every student's binned patients older than the restore window."""
    services = context.services
    await services.patients.purge_all_bins(services.clock.now() - _WINDOW)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CallbackQueryHandler(ask_delete, pattern=r"^del:"))
    app.add_handler(CallbackQueryHandler(confirm_delete, pattern=r"^delok:"))
    app.add_handler(CallbackQueryHandler(undo_delete, pattern=r"^undo:"))
    app.add_handler(CommandHandler("bin", bin_command))
    app.add_handler(CallbackQueryHandler(bin_page, pattern=r"^bin:"))
    app.add_handler(CallbackQueryHandler(restore_from_bin, pattern=r"^rst:"))
    if app.job_queue is not None:
        tz = app.bot_data[SERVICES_KEY].settings.tz
        app.job_queue.run_daily(purge_job, PURGE_AT.replace(tzinfo=tz), name="purge-bin")
