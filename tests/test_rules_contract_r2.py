"""The rules contract, revision 2, section by section (`shared/domain/PTL_RULES.md`).

Why this module exists: issue 12 is done only when every worked example and every stated
case of the revised contract is a test. Most of them already were, in the modules listed
below; this module holds the ones that were not covered exactly, each test naming the section
it comes from, and runs the worked examples through the stored-row path as well (the bot
stores events with codes and reads them back through `bot.rules.records`, so an example that
holds only for hand-built `Event`s would not hold on a student's PTL).

Where the rest live (section: test):

* Pathway types, table: `test_pathway.py::test_pathway_types_match_contract`,
  `::test_running_clock_boundaries`, `::test_stopped_clock_boundaries`; legacy values:
  `::test_legacy_pathway_types_map_on_read`, `::test_legacy_mapping_is_the_contracts`,
  `::test_legacy_2ww_gets_fds_rules`; the Urgent suspected cancer exception:
  `test_pathway_r2.py::test_dna_on_an_urgent_suspected_cancer_rtt_row_does_not_nullify`.
* Counting: same-day stop `test_pathway.py::test_stop_on_the_start_day_is_zero_days`; leap
  days `::test_leap_day_counts_in_days_waited`; bands (126 -> 17-18, 127 -> 18-19)
  `::test_rtt_band`; long waits (365/456/547/729) `::test_long_waits`; pauses
  `::test_no_pause_kind_exists_and_each_pathway_says_what_applies`; first seen, treatment
  adjustment and DM01 resets: `test_pathway_r2.py` (sections of the same names).
* Events, table: `test_pathway.py::test_each_event_kind_on_each_pathway_type`,
  `::test_event_kinds_match_contract`; codes 10/11: `::test_new_clock_after_*`; ignored
  events: `::test_event_before_clock_start_is_ignored`, `::test_stop_when_no_clock_running_*`,
  `test_pathway_r2.py::test_patient_available_with_no_open_adjustment_changes_nothing`;
  latest clock: `test_pathway.py::test_latest_clock_is_reported`.
* Status: `test_pathway.py::test_at_risk_thresholds*`, `::test_transfer_out_ends_tracking_here`,
  `test_pathway_r2.py::test_endings_after_the_breach_date_are_never_a_breach`.
* Worked examples 1-11: `test_pathway.py::test_worked_examples`, `::test_worked_examples_details`.
* NHS numbers (943 476 5919): `test_nhs_number.py`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.rules.pathway import (
    EVENT_KINDS,
    ClockState,
    Event,
    evaluate,
    ordering_key,
)
from bot.rules.records import evaluate_row, event_entry, events_from_json, stored_clock_fields

D = date
E = Event
START = D(2025, 1, 6)
TYPES = ("rtt", "cancer_fds", "cancer_62", "cancer_31", "diagnostic")


def notes(state: ClockState) -> list[tuple[int, str]]:
    return [(n.index, n.note) for n in state.notes]


def ignored(state: ClockState) -> list[tuple[int, str]]:
    return [(i.index, i.reason) for i in state.ignored]


def stored_row(
    ptype: str, start: date, events: list[tuple[str, date]], today: date
) -> list[dict[str, object]]:
    """The `events` JSON the bot writes when a student records these events one by one."""
    entries: list[dict[str, object]] = []
    for kind, on in events:
        entries.append(
            event_entry(
                kind,
                on,
                added_by="sam@student.example",
                previous=entries,
                pathway_type=ptype,
                clock_start=start,
                today=today,
            )
        )
    return entries


# ---------------------------------------------------------------------------
# Worked examples (dates DD/MM/YYYY), through the stored row: codes written, read back.
# ---------------------------------------------------------------------------

# (#, pathway, start, events, today, days, weeks, breach date, to breach, status, breached,
#  the RTT code the row stores for its latest event)
WORKED = [
    (1, "rtt", D(2025, 1, 6), [], D(2025, 3, 3), 56, 8, D(2025, 5, 13), 71, "on_track", False),
    (2, "rtt", D(2025, 1, 6), [], D(2025, 5, 12), 126, 18, D(2025, 5, 13), 1, "at_risk", False),
    (3, "rtt", D(2025, 1, 6), [], D(2025, 5, 13), 127, 18, D(2025, 5, 13), 0, "breached", True),
    (
        4,
        "rtt",
        D(2025, 2, 3),
        [("treatment_started", D(2025, 5, 1))],
        D(2025, 6, 2),
        87,
        12,
        D(2025, 6, 10),
        None,
        "stopped",
        False,
    ),
    (
        5,
        "cancer_62",
        D(2025, 1, 6),
        [("treatment_started", D(2025, 3, 10))],
        D(2025, 3, 20),
        63,
        9,
        D(2025, 3, 10),
        None,
        "stopped",
        True,
    ),
    (
        6,
        "rtt",
        D(2025, 1, 6),
        [
            ("activity", D(2025, 2, 3)),
            ("active_monitoring_clinician", D(2025, 3, 3)),
            ("decision_to_treat", D(2025, 6, 2)),
        ],
        D(2025, 7, 1),
        29,
        4,
        D(2025, 10, 7),
        98,
        "on_track",
        False,
    ),
    (
        7,
        "rtt",
        D(2025, 1, 6),
        [
            ("active_monitoring_patient", D(2025, 3, 3)),
            ("new_clock", D(2025, 6, 2)),
            ("dna_first_appointment", D(2025, 6, 30)),
        ],
        D(2025, 7, 14),
        42,
        6,
        D(2025, 10, 7),
        85,
        "on_track",
        False,
    ),
    (
        8,
        "cancer_62",
        D(2025, 1, 6),
        [("cancer_ruled_out", D(2025, 3, 20))],
        D(2025, 3, 25),
        73,
        10,
        D(2025, 3, 10),
        None,
        "ended",
        False,
    ),
    (
        9,
        "cancer_fds",
        D(2025, 3, 3),
        [("dna_first_appointment", D(2025, 3, 10)), ("new_clock", D(2025, 3, 12))],
        D(2025, 4, 2),
        21,
        3,
        D(2025, 4, 10),
        8,
        "on_track",
        False,
    ),
    (
        10,
        "diagnostic",
        D(2025, 1, 6),
        [("dna_first_appointment", D(2025, 2, 3))],
        D(2025, 3, 3),
        28,
        4,
        D(2025, 3, 17),
        14,
        "on_track",
        False,
    ),
    (
        11,
        "cancer_31",
        D(2025, 2, 3),
        [
            ("admission_offer_declined", D(2025, 2, 17)),
            ("patient_available", D(2025, 3, 3)),
            ("treatment_started", D(2025, 3, 10)),
        ],
        D(2025, 3, 20),
        21,
        3,
        D(2025, 3, 21),
        None,
        "stopped",
        False,
    ),
]


@pytest.mark.parametrize(
    ("n", "ptype", "start", "events", "today", "days", "weeks", "breach", "to_breach", "status",
     "breached"),
    WORKED,
    ids=[f"example{w[0]}" for w in WORKED],
)  # fmt: skip
def test_worked_examples_hold_for_a_stored_row(
    n, ptype, start, events, today, days, weeks, breach, to_breach, status, breached
):
    """Worked examples: recorded the way /update records them, stored, read back."""
    entries = stored_row(ptype, start, events, today)
    # What the row stores reads back as the same events (kinds and dates, in order).
    assert [(e.kind, e.date) for e in events_from_json(entries)] == events
    state = evaluate_row(ptype, start, entries, today, priority="Routine")
    assert state is not None
    assert (state.days_waited, state.weeks_waited) == (days, weeks)
    assert (state.breach_date, state.days_to_breach) == (breach, to_breach)
    assert (state.status, state.breached) == (status, breached)
    stored = stored_clock_fields(ptype, start, entries, today, priority="Routine")
    assert stored["breach_date"] == breach
    assert stored["clock_state"] == ("running" if state.running else status)
    assert stored["clock_breached"] == (None if state.running else breached)


def test_worked_examples_6_and_7_store_code_11_for_the_clock_after_active_monitoring():
    """Worked examples 6 and 7: the clock after active monitoring is started by code 11 (a
    decision to treat in 6, a new clock in 7); a platform reading only the codes sees it."""
    six = stored_row(
        "rtt",
        START,
        [
            ("activity", D(2025, 2, 3)),
            ("active_monitoring_clinician", D(2025, 3, 3)),
            ("decision_to_treat", D(2025, 6, 2)),
        ],
        D(2025, 7, 1),
    )
    assert [e["code"] for e in six] == ["20", "32", "11"]
    seven = stored_row(
        "rtt",
        START,
        [
            ("active_monitoring_patient", D(2025, 3, 3)),
            ("new_clock", D(2025, 6, 2)),
            ("dna_first_appointment", D(2025, 6, 30)),
        ],
        D(2025, 7, 14),
    )
    assert [e["code"] for e in seven] == ["31", "11", "33"]
    # Read by code alone (as a platform-written row would be), example 7 is the same clock.
    by_code = [{"date": e["date"], "code": e["code"]} for e in seven]
    state = evaluate_row("rtt", START, by_code, D(2025, 7, 14))
    assert state is not None and state.status == "on_track"
    assert (state.clock_start, state.days_waited, state.days_to_breach) == (D(2025, 6, 2), 42, 85)


# ---------------------------------------------------------------------------
# The engine's contract: the snippet as the contract writes it, priority and adjusted_days.
# ---------------------------------------------------------------------------


def test_the_contract_snippet_with_its_r2_arguments():
    """The engine's contract: `evaluate(..., priority=None)` and `state.adjusted_days`."""
    state = evaluate(
        pathway_type="rtt",
        clock_start=date(2025, 1, 6),
        events=[Event(date=date(2025, 3, 10), kind="treatment_started")],
        today=date(2025, 3, 20),
        priority=None,
    )
    assert state.status == "stopped"
    assert (state.clock_start, state.clock_stop) == (D(2025, 1, 6), D(2025, 3, 10))
    assert (state.days_waited, state.weeks_waited) == (63, 9)
    assert (state.breach_date, state.days_to_breach, state.breached) == (
        D(2025, 5, 13),
        None,
        False,
    )
    assert (state.target_days, state.adjusted_days, state.long_wait_weeks) == (126, 0, None)
    targets = {p: evaluate(p, START, [], START).target_days for p in TYPES}
    assert targets == {
        "rtt": 126,
        "cancer_fds": 28,
        "cancer_62": 62,
        "cancer_31": 31,
        "diagnostic": 41,
    }
    # adjusted_days is 0 everywhere but a cancer treatment adjustment.
    declined = [
        E(D(2025, 1, 20), "admission_offer_declined"),
        E(D(2025, 1, 27), "patient_available"),
    ]
    assert {p: evaluate(p, START, declined, D(2025, 2, 1)).adjusted_days for p in TYPES} == {
        "rtt": 0,
        "cancer_fds": 0,
        "cancer_62": 7,
        "cancer_31": 7,
        "diagnostic": 0,
    }


