"""A form about one patient, checked at every step against the version the student opened.

/update and /book both work on one patient that the web platform may change or delete while
the student is typing. This base gives them the same answer to that: every step reads the
patient again and stops the form if it changed (showing the card as it is now) or is gone;
every write is the optimistic one at the version opened, so nothing another writer saved is
ever overwritten. A subclass says what it calls those outcomes (`GONE`, `STALE`) and what its
own other reasons to stop say (`STOPS`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, ClassVar

from telegram import Update

from bot.messages import common
from bot.rules.pathway import ClockState
from bot.rules.records import evaluate_row, event_entry
from bot.services.container import BotContext
from bot.services.ptl_view import at_risk_days
from handlers.card import send_card
from handlers.forms import END, Draft, Form
from handlers.guards import current_student
from storage.models import Patient
from storage.patients import PatientNotFoundError, StaleWriteError, UnwritableJsonError

__all__ = ["OnePatientForm", "PatientStop"]


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
