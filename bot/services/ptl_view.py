"""The student's PTL as rows ready to show: each patient with its clock, in breach-risk order.

Why a module of its own: the PTL list, the patient card, /find, /stats, /export and /validate
all need "this patient's clock as at today, with the configured at-risk thresholds", and all
must sort and filter the same way. The clock itself still comes only from the rules engine
(`bot.rules.records.evaluate_row` -> `bot.rules.pathway.evaluate`); this module never
compares dates. No Telegram, no SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from bot.config import Settings
from bot.messages import clock as clock_words
from bot.rules.bookings import NO_BOOKINGS, BookingSummary, summarise
from bot.rules.pathway import PATHWAY_TYPES, ClockState, canonical_pathway_type, ordering_key
from bot.rules.records import evaluate_row, events_from_json
from storage.models import Patient

__all__ = [
    "BOOKING_FILTERS",
    "NO_CLOCK_MARK",
    "STATUS_FILTERS",
    "STATUS_MARKS",
    "TYPE_FILTERS",
    "PtlEntry",
    "at_risk_days",
    "booking_counts",
    "booking_filter",
    "booking_summary",
    "build_entries",
    "entry_for",
    "evaluate_patient",
    "filter_entries",
    "pathway_key",
]

STATUS_MARKS: Final[Mapping[str, str]] = clock_words.MARKS
NO_CLOCK_MARK: Final = clock_words.NO_CLOCK_MARK
"""A row with no usable clock (no clock start, unknown pathway type, start after today)."""

# Short filter codes (they travel in callback data, which is limited to 64 bytes) -> the
# engine statuses they select. "open" is every running clock; "closed" everything else.
STATUS_FILTERS: Final[Mapping[str, frozenset[str]]] = {
    "all": frozenset(),
    "br": frozenset({"breached"}),
    "ar": frozenset({"at_risk"}),
    "ot": frozenset({"on_track"}),
    "open": frozenset({"breached", "at_risk", "on_track"}),
    "closed": frozenset({"stopped", "ended", "nullified", "transferred", "none"}),
}
# Booking filter codes -> the question a PTL meeting asks of a row (see BookingSummary).
BOOKING_FILTERS: Final[tuple[str, ...]] = ("all", "und", "late", "out")
"""all · undated (running, nothing booked ahead) · booked after the breach date · outcome needed"""

TYPE_FILTERS: Final[Mapping[str, str | None]] = {
    "all": None,
    "rtt": "rtt",
    "fds": "cancer_fds",
    "c62": "cancer_62",
    "c31": "cancer_31",
    "dx": "diagnostic",
}


def at_risk_days(settings: Settings) -> dict[str, int]:
    """The operator's "at risk" thresholds (a local convention) per canonical pathway type."""
    return {
        key: settings.at_risk_days_rtt if key == "rtt" else settings.at_risk_days_cancer
        for key in PATHWAY_TYPES
    }


def evaluate_patient(
    patient: Patient, today: date, thresholds: Mapping[str, int] | None = None
) -> ClockState | None:
    """The engine's clock for a stored patient as at ``today`` (None: no usable clock)."""
    return evaluate_row(
        patient.pathway_type,
        patient.clock_start_date,
        patient.events,
        today,
        at_risk_days=thresholds,
        priority=patient.priority,
    )


def pathway_key(patient: Patient, state: ClockState | None) -> str | None:
    """The canonical pathway type, from the clock when there is one, else from the row."""
    if state is not None:
        return state.pathway_type
    try:
        return canonical_pathway_type(patient.pathway_type or "rtt")
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class PtlEntry:
    """One PTL row: the stored patient and its clock as at today."""

    patient: Patient
    state: ClockState | None
    bookings: BookingSummary = NO_BOOKINGS
    """Next booking, what it means for the clock, and bookings awaiting an outcome."""

    @property
    def status(self) -> str:
        """The engine status, or "none" when the row has no usable clock."""
        return self.state.status if self.state is not None else "none"

    @property
    def mark(self) -> str:
        return STATUS_MARKS[self.state.status] if self.state is not None else NO_CLOCK_MARK

    @property
    def pathway(self) -> str | None:
        return pathway_key(self.patient, self.state)


def _sort_key(entry: PtlEntry) -> tuple[tuple[int, int, int], str, str]:
    # Rows without a clock go last: there is nothing to breach, but they need fixing.
    risk = ordering_key(entry.state) if entry.state is not None else (9, 0, 0)
    return (risk, (entry.patient.patient_name or "").casefold(), entry.patient.patient_id)


def build_entries(
    patients: Iterable[Patient], today: date, thresholds: Mapping[str, int] | None = None
) -> list[PtlEntry]:
    """Every patient with its clock, ordered by breach risk (the engine's ordering key):
    breached first (most overdue first), then fewest days to breach, then closed clocks;
    ties by name so the order is stable from one page to the next."""
    entries = [entry_for(p, today, thresholds) for p in patients]
    entries.sort(key=_sort_key)
    return entries


def booking_summary(
    patient: Patient, state: ClockState | None, today: date,
    thresholds: Mapping[str, int] | None = None,
) -> BookingSummary:  # fmt: skip
    """The patient's bookings as at today; what the next one means comes from the engine."""
    if not patient.appointments:
        return summarise((), state, today, None, None, ())
    return summarise(
        patient.appointments,
        state,
        today,
        patient.pathway_type,
        patient.clock_start_date,
        events_from_json(patient.events),
        at_risk_days=thresholds,
        priority=patient.priority,
    )


def entry_for(patient: Patient, today: date, thresholds: Mapping[str, int] | None) -> PtlEntry:
    """One patient's PTL entry: its clock and bookings as at `today`."""
    state = evaluate_patient(patient, today, thresholds)
    return PtlEntry(patient, state, booking_summary(patient, state, today, thresholds))


def booking_filter(entry: PtlEntry, code: str) -> bool:
    """Does the entry answer the booking filter `code` (unknown codes mean "all")?"""
    if code == "und":
        return entry.bookings.undated
    if code == "late":
        return entry.bookings.after_breach
    if code == "out":
        return entry.bookings.outcome_needed
    return True


def booking_counts(entries: Iterable[PtlEntry]) -> dict[str, int]:
    """How many entries each booking filter would show (the PTL header's counts)."""
    counts = {code: 0 for code in BOOKING_FILTERS if code != "all"}
    for e in entries:
        for code in counts:
            if booking_filter(e, code):
                counts[code] += 1
    return counts


def filter_entries(
    entries: Iterable[PtlEntry], status: str, ptype: str, booking: str = "all"
) -> list[PtlEntry]:
    """Entries matching a status filter code, a pathway-type filter code and a booking filter
    code (unknown codes mean "all", so an old button never fails)."""
    statuses = STATUS_FILTERS.get(status, frozenset())
    wanted_type = TYPE_FILTERS.get(ptype)
    return [
        e
        for e in entries
        if (not statuses or e.status in statuses)
        and (wanted_type is None or e.pathway == wanted_type)
        and booking_filter(e, booking)
    ]
