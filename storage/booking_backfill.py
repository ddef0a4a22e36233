"""Keeps the stored booking summaries of `ptl_patients` current for rows the bot did not write.

Why this exists: every bot write stores what its bookings mean (`booking_open_dates`,
`booking_late_dates`, `booking_open_places`, see sql/080 and sql/084) in the same statement.
The web platform writes bookings without them; the trigger in sql/080 then clears
`booking_computed_at`, and this pass finds those rows through a partial index and writes back
what the caller's `compute` function (the bot's `bot.rules.records.stored_booking_columns`,
passed in so storage never imports the rules engine) says. The summaries do not depend on the
date, so there is no daily pass: only rows someone else changed.

Batches lock their rows with `SKIP LOCKED`, so two bot instances share the work; a platform
write racing a batch waits for it and is marked again by the trigger if it changed the inputs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from storage.db import Database

log = logging.getLogger(__name__)

BookingCompute = Callable[[Any, str | None, dt.date | None, Any, str | None], Mapping[str, Any]]
"""(appointments, pathway_type, clock_start_date, events, priority) -> the booking columns
(summaries and `booking_computed_at`). Priority is a clock input (an Urgent suspected cancer
RTT row keeps its clock after a first-appointment DNA), so the summaries depend on it too;
sql/080 marks a row when it changes."""

DIRTY = "booking_computed_at is null and appointments is not null and appointments <> '[]'::jsonb"
_COLUMNS = "select id, appointments, pathway_type, clock_start_date, events, priority"
_SELECT = (
    f"{_COLUMNS} from public.ptl_patients"
    f" where {DIRTY} and id > $1 order by id limit $2 for update skip locked"
)
_WRITE = """
update public.ptl_patients p
   set booking_open_dates = v.open_dates::date[],
       booking_late_dates = v.late_dates::date[],
       booking_open_places = v.open_places::integer[],
       booking_computed_at = v.computed_at
  from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
       as v(id, open_dates, late_dates, open_places, computed_at)
 where p.id = v.id
"""


def _array(values: Any) -> str:
    """An array literal of dates or integers ('{2026-01-14,2026-02-01}', '{0,2}'; a date's
    str() is its ISO form): unnest cannot take an array of arrays."""
    return "{" + ",".join(str(v) for v in values or ()) + "}"


class BookingBackfill:
    """Finds rows whose booking summaries are missing and computes them."""

    def __init__(self, db: Database, *, batch_size: int = 500) -> None:
        self.db = db
        self.batch_size = batch_size

    async def dirty_count(self) -> int:
        async with self.db.service() as conn:
            count: int = await conn.fetchval(
                f"select count(*) from public.ptl_patients where {DIRTY}"
            )
        return count

    async def refresh_student(self, email: str, compute: BookingCompute) -> int:
        """Summarise one student's marked rows before their PTL is paged in SQL (the booking
        filters read the summaries). On the student path: row-level security picks the rows."""
        async with self.db.student(email) as conn:
            rows = await conn.fetch(
                f"{_COLUMNS} from public.ptl_patients where deleted_at is null and {DIRTY}"
                " for update skip locked"
            )
            if rows:
                await conn.execute(_WRITE, *_columns(rows, compute))
        return len(rows)

    async def run(self, compute: BookingCompute) -> int:
        """Compute every marked row; returns how many were written."""
        written = 0
        last_id = 0
        while True:
            async with self.db.service() as conn:
                rows = await conn.fetch(_SELECT, last_id, self.batch_size)
                if not rows:
                    break
                await conn.execute(_WRITE, *_columns(rows, compute))
                written += len(rows)
            last_id = rows[-1]["id"]
        if written:
            log.info("Booking backfill: %d row(s) summarised", written)
        return written


def _columns(rows: Sequence[Any], compute: BookingCompute) -> tuple[list[Any], ...]:
    """The `_WRITE` arrays for `rows`: id, open dates, late dates, open places, computed at."""
    columns: tuple[list[Any], ...] = ([], [], [], [], [])
    for row in rows:
        fields = _safe(compute, row)
        columns[0].append(row["id"])
        columns[1].append(_array(fields.get("booking_open_dates")))
        columns[2].append(_array(fields.get("booking_late_dates")))
        columns[3].append(_array(fields.get("booking_open_places")))
        columns[4].append(fields.get("booking_computed_at") or dt.datetime.now(dt.UTC))
    return columns


def _safe(compute: BookingCompute, row: Any) -> Mapping[str, Any]:
    """A row too odd to read is stored as "no open bookings" (logged by id only) rather than
    stopping every other row's backfill."""
    try:
        return compute(
            row["appointments"],
            row["pathway_type"],
            row["clock_start_date"],
            row["events"],
            row["priority"],
        )
    except Exception as exc:  # no traceback: it could quote the patient's text
        log.warning("Booking backfill: row id %s could not be read (%s)", row["id"],
                    type(exc).__name__)  # fmt: skip
        return {}
