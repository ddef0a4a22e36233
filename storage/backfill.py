"""Keeps the stored clock fields of `ptl_patients` current for rows the bot did not compute.

Why this exists: the bot stores the rules engine's result (breach date, clock state, RTT code
and status) on every write it makes, so reminders and the PTL can select by index. The web
platform writes the same table without those fields, or changes a row's events and leaves old
values behind; and because the engine ignores events dated after "today", a stored result can
also go stale with time alone (a booked treatment date arrives, a future new clock starts).
`sql/030_reminders.sql` marks the first kind (clears `clock_computed_at`) and records the
latest input date of every row (`clock_inputs_until`) for the second.

This module only does the SQL: it finds those rows in batches, through indexes, and writes
back what the caller's `compute` function (the bot's `bot.rules.records.stored_clock_fields`, passed
in so storage never imports the rules engine) says. Batches lock their rows with `SKIP LOCKED`,
so two bot instances share the work instead of doing it twice, and a platform write racing a
batch waits for it and is then re-marked by the trigger if it changed the inputs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from storage.db import Database

log = logging.getLogger(__name__)

Compute = Callable[[str | None, dt.date | None, Any, dt.date, str | None], Mapping[str, Any]]
"""(pathway type, clock start, events, today, priority) -> the stored clock fields."""

# The engine's results, all in bot-owned columns. A machine write never touches the
# platform's own columns (`rtt_code`, `clock_status`, ...: only a student's edit in the bot
# writes those, README), and the touch trigger (sql/051) keeps `version` and `updated_at`.
_OUTPUTS = (
    "breach_date",
    "clock_state",
    "clock_stopped_on",
    "clock_breached",
    "clock_rank",
    "clock_pathway",
    "clock_order_on",
    "clock_order_days",
)
_SELECT = (
    "select id, pathway_type, clock_start_date, events, priority,"
    " breach_date, clock_state, clock_stopped_on, clock_breached, clock_computed_at,"
    " clock_rank, clock_pathway, clock_order_on, clock_order_days"
    " from public.ptl_patients"
)
_WRITE = """
update public.ptl_patients p
   set breach_date = v.breach_date,
       clock_state = v.clock_state,
       clock_stopped_on = v.stopped_on,
       clock_breached = v.breached,
       clock_computed_at = v.computed_at,
       clock_as_of = v.as_of,
       clock_rank = v.rank,
       clock_pathway = v.pathway,
       clock_order_on = v.order_on,
       clock_order_days = v.order_days
  from unnest($1::bigint[], $2::date[], $3::text[], $4::timestamptz[], $5::date[],
              $6::boolean[], $7::date[], $8::smallint[], $9::text[], $10::date[],
              $11::integer[])
       as v(id, breach_date, clock_state, computed_at, stopped_on, breached, as_of, rank,
            pathway, order_on, order_days)
 where p.id = v.id
