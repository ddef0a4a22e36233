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
import re
from array import array
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from storage.bookings import NEXT_OPEN, booking_filter_sql
from storage.columns import EXPORT_COLUMNS, LIST_COLUMNS, TEXT_CAPS
from storage.db import Database, normalise_email
from storage.models import Patient

__all__ = ["ORDER_SQL", "PtlFilter", "PtlPage", "PtlPages", "status_sql"]

_DAYS: Final = "coalesce(clock_order_days, clock_order_on - $1)"
_RISK: Final = f"(case when clock_rank = 0 then {_DAYS} else 0 end)"
_SORT_NAME: Final = f"lower(coalesce(left(patient_name, {TEXT_CAPS['patient_name']}), ''))"

ORDER_SQL: Final = (
    f"coalesce(clock_rank, 9), {_RISK}, clock_order_on,"
    # casefold() in the engine's order is a Unicode lower case compared by code point; the
    # name as every screen reads it (clipped, storage/columns.py).
    f' {_SORT_NAME} collate "C", patient_id collate "C"'
)
"""The engine's breach-risk order on day `$1` (see the module docstring)."""

_KEY = re.compile(r"^[a-z0-9_]+$")


def status_sql(thresholds: Mapping[str, int]) -> str:
    """The engine's status of a row on day `$1`, with the at-risk thresholds (days before the
    breach, per canonical pathway type) written into the statement as numbers."""
    by_type = " ".join(f"when '{k}' then {int(v)}" for k, v in sorted(thresholds.items())
                       if _KEY.match(k))  # fmt: skip
    return f"""(case
    when clock_rank = 0 then case
        when {_DAYS} <= 0 then 'breached'
        when clock_order_days is not null then 'at_risk'
        when clock_order_on - $1 <= (case clock_pathway {by_type} else 0 end) then 'at_risk'
        else 'on_track' end
    when clock_state in ('stopped', 'ended', 'nullified', 'transferred') then clock_state
    else 'none' end)"""


@dataclass(frozen=True, slots=True)
class PtlFilter:
    """Which rows a PTL view shows: engine statuses (empty: all), a canonical pathway type
    (None: all) and a booking filter code of `storage.bookings.BOOKING_FILTER_SQL` (or "all")."""

    statuses: frozenset[str] = frozenset()
    pathway: str | None = None
    booking: str = "all"

    def condition(self, args: list[Any]) -> str:
        """The SQL condition on the page query's computed row (`st` the status, `nx` the
        next open booking), appending its parameters to `args` (which start with today)."""
        parts = ["true"]
        if self.statuses:
            args.append(sorted(self.statuses))
            parts.append(f"st = any(${len(args)}::text[])")
        if self.pathway is not None:
            args.append(self.pathway)
            parts.append(f"clock_pathway = ${len(args)}")
        if self.booking in _BOOKING:
            parts.append(_BOOKING[self.booking])
        return " and ".join(parts)


_BOOKING: Final = booking_filter_sql("nx")


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


def _page_query(status: str, shown: str) -> str:
    """One pass over the student's live rows: each row's status (`st`), next open booking
    (`nx`), booking answers and sort key, materialised once; from it the counts by every
    combination the header needs, and the ids the filter selects, in order."""
    booking = _BOOKING
    return f"""
with r as materialized (
    select id, st,
           coalesce({booking["und"]}, false) as und,
           coalesce({booking["late"]}, false) as late,
           coalesce({booking["out"]}, false) as out,
           coalesce(({shown}), false) as shown,
           coalesce(clock_rank, 9) as o_rank, {_RISK} as o_days, clock_order_on as o_on,
           o_name, patient_id collate "C" as o_id
      from (select *, {status} as st
              from (select id, patient_id, clock_rank, clock_order_on, clock_order_days,
                           clock_pathway, clock_state, booking_open_dates, booking_late_dates,
                           {_SORT_NAME} collate "C" as o_name,
                           case when cardinality(booking_open_dates) > 0
                                then {NEXT_OPEN} end as nx
                      from public.ptl_patients where deleted_at is null) a) b),
c as (select st, und, late, out, shown, count(*)::int as n from r group by 1, 2, 3, 4, 5)
select (select jsonb_agg(jsonb_build_array(st, und, late, out, shown, n)) from c) as counts,
       array(select id from r where shown
             order by o_rank, o_days, o_on, o_name, o_id) as ids"""


_COUNTER_TRIGGERS: Final = (
    "ptl_patients_revise_insert",
    "ptl_patients_revise_update",
    "ptl_patients_revise_delete",
)
"""sql/056's triggers: while all three are in place, an unchanged counter means unchanged rows."""

