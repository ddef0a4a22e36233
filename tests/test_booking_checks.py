"""PTL-wide booking checks: booking in turn, a booking after the breach date with no
escalation note, and outcomes missing for more than 2 working days."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.rules.booking_checks import PtlPatient, check_ptl
from bot.rules.bookings import new_booking, summarise
from bot.rules.pathway import Event, evaluate

D = dt.date
NOW = dt.datetime(2025, 11, 3, 10, 0, tzinfo=dt.UTC)
TODAY = D(2025, 11, 3)  # a Monday


def patient(
    pid: str,
    waited: int,
    bookings: list[dict[str, Any]] | None = None,
    *,
    specialty: str = "Urology",
    priority: str = "Routine",
    notes: str | None = None,
    events: list[Event] | None = None,
    today: D = TODAY,
) -> PtlPatient:
    start = today - dt.timedelta(days=waited)
    evs = events or []
    state = evaluate("rtt", start, evs, today)
    summary = summarise(bookings or [], state, today, "rtt", start, evs)
    return PtlPatient(pid, f"Patient {pid}", specialty, priority, state, summary, evs, notes)


def book(type_: str, on: D, notes: str | None = None) -> dict[str, Any]:
    return new_booking(type_, on, added_by="s@x", now=NOW, notes=notes)


def codes(found: dict[str, list[Any]] | Any, pid: str) -> list[str]:
    return [f.code for f in found.get(pid, [])]


def test_a_longer_waiter_left_undated_is_out_of_turn() -> None:
    ann = patient("A", 100)
    bill = patient("B", 40, [book("first_appointment", D(2025, 11, 10))])
    found = check_ptl([ann, bill], TODAY)
    assert codes(found, "A") == ["booked_out_of_turn"]
    assert codes(found, "B") == []
    message = found["A"][0].message
    assert "Patient A" in message and "Patient B" in message
    assert "100 days" in message and "40 days" in message and "10 Nov 2025" in message
    assert "clinical priority first" in message and "patient choice" in message


def test_in_turn_bookings_raise_nothing() -> None:
    ann = patient("A", 100, [book("first_appointment", D(2025, 11, 10))])
    bill = patient("B", 40, [book("first_appointment", D(2025, 11, 20))])
    cath = patient("C", 20)  # the shortest waiter undated: in turn
    assert check_ptl([ann, bill, cath], TODAY) == {}


def test_a_longer_waiter_dated_later_is_out_of_turn() -> None:
    ann = patient("A", 80, [book("first_appointment", D(2025, 12, 1))])
    bill = patient("B", 40, [book("first_appointment", D(2025, 11, 10))])
    found = check_ptl([ann, bill], TODAY)
    assert codes(found, "A") == ["booked_out_of_turn"]
    assert "booked for 1 Dec 2025" in found["A"][0].message


def test_only_the_same_specialty_priority_and_stage_are_compared() -> None:
    ann = patient("A", 100)
    other_specialty = patient("B", 40, [book("first_appointment", D(2025, 11, 10))],
                              specialty="Dermatology")  # fmt: skip
    urgent = patient("C", 40, [book("first_appointment", D(2025, 11, 10))], priority="Urgent")
    listed = patient(
        "D",
        40,
        [book("admission_day_case", D(2025, 11, 10))],
        events=[Event(TODAY - dt.timedelta(days=10), "decision_to_treat", 0)],
    )
    assert check_ptl([ann, other_specialty, urgent, listed], TODAY) == {}
    # "Urology" and "101 Urology" are one specialty (its treatment function code)
    same = patient("E", 40, [book("first_appointment", D(2025, 11, 10))], specialty="urology")
    assert codes(check_ptl([ann, same], TODAY), "A") == ["booked_out_of_turn"]


def test_a_documented_reason_is_the_exception() -> None:
    ann = patient("A", 100, notes="Patient choice: abroad until January")
    bill = patient("B", 40, [book("first_appointment", D(2025, 11, 10))])
    assert check_ptl([ann, bill], TODAY) == {}
    ann = patient("A", 100)
    bill = patient("B", 40, [book("first_appointment", D(2025, 11, 10),
                                  notes="clinically urgent per consultant")])  # fmt: skip
    assert check_ptl([ann, bill], TODAY) == {}


def test_stopped_clocks_are_not_compared() -> None:
    treated = patient("A", 100, events=[Event(TODAY - dt.timedelta(days=5), "treatment_started")])
    bill = patient("B", 40, [book("first_appointment", D(2025, 11, 10))])
    assert check_ptl([treated, bill], TODAY) == {}


def test_one_finding_names_the_most_out_of_turn_and_counts_the_rest() -> None:
    ann = patient("A", 100)
    others = [
        patient("B", 40, [book("first_appointment", D(2025, 11, 20))]),
        patient("C", 30, [book("first_appointment", D(2025, 11, 5))]),
        patient("D", 20, [book("first_appointment", D(2025, 11, 12))]),
    ]
    found = check_ptl([ann, *others], TODAY)
    assert codes(found, "A") == ["booked_out_of_turn"]
    message = found["A"][0].message
    assert "Patient C" in message and "2 other shorter waiters are also dated earlier" in message


def test_a_booking_after_the_breach_date_needs_an_escalation_note() -> None:
    # waited 100 days: day 126 is 26 days away, the breach from 27 days
    late = patient("A", 100, [book("admission_inpatient", TODAY + dt.timedelta(days=30))])
    found = check_ptl([late], TODAY)
    assert codes(found, "A") == ["booked_after_breach"]
    message = found["A"][0].message
    assert "30 Nov 2025" in message  # the breach date (3 Nov + 27)
    assert "on or before 29 Nov 2025" in message and "escalate" in message
    noted = patient("A", 100, [book("admission_inpatient", TODAY + dt.timedelta(days=30),
                                    notes="Escalated to the GM 3/11")])  # fmt: skip
    assert check_ptl([noted], TODAY) == {}
    in_time = patient("A", 100, [book("admission_inpatient", TODAY + dt.timedelta(days=26))])
    assert check_ptl([in_time], TODAY) == {}


def test_outcomes_missing_for_more_than_two_working_days() -> None:
    friday = D(2025, 10, 31)
    for today, expected in (
        (D(2025, 11, 3), []),  # Monday: 1 working day
        (D(2025, 11, 4), []),  # Tuesday: 2
        (D(2025, 11, 5), ["outcome_missing"]),  # Wednesday: 3
    ):
        p = patient("A", 60, [book("follow_up", friday)], today=today)
        assert codes(check_ptl([p], today), "A") == expected, today
    # Christmas: an appointment on 24 Dec 2025 is not overdue until 31 Dec
    for today, expected in ((D(2025, 12, 30), []), (D(2025, 12, 31), ["outcome_missing"])):
        p = patient("A", 60, [book("follow_up", D(2025, 12, 24))], today=today)
        assert codes(check_ptl([p], today), "A") == expected, today