# ---------------------------------------------------------------------------
# Pathway types: priority changes no arithmetic, and the DNA exception is RTT's only.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ptype", ["cancer_fds", "cancer_62"])
def test_urgent_suspected_cancer_priority_leaves_the_cancer_first_seen_adjustment(ptype):
    """Pathway types (r2): the priority exception is about RTT rows; a USC-priority cancer
    pathway still has its first seen adjustment after a DNA."""
    events = [E(D(2025, 1, 20), "dna_first_appointment"), E(D(2025, 1, 27), "new_clock")]
    usc = evaluate(ptype, START, events, D(2025, 2, 3), priority="Urgent suspected cancer")
    plain = evaluate(ptype, START, events, D(2025, 2, 3))
    assert usc == plain
    assert usc.clock_start == D(2025, 1, 27) and usc.notes == ()


def test_urgent_suspected_cancer_rtt_row_keeps_its_clock_after_a_re_referral_dna():
    """Pathway types (r2): on a USC-priority RTT row no first-appointment DNA nullifies,
    including the first appointment after a re-referral."""
    events = [
        E(D(2025, 2, 3), "discharged"),
        E(D(2025, 4, 1), "new_clock"),
        E(D(2025, 4, 20), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 5, 1), priority="Urgent suspected cancer")
    assert state.running and state.clock_start == D(2025, 4, 1)
    assert notes(state) == [(2, "dna_urgent_suspected_cancer")]


