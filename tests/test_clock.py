"""The injectable clock: today is the date in Europe/London, never the server's or UTC."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.rules.clock import DEFAULT_TIMEZONE, Clock, FixedClock, SystemClock, get_timezone

LONDON = ZoneInfo("Europe/London")


def test_default_timezone_is_london():
    assert DEFAULT_TIMEZONE == "Europe/London"
    assert SystemClock().tz.key == "Europe/London"
    assert FixedClock(dt.date(2025, 1, 1)).tz.key == "Europe/London"


def test_system_clock_is_aware_and_local():
    clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is not None
    assert now.utcoffset() == now.astimezone(LONDON).utcoffset()
    expected = dt.datetime.now(LONDON).date()
    assert clock.today() in (expected, expected + dt.timedelta(days=1))
    assert isinstance(clock, Clock)


def test_today_is_the_london_date_not_the_utc_date():
    # 23:30 UTC on 14 June is 00:30 on 15 June in London (BST).
    clock = FixedClock(dt.datetime(2025, 6, 14, 23, 30, tzinfo=dt.UTC))
    assert clock.today() == dt.date(2025, 6, 15)
    assert clock.now().utcoffset() == dt.timedelta(hours=1)
    # In winter London is on GMT, so the dates agree.
    winter = FixedClock(dt.datetime(2025, 1, 14, 23, 30, tzinfo=dt.UTC))
    assert winter.today() == dt.date(2025, 1, 14)


def test_other_timezones_are_honoured():
    moment = dt.datetime(2025, 6, 14, 23, 30, tzinfo=dt.UTC)
    assert FixedClock(moment, "America/New_York").today() == dt.date(2025, 6, 14)
    assert FixedClock(moment, "Asia/Tokyo").today() == dt.date(2025, 6, 15)


def test_fixed_clock_from_a_date_is_midday_local():
    clock = FixedClock(dt.date(2025, 3, 30))
    assert clock.now() == dt.datetime(2025, 3, 30, 12, tzinfo=LONDON)
    assert clock.today() == dt.date(2025, 3, 30)


def test_fixed_clock_from_strings_and_naive_datetimes():
    assert FixedClock("2025-10-12").today() == dt.date(2025, 10, 12)
    assert FixedClock("2025-10-12T23:59").now() == dt.datetime(2025, 10, 12, 23, 59, tzinfo=LONDON)
    assert FixedClock(dt.datetime(2025, 10, 12, 0, 5)).today() == dt.date(2025, 10, 12)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        FixedClock("12/10/2025")
    with pytest.raises(TypeError):
        FixedClock(20251012)  # type: ignore[arg-type]


def test_fixed_clock_can_be_set_and_advanced():
    clock = FixedClock(dt.date(2025, 1, 6))
    clock.advance(days=127)
    assert clock.today() == dt.date(2025, 5, 13)
    clock.advance(hours=12)
    assert clock.today() == dt.date(2025, 5, 14)
    clock.advance(days=-1)
    assert clock.today() == dt.date(2025, 5, 13)
    clock.set(dt.date(2024, 2, 29))
    assert clock.today() == dt.date(2024, 2, 29)
    assert clock.now() == clock.now()  # it does not move by itself


def test_advancing_days_across_the_clock_change_keeps_wall_time():
    clock = FixedClock(dt.datetime(2025, 3, 29, 9, 0))  # the day before BST starts
    clock.advance(days=1)
    assert clock.now().hour == 9
    assert clock.now().utcoffset() == dt.timedelta(hours=1)
    clock.advance(hours=24)
    assert clock.now() == dt.datetime(2025, 3, 31, 9, 0, tzinfo=LONDON)


def test_unknown_timezone_is_a_clear_error():
    with pytest.raises(ValueError, match="IANA"):
        get_timezone("Mars/Olympus")
    with pytest.raises(ValueError, match="IANA"):
        SystemClock("")
    assert get_timezone(LONDON) is LONDON


def test_a_ticking_clock_runs_on_from_where_it_is_set() -> None:
    import time as _time

    from bot.rules.clock import TickingClock

    clock = TickingClock(dt.datetime(2025, 3, 3, 8, 29, 59), "Europe/London")
    assert clock.today() == dt.date(2025, 3, 3)
    first = clock.now()
    _time.sleep(0.02)
    assert clock.now() > first  # it ticks
    clock.set(dt.datetime(2025, 3, 30, 0, 59, 59))  # a second before the clocks go forward
    assert clock.now().utcoffset() == dt.timedelta(0)
    assert clock.now().tzinfo is not None and clock.tz.key == "Europe/London"
