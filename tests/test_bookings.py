"""The booking model (bot/rules/bookings.py): reading any stored shape, writing without losing
anything, what a booking means for the clock (from the engine), England's working days and the
platform's status words. Expected values are worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules import bookings as bk
from bot.rules.bookings import (
    BOOKING_TYPES,
    PLATFORM_STATUSES,
    bank_holiday,
    decode_bookings,
    is_working_day,
    meaning,
    new_booking,
    outcome_kind,
    platform_status,
    rescheduled,
    stored_booking_fields,
    summarise,
    with_outcome,
    working_days_after,
)
from bot.rules.pathway import Event, evaluate
from bot.rules.records import events_from_json

D = dt.date
NOW = dt.datetime(2025, 11, 3, 10, 0, tzinfo=dt.UTC)
TODAY = D(2025, 11, 3)  # a Monday
# RTT clock from 5 Sep 2025: day 126 is 9 Jan 2026, the first breach day 10 Jan 2026.
START = D(2025, 9, 5)


def booking(type_: str, on: D, **kw: Any) -> dict[str, Any]:
    return new_booking(type_, on, added_by="sam@student.example", now=NOW, **kw)


# -- vocabulary --------------------------------------------------------------------------------


def test_every_type_records_an_event_the_engine_knows() -> None:
    for t in BOOKING_TYPES.values():
        evaluate("rtt", START, [Event(TODAY, t.attended)], TODAY)  # raises for an unknown kind
    assert BOOKING_TYPES["admission_day_case"].attended == "treatment_started"
    assert BOOKING_TYPES["diagnostic_test"].attended == "test_performed"
    assert BOOKING_TYPES["first_appointment"].attended == "activity"
    assert BOOKING_TYPES["admission_inpatient"].admitted
    assert not BOOKING_TYPES["outpatient_treatment"].admitted


def test_outcomes_record_the_matching_pathway_event() -> None:
    (tci,) = decode_bookings([booking("admission_inpatient", D(2025, 12, 1))])
    (opa,) = decode_bookings([booking("first_appointment", D(2025, 12, 1))])
    (test,) = decode_bookings([booking("diagnostic_test", D(2025, 12, 1))])
    assert outcome_kind(tci, "attended") == "treatment_started"
    assert outcome_kind(opa, "attended") == "activity"
    assert outcome_kind(test, "attended") == "test_performed"
    assert outcome_kind(opa, "dna") == "dna_first_appointment"
    assert outcome_kind(tci, "cancelled_patient") == "patient_cancelled"
    assert outcome_kind(tci, "cancelled_hospital") is None
    with pytest.raises(ValueError):
        outcome_kind(tci, "rescheduled")


def test_new_booking_has_the_documented_shape() -> None:
    entry = booking("admission_day_case", D(2026, 1, 7), time="09:30", clinic="Day Surgery Unit",
                    with_="Ms A Patel", notes="patient choice: after new year")  # fmt: skip
    assert set(entry) == {
        "id", "type", "date", "time", "clinic", "with", "status", "notes", "added_by",
        "added_at", "history",
    }  # fmt: skip
    assert entry["date"] == "2026-01-07" and entry["status"] == "booked"
    assert entry["id"].startswith("APT") and len(entry["id"]) == 12
    assert json.loads(json.dumps(entry)) == entry  # plain JSON, nothing Python-only
    assert entry["history"][0]["action"] == "booked"
    other = booking("admission_day_case", D(2026, 1, 7))
    assert other["id"] != entry["id"]
    with pytest.raises(ValueError):
        booking("massage", D(2026, 1, 7))


# -- reading any shape -------------------------------------------------------------------------


def test_platform_words_are_understood() -> None:
    stored = [
        {"date": "2025-12-01", "type": "TCI", "status": "Booked"},
        {"date": "2025-12-02", "type": "Day case", "status": "scheduled"},
        {"date": "2025-10-01", "type": "Follow up", "status": "DNA"},
        {"date": "2025-10-02", "type": "New", "status": "Cancelled by patient"},
        {"date": "2025-10-03", "type": "MRI", "status": "attended"},
        {"date": "2025-10-04", "type": "Physio", "status": "in the diary"},
        {"date": "2025-10-05T09:30:00Z", "type": "pre-op"},
    ]
    got = decode_bookings(stored)
    assert [b.type for b in got] == [
        "admission_inpatient", "admission_day_case", "follow_up", "first_appointment",
        None, None, "pre_op",
    ]  # fmt: skip
    assert [b.status for b in got] == [
        "booked", "booked", "dna", "cancelled_patient", "attended", "unknown", "booked",
    ]  # fmt: skip
    assert got[4].label == "MRI" and got[5].label == "Physio"
    assert got[5].status_text == "in the diary"
    assert got[6].date == D(2025, 10, 5)
    assert all(b.id is None and b.ref == f"#{b.index}" for b in got)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "TCI on 14/01/2026",
        42,
        {"not": "a list"},
        [1, None, "x", [], {}],
        [{"date": None}, {"date": "31/02/2026"}, {"date": "soon"}, {"date": 20260114}],
        [{"type": {"nested": 1}, "status": ["a"], "notes": {"x": 1}, "time": 930}],
        [{"date": "2026-01-14", "notes": "x" * 40_000_000}],
    ],
)
def test_any_stored_value_decodes_without_raising(stored: object) -> None:
    got = decode_bookings(stored)
    for b in got:
        assert b.label and b.short and b.ref
        assert b.notes is None or len(b.notes) <= bk.MAX_TEXT
    summary = summarise(stored, evaluate("rtt", START, [], TODAY), TODAY, "rtt", START, [])
    assert summary.running


def test_strings_and_single_objects_are_shown_but_never_changed() -> None:
    (text,) = decode_bookings(["TCI on 14/01/2026 (phoned)"])
    assert text.date == D(2026, 1, 14) and text.type == "admission_inpatient"
    assert not text.editable and not text.open
    (single,) = decode_bookings({"date": "2026-01-14", "type": "tci"})
    assert not single.editable
    assert not bk.writable({"date": "2026-01-14"}) and not bk.writable("x")
    assert bk.writable(None) and bk.writable([])
    with pytest.raises(ValueError):
        with_outcome(["TCI"], text, "attended", by="s", now=NOW, event=None)


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["date", "type", "status", "time", "id", "notes", "history", "x"]),
        inner, max_size=6),
    max_leaves=20,
))  # fmt: skip
def test_fuzz_decode_never_raises(stored: object) -> None:
    for b in decode_bookings(stored):
        _ = (b.label, b.short, b.open, b.ref, b.attended_kind, b.reschedules)


# -- writing without losing anything -----------------------------------------------------------


def test_an_outcome_changes_only_its_booking_and_keeps_unknown_keys() -> None:
    platform_item = {"date": "2025-10-01", "type": "New", "colour": "blue", "status": "booked"}
    ours = booking("admission_inpatient", D(2025, 12, 1))
    stored: list[Any] = ["a note someone typed", platform_item, ours, 7]
    before = json.dumps(stored)
    bookings = decode_bookings(stored)
    target = next(b for b in bookings if b.index == 1)
    after = with_outcome(stored, target, "dna", by="sam@x", now=NOW, event="dna_first_appointment")
    assert json.dumps(stored) == before  # the input list is never changed in place
    assert after[0] == "a note someone typed" and after[2] == ours and after[3] == 7
    changed = after[1]
    assert changed["colour"] == "blue" and changed["type"] == "New"
    assert changed["status"] == "dna" and changed["event"] == "dna_first_appointment"
    assert changed["outcome_by"] == "sam@x"
    assert changed["id"].startswith("APT")  # it can be named stably from now on
    assert changed["history"][-1]["action"] == "dna"


def test_cancellation_records_who_and_when() -> None:
    stored = [booking("diagnostic_test", D(2025, 11, 20))]
    (b,) = decode_bookings(stored)
    after = with_outcome(stored, b, "cancelled_patient", by="s", now=NOW,
                         event="patient_cancelled", on=TODAY)  # fmt: skip
    assert after[0]["cancelled_by"] == "patient" and after[0]["cancelled_on"] == "2025-11-03"
    (again,) = decode_bookings(after)
    assert again.status == "cancelled_patient" and not again.open
    assert after[0]["id"] == stored[0]["id"]  # stable


def test_reschedule_keeps_the_id_and_the_history() -> None:
    stored = [booking("admission_day_case", D(2026, 1, 20))]
    (b,) = decode_bookings(stored)
    after = rescheduled(stored, b, D(2026, 1, 6), asked_by="hospital", by="s", now=NOW)
    (moved,) = decode_bookings(after)
    assert moved.id == b.id and moved.date == D(2026, 1, 6) and moved.open
    assert moved.reschedules == 1
    step = after[0]["history"][-1]
    assert step["from"] == "2026-01-20" and step["to"] == "2026-01-06"
    assert step["asked_by"] == "hospital"
    with pytest.raises(ValueError):
        rescheduled(stored, b, D(2026, 1, 6), asked_by="gp", by="s", now=NOW)


def test_a_booking_that_moved_meanwhile_is_refused() -> None:
    stored = [booking("follow_up", D(2025, 12, 1))]
    (b,) = decode_bookings(stored)
    with pytest.raises(ValueError):
        with_outcome([], b, "attended", by="s", now=NOW, event="activity")


# -- what a booking means for the clock --------------------------------------------------------


def _meaning(type_: str, on: D, *, pathway: str = "rtt", start: D = START,
             events: list[Event] | None = None) -> bk.BookingMeaning:  # fmt: skip
    (b,) = decode_bookings([booking(type_, on)])
    found = meaning(b, pathway, start, events or [])
    assert found is not None
    return found


def test_tci_on_the_last_compliant_day_is_within_18_weeks() -> None:
    found = _meaning("admission_day_case", D(2026, 1, 9))
    assert found.stops and not found.late
    assert found.then.days_waited == 126 and found.then.breach_date == D(2026, 1, 10)


def test_tci_on_the_first_breach_day_is_late() -> None:
    found = _meaning("admission_inpatient", D(2026, 1, 10))
    assert found.stops and found.late and found.then.days_waited == 127


def test_an_appointment_after_the_breach_date_is_late_although_it_stops_nothing() -> None:
    found = _meaning("first_appointment", D(2026, 1, 14))
    assert not found.stops and found.late and found.then.status == "breached"
    early = _meaning("first_appointment", D(2025, 11, 14))
    assert not early.stops and not early.late and early.then.days_waited == 70


def test_a_diagnostic_test_stops_a_dm01_clock() -> None:
    start = D(2025, 10, 1)  # day 41 is 11 Nov 2025; breach from 12 Nov (6 weeks)
    within = _meaning("diagnostic_test", D(2025, 11, 11), pathway="diagnostic", start=start)
    assert within.stops and not within.late and within.then.days_waited == 41
    late = _meaning("diagnostic_test", D(2025, 11, 12), pathway="diagnostic", start=start)
    assert late.stops and late.late
    # on an RTT pathway a test stops nothing
    assert not _meaning("diagnostic_test", D(2025, 11, 11)).stops


def test_a_booking_after_a_recorded_treatment_is_not_late() -> None:
    events = [Event(D(2025, 10, 20), "treatment_started", 0)]
    found = _meaning("follow_up", D(2026, 3, 1), events=events)
    assert not found.stops and not found.late and found.then.status == "stopped"


def test_summary_next_booking_undated_after_breach_and_outcome_needed() -> None:
    state = evaluate("rtt", START, [], TODAY)
    assert summarise([], state, TODAY, "rtt", START, []).undated
    stored = [
        booking("first_appointment", D(2025, 10, 30)),  # passed, no outcome
        booking("admission_inpatient", D(2026, 1, 14)),  # after the breach date
        booking("pre_op", D(2025, 12, 1)),  # the next one
    ]
    summary = summarise(stored, state, TODAY, "rtt", START, [])
    assert summary.next is not None and summary.next.type == "pre_op"
    assert not summary.undated and not summary.after_breach
    assert summary.outcome_needed and summary.awaiting[0].type == "first_appointment"
    later = summarise(stored, evaluate("rtt", START, [], D(2025, 12, 2)), D(2025, 12, 2),
                      "rtt", START, [])  # fmt: skip
    assert later.next is not None and later.next.type == "admission_inpatient"
    assert later.after_breach
    # a booking for today is the next one, not yet awaiting an outcome
    on_the_day = summarise(stored, evaluate("rtt", START, [], D(2025, 10, 30)),
                           D(2025, 10, 30), "rtt", START, [])  # fmt: skip
    assert on_the_day.next is not None and on_the_day.next.type == "first_appointment"
    assert not on_the_day.outcome_needed


def test_a_stopped_clock_is_never_undated() -> None:
    events = [Event(D(2025, 10, 20), "treatment_started", 0)]
    state = evaluate("rtt", START, events, TODAY)
    summary = summarise([], state, TODAY, "rtt", START, events)
    assert not summary.undated and not summary.after_breach


def test_stored_fields_do_not_depend_on_today() -> None:
    stored = [
        booking("first_appointment", D(2025, 10, 30)),
        booking("admission_inpatient", D(2026, 1, 14)),
        booking("pre_op", D(2025, 12, 1)),
        {**booking("follow_up", D(2025, 9, 30)), "status": "attended"},
    ]
    fields = stored_booking_fields(stored, "rtt", START, [])
    assert fields == {
        "booking_open_dates": [D(2025, 10, 30), D(2025, 12, 1), D(2026, 1, 14)],
        "booking_late_dates": [D(2026, 1, 14)],
        "booking_open_places": [0, 2, 1],
    }
    assert stored_booking_fields("junk", "rtt", START, []) == {
        "booking_open_dates": [], "booking_late_dates": [], "booking_open_places": [],
    }  # fmt: skip
    assert stored_booking_fields(stored, "rtt", None, [])["booking_late_dates"] == []


# -- England's working days ----------------------------------------------------------------------


def test_bank_holidays_in_england() -> None:
    assert bank_holiday(D(2025, 12, 25)) == "Christmas Day"
    assert bank_holiday(D(2025, 8, 25)) == "Summer bank holiday"
    assert bank_holiday(D(2025, 5, 5)) == "Early May bank holiday"
    assert bank_holiday(D(2026, 12, 28)) is not None  # Boxing Day substitute (26th is a Saturday)
    assert bank_holiday(D(2025, 3, 17)) is None  # St Patrick's Day: Northern Ireland only
    assert bank_holiday(D(2025, 8, 4)) is None  # Scotland's summer holiday, not England's
    assert not is_working_day(D(2025, 12, 25))
    assert not is_working_day(D(2025, 11, 8))  # a Saturday
    assert is_working_day(D(2025, 11, 7))


def test_working_days_after() -> None:
    friday = D(2025, 11, 7)
    assert working_days_after(friday, friday) == 0
    assert working_days_after(friday, D(2025, 11, 9)) == 0  # the weekend
    assert working_days_after(friday, D(2025, 11, 11)) == 2
    assert working_days_after(friday, D(2025, 11, 12)) == 3
    # Christmas: 24 Dec 2025 (Wed) -> 25, 26 are bank holidays, 27-28 the weekend
    assert working_days_after(D(2025, 12, 24), D(2025, 12, 30)) == 2
    assert working_days_after(D(2020, 1, 1), D(2025, 1, 1), stop_after=2) == 3


# -- the platform's status words ------------------------------------------------------------------


def _status(events: list[Event], stored: list[Any], today: D = TODAY) -> str | None:
    state = evaluate("rtt", START, events, today)
    return platform_status(state, events, decode_bookings(stored))


def test_platform_status_follows_the_pathway() -> None:
    seen = Event(D(2025, 9, 20), "activity", 0)
    dtt = Event(D(2025, 10, 1), "decision_to_treat", 1)
    assert _status([], []) == "Awaiting First Appointment"
    assert _status([], [booking("first_appointment", D(2025, 11, 20))]) == (
        "First Appointment Booked"
    )
    assert _status([seen], []) == "Seen - Diagnostics Pending"
    test = Event(D(2025, 9, 25), "test_performed", 1)
    assert _status([seen, test], []) == "Diagnostics Complete - Awaiting Decision"
    assert _status([seen, dtt], []) == "Decision Made - Awaiting Treatment"
    assert _status([seen, dtt], [booking("admission_day_case", D(2025, 12, 1))]) == (
        "On Waiting List for Treatment"
    )
    treated = Event(D(2025, 10, 20), "treatment_started", 2)
    assert _status([seen, dtt, treated], []) == "Treatment Complete"
    gone = Event(D(2025, 10, 20), "discharged", 2)
    assert _status([seen, gone], []) == "Discharged"
    watched = Event(D(2025, 10, 20), "active_monitoring_clinician", 2)
    assert _status([seen, watched], []) is None  # no platform word: left as it is
    assert platform_status(None, [], ()) is None
    for found in (_status([], []), _status([seen, dtt, treated], [])):
        assert found in PLATFORM_STATUSES


def test_events_from_stored_json_feed_the_meaning() -> None:
    raw = [{"date": "2025-10-20", "code": "30", "description": "Treated"}]
    found = _meaning("follow_up", D(2026, 2, 1), events=events_from_json(raw))
    assert found.then.status == "stopped"


_DATE_TEXTS = st.one_of(
    st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31)).map(dt.date.isoformat),
    st.sampled_from(["2025-03-03", " 2025-03-03", "2025-03-3 ", "2025-3-03", "03/03/2025",
                     "3/3/2025", "2025-03-03T09:00", "2025-02-30", "２０２５-03-03", "", "soon"]),
    st.text(alphabet="0123456789-/ T:", max_size=12),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(_DATE_TEXTS, st.integers(), st.none()))
def test_bookings_on_picks_a_day_as_decode_bookings_reads_it(raw: Any) -> None:
    """The digest's shortcut (a date written as another ISO date is not parsed) finds exactly
    the bookings `decode_bookings` dates on that day, however the date is written."""
    day = dt.date(2025, 3, 3)
    stored = [{"type": "follow_up", "status": "booked", "date": raw}, "a note 2025-03-03", 7]
    expected = tuple(b for b in bk.decode_bookings(stored) if b.date == day and b.open)
    assert bk.bookings_on(enumerate(stored), day) == expected


_DAYS = st.sampled_from([D(2025, 3, 3), D(2025, 3, 4), D(2025, 3, 10)])
_STORED_BOOKING = st.one_of(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["follow_up", "admission_day_case", "TCI"]),
         "date": _DAYS.map(dt.date.isoformat) | st.sampled_from(["04/03/2025", " 2025-03-10"]),
         "status": st.sampled_from(["booked", "booked", "attended", "cancelled_hospital", "?"])},
        optional={"time": st.sampled_from(["08:30", "14:00", "9:05", "", "soon"])},
    ),
    st.sampled_from(["TCI 2025-03-04", 7, None]),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(stored=st.lists(_STORED_BOOKING, max_size=6))
def test_each_open_date_stores_where_its_first_booking_sits(stored: list[Any]) -> None:
    """The place stored for each open date (sql/084) is where the booking a digest line names
    that day sits: the first open one by time, then stored order, as `upcoming` and
    `awaiting_outcome` pick it; and that element alone reads as the same booking."""
    fields = stored_booking_fields(stored, "rtt", START, [])
    dates, places = fields["booking_open_dates"], fields["booking_open_places"]
    assert len(places) == len(dates)
    decoded = bk.decode_bookings(stored)
    for day, place in zip(dates, places, strict=True):
        that_day = [b for b in decoded if b.date == day]
        named = bk.upcoming(that_day, day)[0]  # (next booked, after the breach)
        assert bk.awaiting_outcome(that_day, day + dt.timedelta(1))[0] == named  # (passed)
        assert named.index == place
        assert bk.booking_at(place, stored[place], day) == named
        assert bk.booking_at(place, stored[place], day + dt.timedelta(1)) is None


def test_a_booking_at_a_place_is_only_an_open_booking_on_its_day() -> None:
    """What the stored place points at is checked, not trusted: the list may have changed."""
    on = D(2025, 3, 3)
    tci = booking("admission_day_case", on)
    assert bk.booking_at(2, tci, on) == bk.decode_bookings([None, None, tci])[0]
    assert bk.booking_at(0, {**tci, "status": "attended"}, on) is None
    assert bk.booking_at(0, "TCI 2025-03-03", on) is None
    assert bk.booking_at(0, None, on) is None
    assert bk.booking_at(0, [tci], on) is None
