"""Parsing the dates students type, with ``today`` fixed so results never drift."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.rules.dates import (
    ACCEPTED_FORMS,
    DateParseError,
    DateResult,
    format_date,
    parse_date,
    warm_up,
)

D = date
TODAY = D(2025, 10, 20)  # a Monday
WEDNESDAY = D(2025, 10, 22)


def ok(text: str, today: date = TODAY, **kw) -> date:
    result = parse_date(text, today, **kw)
    assert result.ok, result.message
    assert result.message is None
    assert result.value is not None
    return result.value


def refused(text: str, today: date = TODAY, **kw) -> DateResult:
    result = parse_date(text, today, **kw)
    assert not result.ok, result
    assert result.value is None
    assert result.message
    assert ACCEPTED_FORMS in result.message  # always says what is accepted
    return result


# ---------------------------------------------------------------------------
# Accepted forms.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", D(2025, 10, 20)),
        ("Today", D(2025, 10, 20)),
        ("yesterday", D(2025, 10, 19)),
        ("  Yesterday. ", D(2025, 10, 19)),
        ("the day before yesterday", D(2025, 10, 18)),
        ("3 weeks ago", D(2025, 9, 29)),
        ("a week ago", D(2025, 10, 13)),
        ("2 days ago", D(2025, 10, 18)),
        ("a fortnight ago", D(2025, 10, 6)),
        ("1 month ago", D(2025, 9, 20)),
        ("3 months ago", D(2025, 7, 20)),
        ("2 years ago", D(2023, 10, 20)),
        ("last Monday", D(2025, 10, 13)),  # today is a Monday: the one before
        ("last friday", D(2025, 10, 17)),
        ("last Sun", D(2025, 10, 19)),
        ("Monday", D(2025, 10, 20)),  # on its own: the most recent, today included
        ("on Friday", D(2025, 10, 17)),
        ("12/10/25", D(2025, 10, 12)),
        ("12/10/2025", D(2025, 10, 12)),
        ("1/2/25", D(2025, 2, 1)),  # day first: 1 February, not 2 January
        ("12.10.2025", D(2025, 10, 12)),
        ("12-10-25", D(2025, 10, 12)),
        ("12 10 2025", D(2025, 10, 12)),
        ("121025", D(2025, 10, 12)),
        ("12102025", D(2025, 10, 12)),
        ("12 Oct", D(2025, 10, 12)),
        ("12 oct 2025", D(2025, 10, 12)),
        ("12 October 2025", D(2025, 10, 12)),
        ("12th October", D(2025, 10, 12)),
        ("12th of October 2025", D(2025, 10, 12)),
        ("3 Sept 24", D(2024, 9, 3)),
        ("Oct 12", D(2025, 10, 12)),
        ("October 12th, 2025", D(2025, 10, 12)),
        ("2025-10-12", D(2025, 10, 12)),
        ("2025/1/2", D(2025, 1, 2)),
        ("20/10/2025", D(2025, 10, 20)),  # today itself is not "the future"
        ("1/1/2000", D(2000, 1, 1)),  # the earliest accepted date
    ],
)
def test_accepted_forms(text, expected):
    assert ok(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 weeks and 3 days ago", D(2025, 10, 3)),  # dateparser's territory
        ("Mon 13 Oct 2025", D(2025, 10, 13)),
        ("yesterday at 3pm", D(2025, 10, 19)),
    ],
)
def test_forms_handled_by_dateparser(text, expected):
    assert ok(text) == expected


def test_last_weekday_midweek_is_the_one_just_gone():
    assert ok("last Monday", WEDNESDAY) == D(2025, 10, 20)
    assert ok("last Wednesday", WEDNESDAY) == D(2025, 10, 15)
    assert ok("Wednesday", WEDNESDAY) == D(2025, 10, 22)
    assert ok("Tuesday", WEDNESDAY) == D(2025, 10, 21)


def test_a_date_without_a_year_is_the_most_recent_one():
    assert ok("12 Oct", D(2025, 10, 5)) == D(2024, 10, 12)
    assert ok("12/10", D(2025, 10, 5)) == D(2024, 10, 12)
    assert ok("12/10", D(2025, 10, 12)) == D(2025, 10, 12)
    # When the future is allowed, this year's.
    assert ok("12 Oct", D(2025, 10, 5), allow_future=True) == D(2025, 10, 12)


def test_months_ago_keeps_the_day_where_it_can():
    assert ok("1 month ago", D(2025, 3, 31)) == D(2025, 2, 28)
    assert ok("1 month ago", D(2024, 3, 31)) == D(2024, 2, 29)
    assert ok("3 months ago", D(2025, 3, 31)) == D(2024, 12, 31)
    assert ok("1 year ago", D(2024, 2, 29)) == D(2023, 2, 28)


def test_leap_days():
    assert ok("29/02/2024") == D(2024, 2, 29)
    assert ok("29 Feb") == D(2024, 2, 29)  # the most recent 29 February
    assert ok("29 Feb", D(2024, 3, 1)) == D(2024, 2, 29)
    result = refused("29/02/2025")
    assert "29 Feb 2025" in result.message
    assert "isn't a leap year" in result.message


def test_allow_future():
    assert ok("tomorrow", allow_future=True) == D(2025, 10, 21)
    assert ok("next Monday", allow_future=True) == D(2025, 10, 27)
    assert ok("25/12/2025", allow_future=True) == D(2025, 12, 25)
    assert ok("in a week", allow_future=True) == D(2025, 10, 27)


def test_upcoming_dates_for_bookings():
    """A booking date: the next such day, never a past one (TODAY is Mon 20 Oct 2025)."""
    assert ok("14 Jan", upcoming=True) == D(2026, 1, 14)  # next January, not last
    assert ok("14/01", upcoming=True) == D(2026, 1, 14)
    assert ok("20 Oct", upcoming=True) == D(2025, 10, 20)  # today counts
    assert ok("19 Oct", upcoming=True) == D(2026, 10, 19)
    assert ok("29 Feb", upcoming=True) == D(2028, 2, 29)  # the next one that exists
    assert ok("Friday", upcoming=True) == D(2025, 10, 24)
    assert ok("monday", upcoming=True) == D(2025, 10, 20)
    assert ok("next Friday", upcoming=True) == D(2025, 10, 24)
    assert ok("in 3 weeks", upcoming=True) == D(2025, 11, 10)
    assert ok("in a fortnight", upcoming=True) == D(2025, 11, 3)
    assert ok("in 2 months", upcoming=True) == D(2025, 12, 20)
    assert ok("in 6 weeks time", upcoming=True) == D(2025, 12, 1)
    assert ok("14/01/2026", upcoming=True) == D(2026, 1, 14)
    assert ok("the 14th of January", upcoming=True) == D(2026, 1, 14)
    for past in ("yesterday", "3 weeks ago", "1/10/2025", "last Friday"):
        result = parse_date(past, TODAY, upcoming=True)
        assert not result.ok and result.understood is not None and result.understood < TODAY
        assert "in the past" in (result.message or "") and "tomorrow" in (result.message or "")
    assert not parse_date("whenever", TODAY, upcoming=True).ok
    # the default (recording what happened) is unchanged
    assert ok("14 Jan") == D(2025, 1, 14) and ok("Friday") == D(2025, 10, 17)


def test_earliest_can_be_moved_for_other_fields():
    assert ok("12/10/1975", earliest=D(1900, 1, 1)) == D(1975, 10, 12)


# ---------------------------------------------------------------------------
# Refusals: each says what was understood and what is accepted.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "understood", "why"),
    [
        ("31/02/2025", "31 Feb 2025", "February 2025 has 28 days"),
        ("31 Feb 2025", "31 Feb 2025", "February 2025 has 28 days"),
        ("31/04/2025", "31 Apr 2025", "April 2025 has 30 days"),
        ("32/10/2025", "32 Oct 2025", "October 2025 has 31 days"),
        ("2025-02-30", "30 Feb 2025", "February 2025 has 28 days"),
    ],
)
def test_impossible_dates(text, understood, why):
    result = refused(text)
    assert f"I read “{text}” as {understood}, which doesn't exist" in result.message
    assert why in result.message


def test_month_13_hints_at_day_first():
    result = refused("10/13/2025")
    assert "no month 13" in result.message
    assert "day first" in result.message
    assert "Did you mean 13/10/2025?" in result.message


def test_day_zero():
    assert "no day 0" in refused("0/10/2025").message


@pytest.mark.parametrize(
    ("text", "understood"),
    [
        ("tomorrow", D(2025, 10, 21)),
        ("21/10/2025", D(2025, 10, 21)),
        ("3 Dec 2026", D(2026, 12, 3)),
        ("next monday", D(2025, 10, 27)),
        ("in 3 days", D(2025, 10, 23)),
    ],
)
def test_future_dates_are_refused(text, understood):
    result = refused(text)
    assert result.understood == understood
    assert f"as {format_date(understood)}, which is in the future" in result.message
    assert "today (20 Oct 2025) or earlier" in result.message


@pytest.mark.parametrize(
    ("text", "understood"),
    [
        ("31/12/1999", D(1999, 12, 31)),
        ("12 Oct 1990", D(1990, 10, 12)),
        ("1999-01-01", D(1999, 1, 1)),
    ],
)
def test_dates_before_2000_are_refused(text, understood):
    result = refused(text)
    assert result.understood == understood
    assert f"as {format_date(understood)}, which is before 1 Jan 2000" in result.message


def test_two_digit_years_are_this_century():
    assert ok("12/10/05") == D(2005, 10, 12)
    result = refused("12/10/99")  # 2099, not 1999
    assert result.understood == D(2099, 10, 12)


@pytest.mark.parametrize("text", ["blah", "next week sometime", "9434765919", "2 weeks back", "/"])
def test_unreadable_text(text):
    result = refused(text)
    assert f"I couldn't read “{text}” as a date" in result.message


@pytest.mark.parametrize("text", ["", "   "])
def test_empty(text):
    assert "I didn't see a date" in refused(text).message


@pytest.mark.parametrize("text", ["October 2025", "Oct", "last week", "last month", "3 weeks"])
def test_vague_periods_ask_which_day(text):
    assert "which day was it?" in refused(text).message


def test_unwrap():
    assert parse_date("today", TODAY).unwrap() == TODAY
    with pytest.raises(DateParseError) as info:
        parse_date("tomorrow", TODAY).unwrap()
    assert info.value.understood == D(2025, 10, 21)
    assert "in the future" in info.value.message
    assert isinstance(info.value, ValueError)


def test_results_depend_on_today_despite_the_cache():
    assert ok("yesterday", D(2025, 1, 1)) == D(2024, 12, 31)
    assert ok("yesterday", D(2025, 1, 2)) == D(2025, 1, 1)
    assert ok("12 Oct", D(2025, 10, 5)) != ok("12 Oct", D(2025, 10, 13))


# ---------------------------------------------------------------------------
# Formatting and warm-up.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "text"),
    [
        (D(2025, 10, 12), "12 Oct 2025"),
        (D(2025, 10, 3), "3 Oct 2025"),
        (D(2024, 2, 29), "29 Feb 2024"),
    ],
)
def test_format_date(d, text):
    assert format_date(d) == text


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2025, 10, 20)))
def test_format_date_round_trips(d):
    assert ok(format_date(d)) == d
    assert ok(d.strftime("%d/%m/%Y")) == d
    assert ok(d.isoformat()) == d


@given(st.integers(0, 3000))
def test_days_ago_is_exact(n):
    result = parse_date(f"{n} days ago", TODAY)
    expected = TODAY - timedelta(days=n)
    if expected >= D(2000, 1, 1):
        assert result.value == expected
    else:
        assert not result.ok and result.understood == expected


def test_warm_up_returns_seconds():
    took = warm_up()
    assert isinstance(took, float)
    assert took >= 0
