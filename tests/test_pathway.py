"""Tests for the PTL rules engine against shared/domain/PTL_RULES.md (the contract).

Expected values are written out by hand from the contract, not computed with the
module's own tables, so a wrong table fails a test rather than agreeing with itself.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.rules.pathway import (
    DEFAULT_AT_RISK_DAYS,
    EVENT_KINDS,
    LEGACY_PATHWAY_TYPES,
    PATHWAY_TYPES,
    PAUSE_EXPLANATIONS,
    PAUSES_OVERVIEW,
    PLATFORM_ONLY_KINDS,
    STATUSES,
    ClockState,
    Event,
    canonical_pathway_type,
    effect_of,
    evaluate,
    ordering_key,
    pause_explanation,
    rtt_band,
    rtt_code_for,
)

D = date
CLOCK_FIELDS = (
    "pathway_type",
    "status",
    "clock_start",
    "clock_stop",
    "days_waited",
    "weeks_waited",
    "breach_date",
    "days_to_breach",
    "breached",
    "target_days",
    "long_wait_weeks",
    "rtt_band",
    "nullified",
    "transferred_on",
    "ended_by",
    "clock_number",
    "adjusted_days",
    "adjustment_open_since",
)


def clock_fields(state: ClockState) -> tuple[object, ...]:
    return tuple(getattr(state, f) for f in CLOCK_FIELDS)


# ---------------------------------------------------------------------------
# Worked examples, exactly as in the contract.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    (
        "ptype",
        "start",
        "events",
        "today",
        "days",
        "weeks",
        "breach",
        "to_breach",
        "status",
        "breached",
    ),
    [
        ("rtt", D(2025, 1, 6), [], D(2025, 3, 3), 56, 8, D(2025, 5, 13), 71, "on_track", False),
        ("rtt", D(2025, 1, 6), [], D(2025, 5, 12), 126, 18, D(2025, 5, 13), 1, "at_risk", False),
        ("rtt", D(2025, 1, 6), [], D(2025, 5, 13), 127, 18, D(2025, 5, 13), 0, "breached", True),
        (
            "rtt",
            D(2025, 2, 3),
            [Event(D(2025, 5, 1), "treatment_started")],
            D(2025, 6, 2),
            87,
            12,
            D(2025, 6, 10),
            None,
            "stopped",
            False,
        ),
        (
            "cancer_62",
            D(2025, 1, 6),
            [Event(D(2025, 3, 10), "treatment_started")],
            D(2025, 3, 20),
            63,
            9,
            D(2025, 3, 10),
            None,
            "stopped",
            True,
        ),
        # (r2) 6: a decision to treat after active monitoring starts the new clock (code 11).
        (
            "rtt",
            D(2025, 1, 6),
            [
                Event(D(2025, 2, 3), "activity"),
                Event(D(2025, 3, 3), "active_monitoring_clinician"),
                Event(D(2025, 6, 2), "decision_to_treat"),
            ],
            D(2025, 7, 1),
            29,
            4,
            D(2025, 10, 7),
            98,
            "on_track",
            False,
        ),
        # (r2) 7: a DNA after a new clock that followed active monitoring does not nullify.
        (
            "rtt",
            D(2025, 1, 6),
            [
                Event(D(2025, 3, 3), "active_monitoring_patient"),
                Event(D(2025, 6, 2), "new_clock"),
                Event(D(2025, 6, 30), "dna_first_appointment"),
            ],
            D(2025, 7, 14),
            42,
            6,
            D(2025, 10, 7),
            85,
            "on_track",
            False,
        ),
        # (r2) 8: cancer ruled out on a 62-day pathway ends it, not reported.
        (
            "cancer_62",
            D(2025, 1, 6),
            [Event(D(2025, 3, 20), "cancer_ruled_out")],
            D(2025, 3, 25),
            73,
            10,
            D(2025, 3, 10),
            None,
            "ended",
            False,
        ),
        # (r2) 9: the first seen adjustment.
        (
            "cancer_fds",
            D(2025, 3, 3),
            [Event(D(2025, 3, 10), "dna_first_appointment"), Event(D(2025, 3, 12), "new_clock")],
            D(2025, 4, 2),
            21,
            3,
            D(2025, 4, 10),
            8,
            "on_track",
            False,
        ),
        # (r2) 10: a DM01 reset.
        (
            "diagnostic",
            D(2025, 1, 6),
            [Event(D(2025, 2, 3), "dna_first_appointment")],
            D(2025, 3, 3),
            28,
            4,
            D(2025, 3, 17),
            14,
            "on_track",
            False,
        ),
        # (r2) 11: a closed treatment adjustment of 14 days.
        (
            "cancer_31",
            D(2025, 2, 3),
            [
                Event(D(2025, 2, 17), "admission_offer_declined"),
                Event(D(2025, 3, 3), "patient_available"),
                Event(D(2025, 3, 10), "treatment_started"),
            ],
            D(2025, 3, 20),
            21,
            3,
            D(2025, 3, 21),
            None,
            "stopped",
            False,
        ),
    ],
    ids=[f"example{n}" for n in range(1, 12)],
)
def test_worked_examples(
    ptype, start, events, today, days, weeks, breach, to_breach, status, breached
):
    state = evaluate(ptype, start, events, today)
    assert state.days_waited == days
    assert state.weeks_waited == weeks
    assert state.breach_date == breach
    assert state.days_to_breach == to_breach
    assert state.status == status
    assert state.breached is breached


def test_worked_examples_details():
    """What the contract's table says in words beside each r2 example."""
    six = evaluate(
        "rtt",
        D(2025, 1, 6),
        [
            Event(D(2025, 2, 3), "activity"),
            Event(D(2025, 3, 3), "active_monitoring_clinician"),
            Event(D(2025, 6, 2), "decision_to_treat"),
        ],
        D(2025, 7, 1),
    )
    assert (six.clock_start, six.rtt_code, six.clock_number) == (D(2025, 6, 2), 11, 2)
    seven = evaluate(
        "rtt",
        D(2025, 1, 6),
        [
            Event(D(2025, 3, 3), "active_monitoring_patient"),
            Event(D(2025, 6, 2), "new_clock"),
            Event(D(2025, 6, 30), "dna_first_appointment"),
        ],
        D(2025, 7, 14),
    )
    assert seven.clock_start == D(2025, 6, 2)
    assert [(n.index, n.note) for n in seven.notes] == [(2, "dna_not_after_referral")]
    assert seven.ignored == ()  # applied: it continues the clock
    eight = evaluate(
        "cancer_62", D(2025, 1, 6), [Event(D(2025, 3, 20), "cancer_ruled_out")], D(2025, 3, 25)
    )
    assert (eight.clock_stop, eight.ended_by, eight.reported) == (
        D(2025, 3, 20),
        "cancer_ruled_out",
        False,
    )
    nine = evaluate(
        "cancer_fds",
        D(2025, 3, 3),
        [Event(D(2025, 3, 10), "dna_first_appointment"), Event(D(2025, 3, 12), "new_clock")],
        D(2025, 4, 2),
    )
    assert (nine.clock_start, nine.clock_number, nine.reset_by) == (D(2025, 3, 12), 1, "new_clock")
    ten = evaluate(
        "diagnostic", D(2025, 1, 6), [Event(D(2025, 2, 3), "dna_first_appointment")], D(2025, 3, 3)
    )
    assert (ten.clock_start, ten.reset_by) == (D(2025, 2, 3), "dna_first_appointment")
    eleven = evaluate(
        "cancer_31",
        D(2025, 2, 3),
        [
            Event(D(2025, 2, 17), "admission_offer_declined"),
            Event(D(2025, 3, 3), "patient_available"),
            Event(D(2025, 3, 10), "treatment_started"),
        ],
        D(2025, 3, 20),
    )
    assert (eleven.adjusted_days, eleven.clock_stop) == (14, D(2025, 3, 10))


