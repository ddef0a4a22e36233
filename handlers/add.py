"""/add: a student adds a (fictional) patient to their PTL, one question at a time.

Nine steps (name, NHS number, specialty, pathway, referral date, clock start, priority,
consultant, notes), then a summary with the clock the rules engine computes, and Save /
Edit a field / Cancel. Nothing touches the database until Save, which writes one row through
the student-scoped repository (row-level security) with the stored clock fields, and then
shows the patient card. The fields themselves (what each accepts, how it explains a refusal)
live in bot/services/patient_form.py and are shared with /update.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.messages import add as text
from bot.messages import common
from bot.messages import forms as form_text
from bot.messages.clock import clock_line
from bot.messages.html import esc
from bot.rules.fields import clip
from bot.rules.records import evaluate_row, stored_clock_fields
from bot.services.bookings import pathway_columns
from bot.services.container import BotContext
from bot.services.patient_form import FIELD_ORDER, FIELDS, FieldContext, Parsed
from bot.services.ptl_view import at_risk_days
from handlers.card import send_card
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student, student_only
from storage.models import PatientIn
from storage.patients import PatientLimitError, new_patient_id

SUMMARY = "sum"
EDIT = "edit"
REQUIRED = tuple(k for k in FIELD_ORDER if not FIELDS[k].optional)


class AddForm(Form):
    name = "add"
    prefix = "add"
    command = "/add"
    own_commands = frozenset({"add"})
    own_callbacks = ("menu:add",)
    states = (*FIELD_ORDER, SUMMARY, EDIT)

    def entry_points(self) -> list[BaseHandler[Update, BotContext, Any]]:
        start = self.entry(student_only(self._start))
        return [
            CommandHandler("add", start),
            CallbackQueryHandler(start, pattern=r"^menu:add$"),
        ]

    # -- entry --------------------------------------------------------------------------------
    async def _start(self, update: Update, context: BotContext, student: Student) -> object:
        if update.callback_query is not None:
            await update.callback_query.answer()
        limit = context.services.settings.max_patients_per_student
        if await context.services.patients.count(student.email) >= limit:
            # Said before a single question, so nothing is typed in vain.
            await context.bot.send_message(student.chat_id, text.PTL_FULL.format(limit=limit))
            return END
        draft = self.resumable(context)
        if draft is not None and draft.get("values"):
            return await self.offer_resume(draft, update, context)
        return await self.fresh(update, context)

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        assert update.effective_chat is not None
        old = self.draft(context) or {}
        # The patient's id is chosen now, before anything is saved, so Save is idempotent: a
        # Save repeated after a crash (the row committed, the form's state not) finds the
        # row it already wrote instead of inserting the patient twice.
        draft = self.new_draft(
            context,
            update.effective_chat.id,
            FIELD_ORDER[0],
            values={},
            prompt=old.get("prompt"),
            patient_id=new_patient_id(),
        )
        return await self.show(FIELD_ORDER[0], draft, update, context)

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def values(draft: Draft) -> dict[str, Any]:
        values: dict[str, Any] = draft.setdefault("values", {})
        return values

    @staticmethod
    def editing(draft: Draft) -> bool:
        """Came here from the summary (Edit a field): a valid answer returns to it."""
        return SUMMARY in (draft.get("trail") or [])[:-1]

    def field_context(self, step: str, draft: Draft, context: BotContext) -> FieldContext:
        values = dict(self.values(draft))
        if step == "ref":
            # A referral after the clock start isn't refused here: the clock start is asked
            # next (or again, when editing), so the student fixes both in one go.
            values.pop("clock_start_date", None)
        return FieldContext(
            today=context.services.clock.today(),
            values=values,
            allow_any_nhs=context.services.settings.allow_any_valid_nhs_number,
        )

    def worth_keeping(self, draft: Draft) -> bool:
        return bool(self.values(draft))

    def where(self, draft: Draft) -> str:
        step = self.current(draft)
        if step in FIELDS:
            n = FIELD_ORDER.index(step) + 1
            return f"Step {n} of {len(FIELD_ORDER)} · {FIELDS[step].title}"
        return "the summary"

    def state(self, draft: Draft, context: BotContext) -> Any:
        values = self.values(draft)
        return evaluate_row(
            values.get("pathway_type"),
            values.get("clock_start_date"),
            [],
            context.services.clock.today(),
            at_risk_days=at_risk_days(context.services.settings),
            priority=values.get("priority"),
        )

    # -- rendering ---------------------------------------------------------------------------
    async def render(
        self, step: str, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        if step == SUMMARY:
            return await self.render_summary(draft, update, context)
        if step == EDIT:
            return self.render_edit()
        field = FIELDS[step]
        ctx = self.field_context(step, draft, context)
        if self.editing(draft):
            header = f"✏️ <b>{field.title}</b>"
        else:
            n = FIELD_ORDER.index(step) + 1
            header = form_text.STEP_HEADER.format(n=n, m=len(FIELD_ORDER), title=field.title)
        lines = [header, field.prompt(ctx)]
        current = self.values(draft).get(field.column)
        extra: list[list[tuple[str, str]]] = []
        if current not in (None, ""):
            lines.append(form_text.CURRENTLY.format(value=field.show(current)))
            extra.append([(form_text.KEEP, "keep")])
        first = step == FIELD_ORDER[0] and not self.editing(draft)
        keyboard = self.keyboard(
            field.choices(ctx), extra=extra, back=not first, skip=field.optional
        )
        return "\n".join(lines), keyboard

    async def render_summary(
        self, draft: Draft, update: Update, context: BotContext
    ) -> tuple[str, Keyboard]:
        values = self.values(draft)
        lines = [text.SUMMARY_TITLE]
        for key in FIELD_ORDER:
            field = FIELDS[key]
            shown = field.show(values.get(field.column))
            if key == "name":
                shown = f"<b>{shown}</b>"
            lines.append(text.SUMMARY_LINE.format(label=text.SUMMARY_LABELS[key], value=shown))
        lines += ["", text.SUMMARY_CLOCK, clock_line(self.state(draft, context)), ""]
        lines.extend(await self.duplicates(values.get("nhs_number"), update, context))
        lines.append(text.SUMMARY_HINT)
        keyboard = self.keyboard(extra=[[(text.SAVE, "save"), (text.EDIT, "edit")]])
        return "\n".join(lines), keyboard

    async def duplicates(self, nhs: Any, update: Update, context: BotContext) -> list[str]:
        """A warning when the student's PTL already has this NHS number: two rows for one
        patient is the commonest PTL data-quality fault (it double-counts a wait)."""
        if not nhs:
            return []
        student = await current_student(update, context)
        if student is None:
            return []
        found = await context.services.patients.find(student.email, str(nhs), limit=3)
        same = [p for p in found if p.nhs_number == nhs]
        if not same:
            return []
        first = same[0]
        return [
            text.DUPLICATE_NHS.format(
                name=esc(clip(first.patient_name or "", 40)), patient_id=esc(first.patient_id)
            ),
            "",
        ]

    def render_edit(self) -> tuple[str, Keyboard]:
        pairs = [(text.SUMMARY_LABELS[k], f"f:{k}") for k in FIELD_ORDER]
        rows = [pairs[i : i + 3] for i in range(0, len(pairs), 3)]
        rows.append([(text.BACK_TO_SUMMARY, "back")])
        return text.EDIT_TITLE, self.keyboard(extra=rows, back=False)

    # -- input ----------------------------------------------------------------------------------
    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step not in FIELDS:
            return await self.show(step, draft, update, context, error=form_text.USE_BUTTONS)
        parsed = FIELDS[step].from_text(raw, self.field_context(step, draft, context))
        return await self.accept(step, parsed, draft, update, context)

    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step in FIELDS:
            field = FIELDS[step]
            if action == "skip" and field.optional:
                return await self.accept(step, Parsed(None), draft, update, context)
            current = self.values(draft).get(field.column)
            if action == "keep" and current not in (None, ""):
                ctx = self.field_context(step, draft, context)
                checked = field.recheck(current, ctx)
                return await self.accept(step, checked, draft, update, context)
            if action.startswith("c:"):
                ctx = self.field_context(step, draft, context)
                parsed = field.from_choice(action[2:], ctx)
                return await self.accept(step, parsed, draft, update, context)
        elif step == SUMMARY:
            if action == "save":
                return await self.save(draft, update, context)
            if action == "edit":
                return await self.go(EDIT, draft, update, context)
        elif step == EDIT and action.startswith("f:") and action[2:] in FIELDS:
            return await self.go(action[2:], draft, update, context)
        return await self.show(step, draft, update, context)

    async def accept(
        self, step: str, parsed: Parsed, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if not parsed.ok:
            return await self.show(step, draft, update, context, error=parsed.error or "")
        values = self.values(draft)
        values[FIELDS[step].column] = parsed.value
        if step == "ref":
            start = values.get("clock_start_date")
            moved = isinstance(start, dt.date) and isinstance(parsed.value, dt.date)
            if moved and start < parsed.value:
                values.pop("clock_start_date", None)
                note = text.START_MOVED.format(start=FIELDS["start"].show(start))
                return await self.go("start", draft, update, context, error=note)
        if self.editing(draft):
            return await self.back_to(SUMMARY, draft, update, context)
        index = FIELD_ORDER.index(step)
        following = FIELD_ORDER[index + 1] if index + 1 < len(FIELD_ORDER) else SUMMARY
        return await self.go(following, draft, update, context)

    # -- saving -----------------------------------------------------------------------------
    async def save(self, draft: Draft, update: Update, context: BotContext) -> object:
        student = await current_student(update, context)
        if student is None:
            return await self.finish(common.NOT_LINKED, draft, update, context)
        values = self.values(draft)
        missing = [k for k in REQUIRED if values.get(FIELDS[k].column) in (None, "")]
        if missing:
            trail = draft.setdefault("trail", [])
            trail[:] = list(FIELD_ORDER[: FIELD_ORDER.index(missing[0]) + 1])
            return await self.show(missing[0], draft, update, context, error=text.SAVE_INCOMPLETE)
        services = context.services
        today = services.clock.today()
        patient_in = PatientIn.model_validate(
            {
                **{FIELDS[k].column: values.get(FIELDS[k].column) for k in FIELD_ORDER},
                "events": [],
                **stored_clock_fields(
                    values["pathway_type"],
                    values["clock_start_date"],
                    [],
                    today,
                    values.get("priority"),
                ),
                **pathway_columns(
                    [],
                    values["pathway_type"],
                    values["clock_start_date"],
                    [],
                    today,
                    values.get("priority"),
                ),
            }
        )
        patient_id = draft.get("patient_id") or new_patient_id()  # drafts from before ids
        limit = services.settings.max_patients_per_student
        try:
            patient = await services.patients.add(
                student.email, patient_in, patient_id=patient_id, limit=limit
            )
        except PatientLimitError:
            return await self.show(
                SUMMARY, draft, update, context, error=text.PTL_FULL_AT_SAVE.format(limit=limit)
            )
        draft["patient_id"] = patient.patient_id
        saved = text.SAVED.format(
            name=esc(patient.patient_name or ""), patient_id=esc(patient.patient_id)
        )
        await self.finish(saved, draft, update, context)
        await send_card(update, context, student, patient)
        return END


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # One form object per Application: it holds that Application's ConversationHandler.
    AddForm().register(app)
