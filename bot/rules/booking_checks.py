"""PTL-wide booking checks: booking in turn, bookings after the breach date, missing outcomes.

Why across the PTL and not per pathway: whether a patient is booked *in turn* depends on the
other patients waiting for the same thing. NHS England's RTT guidance asks trusts to book
patients by clinical priority first and then in chronological order (longest wait first),
with documented exceptions such as patient choice; a waiting-list coordinator checks it at
every PTL meeting. The two other checks are the ones that meeting also asks of every dated
patient: is the date after the breach date (and if so, has it been escalated?), and has every
past appointment an outcome?

Like the pathway validator, these checks compute no clock: they read the rules engine's
ClockState for today and :func:`bot.rules.bookings.meaning` (the engine's clock on the booking
date). Findings use the validator's :class:`Finding`, so /validate shows them the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from bot.rules.bookings import Booking, BookingSummary, working_days_after
from bot.rules.dates import format_date
from bot.rules.pathway import PATHWAY_TYPES, ClockState, Event
from bot.rules.specialties import lookup
from bot.rules.validator import RTT_GUIDANCE, Finding

__all__ = [
    "ESCALATION_WORDS",
    "IN_TURN_REASONS",
    "OUTCOME_GRACE_WORKING_DAYS",
    "PtlPatient",
    "check_ptl",
]

OUTCOME_GRACE_WORKING_DAYS: Final = 2
"""An outcome not recorded more than this many working days after the appointment is a finding."""

IN_TURN_REASONS: Final[tuple[str, ...]] = (
    "patient choice",
    "patient's choice",
    "patients choice",
    "patient chose",
    "patient request",
    "patient preference",
    "patient prefers",
    "clinical reason",
    "clinically",
    "clinical decision",
    "out of turn",
)
"""Words in a patient's or booking's notes that document why a booking is out of turn."""

ESCALATION_WORDS: Final[tuple[str, ...]] = ("escalat",)
"""Words in the notes that show a late booking was escalated ("escalated to the GM")."""


@dataclass(frozen=True, slots=True)
class PtlPatient:
    """What the PTL-wide checks need about one patient."""

    patient_id: str
    name: str
    specialty: str | None
    priority: str | None
    state: ClockState | None
    bookings: BookingSummary
    events: Sequence[Event]
    notes: str | None = None


def _mentions(words: Iterable[str], *texts: str | None) -> bool:
    joined = " ".join(t for t in texts if t).casefold().replace("’", "'")
    return any(w in joined for w in words)


def _group(p: PtlPatient) -> tuple[str, str, str] | None:
    """Patients compared for "in turn": same specialty, same priority, same stage."""
    state = p.state
    if state is None or not state.running:
        return None
    specialty = p.specialty or ""
    found = lookup(specialty) if specialty else None
    spec_key = found.code if found is not None else " ".join(specialty.casefold().split())
    priority = " ".join((p.priority or "not recorded").casefold().split())
    return (state.pathway_type, spec_key, f"{priority}|{_stage(p)}")


def _stage(p: PtlPatient) -> str:
    """Waiting for treatment (a decision to treat on the running clock) or still outpatient."""
    state = p.state
    assert state is not None
    for i in state.applied:
        ev = p.events[i]
        if ev.kind == "decision_to_treat" and ev.date >= state.clock_start:
            return "treatment"
    return "outpatient"


def _d(day: dt.date) -> str:
    return format_date(day)


def _who(p: PtlPatient) -> str:
    return p.name or p.patient_id


def _in_turn(patients: Sequence[PtlPatient]) -> dict[str, list[Finding]]:
    groups: dict[tuple[str, str, str], list[PtlPatient]] = {}
    for p in patients:
        key = _group(p)
        if key is not None:
            groups.setdefault(key, []).append(p)
    out: dict[str, list[Finding]] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        for a in members:
            assert a.state is not None
            a_next = a.bookings.next
            if _mentions(IN_TURN_REASONS, a.notes, a_next.notes if a_next else None):
                continue
            jumped: list[tuple[dt.date, PtlPatient, Booking]] = []
            for b in members:
                assert b.state is not None
                b_next = b.bookings.next
                if b is a or b_next is None or b_next.date is None:
                    continue
                if b.state.days_waited >= a.state.days_waited:
                    continue
                if a_next is not None and a_next.date is not None and a_next.date <= b_next.date:
                    continue
                if _mentions(IN_TURN_REASONS, b.notes, b_next.notes):
                    continue
                jumped.append((b_next.date, b, b_next))
            if not jumped:
                continue
            jumped.sort(key=lambda j: (j[0], j[1].state.days_waited if j[1].state else 0))
            _, b, b_next = jumped[0]
            assert b.state is not None and b_next.date is not None
            others = len(jumped) - 1
            where = ", ".join(
                part
                for part in (
                    a.specialty or "no specialty recorded",
                    a.priority or "priority not recorded",
                )
            )
            if a_next is None:
                what = f"has waited {a.state.days_waited} days and has no date"
            else:
                assert a_next.date is not None
                what = f"has waited {a.state.days_waited} days and is booked for {_d(a_next.date)}"
            more = (
                f" ({others} other shorter waiter{'s are' if others > 1 else ' is'} "
                "also dated earlier.)"
                if others
                else ""
            )
            message = (
                f"Not booked in turn: {_who(a)} {what}, while {_who(b)} ({where}) has waited "
                f"{b.state.days_waited} days and is booked for {b_next.label.lower()} on "
                f"{_d(b_next.date)}.{more} Patients are booked by clinical priority first, "
                "then in the order they have waited, longest first. Book "
                f"{_who(a)} first, or write the documented reason in the notes (for example "
                "“patient choice: away until March”)."
            )
            out.setdefault(a.patient_id, []).append(
                Finding("warning", "booked_out_of_turn", message, RTT_GUIDANCE)
            )
    return out


def _after_breach(p: PtlPatient) -> Finding | None:
    summary = p.bookings
    found = summary.next_meaning
    if not summary.after_breach or found is None or summary.next is None:
        return None
    booking = summary.next
    if _mentions(ESCALATION_WORDS, p.notes, booking.notes):
        return None
    then = found.then
    assert booking.date is not None
    breach = then.breach_date
    standard = PATHWAY_TYPES[then.pathway_type].label
    last_day = f" on or before {_d(breach - dt.timedelta(days=1))}" if breach else " earlier"
    return Finding(
        "warning",
        "booked_after_breach",
        f"The {booking.label.lower()} on {_d(booking.date)} is after the breach date"
        + (f" ({_d(breach)})" if breach else "")
        + f" of the {standard} standard, so the patient will breach. Bring it forward"
        f"{last_day}, or escalate (service manager, or the cancer PTL meeting) and say so in "
        "the booking's notes (“escalated to …”).",
        RTT_GUIDANCE,
    )


def _missing_outcomes(p: PtlPatient, today: dt.date) -> list[Finding]:
    out: list[Finding] = []
    for booking in p.bookings.awaiting:
        assert booking.date is not None
        late = working_days_after(booking.date, today, stop_after=OUTCOME_GRACE_WORKING_DAYS)
        if late <= OUTCOME_GRACE_WORKING_DAYS:
            continue
        out.append(
            Finding(
                "warning",
                "outcome_missing",
                f"The {booking.label.lower()} on {_d(booking.date)} has no outcome recorded, "
                f"more than {OUTCOME_GRACE_WORKING_DAYS} working days later. Record whether the "
                "patient attended, did not attend or cancelled: until then the PTL can't show "
                "a treatment, a DNA or the rebooking the patient needs.",
                RTT_GUIDANCE,
            )
        )
    return out


def check_ptl(patients: Sequence[PtlPatient], today: dt.date) -> Mapping[str, list[Finding]]:
    """Booking findings for every patient of one student's PTL, by patient id."""
    found: dict[str, list[Finding]] = {k: list(v) for k, v in _in_turn(patients).items()}
    for p in patients:
        extra: list[Finding] = []
        late = _after_breach(p)
        if late is not None:
            extra.append(late)
        extra.extend(_missing_outcomes(p, today))
        if extra:
            found.setdefault(p.patient_id, []).extend(extra)
    return found