def test_contract_snippet():
    state = evaluate(
        pathway_type="rtt",
        clock_start=date(2025, 1, 6),
        events=[Event(date=date(2025, 3, 10), kind="treatment_started")],
        today=date(2025, 3, 20),
    )
    assert state.status == "stopped"
    assert state.clock_start == date(2025, 1, 6)
    assert state.clock_stop == date(2025, 3, 10)
    assert state.days_waited == 63
    assert state.weeks_waited == 9
    assert state.breach_date == date(2025, 5, 13)
    assert state.days_to_breach is None
    assert state.breached is False
    assert state.target_days == 126
    assert state.long_wait_weeks is None
    assert state.rtt_code == 30
    assert state.ended_by == "treatment_started"


# ---------------------------------------------------------------------------
# Boundaries: the last compliant day and the first breach day of every standard.
# ---------------------------------------------------------------------------

BOUNDARIES = [
    ("rtt", 126, 127),
    ("cancer_fds", 28, 29),
    ("cancer_62", 62, 63),
    ("cancer_31", 31, 32),
    ("diagnostic", 41, 42),
]
STOPPER = {
    "rtt": "treatment_started",
    "cancer_fds": "diagnosis_communicated",
    "cancer_62": "treatment_started",
    "cancer_31": "treatment_started",
    "diagnostic": "test_performed",
}


@pytest.mark.parametrize(("ptype", "last_ok", "first_breach"), BOUNDARIES)
def test_running_clock_boundaries(ptype, last_ok, first_breach):
    start = D(2025, 1, 6)
    ok = evaluate(ptype, start, [], start + timedelta(days=last_ok))
    assert ok.days_waited == last_ok
    assert ok.days_to_breach == 1
    assert ok.status == "at_risk"
    assert ok.breached is False
    assert ok.target_days == last_ok
    assert ok.breach_date == start + timedelta(days=first_breach)

    bad = evaluate(ptype, start, [], start + timedelta(days=first_breach))
    assert bad.days_waited == first_breach
    assert bad.days_to_breach == 0
    assert bad.status == "breached"
    assert bad.breached is True

    later = evaluate(ptype, start, [], start + timedelta(days=first_breach + 10))
    assert later.days_to_breach == -10
    assert later.status == "breached"


@pytest.mark.parametrize(("ptype", "last_ok", "first_breach"), BOUNDARIES)
def test_stopped_clock_boundaries(ptype, last_ok, first_breach):
    start = D(2025, 1, 6)
    today = D(2025, 12, 1)
    ok = evaluate(ptype, start, [Event(start + timedelta(days=last_ok), STOPPER[ptype])], today)
    assert (ok.status, ok.breached, ok.days_waited, ok.days_to_breach) == (
        "stopped",
        False,
        last_ok,
        None,
    )
    bad = evaluate(
        ptype, start, [Event(start + timedelta(days=first_breach), STOPPER[ptype])], today
    )
    assert (bad.status, bad.breached, bad.days_waited) == ("stopped", True, first_breach)


def test_stop_on_the_start_day_is_zero_days():
    state = evaluate(
        "rtt", D(2025, 1, 6), [Event(D(2025, 1, 6), "treatment_started")], D(2025, 1, 6)
    )
    assert state.days_waited == 0
    assert state.weeks_waited == 0
    assert state.rtt_band == "0-1 weeks"