"""


_MAYBE_STALE = (
    "clock_computed_at is null or clock_inputs_until is null or clock_rank is null"
    " or clock_as_of is null or clock_inputs_until > clock_as_of"
)
STALE_FOR_DAY = (
    f"id in (select id from public.ptl_patients where ({_MAYBE_STALE})"
    "          and (clock_computed_at is null or clock_inputs_until is null"
    "               or clock_rank is null or clock_as_of is null or clock_as_of <> $1)"
    "        union all"
    "        select id from public.ptl_patients"
    "         where clock_as_of > $1 and clock_inputs_until > $1)"
)
"""Rows whose stored results may not hold for the day `$1`: never computed, computed before
sql/053, or computed for another day with a dated input between that day and `$1` (the
engine counts an event only once its date has come). Written as two branches that the indexes
of sql/054 answer (`_MAYBE_STALE` is the partial index's condition, word for word), so a PTL
with nothing stale costs two index probes, not a read of every row."""


@dataclass
class BackfillReport:
    """What one pass did: rows examined and rows written, for logs and the bench."""

    dirty_written: int = 0
    time_checked: int = 0
    time_written: int = 0
    refreshed_through: dt.date | None = None

    @property
    def written(self) -> int:
        return self.dirty_written + self.time_written


class ClockBackfill:
    """Finds rows whose stored clock fields are missing or may be stale, and rewrites them."""

    def __init__(self, db: Database, *, batch_size: int = 500) -> None:
        self.db = db
        self.batch_size = batch_size

    async def refreshed_through(self) -> dt.date | None:
        """The last day on which every time-dependent row was re-evaluated (None: never)."""
        async with self.db.service() as conn:
            day: dt.date | None = await conn.fetchval(
                "select refreshed_through from ptl_bot.clock_refresh where id = 1"
            )
        return day

    async def _installed_on(self) -> dt.date | None:
        """The day before sql/030 was applied. Before the first refresh, every row older than
        that migration is marked (no `clock_inputs_until`) and every later row was computed
        by the engine on or after that day, so only dated inputs after it can be stale."""
        async with self.db.service() as conn:
            day: dt.date | None = await conn.fetchval(
                "select (min(applied_at) at time zone 'Europe/London')::date - 1"
                " from ptl_bot.schema_migrations where filename like '030\\_%'"
            )
        return day

    async def dirty_count(self) -> int:
        async with self.db.service() as conn:
            count: int = await conn.fetchval(
                "select count(*) from public.ptl_patients"
                " where clock_computed_at is null or clock_inputs_until is null"
            )
        return count

    async def run(self, today: dt.date, compute: Compute) -> BackfillReport:
        """Compute every marked row; then, once per day, every row that time may have changed.

        Safe to run at any moment and from several instances at once: each row is written
        by whichever runner locked it, with the same result.
        """
        report = BackfillReport()
        report.dirty_written = await self._pass(
            "(clock_computed_at is null or clock_inputs_until is null)",
            (),
            today,
            compute,
            only_changed=False,
        )
        through = await self.refreshed_through()
        if through is None or through < today:
            # Anything with a dated input after the last refresh may have moved since.
            since = through or await self._installed_on() or dt.date.min
            checked, written = await self._time_pass(since, today, compute)
            report.time_checked, report.time_written = checked, written
            async with self.db.service() as conn:
                await conn.execute(
                    "insert into ptl_bot.clock_refresh as c (id, refreshed_through)"
                    " values (1, $1) on conflict (id) do update set refreshed_through ="
                    " greatest(c.refreshed_through, excluded.refreshed_through),"
                    " refreshed_at = now()",
                    today,
                )
            through = today
        report.refreshed_through = through
        if report.written:
            log.info(
                "Clock backfill: %d marked row(s) computed, %d of %d time-dependent row(s) changed",
                report.dirty_written,
                report.time_written,
                report.time_checked,
            )
        return report

    async def refresh_student(self, email: str, today: dt.date, compute: Compute) -> int:
        """Make one student's stored results hold for `today` before their PTL is paged in
        SQL (storage/ptl_pages.py): rows never computed, computed before sql/053 (no
        `clock_rank`), or computed for another day when a dated input lies between that day
        and today. Runs on the student path, so row-level security picks the rows; rows
        another runner holds are skipped (it is writing the same result)."""
        async with self.db.student(email) as conn:
            rows = await conn.fetch(
                f"{_SELECT} where deleted_at is null and ({STALE_FOR_DAY}) for update skip locked",
                today,
            )
            if not rows:
                return 0
            return await self._write(conn, rows, today, compute, only_changed=False)

    async def _time_pass(self, since: dt.date, today: dt.date, compute: Compute) -> tuple[int, int]:
        checked = written = 0
        last_id = 0
        while True:
            async with self.db.service() as conn:
                rows = await conn.fetch(
                    f"{_SELECT} where clock_inputs_until > $1 and clock_computed_at is not null"
                    " and id > $2 order by id limit $3 for update skip locked",
                    since,
                    last_id,
                    self.batch_size,
                )
                if not rows:
                    return checked, written
                checked += len(rows)
                written += await self._write(conn, rows, today, compute, only_changed=True)
            last_id = rows[-1]["id"]

    async def _pass(
        self,
        condition: str,
        args: Sequence[Any],
        today: dt.date,
        compute: Compute,
        *,
        only_changed: bool,
    ) -> int:
        written = 0
        last_id = 0
        n = len(args)
        while True:
            async with self.db.service() as conn:
                rows = await conn.fetch(
                    f"{_SELECT} where {condition} and id > ${n + 1}"
                    f" order by id limit ${n + 2} for update skip locked",
                    *args,
                    last_id,
                    self.batch_size,
                )
                if not rows:
                    return written
                written += await self._write(conn, rows, today, compute, only_changed=only_changed)
            last_id = rows[-1]["id"]

    @staticmethod
    async def _write(
        conn: asyncpg.Connection,
        rows: Sequence[asyncpg.Record],
        today: dt.date,
        compute: Compute,
        *,
        only_changed: bool,
    ) -> int:
        columns: tuple[list[Any], ...] = tuple([] for _ in range(11))
        for row in rows:
            fields = _safe_compute(compute, row, today)
            if only_changed and _unchanged(fields, row):
                continue
            columns[0].append(row["id"])
            columns[1].append(fields.get("breach_date"))
            columns[2].append(fields.get("clock_state") or "unknown")
            columns[3].append(fields.get("clock_computed_at") or dt.datetime.now(dt.UTC))
            columns[4].append(fields.get("clock_stopped_on"))
            columns[5].append(fields.get("clock_breached"))
            columns[6].append(today)
            columns[7].append(fields.get("clock_rank"))
            columns[8].append(fields.get("clock_pathway"))
            columns[9].append(fields.get("clock_order_on"))
            columns[10].append(fields.get("clock_order_days"))
        if columns[0]:
            await conn.execute(_WRITE, *columns)
        return len(columns[0])


def _unchanged(fields: Mapping[str, Any], row: asyncpg.Record) -> bool:
    """True when writing `fields` would leave the row's stored results as they are."""
    return all(fields.get(key) == row[key] for key in _OUTPUTS)


def _safe_compute(compute: Compute, row: asyncpg.Record, today: dt.date) -> Mapping[str, Any]:
    """The engine's fields for a row; a row too malformed to read is stored as 'unknown'
    (and logged by id only) rather than stopping every other row's backfill."""
    try:
        return compute(
            row["pathway_type"], row["clock_start_date"], row["events"], today, row["priority"]
        )
    except Exception:
        log.warning("Clock backfill: row id %s could not be evaluated", row["id"], exc_info=True)
        return {"breach_date": None, "clock_state": "unknown", "rtt_code": None,
                "clock_status": None, "clock_computed_at": dt.datetime.now(dt.UTC),
                "clock_rank": 9}  # fmt: skip