# ---------------------------------------------------------------------------
# Events: which RTT DNA nullifies (the first appointment after the referral).
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "end", ["decision_not_to_treat", "declined_treatment", "discharged", "transfer_out"]
)
def test_dna_first_appointment_after_any_end_that_a_new_referral_follows_nullifies(end):
    """Events, `dna_first_appointment` (r2): "a new clock after a transfer, discharge or other
    end that a new referral follows" is a clock after a referral: its first DNA nullifies."""
    events = [
        E(D(2025, 2, 3), end),
        E(D(2025, 4, 1), "new_clock"),
        E(D(2025, 4, 20), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 5, 1))
    assert state.status == "nullified" and state.clock_start == D(2025, 4, 1)
    assert state.clock_number == 2 and state.notes == ()


def test_a_cancelled_first_appointment_is_not_an_attendance():
    """Events (r2): the DNA nullifies when no `activity` has been applied on the clock; a
    cancellation before it is not one, so the rebooked first appointment's DNA nullifies."""
    events = [E(D(2025, 1, 20), "patient_cancelled"), E(D(2025, 2, 3), "dna_first_appointment")]
    assert evaluate("rtt", START, events, D(2025, 3, 1)).status == "nullified"


def test_a_dna_on_the_clock_start_day_nullifies_with_zero_days():
    """Events and Counting: a DNA of a first appointment on the day the referral arrived."""
    state = evaluate("rtt", START, [E(START, "dna_first_appointment")], D(2025, 1, 10))
    assert state.status == "nullified" and state.days_waited == 0 and not state.breached


