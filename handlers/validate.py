"""/validate and the card's ✅ Validate: pathway findings, each with its teaching explanation.

`bot.rules.validator.validate` does the checking (on top of the rules engine); this module picks
the patients, groups findings by patient and keeps every message under Telegram's limit.

- `/validate`: the whole PTL (patients with errors first);
- `/validate <name, patient ID or NHS number>`: the matching patients;
- `val:<patient_id>` (the card's button): one patient.

Rows written by the web platform may hold events the engine doesn't know (a free-text
"clock paused", an unknown code). They are passed to the validator under their own words
rather than dropped, so the student is told what is wrong with them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.messages import card as card_text
from bot.messages import clock as clock_words
from bot.messages import validate as text
from bot.messages.html import esc
from bot.rules.fields import clip, strip_control_chars
from bot.rules.pathway import Event
from bot.rules.records import kind_of
from bot.rules.validator import Finding, validate
from bot.services.bookings import booking_findings
from bot.services.container import BotContext
from bot.services.progress import StudentRecordService
from bot.services.ptl_view import at_risk_days, build_entries
from handlers.find import check_query
from handlers.guards import Student, student_only
from storage.models import Patient
from storage.patients import PatientNotFoundError

MESSAGE_LIMIT = 3900  # under Telegram's 4096 with room to spare
MAX_MESSAGES = 4
_VAL = re.compile(r"^val:([^:]{1,40})$")


def validation_events(entries: Sequence[Mapping[str, Any]] | None) -> list[Event]:
    """Every dated event of a row, in recorded order. Known kinds as the engine reads them;
    unknown ones under their stored kind, description or code, so the validator can say
    what is wrong with them instead of them silently disappearing."""
    events: list[Event] = []
    for order, entry in enumerate(entries or []):
        raw_date = entry.get("date")
        if not raw_date:
            continue
        try:
            on = (
                raw_date
                if isinstance(raw_date, dt.date)
                else dt.date.fromisoformat(str(raw_date)[:10])
            )
        except ValueError:
            continue
        kind = kind_of(entry)
        description = str(entry.get("description") or "")
        if kind is None:
            kind = str(
                entry.get("kind") or description or f"code {entry.get('code') or '?'}"
            ).strip()[:60]
        events.append(Event(on, kind, order, description))
    return events


def findings_for(patient: Patient, today: dt.date) -> list[Finding]:
    return validate(
        patient.pathway_type or "rtt",
        patient.clock_start_date,
        validation_events(patient.events),
        today,
        patient.referral_date,
        priority=patient.priority,
    )


def render_findings(patient: Patient, findings: Sequence[Finding], mark: str) -> str:
    """One patient's section: a heading, then each finding with its explanation and source."""
    lines = [
        text.PATIENT_HEAD.format(
            mark=mark,
            name=esc(clip(patient.patient_name or "(no name)", 60)),
            patient_id=esc(patient.patient_id),
        )
    ]
    for f in findings:
        where = text.WHERE_EVENT.format(n=f.event_index + 1) if f.event_index is not None else ""
        lines.append(
            text.FINDING.format(
                mark=text.SEVERITY_MARKS.get(f.severity, "•"),
                label=text.SEVERITY_LABELS.get(f.severity, f.severity),
                where=where,
                message=esc(f.message),
                source=esc(f.source),
            )
        )
    return "\n\n".join(lines)


def _plural(n: int) -> str:
    return "" if n == 1 else "s"


def _chunks(sections: Sequence[str], head: str) -> tuple[list[str], int]:
    """Pack sections into at most MAX_MESSAGES messages; returns (messages, sections left)."""
    messages: list[str] = []
    current = head
    used = 0
    for section in sections:
        if len(section) > MESSAGE_LIMIT:  # one enormous pathway: cut it, never fail
            section = section[: MESSAGE_LIMIT - 1] + "…"
        candidate = f"{current}\n\n{section}" if current else section
        if len(candidate) <= MESSAGE_LIMIT:
            current = candidate
            used += 1
            continue
        if len(messages) + 1 >= MAX_MESSAGES:
            break
        messages.append(current)
        current = section
        used += 1
    messages.append(current)
    return messages, len(sections) - used


