"""/update: record a pathway event, edit a field or add a note, for one patient.

Ways in: `/update` (asks which patient; a name fragment, patient ID or NHS number finds
them), `/update PTL…` or `/update smith` (straight to the patient, or a short list), and
the patient card's ✏️ Update button (`upd:<patient_id>`).

Before anything is saved the student sees the clock before and after and, in plain words,
what changes ("clock stopped: treated in 87 days, within 18 weeks"); both clocks come from
the rules engine. Saving is one optimistic write (`expected_version`): if the row changed
anywhere else since the student opened it (the web platform, another device), nothing is
written and the fresh card is shown instead. The same check runs whenever the form reads the
patient, so a student never builds an edit on a version that is already gone.

There is no way to pause a clock (PTL_RULES.md): the event list never offers one, and a
student who types "pause" anywhere here is told why.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import common
from bot.messages import forms as form_text
from bot.messages import update as text
from bot.messages.clock import clock_line, describe_change, ignored_reason
from bot.messages.html import esc
from bot.rules.dates import ACCEPTED_FORMS, format_date, parse_date
from bot.rules.fields import DATE_TEXT_LIMIT, NOTES_LIMIT, clip, strip_control_chars
from bot.rules.pathway import (
    EVENT_KINDS,
    PATHWAY_TYPES,
    ClockState,
    effect_of,
    kinds_offered,
    pause_explanation,
)
from bot.rules.pathway import rtt_code_for as code_for
from bot.rules.records import evaluate_row, event_entry, events_from_json, stored_clock_fields
from bot.services.bookings import pathway_columns
from bot.services.container import BotContext
from bot.services.patient_form import FIELD_ORDER, FIELDS, Choice, FieldContext, Parsed
from bot.services.ptl_view import at_risk_days
from handlers.card import send_card
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student, student_only
from storage.models import Patient
from storage.patients import PatientNotFoundError, StaleWriteError, UnwritableJsonError

FIND = "find"
PICK = "pick"
MENU = "menu"
KIND = "kind"
DATE = "date"
DETAIL = "detail"
CONFIRM = "confirm"
FIELD = "field"
NOTE = "note"
MAX_PICK = 8
NOTES_TOTAL_LIMIT = 4000
"""The platform's limit for the whole notes text (a note is appended to it)."""
_PAUSE = re.compile(r"\bpaus", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


class _Stop(Exception):
    """The form can't go on: the patient changed elsewhere, vanished, or the link did."""

    def __init__(self, why: str, current: Patient | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.current = current


@dataclass
class Plan:
    """What saving would write, and how to explain it."""

    changes: dict[str, Any]
    before: ClockState | None
    after: ClockState | None
    summary: list[str]
    """What is being changed (the event, or the field's old and new value)."""
    effects: list[str] = field(default_factory=list)
    """What that does to the clock (describe_change)."""
    no_effect: bool = False


class UpdateForm(Form):
    name = "update"
    prefix = "updf"
    command = "/update"
    own_commands = frozenset({"update"})
    own_callbacks = ("upd:",)
    states = (FIND, PICK, MENU, KIND, DATE, DETAIL, CONFIRM, FIELD, NOTE, *FIELD_ORDER)

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        return [
            CommandHandler("update", self.entry(student_only(self._command))),
            CallbackQueryHandler(self.entry(student_only(self._from_card)), pattern=r"^upd:"),
        ]

    # -- entry --------------------------------------------------------------------------------
    def _new(self, update: Update, context: BotContext, first: str) -> Draft:
        assert update.effective_chat is not None
        old = self.draft(context) or {}
        return self.new_draft(context, update.effective_chat.id, first, prompt=old.get("prompt"))

    async def _command(self, update: Update, context: BotContext, student: Student) -> object:
        query = strip_control_chars(" ".join(context.args or [])).strip()
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
        draft = self._new(update, context, MENU)
        patient_id = (query.data or "").partition(":")[2]
        return await self.safely(
            draft, update, context, self.open_patient(patient_id, draft, update, context, student)
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
        if _PAUSE.search(query):
            return await self.show(FIND, draft, update, context, error=self.no_pauses(None))
        cleaned = query.strip()
        if len(cleaned) > 100:
            return await self.show(FIND, draft, update, context, error=text.TOO_LONG)
        if len(cleaned.replace(" ", "")) < 2 or _CONTROL.search(cleaned):
            return await self.show(FIND, draft, update, context, error=text.TOO_SHORT)
        found = await context.services.patients.find(student.email, cleaned, limit=MAX_PICK + 1)
        if not found:
            error = text.NO_MATCH.format(query=esc(clip(cleaned, 40)))
            return await self.back_to_find(draft, update, context, error)
        if len(found) == 1:
            return await self.open_patient(found[0].patient_id, draft, update, context, student)
        draft["query"] = clip(cleaned, 40)
        draft["results"] = [
            [p.patient_id, clip(f"{p.patient_name or '(no name)'} · {p.patient_id}", 48)]
            for p in found[:MAX_PICK]
            if len(self.data(f"p:{p.patient_id}").encode()) <= 64
        ]
        draft["more"] = len(found) > MAX_PICK
        return await self.go(PICK, draft, update, context)

    async def back_to_find(
        self, draft: Draft, update: Update, context: BotContext, error: str
    ) -> object:
        draft["trail"] = [FIND]
        return await self.show(FIND, draft, update, context, error=error)

    async def open_patient(
        self, patient_id: str, draft: Draft, update: Update, context: BotContext, student: Student
    ) -> object:
        try:
            patient = await context.services.patients.get(student.email, patient_id.strip())
        except PatientNotFoundError:
            error = text.NOT_FOUND.format(patient_id=esc(clip(patient_id, 40)))
            return await self.back_to_find(draft, update, context, error)
        draft.update(
            patient_id=patient.patient_id,
            version=patient.version,
            name=clip(patient.patient_name or "(no name)", 40),
        )
        return await self.go(MENU, draft, update, context)

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
        """Run a step; if the patient changed elsewhere or vanished, end with the news."""
        try:
            return await step
        except _Stop as stop:
            return await self.stop(stop, draft, update, context)

    async def show(
        self, step: str, draft: Draft, update: Update, context: BotContext, *, error: str = ""
    ) -> Any:
        # Rendering reads the patient (and checks its version), so any show can find it gone.
        try:
            return await super().show(step, draft, update, context, error=error)
        except _Stop as stop:
            return await self.stop(stop, draft, update, context)

    async def stop(self, stop: _Stop, draft: Draft, update: Update, context: BotContext) -> int:
        if stop.why == "unlinked":
            return await self.finish(common.NOT_LINKED, draft, update, context)
        if stop.why == "unwritable":
            return await self.finish(text.EVENTS_UNWRITABLE, draft, update, context)
        if stop.why == "gone" or stop.current is None:
            return await self.finish(text.GONE, draft, update, context)
        await self.finish(text.STALE, draft, update, context)
        student = await current_student(update, context)
        if student is not None:
            await send_card(update, context, student, stop.current)
        return END

    # -- rendering -------------------------------------------------------------------------------
    def worth_keeping(self, draft: Draft) -> bool:
        return bool(draft.get("patient_id"))

    def where(self, draft: Draft) -> str:
        name = esc(draft.get("name") or "")
        return f"updating {name}" if name else "choosing a patient"

    def field_context(self, patient: Patient, context: BotContext) -> FieldContext:
        return FieldContext(
            today=context.services.clock.today(),
            values=patient.model_dump(),
            allow_any_nhs=context.services.settings.allow_any_valid_nhs_number,
        )

    def clock(self, patient: Patient, context: BotContext) -> ClockState | None:
        return evaluate_row(
            patient.pathway_type,
            patient.clock_start_date,
            patient.events,
            context.services.clock.today(),
            at_risk_days=at_risk_days(context.services.settings),
            priority=patient.priority,
        )

    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        if step == FIND:
            return text.FIND_PROMPT, self.keyboard(back=False)
        if step == PICK:
            lines = [text.PICK.format(n=len(draft.get("results") or []),
                                      query=esc(draft.get("query") or ""))]  # fmt: skip
            if draft.get("more"):
                lines.append(text.PICK_MORE.format(n=MAX_PICK))
            rows = [[(label, f"p:{pid}")] for pid, label in draft.get("results") or []]
            return "\n".join(lines), self.keyboard(extra=rows)
        patient, _ = await self.load(draft, update, context)
        back = len(draft.get("trail") or []) > 1
        name = esc(clip(patient.patient_name or "(no name)", 60))
        if step == MENU:
            return self.render_menu(patient, context), self.keyboard(
                extra=[[(text.EVENT, "a:event")], [(text.EDIT, "a:edit")], [(text.NOTE, "a:note")]],
                back=back,
            )
        if step == KIND:
            return self.render_kinds(patient, context)
        if step == DATE:
            kind = EVENT_KINDS[draft["kind"]]
            state = self.clock(patient, context)
            lines = [
                form_text.STEP_HEADER.format(n=2, m=3, title=text.DATE_TITLE),
                text.CHOSEN_KIND.format(
                    code=code_for(
                        kind.key,
                        state.ended_by if state else None,
                        state.pathway_type if state else "rtt",
                    ),
                    label=kind.label,
                    meaning=kind.meaning_for(state.pathway_type if state else None),
                ),
                text.DATE_PROMPT,
            ]
            choices = ((Choice(form_text.TODAY, "today"), Choice(form_text.YESTERDAY, "yday")),)
            return "\n".join(lines), self.keyboard(choices)
        if step == DETAIL:
            lines = [
                form_text.STEP_HEADER.format(n=3, m=3, title=text.DETAIL_TITLE),
                text.DETAIL_PROMPT,
            ]
            return "\n".join(lines), self.keyboard(skip=True)
        if step == FIELD:
            lines = [form_text.STEP_HEADER.format(n=1, m=2, title=text.FIELD_TITLE), name,
                     text.FIELD_PROMPT]  # fmt: skip
            pairs = [(text.FIELD_BUTTONS[k], f"f:{k}") for k in FIELD_ORDER]
            return "\n".join(lines), self.keyboard(
                extra=[pairs[i : i + 3] for i in range(0, len(pairs), 3)]
            )
        if step == NOTE:
            lines = [text.NOTE_TITLE.format(name=name),
                     text.NOTE_PROMPT.format(limit=NOTES_LIMIT)]  # fmt: skip
            return "\n".join(lines), self.keyboard()
        if step in FIELDS:
            spec = FIELDS[step]
            ctx = self.field_context(patient, context)
            lines = [form_text.STEP_HEADER.format(n=2, m=2, title=spec.title), name,
                     spec.prompt(ctx)]  # fmt: skip
            current = getattr(patient, spec.column)
            if current not in (None, ""):
                lines.append(form_text.CURRENTLY.format(value=spec.show(current)))
            return "\n".join(lines), self.keyboard(spec.choices(ctx), skip=spec.optional)
        # CONFIRM
        plan = await self.plan(patient, draft, context, email="")
        return self.render_confirm(patient, plan)

    def render_menu(self, patient: Patient, context: BotContext) -> str:
        state = self.clock(patient, context)
        ptype = state.pathway_type if state else None
        pathway = PATHWAY_TYPES[ptype].label if ptype else esc(clip(patient.pathway_type or "", 30))
        title = text.MENU_TITLE.format(
            name=esc(clip(patient.patient_name or "(no name)", 60)),
            patient_id=esc(patient.patient_id),
            pathway=pathway,
        )
        return "\n".join([title, clock_line(state), "", text.MENU_PROMPT])

    def render_kinds(self, patient: Patient, context: BotContext) -> tuple[str, Keyboard]:
        state = self.clock(patient, context)
        ptype = state.pathway_type if state else "rtt"
        ended_by = state.ended_by if state else None
        lines = [
            form_text.STEP_HEADER.format(n=1, m=3, title=text.KIND_TITLE),
            f"<b>{esc(clip(patient.patient_name or '(no name)', 60))}</b> · {clock_line(state)}",
            "",
            text.KIND_PROMPT,
        ]
        rows: list[list[tuple[str, str]]] = []
        for kind in (EVENT_KINDS[k] for k in kinds_offered(ptype)):
            code = code_for(kind.key, ended_by, ptype)
            effect = text.EFFECTS[effect_of(kind.key, ptype)]
            lines.append(text.KIND_LINE.format(code=code, label=kind.label, effect=effect))
            rows.append([(text.KIND_BUTTON.format(code=code, label=kind.label), f"k:{kind.key}")])
        return "\n".join(lines), self.keyboard(extra=rows)

    def render_confirm(self, patient: Patient, plan: Plan) -> tuple[str, Keyboard]:
        lines = [text.CONFIRM_TITLE.format(name=esc(clip(patient.patient_name or "", 60)))]
        lines += plan.summary
        lines += [
            "",
            text.BEFORE.format(line=clock_line(plan.before)),
            text.AFTER.format(line=clock_line(plan.after)),
            "",
            text.CHANGES.format(text="; ".join(plan.effects)),
        ]
        save = text.SAVE_ANYWAY if plan.no_effect else text.SAVE
        return "\n".join(lines), self.keyboard(extra=[[(save, "save")]])

    # -- what saving would do ---------------------------------------------------------------------
    async def plan(self, patient: Patient, draft: Draft, context: BotContext, email: str) -> Plan:
        today = context.services.clock.today()
        thresholds = at_risk_days(context.services.settings)
        before = self.clock(patient, context)
        if draft.get("mode") == "event":
            kind = str(draft["kind"])
            on = draft["date"]
            entry = event_entry(
                kind,
                on,
                added_by=email,
                description=draft.get("detail"),
                previous=patient.events,
                pathway_type=patient.pathway_type or "rtt",
                clock_start=patient.clock_start_date,
                today=today,
            )
            events = [*patient.events, entry]
            after = evaluate_row(
                patient.pathway_type, patient.clock_start_date, events, today,
                at_risk_days=thresholds, priority=patient.priority,
            )  # fmt: skip
            new_index = len(events_from_json(events)) - 1
            summary = [
                text.CONFIRM_EVENT.format(
                    code=esc(entry["code"]), label=EVENT_KINDS[kind].label, date=format_date(on)
                )
            ]
            if draft.get("detail"):
                summary.append(text.CONFIRM_DETAIL.format(detail=esc(draft["detail"])))
            changes = {
                "events": events,
                **stored_clock_fields(
                    patient.pathway_type,
                    patient.clock_start_date,
                    events,
                    today,
                    patient.priority,
                ),
                **pathway_columns(
                    patient.appointments,
                    patient.pathway_type,
                    patient.clock_start_date,
                    events,
                    today,
                    patient.priority,
                ),
            }
            return Plan(
                changes,
                before,
                after,
                summary,
                describe_change(before, after, new_event=new_index),
                no_effect=ignored_reason(after, new_index) is not None,
            )
        key = str(draft["field"])
        spec = FIELDS[key]
        value = draft.get("value")
        changes = {spec.column: value}
        ptype = value if spec.column == "pathway_type" else patient.pathway_type
        start = value if spec.column == "clock_start_date" else patient.clock_start_date
        priority = value if spec.column == "priority" else patient.priority
        if spec.column in ("pathway_type", "clock_start_date", "priority"):
            # Priority is a clock input too: an Urgent suspected cancer RTT row keeps its
            # clock after a first-appointment DNA.
            changes.update(stored_clock_fields(ptype, start, patient.events, today, priority))
            changes.update(pathway_columns(patient.appointments, ptype, start, patient.events,
                                           today, priority))  # fmt: skip
        after = evaluate_row(ptype, start, patient.events, today, at_risk_days=thresholds,
                             priority=priority)  # fmt: skip
        summary = [
            text.CONFIRM_FIELD.format(
                label=text.FIELD_BUTTONS[key],
                old=spec.show(getattr(patient, spec.column)),
                new=spec.show(value),
            )
        ]
        return Plan(changes, before, after, summary, describe_change(before, after))

    # -- input ------------------------------------------------------------------------------------
    @staticmethod
    def no_pauses(pathway_type: str | None) -> str:
        """Why there is no pause: the rule of this patient's pathway (all of them when no
        patient is chosen yet)."""
        return text.NO_PAUSES.format(explanation=esc(pause_explanation(pathway_type)))

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
        if _PAUSE.search(raw):
            patient, _ = await self.load(draft, update, context)
            error = self.no_pauses(patient.pathway_type)
            return await self.show(step, draft, update, context, error=error)
        if step == DATE:
            patient, _ = await self.load(draft, update, context)
            return await self.accept_date(self.parse_event_date(raw, patient, context), draft,
                                          update, context)  # fmt: skip
        if step == DETAIL:
            detail = " ".join(raw.split())
            if len(detail) > text.DETAIL_LIMIT:
                error = form_text.TOO_LONG.format(
                    n=len(detail), what="a description", limit=text.DETAIL_LIMIT
                )
                return await self.show(step, draft, update, context, error=error)
            if not detail:
                error = form_text.EMPTY.format(hint=text.DETAIL_PROMPT)
                return await self.show(step, draft, update, context, error=error)
            if _CONTROL.search(raw):
                return await self.show(step, draft, update, context, error=form_text.CONTROL_CHARS)
            draft["detail"] = detail
            return await self.go(CONFIRM, draft, update, context)
        if step == NOTE:
            return await self.add_note(raw, draft, update, context)
        if step in FIELDS:
            patient, _ = await self.load(draft, update, context)
            parsed = FIELDS[step].from_text(raw, self.field_context(patient, context))
            return await self.accept_field(step, parsed, patient, draft, update, context)
        return await self.show(step, draft, update, context, error=form_text.USE_BUTTONS)

    async def _button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step == PICK and action.startswith("p:"):
            student = await current_student(update, context)
            if student is None:
                raise _Stop("unlinked")
            return await self.open_patient(action[2:], draft, update, context, student)
        if step == MENU and action in ("a:event", "a:edit", "a:note"):
            if action == "a:event":
                patient, _ = await self.load(draft, update, context)
                if not patient.events_writable:
                    return await self.show(MENU, draft, update, context,
                                           error=text.EVENTS_UNWRITABLE)  # fmt: skip
            target = {"a:event": KIND, "a:edit": FIELD, "a:note": NOTE}[action]
            draft["mode"] = "event" if target == KIND else "field"
            return await self.go(target, draft, update, context)
        if step == KIND and action[2:] in EVENT_KINDS and action.startswith("k:"):
            draft["kind"] = action[2:]
            return await self.go(DATE, draft, update, context)
        if step == DATE and action in ("c:today", "c:yday"):
            patient, _ = await self.load(draft, update, context)
            today = context.services.clock.today()
            on = today if action == "c:today" else today - dt.timedelta(days=1)
            return await self.accept_date(self.check_event_date(on, patient), draft, update,
                                          context)  # fmt: skip
        if step == DETAIL and action == "skip":
            draft["detail"] = None
            return await self.go(CONFIRM, draft, update, context)
        if step == FIELD and action.startswith("f:") and action[2:] in FIELDS:
            draft["field"] = action[2:]
            return await self.go(action[2:], draft, update, context)
        if step in FIELDS:
            patient, _ = await self.load(draft, update, context)
            spec = FIELDS[step]
            if action == "skip" and spec.optional:
                return await self.accept_field(step, Parsed(None), patient, draft, update, context)
            if action.startswith("c:"):
                parsed = spec.from_choice(action[2:], self.field_context(patient, context))
                return await self.accept_field(step, parsed, patient, draft, update, context)
        if step == CONFIRM and action == "save":
            return await self.save(draft, update, context)
        return await self.show(step, draft, update, context)

    # -- event date ------------------------------------------------------------------------------
    def parse_event_date(self, raw: str, patient: Patient, context: BotContext) -> Parsed:
        if len(raw) > DATE_TEXT_LIMIT:
            return Parsed(error=form_text.DATE_TOO_LONG.format(accepted=esc(ACCEPTED_FORMS)))
        if _CONTROL.search(raw):
            return Parsed(error=form_text.CONTROL_CHARS)
        today = context.services.clock.today()
        result = parse_date(raw, today)
        if not result.ok or result.value is None:
            message = esc(result.message or ACCEPTED_FORMS)
            if result.understood is not None and result.understood > today:
                message = f"{message}\n{text.EVENT_IN_FUTURE}"
            return Parsed(error=message)
        return self.check_event_date(result.value, patient)

    @staticmethod
    def check_event_date(on: dt.date, patient: Patient) -> Parsed:
        start = patient.clock_start_date
        if start is not None and on < start:
            return Parsed(error=text.EVENT_BEFORE_START.format(start=format_date(start)))
        return Parsed(on)

    async def accept_date(
        self, parsed: Parsed, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if not parsed.ok:
            return await self.show(DATE, draft, update, context, error=parsed.error or "")
        draft["date"] = parsed.value
        return await self.go(DETAIL, draft, update, context)

    # -- field -----------------------------------------------------------------------------------
    async def accept_field(
        self,
        step: str,
        parsed: Parsed,
        patient: Patient,
        draft: Draft,
        update: Update,
        context: BotContext,
    ) -> object:
        if not parsed.ok:
            return await self.show(step, draft, update, context, error=parsed.error or "")
        if parsed.value == getattr(patient, FIELDS[step].column):
            return await self.show(step, draft, update, context, error=text.SAME_VALUE)
        draft["field"] = step
        draft["value"] = parsed.value
        return await self.go(CONFIRM, draft, update, context)

    # -- saving ----------------------------------------------------------------------------------
    async def save(self, draft: Draft, update: Update, context: BotContext) -> object:
        patient, email = await self.load(draft, update, context)
        plan = await self.plan(patient, draft, context, email=email)
        updated = await self.write(patient, email, draft, plan.changes, context)
        name = esc(clip(updated.patient_name or "", 60))
        template = text.SAVED_EVENT if draft.get("mode") == "event" else text.SAVED_FIELD
        done = template.format(name=name, text="; ".join(plan.effects))
        return await self.conclude(done, updated, draft, update, context)

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
        except UnwritableJsonError:
            raise _Stop("unwritable") from None

    async def conclude(
        self, done: str, patient: Patient, draft: Draft, update: Update, context: BotContext
    ) -> int:
        await self.finish(done, draft, update, context)
        student = await current_student(update, context)
        if student is not None:
            await send_card(update, context, student, patient)
        return END

    async def add_note(self, raw: str, draft: Draft, update: Update, context: BotContext) -> object:
        patient, email = await self.load(draft, update, context)
        parsed = FIELDS["notes"].from_text(raw, self.field_context(patient, context))
        if not parsed.ok:
            return await self.show(NOTE, draft, update, context, error=parsed.error or "")
        stamp = f"[{format_date(context.services.clock.today())}] {parsed.value}"
        old = (patient.notes or "").rstrip()
        notes = f"{old}\n{stamp}" if old.strip() else stamp
        if len(notes) > NOTES_TOTAL_LIMIT:
            error = text.NOTES_FULL.format(n=len(notes), limit=NOTES_TOTAL_LIMIT)
            return await self.show(NOTE, draft, update, context, error=error)
        updated = await self.write(patient, email, draft, {"notes": notes}, context)
        done = text.NOTE_ADDED.format(name=esc(clip(updated.patient_name or "", 60)))
        return await self.conclude(done, updated, draft, update, context)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # One form object per Application: it holds that Application's ConversationHandler.
    UpdateForm().register(app)