def test_the_clock_after_active_monitoring_never_nullifies_even_after_a_cancellation():
    """Events (r2): a clock after active monitoring did not follow a referral; a cancelled
    appointment and then a DNA on it do not change that."""
    events = [
        E(D(2025, 2, 3), "active_monitoring_clinician"),
        E(D(2025, 5, 1), "new_clock"),
        E(D(2025, 5, 10), "patient_cancelled"),
        E(D(2025, 5, 20), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 6, 1))
    assert state.running and state.rtt_code == 33
    assert notes(state) == [(3, "dna_not_after_referral")]


def test_a_re_referral_after_active_monitoring_then_treatment_may_nullify_again():
    """Events (r2): after a clock that followed active monitoring ends in discharge, the next
    new clock follows a new referral, so its first DNA nullifies again."""
    events = [
        E(D(2025, 2, 3), "active_monitoring_patient"),
        E(D(2025, 4, 1), "new_clock"),
        E(D(2025, 5, 1), "discharged"),
        E(D(2025, 7, 1), "new_clock"),
        E(D(2025, 7, 20), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 8, 1))
    assert state.status == "nullified" and state.clock_number == 3


# ---------------------------------------------------------------------------
# Events: a decision to treat after active monitoring starts the new clock (code 11).
# ---------------------------------------------------------------------------


def test_decision_to_treat_on_the_day_active_monitoring_stopped_the_clock():
    """Events, `decision_to_treat` (r2): recorded after the active monitoring stop on the same
    day, it starts the new clock on that day (0 days, code 11)."""
    day = D(2025, 3, 3)
    events = [E(day, "active_monitoring_patient"), E(day, "decision_to_treat", recorded_order=1)]
    state = evaluate("rtt", START, events, day)
    assert state.running and (state.clock_start, state.days_waited) == (day, 0)
    assert (state.rtt_code, state.clock_number) == (11, 2)


def test_decision_to_treat_after_active_monitoring_and_a_code_91_entry():
    """Events (r2) and records: activity during active monitoring (platform code 91) is off the
    clock and does not change what stopped it, so the decision to treat still starts code 11."""
    events = [
        E(D(2025, 2, 3), "active_monitoring_clinician"),
        E(D(2025, 3, 3), "during_active_monitoring"),
        E(D(2025, 5, 1), "decision_to_treat"),
    ]
    state = evaluate("rtt", START, events, D(2025, 5, 8))
    assert state.running and (state.clock_start, state.rtt_code) == (D(2025, 5, 1), 11)


