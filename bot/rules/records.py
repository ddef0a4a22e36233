"""Between stored rows and the rules engine: events JSON <-> `Event`, and stored clock fields.

Why a module of its own: rows come from two writers (this bot and the web platform), and the
platform's `events` entries carry an RTT `code` and free text but no engine `kind`. Turning a
row into engine input, and the engine's result into the stored `breach_date` / `clock_state`
columns, must happen the same way for every feature (add, update, reminders, backfill, export);
the clock itself is still computed only by `bot.rules.pathway.evaluate`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bot.rules.bookings import stored_booking_fields
from bot.rules.frozen import fast_builder
from bot.rules.pathway import (
    EVENT_KINDS,
    ClockState,
    Event,
    canonical_pathway_type,
    evaluate,
    ordering_key,
    rtt_code_for,
)

# A platform event with only an RTT code: the engine kind that code most plausibly records.
# Code 34 could be a discharge or a decision not to treat; both stop an RTT clock, but they
# differ on cancer pathways, so a platform row's description decides when it says "discharg".
# Codes 10 and 11 are the *first activity* of an RTT period: a PAS records one at the start of
# every period, so they start a clock only when none is running (the engine's
# `first_activity`). Code 12 starts a separate pathway for another condition and must never
# restart this row's clock. Codes 90-99 say the activity is off any clock; they are kept so
# the history shows them (and 99, "not yet known", is a validator finding).
_KIND_FOR_CODE: Mapping[str, str] = {
    "10": "first_activity",
    "11": "first_activity",
    "12": "separate_pathway",
    "20": "activity",
    "21": "transfer_out",
    "30": "treatment_started",
    "31": "active_monitoring_patient",
    "32": "active_monitoring_clinician",
    "33": "dna_first_appointment",
    "34": "decision_not_to_treat",
    "35": "declined_treatment",
    "36": "died",
    "90": "after_treatment",
    "91": "during_active_monitoring",
    "92": "not_yet_referred",
    "98": "not_applicable",
    "99": "status_unknown",
}


PLATFORM_CLOCK_STATUS: Mapping[bool, str] = {True: "Running", False: "Stopped"}
"""`clock_status` as the web platform words it, by whether the clock is running."""


def kind_of(entry: Mapping[str, Any]) -> str | None:
    """The engine kind of a stored event entry (bot-written or platform-written)."""
    kind = entry.get("kind")
    if isinstance(kind, str) and kind in EVENT_KINDS:
        return kind
    code = str(entry.get("code") or "").strip()
    if code == "34" and "discharg" in str(entry.get("description") or "").lower():
        return "discharged"
    return _KIND_FOR_CODE.get(code)


def events_from_json(entries: Sequence[Mapping[str, Any]] | None) -> list[Event]:
    """Engine events from a row's `events` JSON, in recorded order; unreadable entries skipped."""
    events: list[Event] = []
    for order, entry in enumerate(entries or ()):
        if entry.__class__ is not dict and not isinstance(entry, Mapping):
            continue  # platform rows can hold anything in the array (dict: the usual, fast)
        kind = entry.get("kind")
        if kind.__class__ is not str or kind not in EVENT_KINDS:
            kind = kind_of(entry)  # (platform-written: from its code)
            if kind is None:
                continue
        raw_date = entry.get("date")
        if not raw_date:
            continue
        try:
            on = (
                raw_date
                if isinstance(raw_date, dt.date)
                else dt.date.fromisoformat(str(raw_date)[:10])
            )
        except ValueError:
            continue
        events.append(_new_event(on, kind, order, str(entry.get("description") or "")))
    return events


_new_event: Final = fast_builder(Event)  # one per stored event on every daily run


def event_entry(
    kind: str,
    on: dt.date,
    *,
    added_by: str,
    description: str | None = None,
    previous: Sequence[Mapping[str, Any]] = (),
    pathway_type: str = "rtt",
    clock_start: dt.date | None = None,
    today: dt.date | None = None,
    priority: str | None = None,
) -> dict[str, Any]:
    """A new `events` entry in the platform's shape (date, code, description, added_by) plus
    the engine `kind`. The code of a clock start depends on what stopped the clock before it
    (a `new_clock` is 10 after a nullified DNA, 11 after active monitoring; on RTT a decision to
    treat after active monitoring starts the new clock, code 11), which the engine works out
    from the clock as it stood on the event's date (with the row's priority, a clock input)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    ended_by = None
    if kind in ("new_clock", "decision_to_treat") and clock_start is not None:
        earlier = [e for e in events_from_json(previous) if e.date <= on]
        try:
            state = evaluate(
                pathway_type, clock_start, earlier, max(on, clock_start), priority=priority
            )
            ended_by = None if state.running else state.ended_by
        except ValueError:
            ended_by = None
    return {
        "date": on.isoformat(),
        "code": str(rtt_code_for(kind, ended_by, pathway_type)),
        "description": description or EVENT_KINDS[kind].label,
        "added_by": added_by,
        "kind": kind,
    }


def evaluate_row(
    pathway_type: str | None,
    clock_start: dt.date | None,
    events: Sequence[Mapping[str, Any]] | None,
    today: dt.date,
    *,
    at_risk_days: Mapping[str, int] | None = None,
    priority: str | None = None,
) -> ClockState | None:
    """The engine's view of a stored row, or None when the row has no usable clock
    (no clock start, an unknown pathway type, or a clock start after today). ``priority`` is
    the row's priority (an Urgent suspected cancer RTT row keeps its clock after a DNA)."""
    if clock_start is None:
        return None
    try:
        return evaluate(
            pathway_type or "rtt", clock_start, events_from_json(events), today,
            at_risk_days=at_risk_days, priority=priority,
        )  # fmt: skip
    except ValueError:
        return None


