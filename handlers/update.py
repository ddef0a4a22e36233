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
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import forms as form_text
from bot.messages import update as text
from bot.messages.clock import clock_line, describe_change, effect_today, ignored_reason
from bot.messages.html import esc
from bot.rules.dates import ACCEPTED_FORMS, format_date, parse_date, shortcut_date
from bot.rules.fields import DATE_TEXT_LIMIT, NOTES_LIMIT, clip
from bot.rules.pathway import (
    EVENT_KINDS,
    PATHWAY_TYPES,
    ClockState,
    canonical_pathway_type,
    kinds_offered,
    pause_explanation,
)
from bot.rules.pathway import rtt_code_for as code_for
from bot.rules.records import evaluate_row, events_from_json, stored_clock_fields
from bot.services.bookings import pathway_columns
from bot.services.container import BotContext
from bot.services.patient_form import FIELD_ORDER, FIELDS, FieldContext, Parsed, date_choices
from bot.services.ptl_view import at_risk_days
from handlers.card import send_card
from handlers.forms import END, Draft, Keyboard
from handlers.guards import Student, current_student, student_only
from handlers.one_patient import FIND, PICK, OnePatientForm
from storage.models import Patient

MENU = "menu"
KIND = "kind"
DATE = "date"
DETAIL = "detail"
CONFIRM = "confirm"
FIELD = "field"
NOTE = "note"
MAX_TOP = 6
"""Patients offered as buttons when /update is sent with no name."""
NOTES_TOTAL_LIMIT = 4000
"""The platform's limit for the whole notes text (a note is appended to it)."""
_PAUSE = re.compile(r"\bpaus", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class PickerOption:
    """One line of the event picker: what a coordinator calls it, and the engine kind."""

    key: str
    group: str
    label: str
    kind: str
    pathways: tuple[str, ...]


PICKER_OPTIONS: dict[str, PickerOption] = {
    key: PickerOption(key, group, label, kind, pathways)
    for key, group, label, kind, pathways in text.PICKER
}


def picker_options(pathway_type: str) -> list[PickerOption]:
    """The options that mean something on this pathway type, in the picker's order."""
    offered = set(kinds_offered(pathway_type))
    return [
        o
        for o in PICKER_OPTIONS.values()
        if o.kind in offered and (not o.pathways or pathway_type in o.pathways)
    ]


def _grouped(options: list[PickerOption]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for o in options:
        groups.setdefault(o.group, []).append((o.key, o.label, o.kind))
    return [(g, groups[g]) for g in text.PICKER_GROUPS if g in groups]


def event_name(label: str, code: object, pathway_type: str) -> str:
    """An event as a student reads it: with its RTT code on RTT rows, where the code means
    what it says; the name alone on cancer and DM01 rows, which don't use RTT codes."""
    if pathway_type == "rtt":
        return text.EVENT_NAME_RTT.format(code=code, label=label)
    return label


def chosen_label(draft: Draft) -> str:
    label = draft.get("label")
    return str(label) if label else EVENT_KINDS[str(draft["kind"])].label


def _pathway(patient: Patient) -> str:
    try:
        return canonical_pathway_type(patient.pathway_type or "rtt")
    except ValueError:
        return "rtt"


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


class UpdateForm(OnePatientForm):
    name = "update"
    prefix = "updf"
    command = "/update"
    own_commands = frozenset({"update"})
    own_callbacks = ("upd:",)
    GONE = text.GONE
    STALE = text.STALE
    OPENS = MENU
    STOPS = {"unwritable": text.EVENTS_UNWRITABLE}
    states = (FIND, PICK, MENU, KIND, DATE, DETAIL, CONFIRM, FIELD, NOTE, *FIELD_ORDER)

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        return [
            CommandHandler("update", self.entry(student_only(self._command))),
            CallbackQueryHandler(self.entry(student_only(self._from_card)), pattern=r"^upd:"),
        ]

    # -- entry (the command and the search are OnePatientForm's) ------------------------------
    async def _from_card(self, update: Update, context: BotContext, student: Student) -> object:
        query = update.callback_query
        assert query is not None
        await query.answer()
        draft = self._new(update, context, MENU)
        patient_id = (query.data or "").partition(":")[2]
        return await self.safely(
            draft, update, context, self.open_patient(patient_id, draft, update, context, student)
        )

    def search_refusal(self, query: str) -> str | None:
        # ("pause" typed as a patient's name: a student looking for a pause event)
        return self.no_pauses(None) if _PAUSE.search(query) else None

    # -- the patient (the checks are OnePatientForm's) --------------------------------------
    def where(self, draft: Draft) -> str:
        name = esc(draft.get("name") or "")
        return f"updating {name}" if name else "choosing a patient"

    def field_context(self, patient: Patient, context: BotContext) -> FieldContext:
        return FieldContext(
            today=context.services.clock.today(),
            values=patient.model_dump(),
            allow_any_nhs=context.services.settings.allow_any_valid_nhs_number,
        )

    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        if step == FIND:
            top = await self.top_patients(update, context)
            body = "\n".join([text.FIND_PROMPT, text.FIND_TOP]) if top else text.FIND_PROMPT
            return body, self.keyboard(extra=top, back=False)
        if step == PICK:
            return self.render_pick(draft)
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
            ptype = state.pathway_type if state else _pathway(patient)
            code = code_for(kind.key, state.ended_by if state else None, ptype)
            lines = [
                form_text.STEP_HEADER.format(n=2, m=3, title=text.DATE_TITLE),
                text.CHOSEN_KIND.format(
                    event=event_name(chosen_label(draft), code, ptype),
                    meaning=kind.meaning_for(ptype),
                ),
                text.DATE_PROMPT,
            ]
            today = context.services.clock.today()
            choices = date_choices(today, earliest=patient.clock_start_date)
            return "\n".join(lines), self.keyboard(choices)
        if step == DETAIL:
            lines = [
                form_text.STEP_HEADER.format(n=3, m=3, title=text.DETAIL_TITLE),
                text.DETAIL_PROMPT.format(label=esc(chosen_label(draft))),
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

    async def top_patients(
        self, update: Update, context: BotContext
    ) -> list[list[tuple[str, str]]]:
        """The PTL's most urgent patients (breach-risk order), one button each, so /update
        with no name is a tap away from the patient who needs updating."""
        student = await current_student(update, context)
        if student is None:
            return []
        # The top of the PTL as /ptl pages it (in the database), with room for ids too long
        # for a button.
        screen = await context.services.ptl.screen(
            student.email, page=0, status="all", ptype="all", booking="all", size=2 * MAX_TOP
        )
        rows: list[list[tuple[str, str]]] = []
        for entry in screen.entries:
            if len(rows) == MAX_TOP:
                break
            data = f"p:{entry.patient.patient_id}"
            if len(self.data(data).encode()) > 64:
                continue
            name = clip(entry.patient.patient_name or "(no name)", 30)
            rows.append([(text.FIND_BUTTON.format(mark=entry.mark, name=name), data)])
        return rows

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
        """The event picker: grouped as a coordinator thinks of them, named as they would say
        them, and each shown with what it would do to *this* patient's clock if it happened
        today (the rules engine's answer, as the confirm step gives for the chosen date)."""
        state = self.clock(patient, context)
        ptype = state.pathway_type if state else _pathway(patient)
        lines = [
            form_text.STEP_HEADER.format(n=1, m=3, title=text.KIND_TITLE),
            f"<b>{esc(clip(patient.patient_name or '(no name)', 60))}</b> · {clock_line(state)}",
            "",
            text.KIND_PROMPT if state is not None else text.KIND_NO_CLOCK,
        ]
        rows: list[list[tuple[str, str]]] = []
        ended_by = state.ended_by if state else None
        for group, options in _grouped(picker_options(ptype)):
            effects: dict[str, list[str]] = {}
            buttons: list[tuple[str, str]] = []
            for key, label, kind in options:
                effect = self.effect_today(patient, kind, state, context)
                effects.setdefault(effect, []).append(label)
                code = code_for(kind, ended_by, ptype)
                buttons.append((event_name(label, code, ptype), f"k:{key}"))
            items = [text.KIND_EFFECT.format(labels=", ".join(ls), effect=e)
                     for e, ls in effects.items()]  # fmt: skip
            lines.append(text.KIND_GROUP_LINE.format(group=text.PICKER_GROUPS[group],
                                                     items="; ".join(items)))  # fmt: skip
            rows.extend(buttons[i : i + 2] for i in range(0, len(buttons), 2))
        return "\n".join(lines), self.keyboard(extra=rows)

    def effect_today(
        self, patient: Patient, kind: str, before: ClockState | None, context: BotContext
    ) -> str:
        """What recording `kind` today would do to this patient's clock, in a few words."""
        entry = self.new_entry(patient, context, kind, context.services.clock.today(), added_by="")
        events = [*patient.events, entry]
        after = self.clock(patient, context, events)
        return effect_today(before, after, len(events_from_json(events)) - 1)

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
            entry = self.new_entry(
                patient, context, kind, on, added_by=email,
                description=draft.get("detail") or draft.get("label"),
            )  # fmt: skip
            events = [*patient.events, entry]
            after = self.clock(patient, context, events)
            new_index = len(events_from_json(events)) - 1
            summary = [
                text.CONFIRM_EVENT.format(
                    event=event_name(chosen_label(draft), esc(entry["code"]), _pathway(patient)),
                    date=format_date(on),
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

    async def text_at(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
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

    async def button_at(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step == MENU and action in ("a:event", "a:edit", "a:note"):
            if action == "a:event":
                patient, _ = await self.load(draft, update, context)
                if not patient.events_writable:
                    return await self.show(MENU, draft, update, context,
                                           error=text.EVENTS_UNWRITABLE)  # fmt: skip
            target = {"a:event": KIND, "a:edit": FIELD, "a:note": NOTE}[action]
            draft["mode"] = "event" if target == KIND else "field"
            return await self.go(target, draft, update, context)
        if step == KIND and action.startswith("k:"):
            option = PICKER_OPTIONS.get(action[2:])
            if option is not None:
                draft["kind"], draft["label"] = option.kind, option.label
                return await self.go(DATE, draft, update, context)
            if action[2:] in EVENT_KINDS:  # a keyboard sent before the picker had options
                draft["kind"], draft["label"] = action[2:], None
                return await self.go(DATE, draft, update, context)
        if step == DATE and action.startswith("c:"):
            on = shortcut_date(action[2:], context.services.clock.today())
            if on is not None:
                patient, _ = await self.load(draft, update, context)
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
