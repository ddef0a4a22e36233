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
from dataclasses import replace
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import bookings as text
from bot.messages import forms as form_text
from bot.messages.clock import clock_line, describe_change, ignored_reason
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
from bot.rules.pathway import DATED_AHEAD_KINDS, EVENT_KINDS, ClockState
from bot.rules.records import events_from_json, stored_clock_fields
from bot.services.bookings import pathway_columns
from bot.services.container import BotContext
from handlers.card import clip, esc, send_card
from handlers.forms import END, Draft, Keyboard
from handlers.guards import Student, current_student, student_only
from handlers.one_patient import FIND, PICK, OnePatientForm, PatientStop
from storage.models import Patient

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
AVAILABLE = "available"
REBOOK = "rebook"
MAX_AHEAD = dt.timedelta(days=731)
TEXT_LIMIT = 60
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_WITH = re.compile(r"\s+with\s+", re.IGNORECASE)
_CANCER_ADJUSTED = ("cancer_62", "cancer_31")


def _name(patient: Patient) -> str:
    return esc(clip(patient.patient_name or "(no name)", 60))


class BookForm(OnePatientForm):
    name = "book"
    prefix = "bkf"
    command = "/book"
    own_commands = frozenset({"book"})
    own_callbacks = ("bk:", "bkm:")
    GONE = text.GONE
    STALE = text.STALE
    OPENS = TYPE
    STOPS = {
        "booking": text.BOOKING_GONE,
        "shape": text.NOT_WRITABLE,
        "unwritable": text.NOT_WRITABLE,
    }
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
        # Added later: appended so a stored conversation state keeps its number.
        AVAILABLE,
        REBOOK,
    )

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        return [
            CommandHandler("book", self.entry(student_only(self._command))),
            CallbackQueryHandler(self.entry(student_only(self._from_card)), pattern=r"^bkm?:"),
        ]

    # -- entry (the command and the search are OnePatientForm's) ------------------------------
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
            self.open_patient(patient_id, draft, update, context, student, first),
        )

    async def undated_choices(self, context: BotContext, email: str) -> list[list[tuple[str, str]]]:
        """The undated patients closest to breach, as buttons (the PTL meeting's first list)."""
        screen = await context.services.ptl.screen(
            email, page=0, status="all", ptype="all", booking="und", size=6
        )
        rows: list[list[tuple[str, str]]] = []
        for e in screen.entries:
            if e.bookings.undated:
                label = clip(f"{e.mark} {e.patient.patient_name or '(no name)'}", 40)
                rows.append([(label, f"p:{e.patient.patient_id}")])
        return rows

    # -- the patient (the checks are OnePatientForm's) --------------------------------------
    def where(self, draft: Draft) -> str:
        name = esc(draft.get("name") or "")
        return f"booking for {name}" if name else "choosing a patient"

    def booking(self, patient: Patient, draft: Draft) -> Booking:
        """The booking being moved or given an outcome, as stored now (or PatientStop)."""
        found = find(decode_bookings(patient.appointments), str(draft.get("ref") or ""))
        if found is None or not found.editable or not found.open:
            raise PatientStop("booking")
        return found

    def draft_date(self, draft: Draft, key: str = "date") -> dt.date:
        value = draft.get(key)
        assert isinstance(value, dt.date)
        return value

    def can_adjust(self, booking: Booking, state: ClockState | None) -> bool:
        """A declined admission date can be a treatment adjustment: an admitted booking (TCI)
        on a running 62- or 31-day cancer clock (PTL_RULES.md r2; the engine does the sums)."""
        return bool(
            booking.admitted
            and state is not None
            and state.running
            and state.pathway_type in _CANCER_ADJUSTED
        )

    def dna_to_rebook(self, patient: Patient, context: BotContext) -> tuple[str, dt.date] | None:
        """Is the patient's clock waiting for a rebooking after a first-appointment DNA? Then
        (why, the DNA's date): "first_seen" on a cancer FDS or 62-day clock (the first seen
        adjustment: the wait counts from the rebooking), "nullified" on an RTT clock the DNA
        nullified (a new clock starts on the rebooking). Both read off the engine's clock."""
        state = self.clock(patient, context)
        if state is None:
            return None
        events = events_from_json(patient.events)
        dnas = [events[i].date for i in state.applied if events[i].kind == "dna_first_appointment"]
        if not dnas:
            return None
        if state.awaiting_rebooking:
            return "first_seen", dnas[-1]
        if state.status == "nullified" and state.clock_stop is not None:
            return "nullified", state.clock_stop
        return None

    def meaning_of(self, patient: Patient, draft: Draft, context: BotContext) -> tuple[str, bool]:
        """What the booking in the draft would mean for the clock, and whether it is late: the
        engine's clock on its date, with the events saving would record (a move at the
        patient's request, a declined admission, a rebooking's new clock start)."""
        if draft.get("mode") == "move":
            plan = self.move_plan(patient, draft, context, email="")
            booking = replace(plan["booking"], date=self.draft_date(draft))
        else:
            plan = self.new_plan(patient, draft, context, email="")
            (booking,) = decode_bookings([plan["entry"]])
        events = plan["events"]
        state = self.clock(patient, context, events)
        found = meaning(
            booking,
            patient.pathway_type,
            patient.clock_start_date,
            events_from_json(events),
            priority=patient.priority,
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
            return self.render_pick(draft)
        patient, _ = await self.load(draft, update, context)
        back = len(draft.get("trail") or []) > 1
        today = context.services.clock.today()
        title = text.TITLE.format(name=_name(patient))
        moving = draft.get("mode") == "move"
        steps = 4 if moving else 5
        if step == TYPE:
            state = self.clock(patient, context)
            lines = [title, clock_line(state), ""]
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
            rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
            if state is not None and state.adjustment_open_since is not None:
                lines.append(text.ADJUSTMENT_OPEN_NOTE.format(
                    since=format_date(state.adjustment_open_since)))  # fmt: skip
                rows.append([(text.AVAILABLE_BUTTON, "avail")])
            return "\n".join(lines), self.keyboard(extra=rows, back=back)
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
            open_adjustment = self.clock(patient, context)
            if not ready and (
                open_adjustment is None or open_adjustment.adjustment_open_since is None
            ):
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
            state = self.clock(patient, context)
            if state is not None and state.adjustment_open_since is not None:
                body += "\n" + text.ADJUSTMENT_OPEN_NOTE.format(
                    since=format_date(state.adjustment_open_since)
                )
                choices.append([(text.AVAILABLE_BUTTON, "avail")])
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
            standard = text.STANDARD_NAMES.get(state.pathway_type if state else "", "")
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
        if step == AVAILABLE:
            since = self.declined_on(patient, draft, context)
            body = "\n".join(
                [title, text.AVAILABLE_TITLE, text.AVAILABLE_PROMPT.format(
                    declined=format_date(since) if since else "?")]
            )  # fmt: skip
            rows = (
                []
                if draft.get("mode") == "available"
                else [[(text.AVAILABLE_UNKNOWN, "v:unknown")]]
            )
            if since is not None and since <= today:
                rows.insert(
                    0, [(text.AVAILABLE_TODAY.format(date=text.long_date(today)), "v:today")]
                )
            return body, self.keyboard(extra=rows, back=back)
        if step == REBOOK:
            found = self.dna_to_rebook(patient, context)
            why, dna = found if found is not None else ("first_seen", today)
            state = self.clock(patient, context)
            standard = text.STANDARD_NAMES.get(state.pathway_type if state else "", "")
            body = "\n".join(
                [title, text.REBOOK_TITLE,
                 text.REBOOK_PROMPT[why].format(dna=format_date(dna), standard=standard)]
            )  # fmt: skip
            rows = [
                [(text.REBOOK_TODAY.format(date=text.long_date(today)), "r:today")],
                [(text.REBOOK_NONE, "r:none")],
            ]
            return body, self.keyboard(extra=rows, back=back)
        # OUTCOME
        return self.render_outcome(patient, draft, context)

    def render_confirm(
        self, patient: Patient, draft: Draft, context: BotContext
    ) -> tuple[str, Keyboard]:
        if draft.get("mode") == "available":
            return self.render_available(patient, draft, context)
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
            plan = self.new_plan(patient, draft, context, email="")
        if plan["entries"]:
            lines += ["", *self.event_lines(patient, plan, context)]
            explained = self.why(patient, plan, context)
            if explained:
                lines += ["", explained]
        lines += ["", text.CONFIRM_MEANS.format(line=line)]
        return "\n".join(lines), self.keyboard(extra=[[(text.SAVE, "save")]])

    def render_available(
        self, patient: Patient, draft: Draft, context: BotContext
    ) -> tuple[str, Keyboard]:
        plan = self.available_plan(patient, draft, context, email="")
        lines = [text.CONFIRM_TITLE.format(name=_name(patient)), ""]
        lines += self.event_lines(patient, plan, context)
        explained = self.why(patient, plan, context)
        if explained:
            lines += ["", explained]
        return "\n".join(lines), self.keyboard(extra=[[(text.SAVE_EVENT, "save")]])

    def event_lines(self, patient: Patient, plan: dict[str, Any], context: BotContext) -> list[str]:
        """What saving records on the pathway, and the clock before and after, from the engine."""
        entries: list[dict[str, Any]] = plan["entries"]
        before, after = self.clock(patient, context), self.clock(patient, context, plan["events"])
        first_new = len(events_from_json(plan["events"])) - len(entries)
        lines = [
            text.OUTCOME_EVENT.format(
                label=EVENT_KINDS[e["kind"]].label,
                date=format_date(dt.date.fromisoformat(e["date"])),
            )
            for e in entries
        ]
        return [
            *lines,
            text.BEFORE.format(line=clock_line(before)),
            text.AFTER.format(line=clock_line(after)),
            text.CHANGES.format(text=self.what_changes(entries, before, after, first_new)),
        ]

    @staticmethod
    def what_changes(
        entries: list[dict[str, Any]],
        before: ClockState | None,
        after: ClockState | None,
        first_new: int,
    ) -> str:
        """The engine's change in words; for an adjustment dated ahead (a TCI declined before
        its day), that nothing changes until that day."""
        if ignored_reason(after, first_new) == "in_future" and entries[0]["kind"] in (
            DATED_AHEAD_KINDS
        ):
            first = entries[0]
            return text.CHANGES_AHEAD[first["kind"]].format(
                date=format_date(dt.date.fromisoformat(first["date"]))
            )
        return "; ".join(describe_change(before, after, new_event=first_new))

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
        if not plan["entries"]:
            lines.append(self.nothing_recorded(patient, b, outcome, context))
        else:
            lines += self.event_lines(patient, plan, context)
            explained = self.why(patient, plan, context)
            if explained:
                lines += ["", explained]
            if plan.get("dated_on_booking"):
                lines.append(text.OUTCOME_DATE_NOTE)
        return "\n".join(lines), self.keyboard(extra=[[(text.SAVE_OUTCOME, "save")]])

    def nothing_recorded(
        self, patient: Patient, booking: Booking, outcome: str, context: BotContext
    ) -> str:
        """Why an outcome records no pathway event: a hospital cancellation, or a DNA of a
        later appointment (said for the pathway in front of the student)."""
        state = self.clock(patient, context)
        family = text.family(state.pathway_type if state else "rtt")
        if outcome == "dna":
            return text.DNA_LATER[family]
        return text.OUTCOME_NO_EVENT[family]

    def why(self, patient: Patient, plan: dict[str, Any], context: BotContext) -> str:
        """The plain-words rule behind what saving records, read off the engine's clock after
        it: whether a DNA nullified, and if not why not (the engine's note), the cancer first
        seen adjustment, a DM01 reset, a patient cancellation, a treatment adjustment."""
        entries: list[dict[str, Any]] = plan["entries"]
        kinds = [e["kind"] for e in entries]
        after = self.clock(patient, context, plan["events"])
        ptype = after.pathway_type if after else "rtt"
        family = text.family(ptype)
        first_new = len(events_from_json(plan["events"])) - len(entries)
        if "dna_first_appointment" in kinds:
            notes = {n.note for n in after.notes if n.index >= first_new} if after else set()
            if after is not None and after.status == "nullified":
                return text.DNA_WHY["nullifies"]
            for note in ("dna_urgent_suspected_cancer", "dna_after_activity",
                         "dna_not_after_referral"):  # fmt: skip
                if note in notes:
                    return text.DNA_WHY[note]
            if after is not None and after.awaiting_rebooking:
                return text.DNA_WHY["first_seen"].format(
                    standard=text.STANDARD_NAMES.get(ptype, "")
                )
            if after is not None and after.reset_by == "dna_first_appointment":
                return text.DNA_WHY["diagnostic"].format(
                    start=format_date(after.clock_start), breach=text.maybe_date(after.breach_date)
                )
            return text.DNA_WHY.get(ptype, text.DNA_WHY["continues"])
        if "patient_cancelled" in kinds:
            if after is not None and after.reset_by == "patient_cancelled":
                return text.PATIENT_CANCEL_WHY["diagnostic"].format(
                    start=format_date(after.clock_start), breach=text.maybe_date(after.breach_date)
                )
            return text.PATIENT_CANCEL_WHY[family]
        if "admission_offer_declined" in kinds or "patient_available" in kinds:
            return self.adjustment_words(patient, plan, context)
        if "new_clock" in kinds and after is not None:
            return text.REBOOK_WHY["first_seen" if after.reset_by == "new_clock" else "new"].format(
                start=format_date(after.clock_start), breach=text.maybe_date(after.breach_date)
            )
        return ""

    def adjustment_words(self, patient: Patient, plan: dict[str, Any], context: BotContext) -> str:
        """What a treatment adjustment does, from the engine's clock on the day the patient is
        available again (the breach date moves on by the adjusted days), or says the breach
        date is unknown until they are."""
        entries: list[dict[str, Any]] = plan["entries"]
        dates = {e["kind"]: dt.date.fromisoformat(e["date"]) for e in entries}
        today = context.services.clock.today()
        available = dates.get("patient_available")
        if available is None:
            declined = dates["admission_offer_declined"]
            return text.ADJUST_OPEN.format(declined=format_date(declined))
        then = self.clock(patient, context, plan["events"], on=max(available, today))
        if then is None or then.breach_date is None:
            return ""
        since = dates.get("admission_offer_declined")
        if since is None:
            state = self.clock(patient, context)
            since = state.adjustment_open_since if state else None
        return text.ADJUST_CLOSED.format(
            declined=format_date(since) if since else "the declined date",
            available=format_date(available),
            days=then.adjusted_days,
            s="" if then.adjusted_days == 1 else "s",
            breach=format_date(then.breach_date),
        )

    # -- what saving would write ----------------------------------------------------------------
    def record(
        self,
        patient: Patient,
        wanted: list[tuple[str, dt.date, str]],
        booking_id: str | None,
        email: str,
        context: BotContext,
    ) -> tuple[list[dict[str, Any]], list[Any]]:
        """The pathway events saving records ((kind, date, description) each, in order), and
        the row's events list with them; each entry names the booking it came from."""
        events = list(patient.events)
        entries: list[dict[str, Any]] = []
        for kind, on, description in wanted:
            entry = self.new_entry(
                patient, context, kind, on, added_by=email, description=description,
                previous=events,
            )  # fmt: skip
            entry["booking_id"] = booking_id
            events.append(entry)
            entries.append(entry)
        return entries, events

    def adjustment_events(self, booking: Booking, draft: Draft) -> list[tuple[str, dt.date, str]]:
        """A declined admission offer on the booked date, and the day the patient is available
        again when they have said (the treatment adjustment runs between the two)."""
        assert booking.date is not None
        wanted = [("admission_offer_declined", booking.date, booking.label)]
        available = draft.get("available")
        if isinstance(available, dt.date):
            wanted.append(("patient_available", available, text.AVAILABLE_WHAT))
        return wanted

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
        wanted: list[tuple[str, dt.date, str]] = []
        what = f"{b.label}: {text.OUTCOME_NAMES[outcome].lower()}"
        if outcome == "cancelled_patient" and draft.get("adjust"):
            wanted = self.adjustment_events(b, draft)
        elif kind is not None:
            if outcome == "cancelled_patient":
                if b.date < today:
                    dated_on_booking = True
                else:
                    on = today  # told today, before the day
            wanted = [(kind, on, what)]
        entries, events = self.record(patient, wanted, b.id, email, context)
        cancelled_on = today if outcome.startswith("cancelled") and b.date >= today else b.date
        appointments = with_outcome(
            patient.appointments,
            b,
            outcome,
            by=email,
            now=context.services.clock.now(),
            event=entries[0]["kind"] if entries else None,
            on=cancelled_on if outcome.startswith("cancelled") else None,
        )
        return {
            "booking": b,
            "entries": entries,
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
        wanted: list[tuple[str, dt.date, str]] = []
        if asked == "patient" and draft.get("adjust"):
            wanted = self.adjustment_events(b, draft)
        elif asked == "patient":
            kind = outcome_kind(b, "cancelled_patient")
            if kind is not None:
                wanted = [(kind, today, f"{b.label}: {text.MOVED_WHAT}")]
        entries, events = self.record(patient, wanted, b.id, email, context)
        appointments = rescheduled(
            patient.appointments,
            b,
            self.draft_date(draft),
            asked_by=asked,
            by=email,
            now=context.services.clock.now(),
            time=draft.get("time"),
            event=entries[0]["kind"] if entries else None,
        )
        return {"booking": b, "entries": entries, "events": events, "appointments": appointments}

    def new_plan(
        self, patient: Patient, draft: Draft, context: BotContext, email: str
    ) -> dict[str, Any]:
        """A new booking, and (when the patient rebooks after a first-appointment DNA) the new
        clock start on the day they contacted us to rebook."""
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
        rebook = draft.get("rebook")
        wanted = [("new_clock", rebook, text.REBOOKED_WHAT)] if isinstance(rebook, dt.date) else []
        entries, events = self.record(patient, wanted, entry["id"], email, context)
        return {"entry": entry, "entries": entries, "events": events}

    def available_plan(
        self, patient: Patient, draft: Draft, context: BotContext, email: str
    ) -> dict[str, Any]:
        """The patient is available again: the open treatment adjustment ends on that day."""
        on = self.draft_date(draft, "available")
        entries, events = self.record(
            patient, [("patient_available", on, text.AVAILABLE_WHAT)], None, email, context
        )
        return {"entries": entries, "events": events}

    def changes(
        self, patient: Patient, appointments: Any, events: list[Any], context: BotContext
    ) -> dict[str, Any]:
        today = context.services.clock.today()
        changes: dict[str, Any] = {}
        if appointments is not None:
            changes["appointments"] = appointments
        if events != list(patient.events):
            changes["events"] = events
            changes.update(
                stored_clock_fields(
                    patient.pathway_type, patient.clock_start_date, events, today, patient.priority
                )
            )
        changes.update(
            pathway_columns(
                patient.appointments if appointments is None else appointments,
                patient.pathway_type,
                patient.clock_start_date,
                events,
                today,
                patient.priority,
            )
        )
        return changes

    # -- input ------------------------------------------------------------------------------------
    async def text_at(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step == DATE:
            return await self.typed_date(raw, draft, update, context)
        if step in (AVAILABLE, REBOOK):
            return await self.typed_event_date(step, raw, draft, update, context)
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

    async def button_at(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step == TYPE and action.startswith("t:") and action[2:] in BOOKING_TYPES:
            draft.update(type=action[2:], mode="new", rebook=None)
            if action[2:] == "first_appointment":
                patient, _ = await self.load(draft, update, context)
                if self.dna_to_rebook(patient, context) is not None:
                    return await self.go(REBOOK, draft, update, context)
            return await self.go(DATE, draft, update, context)
        if step in (TYPE, MANAGE) and action == "avail":
            patient, _ = await self.load(draft, update, context)
            state = self.clock(patient, context)
            if state is None or state.adjustment_open_since is None:
                return await self.show(step, draft, update, context)
            draft.update(mode="available", available=None)
            return await self.go(AVAILABLE, draft, update, context)
        if step == AVAILABLE and action in ("v:unknown", "v:today"):
            if action == "v:unknown" and draft.get("mode") == "available":
                return await self.show(step, draft, update, context)
            today = context.services.clock.today()
            if action == "v:today":
                patient, _ = await self.load(draft, update, context)
                since = self.declined_on(patient, draft, context)
                if since is None or since > today:
                    return await self.show(step, draft, update, context)
            draft["available"] = today if action == "v:today" else None
            return await self.after_available(draft, update, context)
        if step == REBOOK and action in ("r:today", "r:none"):
            draft["rebook"] = context.services.clock.today() if action == "r:today" else None
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
            draft.update(mode="outcome", outcome=outcome, adjust=False, available=None)
            if outcome == "cancelled_patient" and self.can_adjust(b, self.clock(patient, context)):
                return await self.go(ADJUST, draft, update, context)
            return await self.go(OUTCOME, draft, update, context)
        if step == ADJUST and action in ("a:yes", "a:no"):
            draft.update(adjust=action == "a:yes", available=None)
            if draft["adjust"]:
                return await self.go(AVAILABLE, draft, update, context)
            return await self.after_available(draft, update, context)
        if step == WHO and action in ("w:patient", "w:hospital"):
            draft.update(asked_by=action[2:], adjust=False, available=None)
            if action == "w:patient":
                patient, _ = await self.load(draft, update, context)
                if self.can_adjust(self.booking(patient, draft), self.clock(patient, context)):
                    return await self.go(ADJUST, draft, update, context)
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

    async def typed_event_date(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        """The day the patient is available again (AVAILABLE: on or after the declined date,
        today or ahead) or contacted us to rebook (REBOOK: on or after the DNA, not ahead)."""
        if len(raw) > TEXT_LIMIT or _CONTROL.search(raw):
            error = text.DATE_TOO_LONG.format(forms="")
            return await self.show(step, draft, update, context, error=error.strip())
        today = context.services.clock.today()
        patient, _ = await self.load(draft, update, context)
        result = parse_date(raw, today, allow_future=step == AVAILABLE)
        if not result.ok or result.value is None:
            return await self.show(step, draft, update, context, error=esc(result.message or ""))
        on = result.value
        if step == AVAILABLE:
            since = self.declined_on(patient, draft, context)
            if since is not None and on < since:
                error = text.AVAILABLE_TOO_EARLY.format(date=format_date(on),
                                                        declined=format_date(since))  # fmt: skip
                return await self.show(step, draft, update, context, error=error)
            if on - today > MAX_AHEAD:
                error = text.DATE_TOO_FAR.format(date=format_date(on))
                return await self.show(step, draft, update, context, error=error)
            draft["available"] = on
            return await self.after_available(draft, update, context)
        found = self.dna_to_rebook(patient, context)
        if found is not None and on < found[1]:
            error = text.REBOOK_TOO_EARLY.format(date=format_date(on), dna=format_date(found[1]))
            return await self.show(step, draft, update, context, error=error)
        draft["rebook"] = on
        return await self.go(DATE, draft, update, context)

    async def after_available(self, draft: Draft, update: Update, context: BotContext) -> object:
        """After the treatment adjustment questions: the outcome's check, the move's new date,
        or (the patient available again on its own) the check before saving."""
        mode = draft.get("mode")
        if mode == "outcome":
            return await self.go(OUTCOME, draft, update, context)
        if mode == "move":
            return await self.go(DATE, draft, update, context)
        return await self.go(CONFIRM, draft, update, context)

    def declined_on(self, patient: Patient, draft: Draft, context: BotContext) -> dt.date | None:
        """The declined admission date a treatment adjustment runs from: the booking being
        declined, or (recording the patient available again later) the engine's open one."""
        if draft.get("mode") in ("outcome", "move"):
            return self.booking(patient, draft).date
        state = self.clock(patient, context)
        return state.adjustment_open_since if state is not None else None

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
            if not plan["entries"]:
                summary = (
                    self.nothing_recorded(patient, plan["booking"], outcome, context)
                    if outcome in ("cancelled_hospital", "dna")
                    else ""
                )
            else:
                first_new = len(events_from_json(plan["events"])) - len(plan["entries"])
                summary = (
                    self.adjustment_words(patient, plan, context)
                    if draft.get("adjust")
                    else self.what_changes(plan["entries"], before, after, first_new)
                )
            if outcome.startswith("cancelled") or outcome == "dna":
                summary = f"{summary} {text.REBOOK_HINT}".strip()
            changes = self.changes(patient, plan["appointments"], plan["events"], context)
            updated = await self.write(patient, email, draft, changes, context)
            done = text.SAVED_OUTCOME.format(
                outcome=text.OUTCOME_NAMES[outcome], name=name, text=summary
            )
            return await self.conclude(done, updated, draft, update, context)
        if mode == "available":
            plan = self.available_plan(patient, draft, context, email)
            changes = self.changes(patient, None, plan["events"], context)
            updated = await self.write(patient, email, draft, changes, context)
            done = text.SAVED_AVAILABLE.format(
                name=name, text=self.adjustment_words(patient, plan, context)
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
            raise PatientStop("shape")
        plan = self.new_plan(patient, draft, context, email)
        appointments = appended(patient.appointments, plan["entry"])
        changes = self.changes(patient, appointments, plan["events"], context)
        updated = await self.write(patient, email, draft, changes, context)
        return await self.conclude(
            text.SAVED.format(name=name, line=line), updated, draft, update, context
        )

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