def clock_state_of(state: ClockState | None) -> str:
    """The stored `clock_state`: running | stopped | ended | nullified | transferred | unknown."""
    if state is None:
        return "unknown"
    if state.running:
        return "running"
    return state.status  # stopped | ended | nullified | transferred


def stored_clock_fields(
    pathway_type: str | None,
    clock_start: dt.date | None,
    events: Sequence[Mapping[str, Any]] | None,
    today: dt.date,
    priority: str | None = None,
) -> dict[str, Any]:
    """Column values a student's save in the bot writes (README: the platform's table).

    The engine's results go in bot-owned columns (`breach_date`, `clock_state`, ...; the
    backfill writes only these). `breach_date` is empty while a cancer treatment adjustment
    is open (nobody knows it yet). `rtt_code` and `clock_status` are the platform's own
    columns, filled on a student's edit in the platform's words: the national RTT code of
    the latest clock event ("10", "30", ...) and "Running" or "Stopped"."""
    state = evaluate_row(pathway_type, clock_start, events, today, priority=priority)
    return {
        "breach_date": state.breach_date if state else None,
        "clock_state": clock_state_of(state),
        "rtt_code": str(state.rtt_code) if state else None,
        # Stable wording only: "Breached" / "At risk" change with the date, so they are
        # computed when shown, never stored.
        "clock_status": PLATFORM_CLOCK_STATUS[state.running] if state else None,
        # For the student's own record (sql/090): when the latest clock stopped, and
        # whether that was after its target ("treated within the standard" is a count).
        "clock_stopped_on": state.clock_stop if state else None,
        "clock_breached": state.breached if state and not state.running else None,
        "clock_computed_at": dt.datetime.now(dt.UTC),
        # The day the result holds for: events dated later were not counted yet.
        "clock_as_of": today,
        **stored_order_fields(pathway_type, state),
    }


NO_CLOCK_RANK = 9
"""`clock_rank` of a row with no usable clock: after every clock, as on the PTL."""


def stored_order_fields(pathway_type: str | None, state: ClockState | None) -> dict[str, Any]:
    """Where the row sorts on a PTL, for paging it in SQL (sql/051, sql/053): the engine's
    `ordering_key` taken apart into what holds on any day. `clock_rank` is its group;
    `clock_order_on` its date; `clock_order_days` its days to breach only when that is fixed
    (a clock frozen by an open treatment adjustment); otherwise it is `breach_date - today`,
    which the database works out for the day asked. `clock_pathway` is the canonical pathway
    type the PTL's type filter matches (the clock's, else the row's; null if unknown)."""
    if state is None:
        try:
            pathway: str | None = canonical_pathway_type(pathway_type or "rtt")
        except ValueError:
            pathway = None
        return {"clock_rank": NO_CLOCK_RANK, "clock_order_on": None, "clock_order_days": None,
                "clock_pathway": pathway}  # fmt: skip
    group, days, when = ordering_key(state)
    frozen = state.running and state.adjustment_open_since is not None
    return {
        "clock_rank": group,
        "clock_order_on": dt.date.fromordinal(when),
        "clock_order_days": days if frozen else None,
        "clock_pathway": state.pathway_type,
    }


def stored_booking_columns(
    appointments: Any,
    pathway_type: str | None,
    clock_start: dt.date | None,
    events: Sequence[Mapping[str, Any]] | None,
    priority: str | None = None,
) -> dict[str, Any]:
    """The stored booking summaries (see sql/080), written with every bot write that changes
    a row's bookings or what they mean for the clock (events, clock start, pathway type,
    priority). What each booking means is the engine's answer (`bot.rules.bookings.meaning`),
    given the row's priority like every other clock (an Urgent suspected cancer RTT row keeps
    its clock after a first-appointment DNA, so its bookings still count)."""
    return {
        **stored_booking_fields(
            appointments, pathway_type, clock_start, events_from_json(events), priority=priority
        ),
        "booking_computed_at": dt.datetime.now(dt.UTC),
    }