@pytest.mark.parametrize(
    ("ptype", "to_breach", "status"),
    [
        ("rtt", 29, "on_track"),
        ("rtt", 28, "at_risk"),
        ("rtt", 1, "at_risk"),
        ("cancer_fds", 8, "on_track"),
        ("cancer_fds", 7, "at_risk"),
        ("cancer_62", 8, "on_track"),
        ("cancer_62", 7, "at_risk"),
        ("cancer_31", 8, "on_track"),
        ("cancer_31", 7, "at_risk"),
        ("diagnostic", 8, "on_track"),
        ("diagnostic", 7, "at_risk"),
    ],
)
def test_at_risk_thresholds(ptype, to_breach, status):
    start = D(2025, 1, 6)
    breach = start + timedelta(days=PATHWAY_TYPES[ptype].target_days + 1)
    state = evaluate(ptype, start, [], breach - timedelta(days=to_breach))
    assert state.days_to_breach == to_breach
    assert state.status == status


def test_at_risk_thresholds_are_configurable():
    start = D(2025, 1, 6)
    today = D(2025, 3, 3)  # 71 days to breach
    assert evaluate("rtt", start, [], today).status == "on_track"
    assert evaluate("rtt", start, [], today, at_risk_days={"rtt": 71}).status == "at_risk"
    assert evaluate("rtt", start, [], today, at_risk_days={"rtt": 70}).status == "on_track"
    # Types missing from the mapping keep the contract defaults.
    assert evaluate("cancer_62", start, [], D(2025, 3, 3), at_risk_days={"rtt": 1}).status == (
        "at_risk"
    )
    assert DEFAULT_AT_RISK_DAYS == {
        "rtt": 28,
        "cancer_fds": 7,
        "cancer_62": 7,
        "cancer_31": 7,
        "diagnostic": 7,
    }


# ---------------------------------------------------------------------------
# Calendar arithmetic: leap years count.
# ---------------------------------------------------------------------------


def test_leap_day_counts_in_days_waited():
    assert evaluate("rtt", D(2024, 2, 28), [], D(2024, 3, 1)).days_waited == 2
    assert evaluate("rtt", D(2023, 2, 28), [], D(2023, 3, 1)).days_waited == 1
    assert evaluate("rtt", D(2024, 1, 1), [], D(2025, 1, 1)).days_waited == 366
    assert evaluate("rtt", D(2023, 1, 1), [], D(2024, 1, 1)).days_waited == 365


def test_breach_dates_across_leap_day():
    # 1 Jan + 127 days: 7 May in a leap year, 8 May otherwise.
    assert evaluate("rtt", D(2024, 1, 1), [], D(2024, 1, 2)).breach_date == D(2024, 5, 7)
    assert evaluate("rtt", D(2023, 1, 1), [], D(2023, 1, 2)).breach_date == D(2023, 5, 8)
    assert evaluate("cancer_fds", D(2024, 2, 15), [], D(2024, 2, 16)).breach_date == D(2024, 3, 15)
    assert evaluate("cancer_fds", D(2023, 2, 15), [], D(2023, 2, 16)).breach_date == D(2023, 3, 16)
    assert evaluate("cancer_31", D(2024, 2, 29), [], D(2024, 3, 1)).breach_date == D(2024, 4, 1)
    # A clock starting on a leap day.
    state = evaluate("rtt", D(2024, 2, 29), [], D(2025, 2, 28))
    assert state.days_waited == 365
    assert state.long_wait_weeks == 52


# ---------------------------------------------------------------------------
# Every event kind on every pathway type, from the contract's table.
# ---------------------------------------------------------------------------

ALL_TYPES = ("rtt", "cancer_fds", "cancer_62", "cancer_31", "diagnostic")
NON_RTT = ("cancer_fds", "cancer_62", "cancer_31", "diagnostic")
CONTRACT_EFFECTS: dict[str, dict[str, str]] = {
    "activity": dict.fromkeys(ALL_TYPES, "continues"),
    "decision_to_treat": dict.fromkeys(ALL_TYPES, "continues"),
    "diagnosis_communicated": {**dict.fromkeys(ALL_TYPES, "continues"), "cancer_fds": "stops"},
    "cancer_ruled_out": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "cancer_fds": "stops",
        "cancer_62": "ends",
    },
    "test_performed": {**dict.fromkeys(ALL_TYPES, "continues"), "diagnostic": "stops"},
    "transfer_out": dict.fromkeys(ALL_TYPES, "transfers"),
    "treatment_started": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "rtt": "stops",
        "cancer_62": "stops",
        "cancer_31": "stops",
    },
    "active_monitoring_patient": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "rtt": "stops",
        "cancer_62": "stops",
        "cancer_31": "stops",
    },
    "active_monitoring_clinician": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "rtt": "stops",
        "cancer_62": "stops",
        "cancer_31": "stops",
    },
    "dna_first_appointment": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "rtt": "nullifies",
        "diagnostic": "resets",
    },
    "patient_cancelled": {**dict.fromkeys(ALL_TYPES, "continues"), "diagnostic": "resets"},
    "admission_offer_declined": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "cancer_62": "adjusts",
        "cancer_31": "adjusts",
    },
    "patient_available": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "cancer_62": "resumes",
        "cancer_31": "resumes",
    },
    "decision_not_to_treat": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "rtt": "stops",
        "cancer_62": "ends",
        "cancer_31": "ends",
    },
    "discharged": {**dict.fromkeys(ALL_TYPES, "ends"), "rtt": "stops"},
    "declined_treatment": {
        **dict.fromkeys(ALL_TYPES, "continues"),
        "rtt": "stops",
        "cancer_62": "ends",
        "cancer_31": "ends",
    },
    "died": {**dict.fromkeys(ALL_TYPES, "ends"), "rtt": "stops"},
    "new_clock": dict.fromkeys(ALL_TYPES, "starts"),
}
CONTRACT_CODES = {
    "activity": 20,
    "decision_to_treat": 20,
    "diagnosis_communicated": 20,
    "cancer_ruled_out": 20,
    "test_performed": 20,
    "transfer_out": 21,
    "treatment_started": 30,
    "active_monitoring_patient": 31,
    "active_monitoring_clinician": 32,
    "dna_first_appointment": 33,
    "decision_not_to_treat": 34,
    "discharged": 34,
    "declined_treatment": 35,
    "died": 36,
    "new_clock": 10,
    "patient_cancelled": 20,
    "admission_offer_declined": 20,
    "patient_available": 20,
}
# Kinds read from platform rows by their RTT code only (never offered to a student).
PLATFORM_CODES = {
    "first_activity": 10,
    "separate_pathway": 12,
    "after_treatment": 90,
    "during_active_monitoring": 91,
    "not_yet_referred": 92,
    "not_applicable": 98,
    "status_unknown": 99,
}


