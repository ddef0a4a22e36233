"""Revision 2 of the rules contract, at its boundaries (PTL_RULES.md sections marked r2).

Each test states the rule it holds the engine to, with dates written out by hand from the
contract rather than computed with the engine's own tables.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.rules.pathway import (
    EVENT_KINDS,
    PLATFORM_ONLY_KINDS,
    Event,
    effect_of,
    evaluate,
    is_urgent_suspected_cancer,
    kinds_offered,
    rtt_code_for,
)

D = date
E = Event
START = D(2025, 1, 6)


def notes(state):
    return [(n.index, n.note) for n in state.notes]


def ignored(state):
    return [(i.index, i.reason) for i in state.ignored]


# ---------------------------------------------------------------------------
# RTT: which DNA nullifies (only the first appointment after a referral).
# ---------------------------------------------------------------------------


def test_dna_on_the_first_appointment_of_the_rows_first_clock_nullifies():
    state = evaluate("rtt", START, [E(D(2025, 2, 3), "dna_first_appointment")], D(2025, 3, 1))
    assert state.status == "nullified" and state.notes == ()


def test_dna_on_the_first_appointment_after_a_re_referral_nullifies():
    events = [
        E(D(2025, 2, 3), "discharged"),  # back to the GP
        E(D(2025, 4, 1), "new_clock"),  # re-referred
        E(D(2025, 4, 20), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 5, 1))
    assert state.status == "nullified"
    assert state.clock_start == D(2025, 4, 1) and state.clock_number == 2


def test_dna_after_a_new_clock_following_transfer_back_nullifies():
    events = [
        E(D(2025, 2, 3), "transfer_out"),
        E(D(2025, 4, 1), "new_clock"),
        E(D(2025, 4, 20), "dna_first_appointment"),
    ]
    assert evaluate("rtt", START, events, D(2025, 5, 1)).status == "nullified"


def test_dna_after_a_clock_restarted_after_a_nullified_dna_nullifies_again():
    events = [
        E(D(2025, 2, 3), "dna_first_appointment"),
        E(D(2025, 2, 10), "new_clock"),
        E(D(2025, 3, 3), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 4, 1))
    assert state.status == "nullified" and state.clock_number == 2


@pytest.mark.parametrize("am", ["active_monitoring_patient", "active_monitoring_clinician"])
def test_dna_after_active_monitoring_new_clock_does_not_nullify(am):
    events = [
        E(D(2025, 2, 3), am),
        E(D(2025, 5, 1), "new_clock"),
        E(D(2025, 5, 20), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 6, 1))
    assert state.running and state.clock_start == D(2025, 5, 1)
    assert notes(state) == [(2, "dna_not_after_referral")]


def test_dna_after_a_decision_to_treat_clock_does_not_nullify():
    events = [
        E(D(2025, 2, 3), "active_monitoring_clinician"),
        E(D(2025, 5, 1), "decision_to_treat"),
        E(D(2025, 5, 20), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 6, 1))
    assert state.running
    # The decision to treat was made with the patient: they have been seen on this clock.
    assert notes(state) == [(2, "dna_after_activity")]


def test_dna_after_a_new_clock_following_treatment_does_not_nullify():
    events = [
        E(D(2025, 2, 3), "treatment_started"),
        E(D(2025, 5, 1), "new_clock"),  # second side of a bilateral procedure
        E(D(2025, 5, 20), "dna_first_appointment"),
    ]
    state = evaluate("rtt", START, events, D(2025, 6, 1))
    assert state.running and notes(state) == [(2, "dna_not_after_referral")]


@pytest.mark.parametrize(
    "priority", ["Urgent suspected cancer", "urgent  SUSPECTED cancer", "2WW", "Two-week wait"]
)
def test_dna_on_an_urgent_suspected_cancer_rtt_row_does_not_nullify(priority):
    events = [E(D(2025, 2, 3), "dna_first_appointment")]
    state = evaluate("rtt", START, events, D(2025, 3, 1), priority=priority)
    assert state.running and state.days_waited == 54
    assert notes(state) == [(0, "dna_urgent_suspected_cancer")]
    # A clinician's decision to discharge back to primary care is what stops it.
    discharged = evaluate(
        "rtt", START, [*events, E(D(2025, 2, 10), "discharged")], D(2025, 3, 1), priority=priority
    )
    assert discharged.status == "stopped" and discharged.ended_by == "discharged"


@pytest.mark.parametrize("priority", [None, "", "Routine", "Urgent", "P2", "cancer?"])
def test_other_priorities_keep_the_nullification(priority):
    state = evaluate(
        "rtt", START, [E(D(2025, 2, 3), "dna_first_appointment")], D(2025, 3, 1), priority=priority
    )
    assert state.status == "nullified"


def test_is_urgent_suspected_cancer():
    assert is_urgent_suspected_cancer("Urgent suspected cancer")
    assert is_urgent_suspected_cancer(" USC ")
    assert not is_urgent_suspected_cancer("Urgent")
    assert not is_urgent_suspected_cancer(None)


def test_priority_changes_no_arithmetic():
    for priority in (None, "Urgent suspected cancer", "P1a"):
        state = evaluate(
            "rtt", START, [E(D(2025, 2, 3), "activity")], D(2025, 3, 3), priority=priority
        )
        assert (state.days_waited, state.breach_date) == (56, D(2025, 5, 13))


# ---------------------------------------------------------------------------
# RTT: a decision to treat after active monitoring starts the new clock (code 11).
# ---------------------------------------------------------------------------


def test_decision_to_treat_after_active_monitoring_starts_a_clock_on_its_date():
    events = [E(D(2025, 2, 3), "active_monitoring_patient"), E(D(2025, 5, 1), "decision_to_treat")]
    state = evaluate("rtt", START, events, D(2025, 5, 1))
    assert state.running and state.days_waited == 0
    assert (state.clock_start, state.rtt_code, state.clock_number) == (D(2025, 5, 1), 11, 2)
    assert state.breach_date == D(2025, 5, 1) + timedelta(days=127)
    assert rtt_code_for("decision_to_treat", "active_monitoring_patient") == 11
    assert rtt_code_for("decision_to_treat", "active_monitoring_clinician", "rtt") == 11


def test_decision_to_treat_while_a_clock_runs_or_after_treatment_starts_nothing():
    running = evaluate("rtt", START, [E(D(2025, 2, 3), "decision_to_treat")], D(2025, 3, 1))
    assert running.clock_start == START and running.rtt_code == 20 and running.clock_number == 1
    treated = evaluate(
        "rtt",
        START,
        [E(D(2025, 2, 3), "treatment_started"), E(D(2025, 4, 1), "decision_to_treat")],
        D(2025, 5, 1),
    )
    assert treated.status == "stopped"
    assert ignored(treated) == [(1, "clock_not_running")]
    assert rtt_code_for("decision_to_treat", "treatment_started") == 20


def test_decision_to_treat_after_cancer_active_monitoring_is_not_a_new_clock():
    events = [
        E(D(2025, 2, 3), "active_monitoring_clinician"),
        E(D(2025, 3, 1), "decision_to_treat"),
    ]
    state = evaluate("cancer_62", START, events, D(2025, 3, 10))
    assert state.status == "stopped" and state.ended_by == "active_monitoring_clinician"
    assert ignored(state) == [(1, "clock_not_running")]
    assert rtt_code_for("decision_to_treat", "active_monitoring_clinician", "cancer_62") == 20


# ---------------------------------------------------------------------------
# Cancer: active monitoring is a first treatment; endings that are not reported.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("ptype", ["cancer_62", "cancer_31"])
@pytest.mark.parametrize("am", ["active_monitoring_patient", "active_monitoring_clinician"])
def test_active_monitoring_stops_62_and_31_day_clocks_as_reported(ptype, am):
    state = evaluate(ptype, START, [E(D(2025, 2, 3), am)], D(2025, 3, 1))
    assert state.status == "stopped" and state.reported and state.days_waited == 28


@pytest.mark.parametrize("ptype", ["cancer_fds", "diagnostic"])
def test_active_monitoring_has_no_effect_on_fds_or_diagnostic(ptype):
    state = evaluate(ptype, START, [E(D(2025, 1, 10), "active_monitoring_patient")], D(2025, 1, 20))
    assert state.running and state.ignored == ()


@pytest.mark.parametrize(
    ("ptype", "kind"),
    [
        ("cancer_62", "cancer_ruled_out"),
        ("cancer_62", "decision_not_to_treat"),
        ("cancer_31", "decision_not_to_treat"),
        ("cancer_62", "declined_treatment"),
        ("cancer_31", "declined_treatment"),
        ("cancer_fds", "discharged"),
        ("cancer_62", "discharged"),
        ("cancer_31", "discharged"),
        ("diagnostic", "discharged"),
        ("cancer_fds", "died"),
        ("diagnostic", "died"),
    ],
)
def test_endings_after_the_breach_date_are_never_a_breach(ptype, kind):
    late = START + timedelta(days=100)  # past every cancer and diagnostic target
    state = evaluate(ptype, START, [E(late, kind)], late + timedelta(days=3))
    assert state.status == "ended"
    assert state.breached is False and state.days_to_breach is None
    assert state.clock_stop == late and state.days_waited == 100
    assert state.breach_date == START + timedelta(days=state.target_days + 1)


def test_cancer_ruled_out_still_stops_fds_as_reported():
    state = evaluate("cancer_fds", START, [E(D(2025, 2, 10), "cancer_ruled_out")], D(2025, 2, 11))
    assert state.status == "stopped" and state.breached is True  # day 35 of 28


def test_a_new_clock_after_an_ended_pathway_starts_a_fresh_clock():
    events = [E(D(2025, 2, 3), "cancer_ruled_out"), E(D(2025, 6, 2), "new_clock")]
    state = evaluate("cancer_62", START, events, D(2025, 6, 9))
    assert state.running and state.clock_start == D(2025, 6, 2) and state.clock_number == 2


# ---------------------------------------------------------------------------
# Cancer: the first seen adjustment (FDS and 62-day).
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("ptype", "target"), [("cancer_fds", 28), ("cancer_62", 62)])
def test_first_seen_adjustment_resets_the_start_to_the_rebooking_date(ptype, target):
    dna, rebook, today = D(2025, 1, 20), D(2025, 1, 27), D(2025, 2, 3)
    waiting = evaluate(ptype, START, [E(dna, "dna_first_appointment")], today)
    assert waiting.clock_start == START and waiting.awaiting_rebooking
    state = evaluate(ptype, START, [E(dna, "dna_first_appointment"), E(rebook, "new_clock")], today)
    assert state.clock_start == rebook and state.days_waited == 7
    assert state.breach_date == rebook + timedelta(days=target + 1)
    assert state.clock_number == 1 and state.reset_by == "new_clock"
    assert not state.awaiting_rebooking and state.ignored == ()


def test_first_seen_adjustment_on_the_dna_day_itself():
    dna = D(2025, 1, 20)
    events = [E(dna, "dna_first_appointment"), E(dna, "new_clock", recorded_order=1)]
    state = evaluate("cancer_fds", START, events, dna)
    assert state.clock_start == dna and state.days_waited == 0


def test_no_first_seen_adjustment_after_the_patient_was_seen():
    events = [
        E(D(2025, 1, 10), "activity"),
        E(D(2025, 1, 20), "dna_first_appointment"),
        E(D(2025, 1, 27), "new_clock"),
    ]
    state = evaluate("cancer_62", START, events, D(2025, 2, 3))
    assert state.clock_start == START
    assert notes(state) == [(1, "dna_after_activity")]
    assert ignored(state) == [(2, "clock_already_running")]


def test_no_first_seen_adjustment_on_31_days():
    events = [E(D(2025, 1, 20), "dna_first_appointment"), E(D(2025, 1, 27), "new_clock")]
    state = evaluate("cancer_31", START, events, D(2025, 2, 3))
    assert state.clock_start == START and ignored(state) == [(1, "clock_already_running")]


# ---------------------------------------------------------------------------
# Cancer: the treatment adjustment (62-day and 31-day).
# ---------------------------------------------------------------------------


def test_an_adjustment_of_zero_days_changes_nothing():
    day = D(2025, 1, 20)
    events = [E(day, "admission_offer_declined"), E(day, "patient_available", recorded_order=1)]
    state = evaluate("cancer_31", START, events, D(2025, 1, 27))
    plain = evaluate("cancer_31", START, [], D(2025, 1, 27))
    assert state.adjusted_days == 0 and state.adjustment_open_since is None
    assert (state.days_waited, state.breach_date, state.status) == (
        plain.days_waited,
        plain.breach_date,
        plain.status,
    )


def test_an_open_adjustment_freezes_the_wait_with_no_breach_date():
    declined = D(2025, 1, 20)
    for today in (declined, D(2025, 3, 1), D(2025, 12, 1)):
        state = evaluate("cancer_62", START, [E(declined, "admission_offer_declined")], today)
        assert state.status == "at_risk"
        assert state.days_waited == 14
        assert state.breach_date is None and state.days_to_breach is None
        assert state.adjustment_open_since == declined and state.breached is False


def test_an_open_adjustment_after_the_breach_stays_breached():
    declined = START + timedelta(days=70)  # day 70 of 62
    state = evaluate("cancer_62", START, [E(declined, "admission_offer_declined")], D(2025, 5, 1))
    assert state.status == "breached" and state.breached
    assert state.breach_date == START + timedelta(days=63)
    assert state.days_to_breach == -7 and state.days_waited == 70


def test_a_closed_adjustment_moves_the_breach_date_by_its_length():
    events = [E(D(2025, 1, 20), "admission_offer_declined"), E(D(2025, 2, 10), "patient_available")]
    state = evaluate("cancer_62", START, events, D(2025, 2, 17))
    assert state.adjusted_days == 21
    assert state.days_waited == 42 - 21
    assert state.breach_date == START + timedelta(days=63 + 21)
    assert state.days_to_breach == (state.breach_date - D(2025, 2, 17)).days


def test_two_adjustments_add_up():
    events = [
        E(D(2025, 1, 20), "admission_offer_declined"),
        E(D(2025, 1, 27), "patient_available"),
        E(D(2025, 2, 3), "admission_offer_declined"),
        E(D(2025, 2, 6), "patient_available"),
    ]
    assert evaluate("cancer_31", START, events, D(2025, 2, 10)).adjusted_days == 10


def test_patient_available_with_no_open_adjustment_changes_nothing():
    state = evaluate("cancer_31", START, [E(D(2025, 1, 20), "patient_available")], D(2025, 1, 27))
    assert ignored(state) == [(0, "no_open_adjustment")] and state.adjusted_days == 0


def test_a_second_decline_while_one_is_open_changes_nothing():
    events = [
        E(D(2025, 1, 20), "admission_offer_declined"),
        E(D(2025, 1, 25), "admission_offer_declined"),
    ]
    state = evaluate("cancer_62", START, events, D(2025, 2, 1))
    assert ignored(state) == [(1, "adjustment_already_open")]
    assert state.adjustment_open_since == D(2025, 1, 20)


def test_a_stop_closes_an_open_adjustment_and_says_so():
    events = [E(D(2025, 1, 20), "admission_offer_declined"), E(D(2025, 2, 10), "treatment_started")]
    state = evaluate("cancer_31", START, events, D(2025, 2, 17))
    assert state.status == "stopped" and state.adjusted_days == 21
    assert state.days_waited == 14  # counted only to the declined date
    assert notes(state) == [(1, "adjustment_closed_by_stop")]


@pytest.mark.parametrize("ptype", ["rtt", "cancer_fds", "diagnostic"])
def test_no_treatment_adjustment_outside_62_and_31_days(ptype):
    events = [E(D(2025, 1, 20), "admission_offer_declined"), E(D(2025, 2, 10), "patient_available")]
    state = evaluate(ptype, START, events, D(2025, 2, 17))
    assert state.running and state.adjusted_days == 0 and state.days_waited == 42
    assert state.ignored == ()


# ---------------------------------------------------------------------------
# DM01: a DNA or a patient cancellation resets the clock.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dna_first_appointment", "patient_cancelled"])
def test_dm01_reset_on_the_breach_day(kind):
    breach_day = START + timedelta(days=42)
    before = evaluate("diagnostic", START, [], breach_day)
    assert before.status == "breached" and before.days_to_breach == 0
    state = evaluate("diagnostic", START, [E(breach_day, kind)], breach_day)
    assert state.status == "on_track" and state.breached is False
    assert state.clock_start == breach_day and state.days_waited == 0
    assert state.breach_date == breach_day + timedelta(days=42)


@pytest.mark.parametrize("kind", ["dna_first_appointment", "patient_cancelled"])
def test_dm01_reset_on_the_last_compliant_day(kind):
    last_ok = START + timedelta(days=41)
    state = evaluate("diagnostic", START, [E(last_ok, kind)], last_ok + timedelta(days=41))
    assert state.clock_start == last_ok and state.status == "at_risk"
    assert state.days_to_breach == 1


def test_dm01_resets_again_and_a_test_after_a_reset_stops_the_new_wait():
    events = [
        E(D(2025, 1, 20), "dna_first_appointment"),
        E(D(2025, 2, 3), "patient_cancelled"),
        E(D(2025, 2, 17), "test_performed"),
    ]
    state = evaluate("diagnostic", START, events, D(2025, 3, 1))
    assert state.status == "stopped" and state.clock_start == D(2025, 2, 3)
    assert state.days_waited == 14 and state.reset_by == "patient_cancelled"


@pytest.mark.parametrize("ptype", ["rtt", "cancer_fds", "cancer_62", "cancer_31"])
def test_a_patient_cancellation_never_stops_or_resets_other_clocks(ptype):
    state = evaluate(ptype, START, [E(D(2025, 1, 20), "patient_cancelled")], D(2025, 1, 27))
    assert state.running and state.clock_start == START and state.days_waited == 21


# ---------------------------------------------------------------------------
# Platform codes: 10 and 11 (first activity), 12 (separate pathway), 90-99.
# ---------------------------------------------------------------------------


def test_first_activity_while_a_clock_runs_is_not_a_new_clock_nor_an_attendance():
    events = [E(START, "first_activity"), E(D(2025, 2, 3), "dna_first_appointment")]
    state = evaluate("rtt", START, events, D(2025, 3, 1))
    assert state.status == "nullified"  # code 10 is the referral's own record, not a visit
    assert state.clock_number == 1 and state.ignored == ()


@pytest.mark.parametrize(
    ("stop", "code"),
    [("dna_first_appointment", 10), ("treatment_started", 10), ("active_monitoring_patient", 11)],
)
def test_first_activity_when_no_clock_runs_starts_one(stop, code):
    events = [E(D(2025, 2, 3), stop), E(D(2025, 4, 1), "first_activity")]
    state = evaluate("rtt", START, events, D(2025, 4, 8))
    assert state.running and state.clock_start == D(2025, 4, 1)
    assert state.rtt_code == code and state.clock_number == 2


def test_a_separate_pathway_never_restarts_this_clock():
    events = [E(D(2025, 2, 3), "treatment_started"), E(D(2025, 4, 1), "separate_pathway")]
    state = evaluate("rtt", START, events, D(2025, 4, 8))
    assert state.status == "stopped" and state.clock_start == START
    assert state.applied == (0, 1) and state.ignored == () and state.rtt_code == 30


@pytest.mark.parametrize(
    "kind",
    [
        "after_treatment",
        "during_active_monitoring",
        "not_yet_referred",
        "not_applicable",
        "status_unknown",
    ],
)
@pytest.mark.parametrize("stopped", [False, True])
def test_codes_90_to_99_are_kept_and_change_nothing(kind, stopped):
    base = [E(D(2025, 2, 3), "treatment_started")] if stopped else []
    before = evaluate("rtt", START, base, D(2025, 4, 8))
    after = evaluate("rtt", START, [*base, E(D(2025, 3, 1), kind)], D(2025, 4, 8))
    assert (after.status, after.clock_start, after.days_waited, after.rtt_code) == (
        before.status,
        before.clock_start,
        before.days_waited,
        before.rtt_code,
    )
    assert len(base) in after.applied and after.ignored == ()


# ---------------------------------------------------------------------------
# What /update offers where.
# ---------------------------------------------------------------------------


def test_new_kinds_are_offered_only_where_they_mean_something():
    assert "admission_offer_declined" in kinds_offered("cancer_62")
    assert "patient_available" in kinds_offered("cancer_31")
    for ptype in ("rtt", "cancer_fds", "diagnostic"):
        assert "admission_offer_declined" not in kinds_offered(ptype)
        assert "patient_available" not in kinds_offered(ptype)
    for ptype in ("rtt", "cancer_fds", "cancer_62", "cancer_31", "diagnostic"):
        assert "patient_cancelled" in kinds_offered(ptype)
        assert not set(kinds_offered(ptype)) & PLATFORM_ONLY_KINDS
    assert "test_performed" in kinds_offered("diagnostic")
    assert "cancer_ruled_out" not in kinds_offered("cancer_31")


def test_every_kind_has_a_pathway_specific_meaning_where_its_effect_differs():
    # The meaning a student reads on a pathway must not claim an effect it doesn't have.
    for kind in EVENT_KINDS.values():
        for ptype in ("rtt", "cancer_fds", "cancer_62", "cancer_31", "diagnostic"):
            meaning = kind.meaning_for(ptype)
            assert meaning
            if effect_of(kind.key, ptype) == "continues":
                assert "stops the" not in meaning or "doesn't stop" in meaning, (kind.key, ptype)
