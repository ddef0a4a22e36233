"""A form about one patient, checked at every step against the version the student opened.

/update and /book both work on one patient that the web platform may change or delete while
the student is typing. This base gives them the same answer to that: every step reads the
patient again and stops the form if it changed (showing the card as it is now) or is gone;
every write is the optimistic one at the version opened, so nothing another writer saved is
ever overwritten. A subclass says what it calls those outcomes (`GONE`, `STALE`) and what its
own other reasons to stop say (`STOPS`).

Both also begin the same way, so that is here too: `/update smith` or `/book smith`, or the
name typed at the first step, searches the student's PTL; one match opens the patient at the
form's first step (`OPENS`), several are offered as buttons (`PICK`). A subclass handles its
own steps in `text_at` and `button_at`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, ClassVar

from telegram import Update

from bot.messages import common
from bot.messages import patient_search as search_text
from bot.messages.html import esc
from bot.rules.fields import clip, strip_control_chars
from bot.rules.pathway import ClockState
from bot.rules.records import evaluate_row, event_entry
from bot.services.container import BotContext
from bot.services.ptl_view import at_risk_days
from handlers.card import send_card
from handlers.forms import END, Draft, Form, Keyboard
from handlers.guards import Student, current_student
from storage.models import Patient
from storage.patients import PatientNotFoundError, StaleWriteError, UnwritableJsonError

__all__ = ["FIND", "MAX_PICK", "PICK", "OnePatientForm", "PatientStop"]

FIND = "find"
"""The first step: type a name, patient ID or NHS number."""
PICK = "pick"
"""Several patients matched: one button each."""
MAX_PICK = 8
SEARCH_LIMIT = 100


class PatientStop(Exception):
    """The form can't go on: the patient changed elsewhere, vanished, or the link did.

    `why`: "unlinked", "gone", "stale" (with `current`, the patient as stored now),
    "unwritable" (a JSON column the bot may not rewrite), or a subclass's own reason."""

    def __init__(self, why: str, current: Patient | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.current = current


class OnePatientForm(Form):
    """A `Form` whose draft holds `patient_id`, `version` and `name` of one patient."""

    GONE: ClassVar[str]
    """Said when the patient is no longer on the student's PTL."""
    STALE: ClassVar[str]
    """Said when the patient changed elsewhere since the form opened (the card follows)."""
    STOPS: ClassVar[Mapping[str, str]] = {}
    """What the form says for its other reasons to stop ("unwritable", ...)."""
    OPENS: ClassVar[str]
    """The step a chosen patient opens at."""

    # -- the steps that are the subclass's own --------------------------------------------------
    async def text_at(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        """Typed text at one of the form's own steps (not FIND or PICK)."""
        raise NotImplementedError

    async def button_at(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        """A tapped button at one of the form's own steps (a patient's is handled here)."""
        raise NotImplementedError

    async def on_text(
        self, step: str, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step in (FIND, PICK):
            return await self.safely(
                draft, update, context, self._search_typed(raw, draft, update, context)
            )
        return await self.safely(
            draft, update, context, self.text_at(step, raw, draft, update, context)
        )

    async def on_button(
        self, step: str, action: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        if step in (FIND, PICK) and action.startswith("p:"):
            return await self.safely(
                draft, update, context, self._picked(action[2:], draft, update, context)
            )
        return await self.safely(
            draft, update, context, self.button_at(step, action, draft, update, context)
        )

    # -- choosing the patient ---------------------------------------------------------------------
    def _new(self, update: Update, context: BotContext, first: str) -> Draft:
        assert update.effective_chat is not None
        old = self.draft(context) or {}
        return self.new_draft(context, update.effective_chat.id, first, prompt=old.get("prompt"))

    async def fresh(self, update: Update, context: BotContext, **kwargs: Any) -> object:
        draft = self._new(update, context, FIND)
        return await self.show(FIND, draft, update, context)

    async def _command(self, update: Update, context: BotContext, student: Student) -> object:
        """`/update NAME` or `/book NAME`; alone, it offers to carry on an unfinished form."""
        query = strip_control_chars(" ".join(context.args or [])).strip()
        if not query:
            resumable = self.resumable(context)
            if resumable is not None and resumable.get("patient_id"):
                return await self.offer_resume(resumable, update, context)
        draft = self._new(update, context, FIND)
        return await self.safely(
            draft, update, context, self.search(query, draft, update, context, student)
        )

    async def _search_typed(
        self, raw: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        student = await current_student(update, context)
        if student is None:
            raise PatientStop("unlinked")
        return await self.search(raw, draft, update, context, student)

    async def _picked(
        self, patient_id: str, draft: Draft, update: Update, context: BotContext
    ) -> object:
        student = await current_student(update, context)
        if student is None:
            raise PatientStop("unlinked")
        return await self.open_patient(patient_id, draft, update, context, student)

    def search_refusal(self, query: str) -> str | None:
        """Why this form will not search for `query` (HTML), or None to search."""
        return None

    async def search(
        self, query: str, draft: Draft, update: Update, context: BotContext, student: Student
    ) -> object:
        """The student's patients matching `query`: one opens, several are offered."""
        if not query.strip():
            return await self.show(FIND, draft, update, context)
        refusal = self.search_refusal(query)
        if refusal is not None:
            return await self.show(FIND, draft, update, context, error=refusal)
        cleaned = " ".join(strip_control_chars(query).split())
        if len(cleaned) > SEARCH_LIMIT:
            return await self.show(FIND, draft, update, context, error=search_text.TOO_LONG)
        if len(cleaned.replace(" ", "")) < 2:
            return await self.show(FIND, draft, update, context, error=search_text.TOO_SHORT)
        found = await context.services.patients.find(student.email, cleaned, limit=MAX_PICK + 1)
        if not found:
            error = search_text.NO_MATCH.format(query=esc(clip(cleaned, 40)))
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
        self,
        patient_id: str,
        draft: Draft,
        update: Update,
        context: BotContext,
        student: Student,
        first: str | None = None,
    ) -> object:
        """Open the patient at `first` (default `OPENS`), remembering the version opened."""
        try:
            patient = await context.services.patients.get(student.email, patient_id.strip())
        except PatientNotFoundError:
            error = search_text.NOT_FOUND.format(patient_id=esc(clip(patient_id, 40)))
            return await self.back_to_find(draft, update, context, error)
        draft.update(
            patient_id=patient.patient_id,
            version=patient.version,
            name=clip(patient.patient_name or "(no name)", 40),
        )
        return await self.go(first or self.OPENS, draft, update, context)

    def render_pick(self, draft: Draft) -> tuple[str, Keyboard]:
        """The PICK step: the matches as buttons, and a hint when there were more."""
        results = draft.get("results") or []
        lines = [search_text.PICK.format(n=len(results), query=esc(draft.get("query") or ""))]
        if draft.get("more"):
            lines.append(search_text.PICK_MORE.format(n=MAX_PICK))
        rows = [[(label, f"p:{pid}")] for pid, label in results]
        return "\n".join(lines), self.keyboard(extra=rows)

    async def load(self, draft: Draft, update: Update, context: BotContext) -> tuple[Patient, str]:
        """The patient as stored now and the student's email, or `PatientStop`."""
        student = await current_student(update, context)
        if student is None:
            raise PatientStop("unlinked")
        try:
            patient = await context.services.patients.get(student.email, str(draft["patient_id"]))
        except PatientNotFoundError:
            raise PatientStop("gone") from None
        if patient.version != draft.get("version"):
            raise PatientStop("stale", patient)
        return patient, student.email

    async def safely(
        self, draft: Draft, update: Update, context: BotContext, step: Awaitable[object]
    ) -> object:
        """Run a step; if the patient changed elsewhere or vanished, end with the news."""
        try:
            return await step
        except PatientStop as stop:
            return await self.stop(stop, draft, update, context)

    async def show(
        self, step: str, draft: Draft, update: Update, context: BotContext, *, error: str = ""
    ) -> Any:
        # Rendering reads the patient (and checks its version), so any show can find it gone.
        try:
            return await super().show(step, draft, update, context, error=error)
        except PatientStop as stop:
            return await self.stop(stop, draft, update, context)

    async def stop(
        self, stop: PatientStop, draft: Draft, update: Update, context: BotContext
    ) -> int:
        if stop.why == "unlinked":
            return await self.finish(common.NOT_LINKED, draft, update, context)
        if stop.why in self.STOPS:
            return await self.finish(self.STOPS[stop.why], draft, update, context)
        if stop.why != "stale" or stop.current is None:
            return await self.finish(self.GONE, draft, update, context)
        await self.finish(self.STALE, draft, update, context)
        student = await current_student(update, context)
        if student is not None:
            await send_card(update, context, student, stop.current)
        return END

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
            raise PatientStop("stale", exc.current) from None
        except PatientNotFoundError:
            raise PatientStop("gone") from None
        except UnwritableJsonError:
            raise PatientStop("unwritable") from None

    def worth_keeping(self, draft: Draft) -> bool:
        return bool(draft.get("patient_id"))

    # -- the patient's clock ------------------------------------------------------------------
    @staticmethod
    def clock(
        patient: Patient, context: BotContext, events: Any = None, on: dt.date | None = None
    ) -> ClockState | None:
        """The engine's clock for the patient as at today (or `on`), with the row's priority
        (a clock input) and the operator's at-risk thresholds, from `events` if given."""
        return evaluate_row(
            patient.pathway_type,
            patient.clock_start_date,
            patient.events if events is None else events,
            on or context.services.clock.today(),
            at_risk_days=at_risk_days(context.services.settings),
            priority=patient.priority,
        )

    @staticmethod
    def new_entry(
        patient: Patient,
        context: BotContext,
        kind: str,
        on: dt.date,
        *,
        added_by: str,
        description: str | None = None,
        previous: Sequence[Mapping[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A new `events` entry for this patient (its code worked out from the patient's
        clock before it: `previous`, default the stored events)."""
        today = context.services.clock.today()
        return event_entry(
            kind,
            on,
            added_by=added_by,
            description=description,
            previous=patient.events if previous is None else previous,
            pathway_type=patient.pathway_type or "rtt",
            clock_start=patient.clock_start_date,
            today=today,
            priority=patient.priority,
        )