def test_a_second_decision_to_treat_on_the_new_clock_is_activity():
    """Events (r2): once the decision to treat has started the clock, another one continues it
    (code 20); the clock stops at treatment."""
    events = [
        E(D(2025, 2, 3), "active_monitoring_clinician"),
        E(D(2025, 5, 1), "decision_to_treat"),
        E(D(2025, 6, 1), "decision_to_treat"),
        E(D(2025, 7, 1), "treatment_started"),
    ]
    state = evaluate("rtt", START, events, D(2025, 7, 2))
    assert state.status == "stopped" and state.clock_start == D(2025, 5, 1)
    assert state.days_waited == 61 and state.rtt_code == 30 and state.ignored == ()


@pytest.mark.parametrize(
    "stop", ["treatment_started", "decision_not_to_treat", "discharged", "dna_first_appointment"]
)
def test_decision_to_treat_after_other_stops_starts_nothing(stop):
    """Events (r2): only an active-monitoring stop (31/32) lets a decision to treat start a
    clock; after any other stop it changes nothing and the validator reports it."""
    events = [E(D(2025, 2, 3), stop), E(D(2025, 4, 1), "decision_to_treat")]
    state = evaluate("rtt", START, events, D(2025, 4, 8))
    assert not state.running and state.clock_number == 1
    assert ignored(state) == [(1, "clock_not_running")]


# ---------------------------------------------------------------------------
# Status: `ended` (r2), for every pathway and ending the contract names.
# ---------------------------------------------------------------------------

ENDINGS = [
    ("cancer_62", "cancer_ruled_out"),
    *[(p, k) for p in ("cancer_62", "cancer_31") for k in ("decision_not_to_treat",
                                                          "declined_treatment")],
    *[(p, k) for p in ("cancer_fds", "cancer_62", "cancer_31", "diagnostic")
      for k in ("discharged", "died")],
]  # fmt: skip


@pytest.mark.parametrize(("ptype", "kind"), ENDINGS)
@pytest.mark.parametrize("day", [0, "last_ok", "first_breach", 200])
def test_every_ending_is_ended_and_never_a_breach(ptype, kind, day):
    """Status (r2): `ended` whenever the latest clock ended without a reported stop; breached
    is always false, days to breach None, the breach date still given; the stored row says
    `ended` and not breached."""
    target = evaluate(ptype, START, [], START).target_days
    offset = {"last_ok": target, "first_breach": target + 1}.get(day, day)
    on = START + timedelta(days=offset)
    state = evaluate(ptype, START, [E(on, kind)], on + timedelta(days=5))
    assert state.status == "ended" and state.reported is False
    assert (state.breached, state.days_to_breach, state.clock_stop) == (False, None, on)
    assert state.days_waited == offset and state.ended_by == kind
    assert state.breach_date == START + timedelta(days=target + 1)
    stored = stored_clock_fields(
        ptype, START, [{"date": on.isoformat(), "kind": kind}], on + timedelta(days=5)
    )
    assert (stored["clock_state"], stored["clock_breached"]) == ("ended", False)
    assert stored["clock_status"] == "Stopped"  # the platform's word; `ended` is clock_state


@pytest.mark.parametrize(
    "kind", ["decision_not_to_treat", "declined_treatment", "discharged", "died"]
)
def test_the_same_endings_on_rtt_are_reported_stops(kind):
    """Status (r2): on RTT these are clock stops (codes 34-36), reported, and late if after
    day 126: `ended` is for cancer and diagnostic clocks only."""
    late = START + timedelta(days=130)
    state = evaluate("rtt", START, [E(late, kind)], late)
    assert state.status == "stopped" and state.breached is True and state.reported


@pytest.mark.parametrize(("ptype", "kind"), [("cancer_fds", "cancer_ruled_out"),
                                             ("cancer_fds", "diagnosis_communicated")])  # fmt: skip
def test_fds_stops_are_reported_and_can_be_late(ptype, kind):
    """Status: on the 28-day FDS, ruled out or diagnosis told is a reported stop (breached
    when after day 28), unlike cancer ruled out on the 62-day standard."""
    state = evaluate(ptype, START, [E(START + timedelta(days=29), kind)], D(2025, 3, 1))
    assert state.status == "stopped" and state.breached is True


