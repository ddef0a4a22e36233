"""Between stored rows and the engine (PTL_RULES.md r2): how a platform row's RTT codes read,
which codes are kept for the history, and which clock inputs reach the engine."""

from __future__ import annotations

from datetime import date

import pytest

from bot.rules.pathway import EVENT_KINDS
from bot.rules.records import (
    clock_state_of,
    evaluate_row,
    event_entry,
    events_from_json,
    kind_of,
    stored_clock_fields,
)
from bot.rules.validator import validate

D = date
START = D(2025, 1, 6)


def platform(day: str, code: str, description: str = "") -> dict[str, str]:
    """An entry as the web platform writes it: a code and words, no engine kind."""
    return {"date": day, "code": code, "description": description, "added_by": "web"}


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("10", "first_activity"),
        ("11", "first_activity"),
        ("12", "separate_pathway"),
        ("20", "activity"),
        ("21", "transfer_out"),
        ("30", "treatment_started"),
        ("31", "active_monitoring_patient"),
        ("32", "active_monitoring_clinician"),
        ("33", "dna_first_appointment"),
        ("34", "decision_not_to_treat"),
        ("35", "declined_treatment"),
        ("36", "died"),
        ("90", "after_treatment"),
        ("91", "during_active_monitoring"),
        ("92", "not_yet_referred"),
        ("98", "not_applicable"),
        ("99", "status_unknown"),
    ],
)
def test_every_rtt_status_code_reads_as_a_kind_with_that_code(code, kind):
    assert kind_of(platform("2025-02-03", code)) == kind
    assert EVENT_KINDS[kind].rtt_code == int(code) or (code, kind) == ("11", "first_activity")


def test_a_34_that_says_discharge_is_a_discharge():
    assert kind_of(platform("2025-02-03", "34", "Discharged to GP")) == "discharged"


def test_codes_90_to_99_are_kept_not_dropped():
    rows = [platform("2025-02-03", c, f"code {c}") for c in ("90", "91", "92", "98", "99")]
    events = events_from_json(rows)
    assert [e.kind for e in events] == [
        "after_treatment",
        "during_active_monitoring",
        "not_yet_referred",
        "not_applicable",
        "status_unknown",
    ]
    assert [e.description for e in events] == [f"code {c}" for c in ("90", "91", "92", "98", "99")]


def test_code_99_is_a_validator_finding():
    events = events_from_json([platform("2025-02-03", "99")])
    codes = [f.code for f in validate("rtt", START, events, D(2025, 3, 1))]
    assert codes == ["rtt_status_not_known"]


def test_a_platform_code_10_at_the_clock_start_is_not_a_second_clock():
    row = [platform("2025-01-06", "10", "Referral received"), platform("2025-02-03", "20")]
    state = evaluate_row("rtt", START, row, D(2025, 3, 1))
    assert state is not None
    assert state.clock_number == 1 and state.ignored == () and state.clock_start == START
    assert validate("rtt", START, events_from_json(row), D(2025, 3, 1)) == []


def test_a_platform_code_10_after_a_stop_starts_the_next_clock():
    row = [platform("2025-02-03", "33"), platform("2025-02-20", "10", "Rebooked")]
    state = evaluate_row("rtt", START, row, D(2025, 3, 1))
    assert state is not None
    assert state.clock_start == D(2025, 2, 20) and state.clock_number == 2


def test_a_platform_code_12_never_restarts_this_rows_clock():
    row = [platform("2025-02-03", "30"), platform("2025-03-01", "12", "Referred to cardiology")]
    state = evaluate_row("rtt", START, row, D(2025, 4, 1))
    assert state is not None
    assert state.status == "stopped" and state.clock_start == START and state.clock_number == 1


def test_a_decision_to_treat_after_active_monitoring_is_stored_as_code_11():
    previous = [event_entry("active_monitoring_patient", D(2025, 2, 3), added_by="s")]
    entry = event_entry(
        "decision_to_treat",
        D(2025, 5, 1),
        added_by="s",
        previous=previous,
        pathway_type="rtt",
        clock_start=START,
        today=D(2025, 5, 2),
    )
    assert entry["code"] == "11" and entry["kind"] == "decision_to_treat"
    on_cancer = event_entry(
        "decision_to_treat",
        D(2025, 5, 1),
        added_by="s",
        previous=previous,
        pathway_type="cancer_62",
        clock_start=START,
        today=D(2025, 5, 2),
    )
    assert on_cancer["code"] == "20"


def test_a_clock_start_code_reads_the_clock_on_its_own_date():
    """A new clock recorded between an active-monitoring stop and a later event still gets
    code 11: the code depends on the clock as it stood on that date, not today."""
    previous = [
        event_entry("active_monitoring_clinician", D(2025, 2, 3), added_by="s"),
        event_entry("new_clock", D(2025, 6, 1), added_by="s"),
    ]
    entry = event_entry(
        "new_clock",
        D(2025, 4, 1),
        added_by="s",
        previous=previous,
        pathway_type="rtt",
        clock_start=START,
        today=D(2025, 7, 1),
    )
    assert entry["code"] == "11"


def test_priority_reaches_the_stored_clock_fields():
    row = [event_entry("dna_first_appointment", D(2025, 2, 3), added_by="s")]
    routine = stored_clock_fields("rtt", START, row, D(2025, 3, 1), "Routine")
    usc = stored_clock_fields("rtt", START, row, D(2025, 3, 1), "Urgent suspected cancer")
    assert routine["clock_state"] == "nullified"
    assert usc["clock_state"] == "running"


def test_ended_and_open_adjustment_in_the_stored_fields():
    ended = stored_clock_fields(
        "cancer_62", START, [event_entry("cancer_ruled_out", D(2025, 2, 3), added_by="s")],
        D(2025, 3, 1),
    )  # fmt: skip
    # The engine's word is bot-owned; the platform's clock_status column keeps its own vocabulary.
    assert (ended["clock_state"], ended["clock_status"]) == ("ended", "Stopped")
    frozen = stored_clock_fields(
        "cancer_31", START,
        [event_entry("admission_offer_declined", D(2025, 1, 20), added_by="s")], D(2025, 3, 1),
    )  # fmt: skip
    assert frozen["clock_state"] == "running" and frozen["breach_date"] is None
    assert clock_state_of(None) == "unknown"
