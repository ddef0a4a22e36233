"""Reminder rules without Telegram or a database: times, days, DST, sections and wording."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.messages import reminders as text
from bot.rules.digest import Preferences, next_send, parse_time, send_moment
from bot.runtime.offline import html_to_plain
from bot.services.reminders import build_digest, preferences_for
from handlers.reminders import digest_markup
from storage.reminders import CandidateRow, Recipient
from tests.harness import test_settings as make_settings

LONDON = ZoneInfo("Europe/London")
D = dt.date
T = dt.time


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=LONDON)


def prefs(**kw: object) -> Preferences:
    values: dict[str, object] = {"send_time": T(8, 30), "days": "weekdays", "window_days": 7,
                                 "muted": False}  # fmt: skip
    values.update(kw)
    return Preferences(**values)  # type: ignore[arg-type]


def row(
    pid: str, name: str, start: dt.date, pathway: str = "rtt", events: object = ()
) -> CandidateRow:
    return CandidateRow(1, "s@x.example", pid, name, "Cardiology", pathway, start, list(events))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("07:45", T(7, 45)), ("7:45", T(7, 45)), ("7.45", T(7, 45)), ("0745", T(7, 45)),
        ("17h30", T(17, 30)), ("7am", T(7, 0)), ("6pm", T(18, 0)), ("5:30 pm", T(17, 30)),
        ("12am", T(0, 0)), ("12pm", T(12, 0)), (" 9 ", T(9, 0)), ("23:59", T(23, 59)),
        ("24:00", None), ("7:60", None), ("13pm", None), ("noon", None), ("", None),
        ("7:5", None), ("-1", None),
    ],
)  # fmt: skip
def test_parse_time(typed: str, expected: dt.time | None) -> None:
    assert parse_time(typed) == expected


def test_send_moment_keeps_local_time_across_the_clock_changes() -> None:
    utc = dt.UTC
    # Winter (GMT) and summer (BST): 08:30 on the wall clock either way.
    assert send_moment(D(2025, 3, 3), T(8, 30), LONDON).astimezone(utc).hour == 8
    assert send_moment(D(2025, 3, 31), T(8, 30), LONDON).astimezone(utc).hour == 7
    # The change days themselves.
    spring = send_moment(D(2025, 3, 30), T(8, 30), LONDON)
    autumn = send_moment(D(2025, 10, 26), T(8, 30), LONDON)
    assert spring.astimezone(utc) == dt.datetime(2025, 3, 30, 7, 30, tzinfo=utc)
    assert autumn.astimezone(utc) == dt.datetime(2025, 10, 26, 8, 30, tzinfo=utc)
    # 01:30 does not exist on 30 March 2025: the first wall time after the gap is 02:00 BST.
    gap = send_moment(D(2025, 3, 30), T(1, 30), LONDON)
    assert gap.astimezone(utc) == dt.datetime(2025, 3, 30, 1, 0, tzinfo=utc)
    # 01:30 happens twice on 26 October 2025: the first time (BST) counts.
    twice = send_moment(D(2025, 10, 26), T(1, 30), LONDON)
    assert twice.astimezone(utc) == dt.datetime(2025, 10, 26, 0, 30, tzinfo=utc)


def test_next_send() -> None:
    monday_early, monday_noon = at(2025, 3, 3, 7), at(2025, 3, 3, 12)
    assert next_send(prefs(), monday_early, False).at == at(2025, 3, 3, 8, 30)  # type: ignore[union-attr]
    due = next_send(prefs(), monday_noon, False)
    assert due is not None and due.imminent
    assert next_send(prefs(), monday_noon, True).at == at(2025, 3, 4, 8, 30)  # type: ignore[union-attr]
    friday = at(2025, 3, 7, 9)
    assert next_send(prefs(), friday, True).at == at(2025, 3, 10, 8, 30)  # type: ignore[union-attr]
    assert next_send(prefs(days="daily"), friday, True).at == at(2025, 3, 8, 8, 30)  # type: ignore[union-attr]
    saturday = at(2025, 3, 8, 12)
    assert next_send(prefs(), saturday, False).at == at(2025, 3, 10, 8, 30)  # type: ignore[union-attr]
    assert next_send(prefs(muted=True), monday_early, False) is None


def test_preferences_resolve_defaults_and_choices() -> None:
    settings = make_settings()
    default = preferences_for(None, settings)
    assert (default.send_time, default.days, default.window_days) == (T(8, 30), "weekdays", 7)
    mine = Recipient(1, 1, "a@b.example", "A", T(7, 0), "daily", 14, True)
    chosen = preferences_for(mine, settings)
    assert (chosen.send_time, chosen.days, chosen.window_days, chosen.muted) == (
        T(7, 0), "daily", 14, True)  # fmt: skip
    assert chosen.custom_time and chosen.custom_days and chosen.custom_window
    operator = make_settings(reminder_default_time="09:15", reminder_weekdays_only=False,
                             reminder_default_window_days=3)  # fmt: skip
    odd = Recipient(1, 1, "a@b.example", "A", None, "fortnightly", 0, False)
    resolved = preferences_for(odd, operator)
    assert (resolved.send_time, resolved.days, resolved.window_days) == (T(9, 15), "daily", 3)


def test_digest_sections_and_order() -> None:
    today = D(2025, 3, 3)
    rows = [
        row("P1", "On track", D(2025, 1, 6)),  # breaches 13 May: not listed
        row("P2", "Soon", today - dt.timedelta(days=120)),  # 7 days to breach
        row("P3", "Just outside", today - dt.timedelta(days=119)),  # 8 days: outside a 7-day window
        row("P4", "Breached today", today - dt.timedelta(days=127)),
        row("P5", "Long ago", today - dt.timedelta(days=200)),
        row("P6", "Year plus", today - dt.timedelta(days=400)),
        row("P7", "Treated", today - dt.timedelta(days=200),
            events=[{"date": "2025-01-10", "code": "30", "description": "op"}]),
        # A booked (future-dated) treatment does not stop the clock until its day.
        row("P8", "Booked", today - dt.timedelta(days=130),
            events=[{"date": "2025-03-05", "code": "30", "kind": "treatment_started"}]),
        row("P9", "FDS", today - dt.timedelta(days=25), pathway="cancer_fds"),
        row("P10", "No start", None),  # type: ignore[arg-type]
    ]  # fmt: skip
    digest = build_digest("s@x.example", rows, today, 7)
    assert [i.patient_id for i in digest.long_waits] == ["P6"]
    assert [i.patient_id for i in digest.breached] == ["P5", "P8", "P4"]
    # Nothing booked for either: "undated and breaching within 7 days" (issue 16).
    assert [i.patient_id for i in digest.undated_soon] == ["P9", "P2"]
    assert digest.due_soon == []
    # Two days later the booked treatment has happened: P8 drops out.
    later = build_digest("s@x.example", rows, D(2025, 3, 5), 7)
    assert "P8" not in [i.patient_id for i in later.items()]
    assert build_digest("s@x.example", rows[:1], today, 7).is_empty


def test_digest_text_is_clear_escaped_and_fits() -> None:
    today = D(2025, 3, 3)
    rows = [row("P1", "<Tom> & Jerry", today - dt.timedelta(days=130)),
            row("P2", "Ann", today - dt.timedelta(days=124)),
            row("P3", "Bob", today - dt.timedelta(days=370))]  # fmt: skip
    digest = build_digest("s@x.example", rows, today, 7)
    body, listed = text.digest_text(digest)
    plain = html_to_plain(body)  # raises if Telegram would refuse the HTML
    assert "<Tom> & Jerry" in plain
    assert "Mon 3 Mar 2025" in plain
    assert "breached 28 Feb 2025 (3 days ago)" in plain
    # Due soon: by when, and the act-by day before the breach date.
    assert "breaches Thu 6 Mar 2025 (in 3 days): act by Wed 5 Mar 2025" in plain
    assert "More than 52 weeks: 1 · breached: 1 · breaching within 7 days: 1" in plain
    assert "52 weeks waiting" in plain and "clinical harm review" in plain
    assert "Next: book the earliest possible treatment date" in plain
    assert [i.patient_id for i in listed] == ["P3", "P1", "P2"]
    _, markup = digest_markup(digest)
    data = [b.callback_data for r in markup.inline_keyboard for b in r]
    assert data[:3] == ["card:P3", "card:P1", "card:P2"]
    assert "set:menu" in data and "menu:ptl" in data


def test_a_long_ptl_is_cut_to_the_most_urgent_and_counted() -> None:
    today = D(2025, 3, 3)
    name = "Bartholomew-Fitzgerald O'Shaughnessy-Worthington the Third of Somewhere"
    rows = [row(f"PTL{i:07d}", name, today - dt.timedelta(days=130 + i)) for i in range(300)]
    digest = build_digest("s@x.example", rows, today, 7)
    body, listed = text.digest_text(digest)
    assert len(body) <= 4096
    assert len(listed) <= text.MAX_LISTED
    assert "more not listed here" in html_to_plain(body)
    _, markup = digest_markup(digest)
    assert sum(len(r) for r in markup.inline_keyboard) == len(listed) + 2


def test_empty_digest_wording() -> None:
    digest = build_digest("s@x.example", [], D(2025, 3, 3), 14)
    body, listed = text.digest_text(digest)
    assert listed == [] and "Nothing to act on today" in html_to_plain(body)
    assert "14 days" in body


def test_rows_with_malformed_events_are_still_read() -> None:
    """Rows written by other tools: an object instead of a list, stray non-object entries."""
    today = D(2025, 3, 3)
    start = today - dt.timedelta(days=150)
    odd = [
        CandidateRow(1, "s@x.example", "P1", "Object", None, "rtt", start, {"oops": 1}),
        CandidateRow(2, "s@x.example", "P2", "Junk", None, "rtt", start,
                     ["junk", None, {"date": "2025-01-10", "code": "20"}]),
        CandidateRow(3, "s@x.example", "P3", "Treated", None, "rtt", start,
                     [7, {"date": "2025-01-10", "code": "30"}]),
    ]  # fmt: skip
    digest = build_digest("s@x.example", odd, today, 7)
    assert [i.patient_id for i in digest.breached] == ["P2", "P1"]  # same day: by name


def test_the_cycle_collector_is_paused_for_a_run_and_put_back_as_it_was() -> None:
    import gc

    from bot.services.reminders import collector_paused

    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("a run that fails half-way")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_an_outcome_line_whose_booking_cannot_be_found_still_asks_for_it() -> None:
    """The stored summaries say a booking has passed with no outcome, but none of the bookings
    sent is dated that day (the list changed under them): the line still asks for the outcome,
    and never shows a breach date in its place."""
    today = D(2025, 3, 3)
    stale = row("P1", "Pat Past", today - dt.timedelta(days=30))._replace(
        appointments=[], passed_on=D(2025, 2, 27), booking_known=True
    )
    digest = build_digest("s@x.example", [stale], today, 7)
    (item,) = digest.outcome_needed
    assert item.booking is None
    body, _ = text.digest_text(digest)
    assert "Pat Past · 18-week RTT · a booking has passed: record the outcome" in html_to_plain(
        body
    )