@pytest.mark.parametrize(
    ("ptype", "kind"),
    [
        ("cancer_fds", "decision_not_to_treat"),
        ("cancer_fds", "declined_treatment"),
        ("cancer_31", "cancer_ruled_out"),
        ("diagnostic", "cancer_ruled_out"),
        ("diagnostic", "decision_not_to_treat"),
        ("diagnostic", "declined_treatment"),
    ],
)
def test_endings_the_contract_does_not_name_continue(ptype, kind):
    """Events table: a decision not to treat or a declined treatment ends the 62/31-day
    clocks only; cancer ruled out ends the 62-day one (and stops FDS) only."""
    state = evaluate(ptype, START, [E(D(2025, 1, 20), kind)], D(2025, 1, 27))
    assert state.running and state.days_waited == 21


def test_ended_rows_sort_after_stopped_and_before_nullified_ones():
    """Status and ordering: running clocks by breach risk, then stopped, ended, nullified and
    transferred rows."""
    today = D(2025, 2, 1)
    states = {
        "running": evaluate("cancer_62", START, [], today),
        "stopped": evaluate("cancer_62", START, [E(D(2025, 1, 20), "treatment_started")], today),
        "ended": evaluate("cancer_62", START, [E(D(2025, 1, 10), "died")], today),
        "nullified": evaluate("rtt", START, [E(D(2025, 1, 10), "dna_first_appointment")], today),
        "transferred": evaluate("rtt", START, [E(D(2025, 1, 10), "transfer_out")], today),
    }
    order = sorted(states, key=lambda k: ordering_key(states[k]))
    assert order == ["running", "stopped", "ended", "nullified", "transferred"]


# ---------------------------------------------------------------------------
# Counting (r2): the first seen adjustment at its boundaries.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("ptype", "target"), [("cancer_fds", 28), ("cancer_62", 62)])
def test_first_seen_rebooking_after_the_original_breach_day_restarts_the_wait(ptype, target):
    """Counting, first seen adjustment: the wait counts from the rebooking date, so a patient
    who rebooks after the original breach day is not breached."""
    dna = START + timedelta(days=10)
    rebook = START + timedelta(days=target + 5)
    waiting = evaluate(ptype, START, [E(dna, "dna_first_appointment")], rebook)
    assert waiting.status == "breached" and waiting.awaiting_rebooking
    state = evaluate(
        ptype, START, [E(dna, "dna_first_appointment"), E(rebook, "new_clock")], rebook
    )
    assert state.status == "on_track" and not state.breached and state.days_waited == 0
    assert state.breach_date == rebook + timedelta(days=target + 1)
    last_ok = rebook + timedelta(days=target)
    events = [E(dna, "dna_first_appointment"), E(rebook, "new_clock")]
    assert evaluate(ptype, START, events, last_ok).days_to_breach == 1
    assert evaluate(ptype, START, events, last_ok + timedelta(days=1)).status == "breached"


def test_first_seen_a_dna_of_the_rebooked_first_appointment_adjusts_again():
    """Counting, first seen adjustment: the rebooked appointment is still the first; a DNA of
    it and a second rebooking reset the start again (one clock throughout)."""
    events = [
        E(D(2025, 1, 10), "dna_first_appointment"),
        E(D(2025, 1, 13), "new_clock"),
        E(D(2025, 1, 20), "dna_first_appointment"),
        E(D(2025, 1, 22), "new_clock"),
    ]
    state = evaluate("cancer_62", START, events, D(2025, 2, 1))
    assert (state.clock_start, state.clock_number, state.days_waited) == (D(2025, 1, 22), 1, 10)
    assert state.ignored == () and state.notes == ()


def test_first_seen_no_adjustment_once_the_diagnosis_was_told():
    """Counting, first seen adjustment: a DNA after the patient was seen (here, told their
    diagnosis on the 62-day pathway) is not a first-appointment DNA."""
    events = [
        E(D(2025, 1, 20), "diagnosis_communicated"),
        E(D(2025, 1, 27), "dna_first_appointment"),
        E(D(2025, 1, 29), "new_clock"),
    ]
    state = evaluate("cancer_62", START, events, D(2025, 2, 3))
    assert state.clock_start == START and notes(state) == [(1, "dna_after_activity")]
    assert ignored(state) == [(2, "clock_already_running")]