async def send_validation(
    context: BotContext,
    student: Student,
    patients: Sequence[Patient],
    *,
    single: bool,
    everyone: Sequence[Patient] | None = None,
) -> None:
    """Validate `patients`; `everyone` is the whole PTL (default: `patients`), against which
    the booking-in-turn check compares them."""
    services = context.services
    today = services.clock.today()
    thresholds = at_risk_days(services.settings)
    entries = build_entries(patients, today, thresholds)
    whole = entries if everyone is None else build_entries(everyone, today, thresholds)
    bookings = booking_findings(whole, today)
    checked: list[tuple[Patient, str, list[Finding]]] = []
    shown: list[tuple[str, list[tuple[str, str]]]] = []
    for entry in entries:
        findings = findings_for(entry.patient, today) + bookings.get(entry.patient.patient_id, [])
        shown.append((entry.patient.patient_id, [(f.code, f.severity) for f in findings]))
        if findings:
            checked.append((entry.patient, entry.mark, findings))
    # The student's record (/progress, /portfolio): findings shown, and later fixed.
    await StudentRecordService(services.db, services.settings.tz).remember_findings(
        student.email, shown, services.clock.now()
    )
    if not checked:
        # A consistent record is not the same as a patient who is fine: say both.
        if len(entries) == 1:  # named, or a PTL of one: say who (never "All 1 pathways")
            name = esc(clip(entries[0].patient.patient_name or "(no name)", 60))
            needs = clock_words.what_is_needed(entries[0].state)
            body = (
                text.ONE_CLEAN_BUT.format(name=name, needs=needs)
                if needs
                else text.ONE_CLEAN.format(name=name)
            )
        else:
            k = sum(1 for e in entries if e.status == "breached")
            body = (
                text.ALL_CLEAN_BUT.format(
                    n=len(entries), k=k, s=_plural(k), have="has" if k == 1 else "have",
                    verb="s" if k == 1 else "",
                )
                if k
                else text.ALL_CLEAN.format(n=len(entries))
            )  # fmt: skip
        await context.bot.send_message(student.chat_id, body)
        return
    # Patients with errors first, then warnings, then notes; breach-risk order within.
    rank = {"error": 0, "warning": 1, "info": 2}
    checked.sort(key=lambda c: min(rank.get(f.severity, 3) for f in c[2]))
    tally = {"error": 0, "warning": 0, "info": 0}
    for _, _, findings in checked:
        for f in findings:
            tally[f.severity] = tally.get(f.severity, 0) + 1
    parts = [
        template.format(n=tally[key], s=_plural(tally[key]))
        for key, template in (
            ("error", text.PART_ERRORS),
            ("warning", text.PART_WARNINGS),
            ("info", text.PART_NOTES),
        )
        if tally[key]
    ]
    head = ""
    if not single or len(entries) > 1:
        head = text.SUMMARY.format(
            n=len(entries),
            s=_plural(len(entries)),
            parts=", ".join(parts),
            k=len(checked),
            ks=_plural(len(checked)),
        )
        clean = len(entries) - len(checked)
        if clean:
            head += " " + text.CLEAN_TOO.format(n=clean)
    sections = [render_findings(p, f, mark) for p, mark, f in checked]
    messages, left = _chunks(sections, head)
    footer = text.HOW_TO_FIX
    if left:
        footer = text.TRUNCATED.format(n=left, s=_plural(left)) + "\n" + footer
    if len(messages[-1]) + len(footer) + 2 <= MESSAGE_LIMIT:
        messages[-1] += "\n\n" + footer
    else:
        messages.append(footer)
    for body in messages:
        await context.bot.send_message(student.chat_id, body)


@student_only
async def validate_command(update: Update, context: BotContext, student: Student) -> None:
    query = strip_control_chars(" ".join(context.args or [])).strip()
    patients = context.services.patients
    if not query:
        found = await patients.list(student.email)
        if not found:
            await context.bot.send_message(student.chat_id, text.EMPTY)
            return
        await send_validation(context, student, found, single=False)
        return
    problem = check_query(query)
    if problem is not None:
        await context.bot.send_message(student.chat_id, problem)
        return
    found = await patients.find(student.email, query)
    if not found:
        await context.bot.send_message(
            student.chat_id, text.NO_MATCH.format(query=esc(clip(query, 40)))
        )
        return
    everyone = await patients.list(student.email)
    await send_validation(context, student, found, single=len(found) == 1, everyone=everyone)


@student_only
async def validate_menu(update: Update, context: BotContext, student: Student) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    found = await context.services.patients.list(student.email)
    if not found:
        await context.bot.send_message(student.chat_id, text.EMPTY)
        return
    await send_validation(context, student, found, single=False)


@student_only
async def validate_one(update: Update, context: BotContext, student: Student) -> None:
    query = update.callback_query
    assert query is not None
    match = _VAL.match(query.data or "")
    try:
        if match is None:
            raise PatientNotFoundError(query.data)
        patient = await context.services.patients.get(student.email, match[1])
    except PatientNotFoundError:
        await query.answer(card_text.NOT_FOUND, show_alert=True)
        return
    await query.answer()
    everyone = await context.services.patients.list(student.email)
    await send_validation(context, student, [patient], single=True, everyone=everyone)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("validate", validate_command))
    app.add_handler(CallbackQueryHandler(validate_menu, pattern=r"^menu:validate$"))
    app.add_handler(CallbackQueryHandler(validate_one, pattern=r"^val:"))