def test_event_kinds_match_contract():
    assert set(EVENT_KINDS) == set(CONTRACT_CODES) | set(PLATFORM_CODES)
    assert set(PLATFORM_ONLY_KINDS) == set(PLATFORM_CODES)
    for kind, code in {**CONTRACT_CODES, **PLATFORM_CODES}.items():
        assert EVENT_KINDS[kind].rtt_code == code
        assert rtt_code_for(kind) == code
        assert EVENT_KINDS[kind].label and EVENT_KINDS[kind].meaning


@pytest.mark.parametrize("ptype", ALL_TYPES)
@pytest.mark.parametrize("kind", sorted(CONTRACT_EFFECTS))
def test_each_event_kind_on_each_pathway_type(ptype, kind):
    expected = CONTRACT_EFFECTS[kind][ptype]
    assert effect_of(kind, ptype) == expected
    start, when, today = D(2025, 1, 6), D(2025, 1, 20), D(2025, 1, 27)
    state = evaluate(ptype, start, [Event(when, kind)], today)
    if expected == "continues":
        assert state.running
        assert state.clock_stop is None
        assert state.days_waited == 21
        assert state.ignored == ()
        assert state.rtt_code == CONTRACT_CODES[kind]
    elif expected == "stops":
        assert state.status == "stopped"
        assert state.clock_stop == when
        assert state.days_waited == 14
        assert state.ended_by == kind
        assert state.rtt_code == CONTRACT_CODES[kind]
    elif expected == "nullifies":
        assert state.status == "nullified"
        assert state.nullified is True
        assert state.breached is False
        assert state.clock_stop == when
        assert state.long_wait_weeks is None
        assert state.rtt_code == 33
    elif expected == "ends":
        assert state.status == "ended"
        assert state.clock_stop == when
        assert state.days_waited == 14
        assert state.breached is False
        assert state.days_to_breach is None
        assert state.ended_by == kind
        assert state.reported is False
    elif expected == "resets":
        assert state.running
        assert state.clock_start == when
        assert state.clock_number == 1
        assert state.days_waited == 7
        assert state.breach_date == when + timedelta(days=42)
        assert state.reset_by == kind
    elif expected == "adjusts":
        assert state.status == "at_risk"
        assert state.adjustment_open_since == when
        assert state.days_waited == 14  # frozen at the declined date
        assert state.breach_date is None
        assert state.days_to_breach is None
    elif expected == "resumes":  # nothing to resume: no adjustment is open
        assert state.running
        assert state.days_waited == 21
        assert [(i.index, i.reason) for i in state.ignored] == [(0, "no_open_adjustment")]
    elif expected == "transfers":
        assert state.status == "transferred"
        assert state.transferred_on == when
        assert state.clock_stop is None
        assert state.days_to_breach is None
        assert state.days_waited == 14
        assert state.rtt_code == 21
    else:  # a new clock while one runs changes nothing
        assert state.running
        assert state.clock_start == start
        assert [(i.index, i.reason) for i in state.ignored] == [(0, "clock_already_running")]
    assert state.status in STATUSES


@pytest.mark.parametrize("ptype", ALL_TYPES)
def test_new_clock_after_a_stop_starts_a_fresh_clock(ptype):
    start = D(2025, 1, 6)
    events = [Event(D(2025, 1, 20), "discharged"), Event(D(2025, 3, 3), "new_clock")]
    state = evaluate(ptype, start, events, D(2025, 3, 10))
    assert state.clock_start == D(2025, 3, 3)
    assert state.days_waited == 7
    assert state.clock_number == 2
    assert state.running
    target = PATHWAY_TYPES[ptype].target_days
    assert state.breach_date == D(2025, 3, 3) + timedelta(days=target + 1)
    assert state.rtt_code == 10


@pytest.mark.parametrize("ptype", ALL_TYPES)
def test_died_stops_every_clock_and_later_events_are_ignored(ptype):
    events = [Event(D(2025, 2, 1), "died"), Event(D(2025, 2, 5), "treatment_started")]
    state = evaluate(ptype, D(2025, 1, 6), events, D(2025, 3, 1))
    # RTT: a reported stop (code 36); elsewhere the pathway ends, not reported (r2).
    assert state.status == ("stopped" if ptype == "rtt" else "ended")
    assert state.clock_stop == D(2025, 2, 1)
    assert state.rtt_code == 36
    assert [(i.index, i.reason, i.ended_by) for i in state.ignored] == [
        (1, "clock_not_running", "died")
    ]


