"""The booking questions a PTL meeting asks, in SQL: undated, booked after breach, outcome needed.

Why in SQL as well as in `bot.services.ptl_view`: a PTL paged in the database, the tutor's
summaries and the reminder job must answer them without loading every row. They read only the
stored booking summaries (sql/080) and the stored clock state, which the rules engine wrote, so
the answers agree with the PTL view's (tests/test_ptl_bookings.py checks that they do). `$1` in
each condition is "today" (the caller's date in the configured zone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

from storage.db import Database


def next_open_sql(row: str = "", day: str = "$1") -> str:
    """The next open booking's date on or after `day` (null: none), for a row aliased `row`
    ("f." or "" for the table itself)."""
    return f"(select min(d) from unnest({row}booking_open_dates) d where d >= {day})"


def oldest_passed_sql(row: str = "", day: str = "$1") -> str:
    """The oldest open booking's date before `day` (its outcome is needed; null: none). The
    open dates are stored ascending, so it is the first."""
    return f"(case when {row}booking_open_dates[1] < {day} then {row}booking_open_dates[1] end)"


NEXT_OPEN: Final = next_open_sql()
"""The next open booking's date on or after today (null: none)."""


def booking_filter_sql(next_open: str) -> dict[str, str]:
    """The booking filters' conditions, given an expression for the next open booking's date
    (NEXT_OPEN, or a column a query computed once from it)."""
    return {
        "und": f"(clock_state = 'running' and {next_open} is null)",
        "late": f"(clock_state = 'running' and {next_open} = any(booking_late_dates))",
        "out": "(booking_open_dates[1] < $1)",
    }


BOOKING_FILTER_SQL: Final[Mapping[str, str]] = booking_filter_sql(NEXT_OPEN)
"""Conditions on `public.ptl_patients` for the PTL's booking filters (see BOOKING_FILTERS)."""


async def booking_counts(db: Database, email: str, today: dt.date) -> dict[str, int]:
    """How many of the student's live patients each booking filter selects (under RLS)."""
    columns = ", ".join(f"count(*) filter (where {sql}) as {code}"
                        for code, sql in BOOKING_FILTER_SQL.items())  # fmt: skip
    async with db.student(email) as conn:
        row = await conn.fetchrow(
            f"select {columns} from public.ptl_patients where deleted_at is null", today
        )
    assert row is not None
    return {code: int(row[code]) for code in BOOKING_FILTER_SQL}
