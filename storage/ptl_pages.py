"""The student's PTL paged in the database, in the rules engine's order (issue 13, point 7).

Why in SQL: a PTL of 20,000 rows read whole, decoded and evaluated in Python for every page
cost most of a second and a hundred megabytes. Here the database orders and filters by the
engine's stored results and sends one page of rows, with only the columns the list shows;
the caller evaluates those few rows with the engine again, so what a row says is unchanged.

The order is `bot.rules.pathway.ordering_key` rebuilt from what the engine stored (sql/051,
sql/053): group (`clock_rank`), days to breach (`clock_order_days` when the clock is frozen,
else `clock_order_on - today`), the row's date (`clock_order_on`), then name and patient id.
The status the filters and counts use is the engine's, worked out for the day asked: a
running clock is breached at 0 days to breach or fewer, at risk within the caller's
threshold for its pathway type (or while frozen), on track otherwise. The stored results
must hold for that day: the caller refreshes the student's stale rows first
(`ClockBackfill.refresh_student`, `BookingBackfill.refresh_student`).

Every query runs on the student path (`Database.student`): row-level security, not these
queries, decides which rows exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from storage.bookings import BOOKING_FILTER_SQL
from storage.columns import EXPORT_COLUMNS, LIST_COLUMNS
from storage.db import Database
from storage.models import Patient

__all__ = ["ORDER_SQL", "STATUS_SQL", "PtlFilter", "PtlPage", "PtlPages"]

_DAYS: Final = "coalesce(clock_order_days, clock_order_on - $1)"
_RISK: Final = f"(case when clock_rank = 0 then {_DAYS} else 0 end)"
STATUS_SQL: Final = f"""(case
    when clock_rank = 0 then case
        when {_DAYS} <= 0 then 'breached'
        when clock_order_days is not null then 'at_risk'
        when clock_order_on - $1 <= coalesce(($2::jsonb ->> clock_pathway)::int, 0) then 'at_risk'
        else 'on_track' end
    when clock_state in ('stopped', 'ended', 'nullified', 'transferred') then clock_state
    else 'none' end)"""
"""The engine's status of a row on day `$1`, with the at-risk thresholds `$2` (jsonb)."""

ORDER_SQL: Final = (
    f"coalesce(clock_rank, 9), {_RISK}, clock_order_on,"
    # casefold() in the engine's order is a Unicode lower case compared by code point.
    ' lower(coalesce(patient_name, \'\')) collate "C", patient_id collate "C"'
)
"""The engine's breach-risk order on day `$1` (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class PtlFilter:
    """Which rows a PTL view shows: engine statuses (empty: all), a canonical pathway type
    (None: all) and a booking filter code of `storage.bookings.BOOKING_FILTER_SQL` (or "all")."""

    statuses: frozenset[str] = frozenset()
    pathway: str | None = None
    booking: str = "all"

    def where(self, args: list[Any]) -> str:
        """The SQL condition, appending its parameters to `args` (which start with today
        and the thresholds)."""
        parts = ["deleted_at is null"]
        if self.statuses:
            args.append(sorted(self.statuses))
            parts.append(f"{STATUS_SQL} = any(${len(args)}::text[])")
        if self.pathway is not None:
            args.append(self.pathway)
            parts.append(f"clock_pathway = ${len(args)}")
        if self.booking in BOOKING_FILTER_SQL:
            parts.append(BOOKING_FILTER_SQL[self.booking])
        return " and ".join(parts)


@dataclass(frozen=True, slots=True)
class PtlPage:
    """One page of a student's PTL and the counts its header shows."""

    total: int
    """Live patients, whatever the filter."""
    statuses: Mapping[str, int]
    """Live patients per engine status ("none": no usable clock)."""
    bookings: Mapping[str, int]
    """Live patients each booking filter selects ("und", "late", "out")."""
    shown: int
    """Patients the filter selects."""
    page: int
    """The page shown (the one asked for, brought within range)."""
    rows: Sequence[Patient] = field(default_factory=tuple)
    """That page's rows, in order, with `LIST_COLUMNS` only."""


_STATUSES: Final = ("breached", "at_risk", "on_track", "stopped", "ended", "nullified",
                    "transferred", "none")  # fmt: skip


class PtlPages:
    """Pages and streams of one student's PTL, ordered and filtered in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(
        self,
        email: str,
        today: dt.date,
        thresholds: Mapping[str, int],
        wanted: PtlFilter,
        page: int,
        size: int,
    ) -> PtlPage:
        """Page `page` (from 0; past the end means the last page) of `size` rows."""
        args: list[Any] = [today, dict(thresholds)]
        condition = wanted.where(args)
        counts = ", ".join(
            [f"count(*) filter (where {STATUS_SQL} = '{s}') as {s}" for s in _STATUSES]
            + [
                f"count(*) filter (where {sql}) as b_{code}"
                for code, sql in BOOKING_FILTER_SQL.items()
            ]
        )
        async with self.db.student(email) as conn:
            head = await conn.fetchrow(
                f"select count(*) as total, count(*) filter (where {condition}) as shown,"
                f" {counts} from public.ptl_patients where deleted_at is null",
                *args,
            )
            assert head is not None
            shown = int(head["shown"])
            last = max(0, -(-shown // size) - 1)
            page = min(max(page, 0), last)
            rows = await conn.fetch(
                # ($2, the thresholds, appears only in a status filter: named here so the
                # statement always knows its type.)
                f"select {LIST_COLUMNS} from public.ptl_patients"
                f" where {condition} and $2::jsonb is not null"
                f" order by {ORDER_SQL} limit {int(size)} offset {int(page * size)}",
                *args,
            )
        return PtlPage(
            total=int(head["total"]),
            statuses={s: int(head[s]) for s in _STATUSES},
            bookings={code: int(head[f"b_{code}"]) for code in BOOKING_FILTER_SQL},
            shown=shown,
            page=page,
            rows=tuple(Patient.from_record(r) for r in rows),
        )

    async def stream(
        self, email: str, today: dt.date, *, chunk: int = 500
    ) -> AsyncIterator[Sequence[Patient]]:
        """Every live row in breach-risk order, `chunk` rows at a time, through a server-side
        cursor: the whole PTL is never in memory at once (for /export)."""
        async with self.db.student(email) as conn:
            cursor = await conn.cursor(
                f"select {EXPORT_COLUMNS} from public.ptl_patients where deleted_at is null"
                f" order by {ORDER_SQL}",
                today,
            )
            while True:
                records = await cursor.fetch(chunk)
                if not records:
                    return
                yield [Patient.from_record(r) for r in records]