# ---------------------------------------------------------------------------
# DNAs, nullification and new clocks.
# ---------------------------------------------------------------------------


def test_first_appointment_dna_nullifies_rtt():
    state = evaluate(
        "rtt", D(2025, 1, 6), [Event(D(2025, 2, 3), "dna_first_appointment")], D(2025, 6, 1)
    )
    assert state.status == "nullified"
    assert state.nullified is True
    assert state.breached is False
    assert state.days_to_breach is None
    assert state.ended_by == "dna_first_appointment"


@pytest.mark.parametrize("earlier", ["activity", "decision_to_treat", "test_performed"])
def test_dna_after_earlier_activity_continues_the_clock(earlier):
    start, today = D(2025, 1, 6), D(2025, 6, 1)
    base = [Event(D(2025, 1, 20), earlier)]
    with_dna = [*base, Event(D(2025, 2, 3), "dna_first_appointment")]
    a = evaluate("rtt", start, base, today)
    b = evaluate("rtt", start, with_dna, today)
    assert clock_fields(a) == clock_fields(b)
    assert b.status == "breached"
    # r2: applied (it continues the clock), with the reason it did not nullify.
    assert b.ignored == ()
    assert b.applied == (0, 1)
    assert [(n.index, n.note) for n in b.notes] == [(1, "dna_after_activity")]
    assert b.rtt_code == 33


def test_dna_on_the_same_day_as_activity_follows_recorded_order():
    start, today = D(2025, 1, 6), D(2025, 3, 1)
    dna_first = [
        Event(D(2025, 2, 3), "activity", recorded_order=2),
        Event(D(2025, 2, 3), "dna_first_appointment", recorded_order=1),
    ]
    assert evaluate("rtt", start, dna_first, today).status == "nullified"
    activity_first = [
        Event(D(2025, 2, 3), "activity", recorded_order=1),
        Event(D(2025, 2, 3), "dna_first_appointment", recorded_order=2),
    ]
    assert evaluate("rtt", start, activity_first, today).running


@pytest.mark.parametrize("ptype", NON_RTT)
def test_cancer_and_diagnostic_clocks_are_not_nullified_by_dna(ptype):
    state = evaluate(
        ptype, D(2025, 1, 6), [Event(D(2025, 1, 10), "dna_first_appointment")], D(2025, 1, 20)
    )
    assert state.running
    assert state.nullified is False
    assert state.ignored == ()
    # The first seen adjustment waits for the rebooking; DM01 resets; 31-day carries on.
    assert state.awaiting_rebooking is (ptype in ("cancer_fds", "cancer_62"))
    expected_start = D(2025, 1, 10) if ptype == "diagnostic" else D(2025, 1, 6)
    assert state.clock_start == expected_start


def test_new_clock_after_nullified_dna_is_code_10_and_dna_can_nullify_again():
    start = D(2025, 1, 6)
    events = [
        Event(D(2025, 2, 3), "dna_first_appointment"),
        Event(D(2025, 2, 10), "new_clock"),
    ]
    state = evaluate("rtt", start, events, D(2025, 3, 1))
    assert state.clock_start == D(2025, 2, 10)
    assert state.rtt_code == 10
    assert state.nullified is False
    assert state.running
    again = evaluate(
        "rtt", start, [*events, Event(D(2025, 2, 20), "dna_first_appointment")], D(2025, 3, 1)
    )
    assert again.status == "nullified"
    assert again.clock_number == 2


@pytest.mark.parametrize("am", ["active_monitoring_patient", "active_monitoring_clinician"])
def test_new_clock_after_active_monitoring_is_code_11(am):
    events = [Event(D(2025, 2, 3), am), Event(D(2025, 5, 1), "new_clock")]
    state = evaluate("rtt", D(2025, 1, 6), events, D(2025, 5, 2))
    assert state.rtt_code == 11
    assert state.clock_start == D(2025, 5, 1)
    assert rtt_code_for("new_clock", am) == 11


def test_new_clock_after_treatment_is_code_10():
    events = [Event(D(2025, 2, 3), "treatment_started"), Event(D(2025, 5, 1), "new_clock")]
    assert evaluate("rtt", D(2025, 1, 6), events, D(2025, 5, 2)).rtt_code == 10
    assert rtt_code_for("new_clock", "treatment_started") == 10
    assert rtt_code_for("new_clock", "dna_first_appointment") == 10
    assert rtt_code_for("new_clock") == 10


def test_no_events_reports_code_10():
    assert evaluate("rtt", D(2025, 1, 6), [], D(2025, 1, 7)).rtt_code == 10


def test_latest_clock_is_reported():
    events = [
        Event(D(2024, 3, 1), "treatment_started"),  # first clock stopped in time
        Event(D(2024, 9, 1), "new_clock"),  # bilateral: second side
    ]
    state = evaluate("rtt", D(2024, 1, 1), events, D(2025, 1, 10))
    assert state.clock_start == D(2024, 9, 1)
    assert state.status == "breached"
    assert state.days_waited == 131
    assert state.clock_number == 2
    assert state.applied == (0, 1)


# ---------------------------------------------------------------------------
# Events that do not apply.
# ---------------------------------------------------------------------------


def test_event_before_clock_start_is_ignored():
    state = evaluate(
        "rtt", D(2025, 1, 6), [Event(D(2025, 1, 5), "treatment_started")], D(2025, 2, 1)
    )
    assert state.running
    assert [(i.index, i.reason, i.kind, i.date) for i in state.ignored] == [
        (0, "before_clock_start", "treatment_started", D(2025, 1, 5))
    ]


