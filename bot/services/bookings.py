"""What every bot write that touches a pathway also stores about its bookings.

Why a helper of its own: /book, an outcome, /update (an event, a new clock start or pathway
type) and /add all change what a patient's bookings mean for the clock, and where the patient
is on the pathway in the web platform's words (`current_status`). Each write stores both in the
same optimistic update, computed one way (the rules engine via `bot.rules.records` and
`bot.rules.bookings`), so the PTL, SQL counts and the platform never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.rules.booking_checks import PtlPatient, check_ptl
from bot.rules.bookings import decode_bookings, platform_status
from bot.rules.records import evaluate_row, events_from_json, stored_booking_columns
from bot.rules.validator import Finding
from bot.services.ptl_view import PtlEntry

__all__ = ["booking_findings", "pathway_columns"]


def pathway_columns(
    appointments: Any,
    pathway_type: str | None,
    clock_start: dt.date | None,
    events: Sequence[Mapping[str, Any]] | None,
    today: dt.date,
    priority: str | None = None,
) -> dict[str, Any]:
    """The stored booking summaries and, where the platform has a word for the patient's
    place on the pathway, `current_status` (otherwise the stored one is left alone).
    ``priority`` is the row's priority: a clock input like the others."""
    columns = stored_booking_columns(appointments, pathway_type, clock_start, events, priority)
    state = evaluate_row(pathway_type, clock_start, events, today, priority=priority)
    status = platform_status(state, events_from_json(events), decode_bookings(appointments))
    if status is not None:
        columns["current_status"] = status
    return columns


def booking_findings(entries: Iterable[PtlEntry], today: dt.date) -> Mapping[str, list[Finding]]:
    """The PTL-wide booking checks (in turn, after breach, outcomes missing) for a student's
    whole PTL, by patient id: `entries` must be every live patient, because whether a booking
    is in turn depends on the others waiting for the same thing."""
    patients = [
        PtlPatient(
            e.patient.patient_id,
            e.patient.patient_name or e.patient.patient_id,
            e.patient.specialty,
            e.patient.priority,
            e.state,
            e.bookings,
            events_from_json(e.patient.events),
            e.patient.notes,
        )
        for e in entries
    ]
    return check_ptl(patients, today)