# ---------------------------------------------------------------------------
# Counting (r2): the treatment adjustment at its boundaries.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("ptype", "target"), [("cancer_62", 62), ("cancer_31", 31)])
def test_a_closed_adjustment_moves_the_first_breach_day_exactly(ptype, target):
    """Counting, treatment adjustment: a closed adjustment of 10 days makes start + target + 10
    the last compliant day and the next day the first breach day."""
    events = [E(D(2025, 1, 10), "admission_offer_declined"), E(D(2025, 1, 20), "patient_available")]
    last_ok = START + timedelta(days=target + 10)
    on_last = evaluate(ptype, START, events, last_ok)
    assert on_last.status == "at_risk" and on_last.days_to_breach == 1
    assert on_last.days_waited == target and on_last.adjusted_days == 10
    first = evaluate(ptype, START, events, last_ok + timedelta(days=1))
    assert first.status == "breached" and first.days_to_breach == 0
    assert first.days_waited == target + 1


@pytest.mark.parametrize("ptype", ["cancer_62", "cancer_31"])
def test_an_open_adjustment_opened_on_the_last_compliant_day(ptype):
    """Counting, treatment adjustment: opened on the last compliant day, the wait freezes there
    and there is no breach date, however long the patient takes (status at risk)."""
    target = evaluate(ptype, START, [], START).target_days
    declined = START + timedelta(days=target)
    for today in (declined, declined + timedelta(days=1), declined + timedelta(days=90)):
        state = evaluate(ptype, START, [E(declined, "admission_offer_declined")], today)
        assert state.status == "at_risk" and not state.breached
        assert state.days_waited == target
        assert (state.breach_date, state.days_to_breach) == (None, None)
        stored = stored_clock_fields(
            ptype, START, [{"date": declined.isoformat(), "kind": "admission_offer_declined"}],
            today,
        )  # fmt: skip
        assert (stored["breach_date"], stored["clock_state"]) == (None, "running")


def test_an_open_adjustment_ignores_the_at_risk_threshold():
    """Status: an open adjustment is always "at risk" (it needs chasing), even with a
    threshold set so low that no running clock would be."""
    state = evaluate(
        "cancer_62",
        START,
        [E(D(2025, 1, 10), "admission_offer_declined")],
        D(2025, 1, 12),
        at_risk_days={"cancer_62": 0},
    )
    assert state.status == "at_risk" and state.days_to_breach is None


def test_a_transfer_with_an_open_adjustment_counts_to_the_declined_date():
    """Counting and Events: the days from the declined date do not count, whatever ends the
    tracking here (a transfer out closes the open adjustment on its date)."""
    events = [E(D(2025, 1, 20), "admission_offer_declined"), E(D(2025, 2, 3), "transfer_out")]
    state = evaluate("cancer_31", START, events, D(2025, 2, 10))
    assert state.status == "transferred" and state.days_waited == 14
    assert state.adjusted_days == 14 and state.breach_date == START + timedelta(days=32 + 14)
    assert notes(state) == [(1, "adjustment_closed_by_stop")]


# ---------------------------------------------------------------------------
# Counting (r2): DM01 resets at their boundaries.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dna_first_appointment", "patient_cancelled"])
def test_a_reset_clock_breaches_42_days_after_the_reset(kind):
    """Counting, DM01 resets: after a reset on day 30 the new wait fails on its own day 42."""
    reset = START + timedelta(days=30)
    events = [E(reset, kind)]
    last_ok = evaluate("diagnostic", START, events, reset + timedelta(days=41))
    assert last_ok.status == "at_risk" and last_ok.days_to_breach == 1
    assert last_ok.days_waited == 41
    first = evaluate("diagnostic", START, events, reset + timedelta(days=42))
    assert first.status == "breached" and first.days_to_breach == 0