def test_event_after_today_is_ignored():
    state = evaluate(
        "rtt", D(2025, 1, 6), [Event(D(2025, 2, 2), "treatment_started")], D(2025, 2, 1)
    )
    assert state.running
    assert state.days_waited == 26
    assert [(i.index, i.reason) for i in state.ignored] == [(0, "in_future")]


def test_stop_when_no_clock_running_is_ignored():
    events = [Event(D(2025, 2, 1), "treatment_started"), Event(D(2025, 2, 5), "discharged")]
    state = evaluate("rtt", D(2025, 1, 6), events, D(2025, 3, 1))
    assert state.clock_stop == D(2025, 2, 1)
    assert state.ended_by == "treatment_started"
    assert [(i.index, i.reason, i.ended_by) for i in state.ignored] == [
        (1, "clock_not_running", "treatment_started")
    ]
    assert state.applied == (0,)


def test_events_are_applied_in_date_order_whatever_the_input_order():
    events = [Event(D(2025, 3, 1), "new_clock"), Event(D(2025, 2, 1), "treatment_started")]
    state = evaluate("rtt", D(2025, 1, 6), events, D(2025, 3, 10))
    assert state.clock_start == D(2025, 3, 1)
    assert state.applied == (1, 0)


def test_same_date_events_apply_in_recorded_order():
    start, today = D(2025, 1, 6), D(2025, 3, 10)
    stop_then_new = [
        Event(D(2025, 2, 1), "new_clock", recorded_order=2),
        Event(D(2025, 2, 1), "treatment_started", recorded_order=1),
    ]
    state = evaluate("rtt", start, stop_then_new, today)
    assert state.running and state.clock_start == D(2025, 2, 1)
    new_then_stop = [
        Event(D(2025, 2, 1), "new_clock", recorded_order=1),
        Event(D(2025, 2, 1), "treatment_started", recorded_order=2),
    ]
    state = evaluate("rtt", start, new_then_stop, today)
    assert state.status == "stopped" and state.clock_start == start
    assert [i.reason for i in state.ignored] == ["clock_already_running"]


def test_same_date_same_order_keeps_list_order():
    start, today = D(2025, 1, 6), D(2025, 3, 10)
    events = [Event(D(2025, 2, 1), "treatment_started"), Event(D(2025, 2, 1), "new_clock")]
    assert evaluate("rtt", start, events, today).running
    events.reverse()
    assert evaluate("rtt", start, events, today).status == "stopped"


# ---------------------------------------------------------------------------
# Transfers.
# ---------------------------------------------------------------------------


def test_transfer_out_ends_tracking_here():
    events = [
        Event(D(2025, 3, 1), "transfer_out"),
        Event(D(2025, 4, 1), "treatment_started"),
    ]
    state = evaluate("rtt", D(2025, 1, 6), events, D(2025, 6, 1))
    assert state.status == "transferred"
    assert state.transferred_on == D(2025, 3, 1)
    assert state.days_waited == 54
    assert state.days_to_breach is None
    assert state.breached is False
    assert state.clock_start == D(2025, 1, 6)  # the clock goes on with its original start
    assert [(i.reason, i.ended_by) for i in state.ignored] == [
        ("clock_not_running", "transfer_out")
    ]


def test_transfer_after_breach_reports_breached():
    state = evaluate(
        "cancer_62", D(2025, 1, 6), [Event(D(2025, 3, 20), "transfer_out")], D(2025, 4, 1)
    )
    assert state.status == "transferred"
    assert state.breached is True


def test_new_referral_after_transfer_starts_new_clock():
    events = [Event(D(2025, 3, 1), "transfer_out"), Event(D(2025, 5, 1), "new_clock")]
    state = evaluate("rtt", D(2025, 1, 6), events, D(2025, 5, 8))
    assert state.running
    assert state.clock_start == D(2025, 5, 1)
    assert state.transferred_on is None


# ---------------------------------------------------------------------------
# Long waits and bands.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "weeks"),
    [
        (364, None),
        (365, 52),
        (455, 52),
        (456, 65),
        (546, 65),
        (547, 78),
        (728, 78),
        (729, 104),
        (1000, 104),
    ],
)
def test_long_waits(days, weeks):
    start = D(2022, 1, 3)
    state = evaluate("rtt", start, [], start + timedelta(days=days))
    assert state.long_wait_weeks == weeks
    stopped = evaluate(
        "rtt", start, [Event(start + timedelta(days=days), "treatment_started")], D(2026, 1, 1)
    )
    assert stopped.long_wait_weeks == weeks


@pytest.mark.parametrize("ptype", NON_RTT)
def test_long_waits_are_rtt_only(ptype):
    assert evaluate(ptype, D(2022, 1, 3), [], D(2025, 1, 3)).long_wait_weeks is None


@pytest.mark.parametrize(
    ("days", "band"),
    [
        (0, "0-1 weeks"),
        (1, "0-1 weeks"),
        (7, "0-1 weeks"),
        (8, "1-2 weeks"),
        (125, "17-18 weeks"),
        (126, "17-18 weeks"),
        (127, "18-19 weeks"),
        (364, "51-52 weeks"),
        (365, "52-53 weeks"),
        (7100, "1014-1015 weeks"),
    ],
)
def test_rtt_band(days, band):
    assert rtt_band(days) == band
    start = D(2000, 1, 3)
    assert evaluate("rtt", start, [], start + timedelta(days=days)).rtt_band == band


# ---------------------------------------------------------------------------
# Pathway types, legacy values and errors.
# ---------------------------------------------------------------------------


