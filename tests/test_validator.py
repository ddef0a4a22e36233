"""The pathway validator: every finding, clean pathways stay clean, it never raises."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.pathway import EVENT_KINDS, Event
from bot.rules.validator import Finding, validate

D = date
E = Event
TODAY = D(2025, 10, 20)
START = D(2025, 6, 2)


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, findings
    return matching[0]


# ---------------------------------------------------------------------------
# Clean pathways.
# ---------------------------------------------------------------------------

CLEAN = {
    "rtt": [
        E(D(2025, 6, 20), "activity"),
        E(D(2025, 7, 14), "decision_to_treat"),
        E(D(2025, 9, 1), "treatment_started"),
    ],
    "rtt_running": [E(D(2025, 6, 20), "activity")],
    "rtt_nullified_then_rebooked": [
        E(D(2025, 6, 20), "dna_first_appointment"),
        E(D(2025, 6, 25), "new_clock"),
        E(D(2025, 7, 10), "activity"),
    ],
    "rtt_active_monitoring_then_new_clock": [
        E(D(2025, 6, 20), "activity"),
        E(D(2025, 6, 20), "active_monitoring_clinician", recorded_order=1),
        E(D(2025, 9, 1), "new_clock"),
    ],
    "cancer_fds": [E(D(2025, 6, 10), "activity"), E(D(2025, 6, 25), "diagnosis_communicated")],
    "cancer_62": [
        E(D(2025, 6, 10), "activity"),
        E(D(2025, 6, 25), "diagnosis_communicated"),
        E(D(2025, 7, 1), "decision_to_treat"),
        E(D(2025, 7, 28), "treatment_started"),
    ],
    "cancer_31": [E(START, "decision_to_treat"), E(D(2025, 6, 30), "treatment_started")],
    "diagnostic": [E(D(2025, 7, 1), "test_performed")],
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_a_clean_pathway_has_no_findings(name):
    ptype = name.split("_")[0] if not name.startswith("cancer") else "_".join(name.split("_")[:2])
    assert validate(ptype, START, CLEAN[name], TODAY, referral_date=START) == []


def test_a_pathway_with_no_events_is_clean():
    for ptype in ("rtt", "cancer_fds", "cancer_62", "cancer_31", "diagnostic"):
        assert validate(ptype, START, [], TODAY) == []


# ---------------------------------------------------------------------------
# Each finding.
# ---------------------------------------------------------------------------


def test_event_before_clock_start():
    f = only(
        validate("rtt", START, [E(D(2025, 5, 30), "activity")], TODAY), "event_before_clock_start"
    )
    assert f.severity == "error"
    assert "30 May 2025" in f.message and "2 Jun 2025" in f.message
    assert f.event_index == 0
    assert "rules suite" in f.source


def test_event_after_clock_stopped_with_no_new_clock():
    events = [E(D(2025, 8, 1), "treatment_started"), E(D(2025, 8, 20), "discharged")]
    f = only(validate("rtt", START, events, TODAY), "event_after_clock_stop")
    assert f.severity == "warning"
    assert f.event_index == 1
    assert "already stopped" in f.message and "new clock" in f.message


def test_activity_after_the_clock_stopped_is_only_information():
    events = [E(D(2025, 8, 1), "treatment_started"), E(D(2025, 8, 20), "activity")]
    f = only(validate("rtt", START, events, TODAY), "event_after_clock_stop")
    assert f.severity == "info"
    assert "Follow-up" in f.message


def test_new_clock_while_one_is_running():
    f = only(
        validate("rtt", START, [E(D(2025, 7, 1), "new_clock")], TODAY), "new_clock_while_running"
    )
    assert f.severity == "warning"
    assert "2 Jun 2025" in f.message  # names the clock that was running
    assert "stopped" in f.message


def test_new_clock_while_a_second_clock_is_running_names_that_clock():
    events = [
        E(D(2025, 7, 1), "treatment_started"),
        E(D(2025, 8, 1), "new_clock"),
        E(D(2025, 9, 1), "new_clock"),
    ]
    f = only(validate("rtt", START, events, TODAY), "new_clock_while_running")
    assert f.event_index == 2
    assert "1 Aug 2025" in f.message


def test_first_appointment_dna_after_earlier_activity():
    events = [E(D(2025, 6, 20), "activity"), E(D(2025, 7, 1), "dna_first_appointment")]
    f = only(validate("rtt", START, events, TODAY), "dna_after_activity")
    assert f.severity == "warning"
    assert f.event_index == 1
    assert "first appointment after the referral" in f.message
    # r2 wording point 5: discharge after a later DNA is a clinician's judgement, by policy.
    assert "clinician judges that it is not against their interests" in f.message
    assert "published access policy" in f.message
    assert "local policy allows" not in f.message


def test_legacy_2ww():
    f = only(validate("2ww", START, [], TODAY), "legacy_2ww")
    assert f.severity == "warning"
    assert "October 2023" in f.message and "28-day Faster Diagnosis Standard" in f.message
    assert "Cancer Waiting Times" in f.source


@pytest.mark.parametrize("legacy", ["routine", "urgent", "Routine"])
def test_legacy_priority_as_pathway_type(legacy):
    f = only(validate(legacy, START, [], TODAY), "legacy_priority_as_type")
    assert f.severity == "info"
    assert "priority" in f.message and "18 weeks" in f.message


@pytest.mark.parametrize("legacy", ["62day", "31day"])
def test_legacy_cancer_names(legacy):
    assert codes(validate(legacy, START, [], TODAY)) == ["legacy_pathway_name"]


def test_clock_start_before_referral_date():
    f = only(
        validate("rtt", START, [], TODAY, referral_date=D(2025, 6, 5)),
        "clock_start_before_referral",
    )
    assert f.severity == "error"
    assert "receives the referral" in f.message
    assert validate("rtt", START, [], TODAY, referral_date=START) == []
    assert validate("rtt", START, [], TODAY, referral_date=D(2025, 5, 1)) == []


def test_treatment_date_in_the_future():
    f = only(
        validate("cancer_62", START, [E(D(2025, 10, 21), "treatment_started")], TODAY),
        "treatment_in_future",
    )
    assert f.severity == "error"
    assert "21 Oct 2025" in f.message and "20 Oct 2025" in f.message


def test_other_events_in_the_future():
    f = only(validate("rtt", START, [E(D(2025, 11, 1), "activity")], TODAY), "event_in_future")
    assert f.severity == "warning"


def test_cancer_31_without_a_decision_to_treat_date():
    f = only(validate("cancer_31", None, [], TODAY), "cancer_31_without_dtt")
    assert f.severity == "error"
    assert "decision to treat" in f.message


def test_cancer_31_decision_to_treat_not_on_the_clock_start():
    f = only(
        validate("cancer_31", START, [E(D(2025, 6, 9), "decision_to_treat")], TODAY),
        "cancer_31_start_not_dtt",
    )
    assert f.severity == "warning"
    assert "9 Jun 2025" in f.message and "2 Jun 2025" in f.message
    assert "earliest clinically appropriate date" in f.message


def test_cancer_31_clock_may_start_on_ecad_after_the_decision_to_treat():
    # r2 wording point 7: a DTT before the 31-day start is right when the start is the ECAD.
    findings = validate("cancer_31", START, [E(D(2025, 5, 28), "decision_to_treat")], TODAY)
    assert codes(findings) == ["cancer_31_starts_on_ecad"]
    assert findings[0].severity == "info"
    assert "event_before_clock_start" not in codes(findings)


def test_cancer_31_dtt_is_compared_with_the_clock_it_belongs_to():
    events = [
        E(D(2025, 6, 20), "treatment_started"),
        E(D(2025, 7, 1), "new_clock"),
        E(D(2025, 7, 1), "decision_to_treat", recorded_order=1),
    ]
    assert validate("cancer_31", START, events, TODAY) == []
    late = [*events[:2], E(D(2025, 7, 8), "decision_to_treat")]
    f = only(validate("cancer_31", START, late, TODAY), "cancer_31_start_not_dtt")
    assert "1 Jul 2025" in f.message  # the clock it belongs to, not the row's first clock


def test_missing_clock_start_on_other_pathways():
    f = only(validate("rtt", None, [], TODAY), "missing_clock_start")
    assert f.severity == "error"


def test_clock_start_in_the_future():
    f = only(validate("rtt", D(2025, 10, 21), [], TODAY), "clock_start_in_future")
    assert f.severity == "error"


@pytest.mark.parametrize("ptype", ["rtt", "cancer_62", "cancer_31"])
def test_two_first_treatments_where_treatment_stops_the_clock(ptype):
    events = [E(D(2025, 6, 20), "treatment_started"), E(D(2025, 7, 20), "treatment_started")]
    f = only(validate(ptype, START, events, TODAY), "two_first_treatments")
    assert f.severity == "error"
    assert f.event_index == 1
    if ptype == "rtt":
        assert "same course" in f.message and "bilateral" in f.message
    else:
        # r2 wording point 7: RTT's "same course" and bilateral wording is not for cancer.
        assert "same course" not in f.message and "bilateral" not in f.message
        assert "its own 31-day clock" in f.message


@pytest.mark.parametrize("ptype", ["cancer_fds", "diagnostic"])
def test_two_first_treatments_where_treatment_does_not_stop_the_clock(ptype):
    events = [E(D(2025, 6, 20), "treatment_started"), E(D(2025, 6, 21), "treatment_started")]
    f = only(validate(ptype, START, events, TODAY), "two_first_treatments")
    assert f.event_index == 1


def test_a_second_treatment_on_a_new_clock_is_fine():
    events = [
        E(D(2025, 6, 20), "treatment_started"),
        E(D(2025, 7, 1), "new_clock"),  # second side of a bilateral procedure
        E(D(2025, 8, 20), "treatment_started"),
    ]
    assert validate("rtt", START, events, TODAY) == []


def test_event_after_transfer():
    events = [E(D(2025, 7, 1), "transfer_out"), E(D(2025, 8, 1), "treatment_started")]
    f = only(validate("rtt", START, events, TODAY), "event_after_transfer")
    assert "original clock start" in f.message


def test_event_after_nullified_clock():
    events = [E(D(2025, 6, 20), "dna_first_appointment"), E(D(2025, 8, 1), "activity")]
    f = only(validate("rtt", START, events, TODAY), "event_after_nullified_clock")
    assert "new clock" in f.message and "code 10" in f.message


@pytest.mark.parametrize("ptype", ["cancer_fds", "cancer_62"])
def test_dna_on_fds_and_62_days_waits_for_the_rebooking(ptype):
    f = only(
        validate(ptype, START, [E(D(2025, 6, 5), "dna_first_appointment")], TODAY),
        "awaiting_rebooking",
    )
    assert f.severity == "info"
    assert "first seen adjustment" in f.message and "New clock start" in f.message
    rebooked = [E(D(2025, 6, 5), "dna_first_appointment"), E(D(2025, 6, 9), "new_clock")]
    assert validate(ptype, START, rebooked, TODAY) == []


def test_dna_on_31_days_is_neither_nullified_nor_adjusted():
    f = only(
        validate("cancer_31", START, [E(D(2025, 6, 5), "dna_first_appointment")], TODAY),
        "dna_not_nullified",
    )
    assert f.severity == "info"
    assert "doesn't stop or adjust a 31-day clock" in f.message


def test_dna_on_a_diagnostic_pathway_is_a_clean_reset():
    assert validate("diagnostic", START, [E(D(2025, 6, 5), "dna_first_appointment")], TODAY) == []


def test_dna_on_an_urgent_suspected_cancer_rtt_row_is_explained():
    events = [E(D(2025, 6, 5), "dna_first_appointment")]
    f = only(
        validate("rtt", START, events, TODAY, priority="Urgent suspected cancer"),
        "dna_not_nullified",
    )
    assert "Urgent suspected cancer" in f.message and "discharge" in f.message
    assert validate("rtt", START, events, TODAY, priority="Routine") == []


def test_dna_after_active_monitoring_clock_is_explained():
    events = [
        E(D(2025, 6, 5), "active_monitoring_patient"),
        E(D(2025, 7, 1), "new_clock"),
        E(D(2025, 7, 20), "dna_first_appointment"),
    ]
    f = only(validate("rtt", START, events, TODAY), "dna_not_nullified")
    assert "first appointment after a referral" in f.message and f.event_index == 2


def test_active_monitoring_is_a_first_treatment_on_62_and_31_days():
    # r2 wording point 6: it stops the cancer clock (the validator once said it carries on).
    for ptype in ("cancer_62", "cancer_31"):
        events = [E(D(2025, 6, 5), "active_monitoring_patient")]
        assert validate(ptype, START, events, TODAY) == []
    f = only(
        validate("cancer_fds", START, [E(D(2025, 6, 5), "active_monitoring_patient")], TODAY),
        "no_effect_on_pathway",
    )
    assert "carry on" not in f.message and "first treatment" in f.message
    assert "cancer_fds" not in f.message  # never an internal name


def test_a_treatment_after_cancer_active_monitoring_is_a_subsequent_treatment():
    events = [
        E(D(2025, 6, 5), "active_monitoring_clinician"),
        E(D(2025, 7, 1), "treatment_started"),
    ]
    f = only(validate("cancer_62", START, events, TODAY), "two_first_treatments")
    assert "its own 31-day clock" in f.message


def test_treatment_adjustment_findings():
    open_one = [E(D(2025, 6, 10), "admission_offer_declined")]
    f = only(validate("cancer_62", START, open_one, TODAY), "adjustment_open")
    assert "10 Jun 2025" in f.message and "Patient available again" in f.message
    closed = [*open_one, E(D(2025, 6, 20), "patient_available")]
    assert validate("cancer_62", START, closed, TODAY) == []
    f = only(
        validate("cancer_31", START, [E(D(2025, 6, 10), "patient_available")], TODAY),
        "available_without_adjustment",
    )
    assert f.severity == "warning"
    twice = [*open_one, E(D(2025, 6, 12), "admission_offer_declined")]
    assert "adjustment_already_open" in codes(validate("cancer_62", START, twice, TODAY))
    stopped = [*open_one, E(D(2025, 7, 1), "treatment_started")]
    assert "adjustment_not_closed" in codes(validate("cancer_31", START, stopped, TODAY))


def test_a_declined_date_on_rtt_is_not_a_pause():
    f = only(
        validate("rtt", START, [E(D(2025, 6, 10), "admission_offer_declined")], TODAY),
        "no_effect_on_pathway",
    )
    assert "no pauses" in f.message and "two reasonable offers" in f.message


def test_code_99_is_a_finding():
    f = only(
        validate("rtt", START, [E(D(2025, 6, 10), "status_unknown")], TODAY), "rtt_status_not_known"
    )
    assert f.severity == "warning" and "99" in f.message


def test_codes_90_to_98_are_clean_history():
    for kind in (
        "after_treatment",
        "during_active_monitoring",
        "not_yet_referred",
        "not_applicable",
    ):
        assert validate("rtt", START, [E(D(2025, 6, 10), kind)], TODAY) == []


def test_decision_to_treat_after_active_monitoring_is_a_clock_not_follow_up():
    # r2 wording point 8.
    events = [
        E(D(2025, 6, 5), "active_monitoring_clinician"),
        E(D(2025, 8, 1), "decision_to_treat"),
    ]
    findings = validate("rtt", START, events, TODAY)
    assert findings == []
    assert not any("Follow-up" in f.message for f in findings)


def test_decision_to_treat_after_cancer_treatment_points_to_its_own_31_days():
    events = [E(D(2025, 6, 20), "treatment_started"), E(D(2025, 8, 1), "decision_to_treat")]
    f = only(validate("cancer_62", START, events, TODAY), "event_after_clock_stop")
    assert "31-day" in f.message and "Follow-up" not in f.message


def test_unknown_event_kind_is_reported_and_left_out():
    events = [E(D(2025, 6, 5), "telephone_call"), E(D(2025, 5, 1), "activity")]
    findings = validate("rtt", START, events, TODAY)
    assert codes(findings) == ["unknown_event_kind", "event_before_clock_start"]
    assert [f.event_index for f in findings] == [0, 1]  # indices into the list given


def test_a_pause_is_explained():
    f = only(
        validate("rtt", START, [E(D(2025, 6, 5), "clock_pause")], TODAY), "clock_pause_not_allowed"
    )
    assert "1 October 2015" in f.message
    # r2 wording point 1: the sentence that fits the pathway, not one for all.
    cancer = only(
        validate("cancer_62", START, [E(D(2025, 6, 5), "clock_pause")], TODAY),
        "clock_pause_not_allowed",
    )
    assert "exactly two adjustments" in cancer.message and "1 October 2015" not in cancer.message
    dm01 = only(
        validate("diagnostic", START, [E(D(2025, 6, 5), "clock_pause")], TODAY),
        "clock_pause_not_allowed",
    )
    assert "resets" in dm01.message


def test_unknown_pathway_type():
    assert codes(validate("orthopaedics", START, [], TODAY)) == ["unknown_pathway_type"]


def test_findings_come_errors_first():
    events = [
        E(D(2025, 6, 20), "activity"),
        E(D(2025, 7, 1), "dna_first_appointment"),  # warning
        E(D(2025, 5, 1), "activity"),  # error
    ]
    findings = validate("2ww", START, events, TODAY)
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert findings[0].code == "event_before_clock_start"


def test_every_finding_teaches_and_cites():
    events = [
        E(D(2025, 5, 1), "activity"),
        E(D(2025, 6, 20), "activity"),
        E(D(2025, 7, 1), "dna_first_appointment"),
        E(D(2025, 7, 2), "new_clock"),
        E(D(2025, 8, 1), "treatment_started"),
        E(D(2025, 8, 2), "treatment_started"),
        E(D(2025, 11, 1), "activity"),
    ]
    findings = validate("rtt", START, events, TODAY, referral_date=D(2025, 6, 3))
    assert len(findings) >= 6
    for f in findings:
        assert f.severity in ("error", "warning", "info")
        assert f.code and f.code == f.code.lower()
        assert len(f.message) > 40
        assert f.source


# ---------------------------------------------------------------------------
# It never raises, whatever it is given.
# ---------------------------------------------------------------------------


@given(
    st.sampled_from(["rtt", "cancer_fds", "cancer_62", "cancer_31", "diagnostic", "2ww", "xyz"]),
    st.one_of(st.none(), st.dates(min_value=D(2020, 1, 1), max_value=D(2026, 1, 1))),
    st.lists(
        st.builds(
            Event,
            date=st.dates(min_value=D(2019, 1, 1), max_value=D(2026, 6, 1)),
            kind=st.sampled_from([*EVENT_KINDS, "bogus", "pause"]),
            recorded_order=st.integers(0, 2),
        ),
        max_size=8,
    ),
    st.one_of(st.none(), st.dates(min_value=D(2019, 1, 1), max_value=D(2026, 1, 1))),
)
def test_validate_never_raises(ptype, start, events, referral):
    findings = validate(ptype, start, events, TODAY, referral_date=referral)
    for f in findings:
        assert f.event_index is None or 0 <= f.event_index < len(events)


@given(st.integers(1, 120))
def test_a_simple_running_pathway_is_clean_at_any_age(days):
    today = START + timedelta(days=days)
    assert validate("rtt", START, [E(START + timedelta(days=1), "activity")], today) == []