_STATUSES: Final = ("breached", "at_risk", "on_track", "stopped", "ended", "nullified",
                    "transferred", "none")  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Worked:
    """One student's PTL worked out for a day and a filter: the header's counts (rows of
    status, undated, late, outcome needed, shown, n) and every selected id, in order."""

    revision: int
    counts: tuple[tuple[Any, ...], ...]
    ids: array[int]


class PtlPages:
    """Pages and streams of one student's PTL, ordered and filtered in the database.

    Working a PTL out is a pass over all of the student's rows, so the result is kept and
    reused for the next page, the next filter press or the next /ptl, for as long as the
    student's change counter (sql/056, moved on by every write to their rows, whoever
    makes it) stays where it was. The day, the thresholds and the filter are part of what
    is kept, so nothing another day or view worked out is ever shown. Rows themselves are
    always read fresh, on the student path."""

    KEEP: Final = 256
    """Worked-out PTLs kept (least recently used dropped first)..."""
    KEEP_IDS: Final = 1_000_000
    """...and at most this many ids across them all (8 bytes each)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._kept: OrderedDict[tuple[Any, ...], _Worked] = OrderedDict()
        self._kept_ids = 0

    async def revision(self, email: str) -> int | None:
        """The student's change counter (0: their rows were never written), or None when the
        triggers that move it are missing or disabled (then nothing may be reused: see
        `python -m bot doctor`). One round trip, both from indexes."""
        async with self.db.pool.acquire() as conn:
            found = await conn.fetchrow(
                "select (select revision from ptl_bot.ptl_revisions where email = $1) as revision,"
                " (select count(*) from pg_trigger where tgrelid = 'public.ptl_patients'::regclass"
                "   and tgname = any($2::text[]) and tgenabled <> 'D') as counting",
                normalise_email(email),
                list(_COUNTER_TRIGGERS),
            )
        assert found is not None
        if found["counting"] != len(_COUNTER_TRIGGERS):
            return None
        return int(found["revision"] or 0)

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
        key = (normalise_email(email), today, tuple(sorted(thresholds.items())), wanted)
        revision = await self.revision(email)  # before the rows are read: never newer than them
        worked = self._kept.get(key)
        async with self.db.student(email) as conn:
            if revision is None:  # nothing tells us of changes: work it out every time
                self._kept.clear()
                self._kept_ids = 0
                worked = await self._work_out(conn, -1, today, thresholds, wanted)
            elif worked is None or worked.revision != revision:
                worked = await self._work_out(conn, revision, today, thresholds, wanted)
                self._keep(key, worked)
            else:
                self._kept.move_to_end(key)
            last = max(0, -(-len(worked.ids) // size) - 1)
            page = min(max(page, 0), last)  # an old button past the end: the last page
            ids = worked.ids[page * size : (page + 1) * size].tolist()
            records = await conn.fetch(
                f"select {LIST_COLUMNS} from public.ptl_patients where id = any($1::bigint[])",
                ids,
            )
        by_id = {r["id"]: r for r in records}
        statuses = dict.fromkeys(_STATUSES, 0)
        bookings = dict.fromkeys(_BOOKING, 0)
        for st, und, late, out, _, n in worked.counts:
            statuses[st] = statuses.get(st, 0) + n
            for code, hit in (("und", und), ("late", late), ("out", out)):
                bookings[code] += n if hit else 0
        return PtlPage(
            total=sum(c[5] for c in worked.counts),
            statuses=statuses,
            bookings=bookings,
            shown=len(worked.ids),
            page=page,
            rows=tuple(Patient.from_record(by_id[i]) for i in ids if i in by_id),
        )

    @staticmethod
    async def _work_out(
        conn: Any,
        revision: int,
        today: dt.date,
        thresholds: Mapping[str, int],
        wanted: PtlFilter,
    ) -> _Worked:
        """The pass over every row (one materialised CTE): counts and the selected ids."""
        args: list[Any] = [today]
        shown = wanted.condition(args)
        found = await conn.fetchrow(_page_query(status_sql(thresholds), shown), *args)
        assert found is not None
        counts = tuple(tuple(c) for c in found["counts"] or ())
        return _Worked(revision, counts, array("q", found["ids"]))

    def _keep(self, key: tuple[Any, ...], worked: _Worked) -> None:
        old = self._kept.pop(key, None)
        self._kept_ids -= len(old.ids) if old is not None else 0
        self._kept[key] = worked
        self._kept_ids += len(worked.ids)
        while self._kept and (len(self._kept) > self.KEEP or self._kept_ids > self.KEEP_IDS):
            _, dropped = self._kept.popitem(last=False)
            self._kept_ids -= len(dropped.ids)

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