def test_pathway_types_match_contract():
    assert {k: p.target_days for k, p in PATHWAY_TYPES.items()} == {
        "rtt": 126,
        "cancer_fds": 28,
        "cancer_62": 62,
        "cancer_31": 31,
        "diagnostic": 41,
    }
    for key, p in PATHWAY_TYPES.items():
        assert p.key == key and p.label and p.explanation
    assert PATHWAY_TYPES["rtt"].explanation.startswith("18-week RTT: referral to treatment")


@pytest.mark.parametrize(
    ("legacy", "canonical", "target"),
    [
        ("routine", "rtt", 126),
        ("urgent", "rtt", 126),
        ("2ww", "cancer_fds", 28),
        ("62day", "cancer_62", 62),
        ("31day", "cancer_31", 31),
        (" 2WW ", "cancer_fds", 28),
        ("RTT", "rtt", 126),
    ],
)
def test_legacy_pathway_types_map_on_read(legacy, canonical, target):
    assert canonical_pathway_type(legacy) == canonical
    state = evaluate(legacy, D(2025, 1, 6), [], D(2025, 1, 10))
    assert state.pathway_type == canonical
    assert state.target_days == target


def test_legacy_mapping_is_the_contracts():
    assert dict(LEGACY_PATHWAY_TYPES) == {
        "routine": "rtt",
        "urgent": "rtt",
        "2ww": "cancer_fds",
        "62day": "cancer_62",
        "31day": "cancer_31",
    }


def test_legacy_2ww_gets_fds_rules():
    # A 2ww row is judged on the 28-day FDS, not 14 days.
    state = evaluate("2ww", D(2025, 1, 6), [], D(2025, 1, 21))
    assert state.status == "on_track"
    assert state.breach_date == D(2025, 2, 4)


def test_unknown_pathway_type_raises():
    with pytest.raises(ValueError, match="Unknown pathway type 'ortho'"):
        evaluate("ortho", D(2025, 1, 6), [], D(2025, 1, 7))


def test_unknown_event_kind_raises():
    with pytest.raises(ValueError, match="Unknown event kind 'pause'"):
        evaluate("rtt", D(2025, 1, 6), [Event(D(2025, 1, 7), "pause")], D(2025, 1, 8))
    # Even when the event would otherwise be ignored.
    with pytest.raises(ValueError, match="Unknown event kind"):
        evaluate("rtt", D(2025, 1, 6), [Event(D(2024, 1, 7), "bogus")], D(2025, 1, 8))


def test_today_before_clock_start_raises():
    with pytest.raises(ValueError, match="before the clock start"):
        evaluate("rtt", D(2025, 1, 6), [], D(2025, 1, 5))


def test_no_pause_kind_exists_and_each_pathway_says_what_applies():
    assert not any("pause" in k for k in EVENT_KINDS)
    assert set(PAUSE_EXPLANATIONS) == set(PATHWAY_TYPES)
    rtt = pause_explanation("rtt")
    assert "1 October 2015" in rtt and "two reasonable offers" in rtt
    assert "clinical review" in rtt
    # Cancer waits have exactly two adjustments; each pathway names the one(s) it has.
    fds, c62, c31 = (pause_explanation(t) for t in ("cancer_fds", "cancer_62", "cancer_31"))
    assert "first seen adjustment" in fds and "not this one" in fds
    assert "first seen adjustment" in c62 and "treatment adjustment" in c62
    assert "treatment adjustment" in c31 and "28-day and 62-day" in c31
    assert "never had" not in " ".join(PAUSE_EXPLANATIONS.values())  # the r1 error
    dx = pause_explanation("diagnostic")
    assert "resets" in dx and "hospital never resets" in dx
    assert pause_explanation("2ww") == fds  # legacy names read as today's types
    assert pause_explanation(None) == PAUSES_OVERVIEW == pause_explanation("nonsense")
    assert "two adjustments" in PAUSES_OVERVIEW and "resets" in PAUSES_OVERVIEW


def test_effect_of_and_rtt_code_for_reject_unknown_kinds():
    with pytest.raises(ValueError):
        effect_of("pause", "rtt")
    with pytest.raises(ValueError):
        rtt_code_for("pause")


# ---------------------------------------------------------------------------
# The state object and PTL ordering.
# ---------------------------------------------------------------------------


def test_state_is_a_real_frozen_dataclass():
    state = evaluate("rtt", D(2025, 1, 6), [Event(D(2025, 1, 5), "activity")], D(2025, 3, 3))
    assert type(state) is ClockState
    assert dataclasses.is_dataclass(state)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.status = "stopped"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.ignored[0].reason = "in_future"  # type: ignore[misc]
    same = evaluate("rtt", D(2025, 1, 6), [Event(D(2025, 1, 5), "activity")], D(2025, 3, 3))
    assert state == same and hash(state) == hash(same)
    rebuilt = ClockState(**{f.name: getattr(state, f.name) for f in dataclasses.fields(state)})
    assert rebuilt == state
    assert dataclasses.replace(state, days_waited=1).days_waited == 1
    assert state.status_label == "On track"


