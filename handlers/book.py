"""/book and the card's 📅 Book and 🗓 Bookings: book, move, cancel, and record outcomes.

Ways in: `/book` (asks which patient, offering the undated patients closest to breach),
`/book NAME` (straight to the patient, or a short list), the card's 📅 Book (`bk:<patient_id>`)
and 🗓 Bookings (`bkm:<patient_id>`: pick a booking to move, cancel or give its outcome).

A new booking: what (type), when (a natural date; a past date is refused; a weekend or a bank
holiday in England asks to confirm), an optional time, clinic and notes, then a summary that
says what the booking means for the clock, read off the rules engine's clock on that date. An
outcome shows, before saving, the pathway event it records and the clock before and after
(as /update does): attended first appointment -> an activity, attended TCI or outpatient
treatment -> first definitive treatment, attended test -> test performed, DNA -> the engine's
DNA rules, cancelled by the patient -> patient cancelled (or, for an admission date on a 62- or
31-day pathway, a declined admission offer), cancelled by the hospital -> nothing, and rebook.

Every save is one optimistic write at the version the student opened, so a booking made on the
web platform meanwhile is never lost: the form stops and shows the fresh card instead.

Callback data: `bkf:<action>` inside the form (see `Form`), `bk:` / `bkm:` to enter it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import bookings as text
from bot.messages import common
from bot.messages import forms as form_text
from bot.messages.clock import clock_line, describe_change
from bot.rules.bookings import (
    BOOKING_TYPES,
    Booking,
    appended,
    bank_holiday,
    decode_bookings,
    find,
    meaning,
    new_booking,
    normalise_time,
    outcome_kind,
    rescheduled,
    with_outcome,
    writable,
)
from bot.rules.dates import UPCOMING_FORMS, format_date, parse_date
from bot.rules.digest import parse_time
from bot.rules.pathway import EVENT_KINDS, ClockState
from bot.rules.records import evaluate_row, event_entry, events_from_json, stored_clock_fields
from bot.services.bookings import pathway_columns
from bot.services.container import BotContext
from bot.services.ptl_view import at_risk_days, build_entries
from handlers.card import clip, esc, send_card
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student, student_only
from storage.models import Patient
from storage.patients import PatientNotFoundError, StaleWriteError

FIND = "find"
PICK = "pick"
TYPE = "type"
DATE = "date"
DAYOK = "dayok"
TIME = "time"
CLINIC = "clinic"
NOTES = "notes"
CONFIRM = "confirm"
MANAGE = "manage"
ACTION = "action"
WHO = "who"
ADJUST = "adjust"
OUTCOME = "outcome"
MAX_PICK = 8
MAX_AHEAD = dt.timedelta(days=731)
TEXT_LIMIT = 60
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_WITH = re.compile(r"\s+with\s+", re.IGNORECASE)
_CANCER_ADJUSTED = ("cancer_62", "cancer_31")


class _Stop(Exception):
    """The form can't go on: the patient changed elsewhere, vanished, or the link did."""

    def __init__(self, why: str, current: Patient | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.current = current


def _name(patient: Patient) -> str:
    return esc(clip(patient.patient_name or "(no name)", 60))


class BookForm(Form):
    name = "book"
    prefix = "bkf"
    command = "/book"
    own_commands = frozenset({"book"})
    own_callbacks = ("bk:", "bkm:")
    states = (
        FIND,
        PICK,
        TYPE,
        DATE,
        DAYOK,
        TIME,
        CLINIC,
        NOTES,
        CONFIRM,
        MANAGE,
        ACTION,
        WHO,
        ADJUST,
        OUTCOME,
    )

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        return [
            CommandHandler("book", self.entry(student_only(self._command))),
            CallbackQueryHandler(self.entry(student_only(self._from_card)), pattern=r"^bkm?:"),
        ]

    # -- entry ------------------------------------------------------------------------------
    def _new(self, update: Update, context: BotContext, first: str) -> Draft:
        assert update.effective_chat is not None
        old = self.draft(context) or {}
        return self.new_draft(context, update.effective_chat.id, first, prompt=old.get("prompt"))

    async def _command(self, update: Update, context: BotContext, student: Student) -> object:
        query = " ".join(context.args or []).strip()
        if not query:
            resumable = self.resumable(context)
            if resumable is not None and resumable.get("patient_id"):
                return await self.offer_resume(resumable, update, context)
        draft = self._new(update, context, FIND)
        return await self.safely(
            draft, update, context, self.search(query, draft, update, context, student)
        )

    async def _from_card(self, update: Update, context: BotContext, student: Student) -> object:
        query = update.callback_query
        assert query is not None
        await query.answer()
        kind, _, patient_id = (query.data or "").partition(":")
        first = MANAGE if kind == "bkm" else TYPE
        draft = self._new(update, context, first)
        return await self.safely(
            draft,
            update,
            context,
            self.open_patient(patient_id, first, draft, update, context, student),
        )

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        draft = self._new(update, context, FIND)
        return await self.show(FIND, draft, update, context)

    # -- choosing the patient -----------------------------------------------------------------
    async def search(
        self, query: str, draft: Draft, update: Update, context: BotContext, student: Student
    ) -> object:
        if not query:
            return await self.show(FIND, draft, update, context)
        cleaned = " ".join(query.split())
        if len(cleaned) > 100:
            return await self.show(FIND, draft, update, context, error=text.TOO_LONG)
        if len(cleaned.replace(" ", "")) < 2 or _CONTROL.search(query):
            return await self.show(FIND, draft, update, context, error=text.TOO_SHORT)
        found = await context.services.patients.find(student.email, cleaned, limit=MAX_PICK + 1)
        if not found:
            draft["trail"] = [FIND]
            error = text.NO_MATCH.format(query=esc(clip(cleaned, 40)))
            return await self.show(FIND, draft, update, context, error=error)
        if len(found) == 1:
            return await self.open_patient(
                found[0].patient_id, TYPE, draft, update, context, student
            )
        draft["query"] = clip(cleaned, 40)
        draft["results"] = [
            [p.patient_id, clip(f"{p.patient_name or '(no name)'} · {p.patient_id}", 48)]
            for p in found[:MAX_PICK]
            if len(self.data(f"p:{p.patient_id}").encode()) <= 64
        ]
        return await self.go(PICK, draft, update, context)

    async def open_patient(
        self,
        patient_id: str,
        first: str,
        draft: Draft,
        update: Update,
        context: BotContext,
        student: Student,
    ) -> object:
        try:
            patient = await context.services.patients.get(student.email, patient_id.strip())
        except PatientNotFoundError:
            draft["trail"] = [FIND]
            error = text.NOT_FOUND.format(patient_id=esc(clip(patient_id, 40)))
            return await self.show(FIND, draft, update, context, error=error)
        draft.update(
            patient_id=patient.patient_id,
            version=patient.version,
            name=clip(patient.patient_name or "(no name)", 40),
        )
        return await self.go(first, draft, update, context)

    async def undated_choices(self, context: BotContext, email: str) -> list[list[tuple[str, str]]]:
        """The undated patients closest to breach, as buttons (the PTL meeting's first list)."""
        services = context.services
        today = services.clock.today()
        entries = build_entries(
            await services.patients.list(email), today, at_risk_days(services.settings)
        )
        rows: list[list[tuple[str, str]]] = []
        for e in entries:
            if e.bookings.undated and len(rows) < 6:
                label = clip(f"{e.mark} {e.patient.patient_name or '(no name)'}", 40)
                rows.append([(label, f"p:{e.patient.patient_id}")])
        return rows

    # -- the patient, checked against the version the student opened --------------------------
    async def load(self, draft: Draft, update: Update, context: BotContext) -> tuple[Patient, str]:
        student = await current_student(update, context)
        if student is None:
            raise _Stop("unlinked")
        try:
            patient = await context.services.patients.get(student.email, str(draft["patient_id"]))
        except PatientNotFoundError:
            raise _Stop("gone") from None
        if patient.version != draft.get("version"):
            raise _Stop("stale", patient)
        return patient, student.email

    async def safely(
        self, draft: Draft, update: Update, context: BotContext, step: Awaitable[object]
    ) -> object:
        try:
            return await step
        except _Stop as stop:
            return await self.stop(stop, draft, update, context)

    async def show(
        self, step: str, draft: Draft, update: Update, context: BotContext, *, error: str = ""
    ) -> Any:
        try:
            return await super().show(step, draft, update, context, error=error)
        except _Stop as stop:
            return await self.stop(stop, draft, update, context)

    async def stop(self, stop: _Stop, draft: Draft, update: Update, context: BotContext) -> int:
        if stop.why == "unlinked":
            return await self.finish(common.NOT_LINKED, draft, update, context)
        if stop.why == "booking":
            return await self.finish(text.BOOKING_GONE, draft, update, context)
        if stop.why == "shape":
            return await self.finish(text.NOT_WRITABLE, draft, update, context)
        if stop.why == "gone" or stop.current is None:
            return await self.finish(text.GONE, draft, update, context)
        await self.finish(text.STALE, draft, update, context)
        student = await current_student(update, context)
        if student is not None:
            await send_card(update, context, student, stop.current)
        return END

    def worth_keeping(self, draft: Draft) -> bool:
        return bool(draft.get("patient_id"))

    def where(self, draft: Draft) -> str:
        name = esc(draft.get("name") or "")
        return f"booking for {name}" if name else "choosing a patient"

    # -- clocks ---------------------------------------------------------------------------------
    def clock(self, patient: Patient, context: BotContext, events: Any = None) -> ClockState | None:
        return evaluate_row(
            patient.pathway_type,
            patient.clock_start_date,
            patient.events if events is None else events,
            context.services.clock.today(),
            at_risk_days=at_risk_days(context.services.settings),
        )

    def booking(self, patient: Patient, draft: Draft) -> Booking:
        """The booking being moved or given an outcome, as stored now (or _Stop)."""
        found = find(decode_bookings(patient.appointments), str(draft.get("ref") or ""))
        if found is None or not found.editable or not found.open:
            raise _Stop("booking")
        return found

    def draft_date(self, draft: Draft) -> dt.date:
        value = draft.get("date")
        assert isinstance(value, dt.date)
        return value

    def meaning_of(self, patient: Patient, draft: Draft, context: BotContext) -> tuple[str, bool]:
        """What the booking in the draft would mean for the clock, and whether it is late: the
        engine's clock on its date, with the event a move at the patient's request records."""
        on = self.draft_date(draft)
        events: list[Any] = list(patient.events)
        if draft.get("mode") == "move":
            booking = replace(self.booking(patient, draft), date=on)
            events = self.move_plan(patient, draft, context, email="")["events"]
        else:
            entry = new_booking(
                str(draft["type"]), on, added_by="", now=context.services.clock.now()
            )
            (booking,) = decode_bookings([entry])
        state = self.clock(patient, context, events)
        found = meaning(
            booking, patient.pathway_type, patient.clock_start_date, events_from_json(events)
        )
        late = bool(found and found.late and state is not None and state.running)
        return text.meaning_line(found, state), late

    # -- rendering ------------------------------------------------------------------------------
    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        if step == FIND:
            student = await current_student(update, context)
            rows = await self.undated_choices(context, student.email) if student else []
            body = text.FIND_PROMPT + (f"\n\n{text.FIND_UNDATED}" if rows else "")
            return body, self.keyboard(back=False, extra=rows)
        if step == PICK:
            body = text.PICK.format(
                n=len(draft.get("results") or []), query=esc(draft.get("query") or "")
            )
            rows = [[(label, f"p:{pid}")] for pid, label in draft.get("results") or []]
            return body, self.keyboard(extra=rows)
        patient, _ = await self.load(draft, update, context)
        back = len(draft.get("trail") or []) > 1
        today = context.services.clock.today()
        title = text.TITLE.format(name=_name(patient))
        moving = draft.get("mode") == "move"
        steps = 4 if moving else 5
        if step == TYPE:
            lines = [title, clock_line(self.clock(patient, context)), ""]
            ahead = [
                b
                for b in decode_bookings(patient.appointments)
                if b.open and b.date is not None and b.date >= today
            ]
            if ahead:
                lines += [text.ALREADY, *text.list_lines(ahead), ""]
            lines += [
                form_text.STEP_HEADER.format(n=1, m=5, title=text.TYPE_TITLE),
                text.TYPE_PROMPT,
            ]
            labels = [(t.label, f"t:{t.key}") for t in BOOKING_TYPES.values()]
            return "\n".join(lines), self.keyboard(
                extra=[labels[i : i + 2] for i in range(0, len(labels), 2)], back=back
            )
        if step == DATE:
            label = (
                self.booking(patient, draft).label
                if moving
                else BOOKING_TYPES[str(draft["type"])].label
            )
            lines = [
                title,
                form_text.STEP_HEADER.format(n=2, m=steps, title=text.DATE_TITLE),
                text.DATE_PROMPT.format(label=esc(label.lower())),
            ]
            state = self.clock(patient, context)
            rows = []
            tomorrow = today + dt.timedelta(days=1)
            rows.append(
                [
                    (
                        text.DATE_TOMORROW.format(date=text.long_date(tomorrow)),
                        f"d:{tomorrow.isoformat()}",
                    )
                ]
            )
            weeks = []
            for n_weeks in (1, 2, 4):
                day = today + dt.timedelta(weeks=n_weeks)
                weeks.append(
                    (
                        text.DATE_IN_WEEKS.format(
                            n=n_weeks, s="" if n_weeks == 1 else "s", date=format_date(day)
                        ),
                        f"d:{day.isoformat()}",
                    )
                )
            rows.append(weeks[:2])
            rows.append(weeks[2:])
            if state is not None and state.running and state.breach_date is not None:
                last = state.breach_date - dt.timedelta(days=1)
                lines.append(
                    text.DATE_BREACH.format(
                        breach=format_date(state.breach_date), last=format_date(last)
                    )
                )
                if last >= today:
                    rows.append(
                        [
                            (
                                text.DATE_LAST_DAY.format(date=text.long_date(last)),
                                f"d:{last.isoformat()}",
                            )
                        ]
                    )
            return "\n".join(lines), self.keyboard(extra=rows, back=back)
        if step == DAYOK:
            on = self.draft_date(draft)
            holiday = bank_holiday(on)
            lines = [title, form_text.STEP_HEADER.format(n=2, m=steps, title=text.DAY_TITLE)]
            if holiday is not None:
                lines.append(text.DAY_HOLIDAY.format(date=text.long_date(on), holiday=holiday))
            else:
                lines.append(
                    text.DAY_WEEKEND.format(date=text.long_date(on), weekday=on.strftime("%A"))
                )
            lines.append(text.DAY_QUESTION)
            return "\n".join(lines), self.keyboard(
                extra=[
                    [(text.DAY_KEEP.format(date=format_date(on)), "keep")],
                    [(text.DAY_OTHER, "other")],
                ],
                back=back,
            )
        if step == TIME:
            lines = [
                title,
                form_text.STEP_HEADER.format(n=3, m=steps, title=text.TIME_TITLE),
                text.TIME_PROMPT,
            ]
            return "\n".join(lines), self.keyboard(skip=True, back=back)
        if step == CLINIC:
            lines = [
                title,
                form_text.STEP_HEADER.format(n=4, m=5, title=text.CLINIC_TITLE),
                text.CLINIC_PROMPT,
            ]
            return "\n".join(lines), self.keyboard(skip=True, back=back)
        if step == NOTES:
            _, late = self.meaning_of(patient, draft, context)
            lines = [
                title,
                form_text.STEP_HEADER.format(n=5, m=5, title=text.NOTES_TITLE),
                text.NOTES_PROMPT,
            ]
            if late:
                lines.append(text.NOTES_LATE)
            return "\n".join(lines), self.keyboard(skip=True, back=back)
        if step == CONFIRM:
            return self.render_confirm(patient, draft, context)
        if step == MANAGE:
            ready = [b for b in decode_bookings(patient.appointments) if b.open and b.editable]
            if not ready:
                return f"{text.MANAGE_TITLE.format(name=_name(patient))}\n{text.MANAGE_NONE}", (
                    self.keyboard(back=False)
                )
            ready.sort(key=lambda b: (b.date or today, b.time or "", b.index))
            choices = [
                [(text.booking_button(b, today), f"b:{b.ref}")]
                for b in ready
                if len(self.data(f"b:{b.ref}").encode()) <= 64
            ]
            body = f"{text.MANAGE_TITLE.format(name=_name(patient))}\n{text.MANAGE_PROMPT}"
            return body, self.keyboard(extra=choices, back=back)
        if step == ACTION:
            b = self.booking(patient, draft)
            assert b.date is not None
            lines = [
                text.MANAGE_TITLE.format(name=_name(patient)),
                text.ACTION_TITLE.format(
                    label=esc(b.label), when=text.when(b), where=text.where(b)
                ),
            ]
            actions: list[list[tuple[str, str]]] = []
            if b.date <= today:
                actions += [[(text.OUTCOME_BUTTONS[o], f"o:{o}")] for o in ("attended", "dna")]
            actions += [
                [(text.OUTCOME_BUTTONS[o], f"o:{o}")]
                for o in ("cancelled_patient", "cancelled_hospital")
            ]
            if b.date >= today:
                actions.append([(text.RESCHEDULE, "move")])
            lines.append(
                text.ACTION_PAST
                if b.date < today
                else text.ACTION_TODAY
                if b.date == today
                else text.ACTION_FUTURE
            )
            return "\n".join(lines), self.keyboard(extra=actions, back=back)
        if step == WHO:
            lines = [
                title,
                form_text.STEP_HEADER.format(n=1, m=4, title=text.WHO_TITLE),
                text.WHO_PROMPT,
            ]
            return "\n".join(lines), self.keyboard(
                extra=[[(text.WHO_PATIENT, "w:patient"), (text.WHO_HOSPITAL, "w:hospital")]],
                back=back,
            )
        if step == ADJUST:
            b = self.booking(patient, draft)
            state = self.clock(patient, context)
            standard = form_text.STANDARDS.get(state.pathway_type if state else "", "")
            body = "\n".join(
                [
                    title,
                    text.ADJUST_TITLE,
                    text.ADJUST_PROMPT.format(standard=standard, date=format_date(b.date or today)),
                ]
            )
            return body, self.keyboard(
                extra=[[(text.ADJUST_YES, "a:yes")], [(text.ADJUST_NO, "a:no")]], back=back
            )
        # OUTCOME
        return self.render_outcome(patient, draft, context)

    def render_confirm(
        self, patient: Patient, draft: Draft, context: BotContext
    ) -> tuple[str, Keyboard]:
        on = self.draft_date(draft)
        line, _ = self.meaning_of(patient, draft, context)
        lines = [text.CONFIRM_TITLE.format(name=_name(patient))]
        if draft.get("mode") == "move":
            b = self.booking(patient, draft)
            who = "patient" if draft.get("asked_by") == "patient" else "hospital"
            lines.append(
                text.CONFIRM_MOVE.format(
                    label=esc(b.label.lower()),
                    old=format_date(b.date) if b.date else "?",
                    new=text.long_date(on) + (f" {draft['time']}" if draft.get("time") else ""),
                    who=who,
                )
            )
            plan = self.move_plan(patient, draft, context, email="")
            if plan["event"] is not None:
                lines += ["", *self.event_lines(patient, plan, context)]
        else:
            where = [esc(p) for p in (draft.get("clinic"), draft.get("with")) if p]
            when = text.long_date(on) + (f" {draft['time']}" if draft.get("time") else "")
            lines.append(
                text.CONFIRM_BOOKING.format(
                    label=esc(BOOKING_TYPES[str(draft["type"])].label),
                    when=when,
                    where=(" · " + " · ".join(where)) if where else "",
                )
            )
            if draft.get("notes"):
                lines.append(text.CONFIRM_NOTES.format(notes=esc(draft["notes"])))
        lines += ["", text.CONFIRM_MEANS.format(line=line)]
        return "\n".join(lines), self.keyboard(extra=[[(text.SAVE, "save")]])

    def event_lines(self, patient: Patient, plan: dict[str, Any], context: BotContext) -> list[str]:
        entry = plan["event"]
        before, after = self.clock(patient, context), self.clock(patient, context, plan["events"])
        kind = EVENT_KINDS[entry["kind"]]
        new_index = len(events_from_json(plan["events"])) - 1
        on = dt.date.fromisoformat(entry["date"])
        return [
            text.OUTCOME_EVENT.format(label=kind.label, date=format_date(on)),
            text.BEFORE.format(line=clock_line(before)),
            text.AFTER.format(line=clock_line(after)),
            text.CHANGES.format(
                text="; ".join(describe_change(before, after, new_event=new_index))
            ),
        ]

    def render_outcome(
        self, patient: Patient, draft: Draft, context: BotContext
    ) -> tuple[str, Keyboard]:
        plan = self.outcome_plan(patient, draft, context, email="")
        b: Booking = plan["booking"]
        outcome = str(draft["outcome"])
        lines = [
            text.OUTCOME_TITLE.format(name=_name(patient)),
            text.OUTCOME_LINE.format(
                label=esc(b.label),
                date=text.long_date(b.date) if b.date else "?",
                outcome=text.OUTCOME_NAMES[outcome],
            ),
            "",
        ]
        if plan["event"] is None:
            lines.append(
                text.OUTCOME_NO_EVENT if outcome == "cancelled_hospital" else text.NOT_YET_KNOWN
            )
        else:
            lines += self.event_lines(patient, plan, context)
            why = self.why(patient, plan, context)
            if why:
                lines += ["", why]
            if plan.get("dated_on_booking"):
                lines.append(text.OUTCOME_DATE_NOTE)
        return "\n".join(lines), self.keyboard(extra=[[(text.SAVE_OUTCOME, "save")]])

    def why(self, patient: Patient, plan: dict[str, Any], context: BotContext) -> str:
        """The plain-words rule behind a DNA or a patient cancellation on this pathway."""
        kind = plan["event"]["kind"]
        after = self.clock(patient, context, plan["events"])
        ptype = after.pathway_type if after else "rtt"
        family = "rtt" if ptype == "rtt" else "diagnostic" if ptype == "diagnostic" else "cancer"
        if kind == "dna_first_appointment":
            if after is not None and after.status == "nullified":
                return text.DNA_WHY["nullifies"]
            return text.DNA_WHY["continues_rtt" if family == "rtt" else family]
        if kind == "patient_cancelled":
            return text.PATIENT_CANCEL_WHY[family]
        return ""

    # -- what saving would write ----------------------------------------------------------------
    def event(
        self,
        patient: Patient,
        kind: str | None,
        on: dt.date,
        booking: Booking,
        email: str,
        context: BotContext,
        what: str,
    ) -> tuple[dict[str, Any] | None, list[Any]]:
        """The pathway event an outcome records (None when the engine has no such kind), and
        the events list with it."""
        events = list(patient.events)
        if kind is None or kind not in EVENT_KINDS:
            return None, events
        entry = event_entry(
            kind,
            on,
            added_by=email,
            description=f"{booking.label}: {what}",
            previous=events,
            pathway_type=patient.pathway_type or "rtt",
            clock_start=patient.clock_start_date,
            today=context.services.clock.today(),
        )
        entry["booking_id"] = booking.id
        return entry, [*events, entry]

    def outcome_plan(
        self, patient: Patient, draft: Draft, context: BotContext, email: str
    ) -> dict[str, Any]:
        b = self.booking(patient, draft)
        assert b.date is not None
        today = context.services.clock.today()
        outcome = str(draft["outcome"])
        kind = outcome_kind(b, outcome)
        on = b.date
        dated_on_booking = False
        if outcome == "cancelled_patient":
            if draft.get("adjust"):
                kind = "admission_offer_declined"
            elif b.date < today:
                dated_on_booking = True
            else:
                on = today  # told today, before the day
        entry, events = self.event(
            patient, kind, on, b, email, context, text.OUTCOME_NAMES[outcome].lower()
        )
        cancelled_on = today if outcome.startswith("cancelled") and b.date >= today else b.date
        appointments = with_outcome(
            patient.appointments,
            b,
            outcome,
            by=email,
            now=context.services.clock.now(),
            event=entry["kind"] if entry else None,
            on=cancelled_on if outcome.startswith("cancelled") else None,
        )
        return {
            "booking": b,
            "event": entry,
            "events": events,
            "appointments": appointments,
            "dated_on_booking": dated_on_booking,
        }

    def move_plan(
        self, patient: Patient, draft: Draft, context: BotContext, email: str
    ) -> dict[str, Any]:
        b = self.booking(patient, draft)
        today = context.services.clock.today()
        asked = "patient" if draft.get("asked_by") == "patient" else "hospital"
        kind = outcome_kind(b, "cancelled_patient") if asked == "patient" else None
        entry, events = self.event(
            patient, kind, today, b, email, context, "moved at the patient's request"
        )
        appointments = rescheduled(
            patient.appointments,
            b,
            self.draft_date(draft),
            asked_by=asked,
            by=email,
            now=context.services.clock.now(),
            time=draft.get("time"),
            event=entry["kind"] if entry else None,
        )
        return {"booking": b, "event": entry, "events": events, "appointments": appointments}

    def changes(
        self, patient: Patient, appointments: list[Any], events: list[Any], context: BotContext
    ) -> dict[str, Any]:
        today = context.services.clock.today()
        changes: dict[str, Any] = {"appointments": appointments}
        if events != list(patient.events):
            changes["events"] = events
            changes.update(
                stored_clock_fields(patient.pathway_type, patient.clock_start_date, events, today)
            )
        changes.update(
            pathway_columns(
                appointments, patient.pathway_type, patient.clock_start_date, events, today
            )
        )
        return changes

    # -- input ------------------------------------------------------------------------------------
    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        return await self.safely(
            draft, update, context, self._text(step, raw, draft, update, context)
        )

    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        return await self.safely(
            draft, update, context, self._button(step, action, draft, update, context)
        )

    async def _text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step in (FIND, PICK):
            student = await current_student(update, context)
            if student is None:
                raise _Stop("unlinked")
            return await self.search(raw, draft, update, context, student)
        if step == DATE:
            return await self.typed_date(raw, draft, update, context)
        if step == TIME:
            at = parse_time(raw) if len(raw) <= 20 else None
            if at is None:
                error = text.TIME_BAD.format(text=esc(clip(raw, 20)))
                return await self.show(step, draft, update, context, error=error)
            draft["time"] = normalise_time(at.strftime("%H:%M"))
            return await self.after_time(draft, update, context)
        if step in (CLINIC, NOTES):
            limit = text.CLINIC_LIMIT if step == CLINIC else text.NOTES_LIMIT
            value = " ".join(raw.split())
            if _CONTROL.search(raw):
                return await self.show(step, draft, update, context, error=form_text.CONTROL_CHARS)
            if not value:
                return await self.show(
                    step,
                    draft,
                    update,
                    context,
                    error=form_text.EMPTY.format(hint="type it, or tap Skip"),
                )
            if len(value) > limit:
                what = "a clinic" if step == CLINIC else "a note"
                error = form_text.TOO_LONG.format(n=len(value), what=what, limit=limit)
                return await self.show(step, draft, update, context, error=error)
            if step == CLINIC:
                parts = _WITH.split(value, maxsplit=1)  # "Day Surgery Unit with Ms Patel"
                draft["clinic"] = parts[0] or None
                draft["with"] = parts[1] if len(parts) > 1 else None
                return await self.go(NOTES, draft, update, context)
            draft["notes"] = value
            return await self.go(CONFIRM, draft, update, context)
        return await self.show(step, draft, update, context, error=form_text.USE_BUTTONS)

    async def _button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step in (FIND, PICK) and action.startswith("p:"):
            student = await current_student(update, context)
            if student is None:
                raise _Stop("unlinked")
            return await self.open_patient(action[2:], TYPE, draft, update, context, student)
        if step == TYPE and action.startswith("t:") and action[2:] in BOOKING_TYPES:
            draft["type"] = action[2:]
            draft["mode"] = "new"
            return await self.go(DATE, draft, update, context)
        if step == DATE and action.startswith("d:"):
            try:
                on = dt.date.fromisoformat(action[2:])
            except ValueError:
                return await self.show(step, draft, update, context)
            return await self.accept_date(on, draft, update, context)
        if step == DAYOK and action == "keep":
            return await self.go(TIME, draft, update, context)
        if step == DAYOK and action == "other":
            return await self.back_to(DATE, draft, update, context)
        if step in (TIME, CLINIC, NOTES) and action == "skip":
            if step == TIME:
                draft["time"] = None
                return await self.after_time(draft, update, context)
            if step == CLINIC:
                draft["clinic"] = draft["with"] = None
                return await self.go(NOTES, draft, update, context)
            draft["notes"] = None
            return await self.go(CONFIRM, draft, update, context)
        if step == MANAGE and action.startswith("b:"):
            draft["ref"] = action[2:]
            patient, _ = await self.load(draft, update, context)
            self.booking(patient, draft)
            return await self.go(ACTION, draft, update, context)
        if step == ACTION and action == "move":
            draft["mode"] = "move"
            return await self.go(WHO, draft, update, context)
        if step == ACTION and action.startswith("o:") and action[2:] in text.OUTCOME_NAMES:
            patient, _ = await self.load(draft, update, context)
            b = self.booking(patient, draft)
            today = context.services.clock.today()
            outcome = action[2:]
            if outcome in ("attended", "dna") and b.date is not None and b.date > today:
                return await self.show(step, draft, update, context)
            draft.update(mode="outcome", outcome=outcome, adjust=False)
            state = self.clock(patient, context)
            if (
                outcome == "cancelled_patient"
                and b.admitted
                and state is not None
                and state.pathway_type in _CANCER_ADJUSTED
                and state.running
                and "admission_offer_declined" in EVENT_KINDS
            ):
                return await self.go(ADJUST, draft, update, context)
            return await self.go(OUTCOME, draft, update, context)
        if step == ADJUST and action in ("a:yes", "a:no"):
            draft["adjust"] = action == "a:yes"
            return await self.go(OUTCOME, draft, update, context)
        if step == WHO and action in ("w:patient", "w:hospital"):
            draft["asked_by"] = action[2:]
            return await self.go(DATE, draft, update, context)
        if step in (CONFIRM, OUTCOME) and action == "save":
            return await self.save(draft, update, context)
        return await self.show(step, draft, update, context)

    # -- the date ---------------------------------------------------------------------------------
    async def typed_date(
        self, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if len(raw) > TEXT_LIMIT or _CONTROL.search(raw):
            error = text.DATE_TOO_LONG.format(forms=esc(UPCOMING_FORMS))
            return await self.show(DATE, draft, update, context, error=error)
        result = parse_date(raw, context.services.clock.today(), upcoming=True)
        if not result.ok or result.value is None:
            return await self.show(
                DATE, draft, update, context, error=esc(result.message or UPCOMING_FORMS)
            )
        return await self.accept_date(result.value, draft, update, context)

    async def accept_date(
        self, on: dt.date, draft: Draft, update: Update, context: BotContext
    ) -> object:
        today = context.services.clock.today()
        if on < today:  # a stale button
            return await self.show(DATE, draft, update, context)
        if on - today > MAX_AHEAD:
            error = text.DATE_TOO_FAR.format(date=format_date(on))
            return await self.show(DATE, draft, update, context, error=error)
        draft["date"] = on
        if on.weekday() >= 5 or bank_holiday(on) is not None:
            return await self.go(DAYOK, draft, update, context)
        return await self.go(TIME, draft, update, context)

    async def after_time(self, draft: Draft, update: Update, context: BotContext) -> object:
        if draft.get("mode") == "move":
            return await self.go(CONFIRM, draft, update, context)
        return await self.go(CLINIC, draft, update, context)

    # -- saving ------------------------------------------------------------------------------------
    async def save(self, draft: Draft, update: Update, context: BotContext) -> object:
        patient, email = await self.load(draft, update, context)
        mode = draft.get("mode")
        name = _name(patient)
        if mode == "outcome":
            plan = self.outcome_plan(patient, draft, context, email)
            before = self.clock(patient, context)
            after = self.clock(patient, context, plan["events"])
            outcome = str(draft["outcome"])
            if plan["event"] is None:
                summary = text.OUTCOME_NO_EVENT if outcome == "cancelled_hospital" else ""
            else:
                index = len(events_from_json(plan["events"])) - 1
                summary = "; ".join(describe_change(before, after, new_event=index))
            if outcome.startswith("cancelled") or outcome == "dna":
                summary = f"{summary} {text.REBOOK_HINT}".strip()
            changes = self.changes(patient, plan["appointments"], plan["events"], context)
            updated = await self.write(patient, email, draft, changes, context)
            done = text.SAVED_OUTCOME.format(
                outcome=text.OUTCOME_NAMES[outcome], name=name, text=summary
            )
            return await self.conclude(done, updated, draft, update, context)
        line, _ = self.meaning_of(patient, draft, context)
        if mode == "move":
            plan = self.move_plan(patient, draft, context, email)
            changes = self.changes(patient, plan["appointments"], plan["events"], context)
            updated = await self.write(patient, email, draft, changes, context)
            return await self.conclude(
                text.MOVED.format(name=name, line=line), updated, draft, update, context
            )
        if not writable(patient.appointments):
            raise _Stop("shape")
        entry = new_booking(
            str(draft["type"]),
            self.draft_date(draft),
            added_by=email,
            now=context.services.clock.now(),
            time=draft.get("time"),
            clinic=draft.get("clinic"),
            with_=draft.get("with"),
            notes=draft.get("notes"),
        )
        appointments = appended(patient.appointments, entry)
        changes = self.changes(patient, appointments, list(patient.events), context)
        updated = await self.write(patient, email, draft, changes, context)
        return await self.conclude(
            text.SAVED.format(name=name, line=line), updated, draft, update, context
        )

    @staticmethod
    async def write(
        patient: Patient, email: str, draft: Draft, changes: dict[str, Any], context: BotContext
    ) -> Patient:
        """One optimistic write at the version the student opened; never overwrites."""
        try:
            return await context.services.patients.update(
                email, patient.patient_id, int(draft["version"]), changes
            )
        except StaleWriteError as exc:
            raise _Stop("stale", exc.current) from None
        except PatientNotFoundError:
            raise _Stop("gone") from None

    async def conclude(
        self, done: str, patient: Patient, draft: Draft, update: Update, context: BotContext
    ) -> int:
        await self.finish(done, draft, update, context)
        student = await current_student(update, context)
        if student is not None:
            await send_card(update, context, student, patient)
        return END


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # One form object per Application: it holds that Application's ConversationHandler.
    BookForm().register(app)