def test_a_dm01_reset_on_the_request_day_keeps_the_start():
    """Counting, DM01 resets: a DNA on the day of the request resets to that same day."""
    state = evaluate("diagnostic", START, [E(START, "dna_first_appointment")], D(2025, 1, 20))
    assert state.clock_start == START and state.days_waited == 14
    assert state.reset_by == "dna_first_appointment"


def test_no_reset_after_the_test_was_done():
    """Counting, DM01 resets: once the test is done the clock has stopped; a later DNA or
    cancellation changes nothing (the validator reports it)."""
    events = [
        E(D(2025, 1, 20), "test_performed"),
        E(D(2025, 1, 27), "dna_first_appointment"),
        E(D(2025, 1, 28), "patient_cancelled"),
    ]
    state = evaluate("diagnostic", START, events, D(2025, 2, 3))
    assert state.status == "stopped" and state.days_waited == 14
    assert ignored(state) == [(1, "clock_not_running"), (2, "clock_not_running")]


def test_a_hospital_cancellation_records_no_event_so_never_resets():
    """Counting, DM01 resets: "Hospital cancellations never reset a clock": a booking
    cancelled by the hospital records no pathway event at all."""
    from bot.rules.bookings import decode_bookings, new_booking, outcome_kind

    [booking] = decode_bookings(
        [
            new_booking(
                "diagnostic_test",
                D(2025, 1, 20),
                added_by="sam@student.example",
                now=datetime(2025, 1, 6, 9, tzinfo=UTC),
            )
        ]
    )
    assert outcome_kind(booking, "cancelled_hospital") is None
    assert outcome_kind(booking, "cancelled_patient") == "patient_cancelled"


# ---------------------------------------------------------------------------
# Records (r2): platform codes 10 and 11 (first activity), 12, 90-99.
# ---------------------------------------------------------------------------


def _platform(day: date, code: str) -> dict[str, str]:
    return {"date": day.isoformat(), "code": code, "description": "", "added_by": "web"}


def test_platform_code_11_after_active_monitoring_starts_the_new_clock():
    """Records (r2): a platform row's code 11 after a 31/32 stop is the first activity of the
    new period, so it starts the clock (code 11) on its date."""
    rows = [_platform(D(2025, 2, 3), "32"), _platform(D(2025, 5, 1), "11")]
    state = evaluate_row("rtt", START, rows, D(2025, 5, 8))
    assert state is not None and state.running
    assert (state.clock_start, state.rtt_code, state.clock_number) == (D(2025, 5, 1), 11, 2)


def test_platform_code_10_on_the_clock_start_then_a_dna_still_nullifies():
    """Records (r2): code 10 is the referral's own record (first activity of the period), not
    an attendance, so a following first-appointment DNA nullifies."""
    rows = [_platform(START, "10"), _platform(D(2025, 2, 3), "33")]
    state = evaluate_row("rtt", START, rows, D(2025, 3, 1))
    assert state is not None and state.status == "nullified"


def test_platform_code_12_while_the_clock_runs_changes_nothing():
    """Records (r2): code 12 starts a separate pathway (another condition); this row's clock
    neither restarts nor counts it as seen."""
    rows = [_platform(D(2025, 1, 20), "12")]
    state = evaluate_row("rtt", START, rows, D(2025, 2, 3))
    assert state is not None and state.running
    assert (state.clock_start, state.clock_number, state.rtt_code) == (START, 1, 10)
    assert state.applied == (0,) and state.ignored == ()


@pytest.mark.parametrize("code", ["90", "91", "92", "98", "99"])
def test_codes_90_to_99_are_kept_with_their_own_labels(code):
    """Records (r2): codes 90, 91, 92, 98 and 99 are kept (not dropped), with a label of their
    own for the history, and change no clock."""
    rows = [_platform(D(2025, 1, 20), "20"), _platform(D(2025, 1, 27), code)]
    events = events_from_json(rows)
    assert len(events) == 2 and events[0].kind == "activity"
    kind = EVENT_KINDS[events[1].kind]
    assert kind.rtt_code == int(code)
    assert kind.label and kind.label != EVENT_KINDS["activity"].label
    state = evaluate_row("rtt", START, rows, D(2025, 2, 3))
    assert state is not None and state.applied == (0, 1)
    assert (state.clock_start, state.days_waited, state.rtt_code) == (START, 28, 20)