def test_ordering_key_sorts_by_breach_risk():
    today = D(2025, 6, 1)
    states = {
        "stopped": evaluate(
            "rtt", D(2025, 1, 6), [Event(D(2025, 2, 1), "treatment_started")], today
        ),
        "transferred": evaluate(
            "rtt", D(2025, 1, 6), [Event(D(2025, 2, 1), "transfer_out")], today
        ),
        "nullified": evaluate(
            "rtt", D(2025, 1, 6), [Event(D(2025, 2, 1), "dna_first_appointment")], today
        ),
        "on_track": evaluate("rtt", D(2025, 5, 1), [], today),
        "at_risk": evaluate("rtt", D(2025, 2, 13), [], today),
        "just_breached": evaluate("rtt", D(2025, 1, 23), [], today),
        "long_breached": evaluate("rtt", D(2024, 1, 6), [], today),
        "cancer_close": evaluate("cancer_62", D(2025, 4, 1), [], today),
        "ended": evaluate("cancer_62", D(2025, 1, 6), [Event(D(2025, 2, 1), "died")], today),
        "adjustment_open": evaluate(
            "cancer_62", D(2025, 4, 1), [Event(D(2025, 5, 1), "admission_offer_declined")], today
        ),
        "breaches_today": evaluate("rtt", D(2025, 1, 25), [], today),
    }
    order = [name for name, _ in sorted(states.items(), key=lambda kv: ordering_key(kv[1]))]
    assert order == [
        "long_breached",
        "just_breached",
        "breaches_today",
        "adjustment_open",  # no breach date: chase it straight after today's breaches
        "cancer_close",
        "at_risk",
        "on_track",
        "stopped",
        "ended",
        "nullified",
        "transferred",
    ]


# ---------------------------------------------------------------------------
# Properties.
# ---------------------------------------------------------------------------

KINDS = sorted(EVENT_KINDS)


@st.composite
def pathways(draw, ptype=None, kinds=KINDS):
    if ptype is None:
        ptype = st.sampled_from([*ALL_TYPES, *LEGACY_PATHWAY_TYPES])
    start = draw(st.dates(min_value=D(2015, 1, 1), max_value=D(2026, 12, 31)))
    today = start + timedelta(days=draw(st.integers(0, 900)))
    events = draw(
        st.lists(
            st.builds(
                Event,
                date=st.integers(-30, 900).map(lambda n: start + timedelta(days=n)),
                kind=st.sampled_from(kinds),
                recorded_order=st.integers(0, 3),
            ),
            max_size=8,
        )
    )
    return draw(ptype), start, events, today


@given(pathways())
def test_days_waited_is_never_negative(p):
    state = evaluate(*p)
    assert state.days_waited >= 0
    assert state.weeks_waited == state.days_waited // 7


@given(pathways())
def test_state_is_internally_consistent(p):
    _, _, _, today = p
    state = evaluate(*p)
    target = PATHWAY_TYPES[state.pathway_type].target_days
    adjusted = state.adjusted_days
    assert state.target_days == target
    assert adjusted >= 0
    if state.pathway_type not in ("cancer_62", "cancer_31"):
        assert adjusted == 0 and state.adjustment_open_since is None
    frozen = state.adjustment_open_since is not None
    assert frozen <= state.running  # an open adjustment only on a running clock
    if state.breach_date is not None:
        assert state.breach_date == state.clock_start + timedelta(days=target + 1 + adjusted)
    else:
        assert frozen and state.status == "at_risk" and state.days_to_breach is None
    if not state.running:
        assert state.days_to_breach is None
    if state.running and not frozen:
        assert state.clock_stop is None
        assert state.days_waited == (today - state.clock_start).days - adjusted
        assert state.breach_date is not None
        assert state.breached == (today >= state.breach_date)
        assert state.days_to_breach == (state.breach_date - today).days
    if frozen:
        since = state.adjustment_open_since
        assert since is not None
        assert state.days_waited == (since - state.clock_start).days - adjusted
        assert state.breached == (state.days_waited > target)
    if state.status == "stopped":
        assert state.clock_stop is not None
        assert state.breached == (
            state.clock_stop > state.clock_start + timedelta(days=target + adjusted)
        )
    if state.status in ("ended", "nullified"):
        assert state.breached is False and not state.reported
    if state.status == "nullified":
        assert state.pathway_type == "rtt"
    # Every event is either applied or ignored, exactly once.
    seen = sorted([*state.applied, *(i.index for i in state.ignored)])
    assert seen == list(range(len(p[2])))


@given(pathways())
def test_running_clock_breach_date_is_start_plus_target_plus_one(p):
    state = evaluate(*p)
    if state.running and not state.adjusted_days and state.adjustment_open_since is None:
        target = {"rtt": 126, "cancer_fds": 28, "cancer_62": 62, "cancer_31": 31, "diagnostic": 41}
        assert state.breach_date == state.clock_start + timedelta(
            days=target[state.pathway_type] + 1
        )


@given(pathways(ptype=st.just("rtt")), st.integers(-30, 900))
def test_adding_activity_never_changes_an_rtt_clock(p, offset):
    ptype, start, events, today = p
    extra = Event(start + timedelta(days=offset), "activity", recorded_order=4)
    # The contract's own exception: an activity before a first-appointment DNA means the
    # DNA was not at the first appointment. Away from that, activity is inert.
    assume(not any(e.kind == "dna_first_appointment" and e.date >= extra.date for e in events))
    before = evaluate(ptype, start, events, today)
    for position in (0, len(events)):
        after = evaluate(ptype, start, [*events[:position], extra, *events[position:]], today)
        assert clock_fields(after) == clock_fields(before)


@given(pathways(), st.randoms(use_true_random=False))
@settings(max_examples=200)
def test_event_order_does_not_matter_with_distinct_dates(p, rnd):
    ptype, start, events, today = p
    distinct: dict[date, Event] = {}
    for e in events:
        distinct.setdefault(e.date, e)
    ordered = sorted(distinct.values(), key=lambda e: e.date)
    shuffled = list(ordered)
    rnd.shuffle(shuffled)
    a = evaluate(ptype, start, ordered, today)
    b = evaluate(ptype, start, shuffled, today)
    assert clock_fields(a) == clock_fields(b)
    assert a.rtt_code == b.rtt_code

    def ignored(s, evs):
        return sorted((i.date, i.kind, i.reason) for i in s.ignored)

    assert ignored(a, ordered) == ignored(b, shuffled)
