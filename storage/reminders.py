"""SQL for breach reminders: who is due, which patients to look at, and the delivery log.

Why the log works the way it does: a digest must reach each student exactly once a day even
across restarts, a crash half-way through a run, or two bot instances on one database. So a
row in `ptl_bot.reminder_log`, unique per (email, local date), is *claimed* with
`INSERT ... ON CONFLICT DO NOTHING RETURNING` before anything is composed or sent, and every
step after that is a conditional update by the claiming runner (see sql/030 for the states).
Only the runner that holds the claim may send, and a send whose outcome is unknown is never
repeated: at most once, with what happened recorded.

Patient candidates are narrowed by index (running clocks by breach date per student, plus the
few rows whose stored fields may be stale); the rules engine in `bot/` makes the decision.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import orjson

from storage.bookings import next_open_sql, oldest_passed_sql
from storage.db import Database, normalise_email

_RECIPIENT_COLUMNS = (
    "l.telegram_user_id, l.chat_id, l.email, l.first_name, l.reminder_time, l.reminder_days,"
    " l.reminder_window_days, l.reminders_muted"
)
_PATIENT_COLUMNS = (
    "p.id, lower(p.user_email) as email, p.patient_id, p.patient_name, p.specialty,"
    " p.pathway_type, p.clock_start_date, p.events, p.appointments, p.booking_open_dates,"
    " p.booking_late_dates, p.booking_open_places,"
    " p.booking_computed_at is not null as booking_known, p.priority"
)
# Reminder candidates for a chunk of students ($1 emails, $2 horizons, $3 refreshed-through,
# $4 the digest's day). The first branch is one index range scan per student on
# ptl_patients_running_breach_idx (the lateral subquery, kept apart from the outer query by
# OFFSET 0, is never turned into a scan of the whole table); the second finds the few rows whose
# stored fields may be stale; the third the rows whose bookings need attention whatever their
# breach date (a booking passed with no outcome, or one the engine said comes after the breach),
# one index scan per student on ptl_patients_open_bookings_idx (sql/080).
_FOUND = (
    "select p.* from unnest($1::text[], $2::date[]) as s(email, horizon)"
    " cross join lateral ("
    f"   select {_PATIENT_COLUMNS} from public.ptl_patients p"
    "    where lower(p.user_email) = s.email and p.deleted_at is null"
    "      and p.clock_state = 'running' and p.breach_date <= s.horizon"
    "   offset 0) p"
    " union all "
    f"select {_PATIENT_COLUMNS} from public.ptl_patients p"
    " where p.deleted_at is null and lower(p.user_email) = any($1::text[])"
    "   and (p.clock_computed_at is null or p.clock_inputs_until is null"
    "        or p.clock_inputs_until > $3)"
    " union all "
    "select p.* from unnest($1::text[], $2::date[]) as s(email, horizon)"
    " cross join lateral ("
    f"   select {_PATIENT_COLUMNS} from public.ptl_patients p"
    "    where lower(p.user_email) = s.email and p.deleted_at is null"
    "      and cardinality(p.booking_open_dates) > 0"
    "      and (p.booking_open_dates[1] < $4 or cardinality(p.booking_late_dates) > 0)"
    # (not the rows the first branch sends already)
    "      and not coalesce(p.clock_state = 'running' and p.breach_date <= s.horizon, false)"
    "   offset 0) p"
)
# Each row's booking dates for the day, from the stored summaries (sql/080, ascending open
# dates): the next open booking's date on or after the day and whether the engine listed it as
# late, and the oldest open booking's date before the day (its outcome is needed). A digest
# line may name the booking on either date; the summaries also say where in the list it sits
# (sql/084), so only that element is sent (`next_item`, `passed_item`). The whole list is sent
# only when the summaries are unknown, or a line may name a booking and its place is not known
# (the list is one object, or was summarised before sql/084). Filtering the list here by date
# instead was tried: it made Postgres the slower side of the pipeline
# (tests/bench/bench_reminders.py).
_PLACES_KNOWN = (
    "jsonb_typeof(f.appointments) = 'array'"
    " and cardinality(f.booking_open_places) = cardinality(f.booking_open_dates)"
)
CANDIDATES_SQL = (
    f"with found as ({_FOUND})"
    " select f.id, f.email, f.patient_id, f.patient_name, f.specialty, f.pathway_type,"
    "        f.clock_start_date, f.events::text as events,"
    "        case when not f.booking_known"
    "               or (b.next_late or b.passed_on is not null) and not b.places_known"
    "             then f.appointments::text end as appointments,"
    "        b.next_on, b.passed_on, b.next_late, f.booking_known, f.priority,"
    "        b.next_place, (f.appointments -> b.next_place)::text as next_item,"
    "        b.passed_place, (f.appointments -> b.passed_place)::text as passed_item"
    "   from found f"
    "   cross join lateral (select n.next_on, n.next_late, n.passed_on, n.places_known,"
    "          case when n.next_late and n.places_known then"
    "            f.booking_open_places[array_position(f.booking_open_dates, n.next_on)]"
    "          end as next_place,"
    "          case when n.passed_on is not null and n.places_known then"
    "            f.booking_open_places[1] end as passed_place"
    "     from (select d.next_on,"
    "             coalesce(d.next_on = any(f.booking_late_dates), false) as next_late,"
    f"            {oldest_passed_sql('f.', '$4')} as passed_on,"
    f"            coalesce(f.booking_known and {_PLACES_KNOWN}, false) as places_known"
    # (OFFSET 0 keeps the next date a value worked out once: inlined, it was computed twice)
    f"        from (select {next_open_sql('f.', '$4')} as next_on offset 0) d offset 0) n) b"
)
_new_row: Final = tuple.__new__
PREFERENCE_COLUMNS = ("reminder_time", "reminder_days", "reminder_window_days", "reminders_muted")


@dataclass(frozen=True, slots=True)
class Recipient:
    """A linked student and their stored reminder preferences (None: operator default)."""

    telegram_user_id: int
    chat_id: int
    email: str
    first_name: str | None
    reminder_time: dt.time | None
    reminder_days: str | None
    reminder_window_days: int | None
    reminders_muted: bool

    @classmethod
    def from_record(cls, record: Any) -> Recipient:
        return cls(**{k: record[k] for k in cls.__slots__})


def _loads(text: str) -> Any:
    """JSON text as Python values: orjson (several times faster on a chunk's worth), or the
    standard library for what orjson refuses and Postgres allows (a lone surrogate escape).
    Only the digest reads these values, and nothing here is ever written back."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _loads_all(texts: Iterable[str | None]) -> list[Any]:
    """JSON texts (None: JSON null) decoded in one call, as a list in the same order."""
    return _loads("[" + ",".join(t or "null" for t in texts) + "]")


class CandidateRow(NamedTuple):
    """The columns a digest needs from one patient row (clock inputs plus what is shown).
    A NamedTuple: tens of thousands are built per daily run, and tuples build fastest."""

    id: int
    email: str
    patient_id: str
    patient_name: str | None
    specialty: str | None
    pathway_type: str | None
    clock_start_date: dt.date | None
    events: Any
    appointments: Any = None
    """The stored bookings, when the digest must read them (summaries unknown, or a line may
    name one); else None."""
    next_on: dt.date | None = None
    """From the stored summaries (sql/080), trustworthy when `booking_known`: the next open
    booking's date on or after the day, whether the engine listed it as late, and the
    oldest open booking's date before the day."""
    passed_on: dt.date | None = None
    next_late: bool = False
    booking_known: bool = False
    priority: str | None = None
    """A clock input too: an Urgent suspected cancer RTT row keeps its clock after a DNA."""
    next_place: int | None = None
    """Where in the stored list the booking on `next_on` a line may name sits (sql/084), and
    that element (any JSON value); None when not sent (no such line, or place unknown)."""
    next_item: Any = None
    passed_place: int | None = None
    """Likewise for the booking on `passed_on`."""
    passed_item: Any = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    email: str
    local_date: dt.date
    chat_id: int
    status: str
    claimed_by: str
    attempts: int
    patients: int | None
    message_id: int | None
    detail: str | None


class ReminderRepository:
    """Reminder preferences, due students, candidate patients and the claim-before-send log.

    Every timestamp compared for staleness comes from the caller (the bot's injectable
    clock), so tests can move time and production uses the real clock.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- recipients and preferences ----------------------------------------------------
    async def due(
        self,
        *,
        local_date: dt.date,
        local_time: dt.time,
        weekday: bool,
        default_time: dt.time,
        default_days: str,
        limit: int,
    ) -> list[Recipient]:
        """Active, unmuted students whose send time has come today (local time), on a day
        their settings include, with no log row for today: earliest send time first."""
        async with self.db.service() as conn:
            rows = await conn.fetch(
                f"select {_RECIPIENT_COLUMNS} from ptl_bot.telegram_links l"
                " where l.active and not l.reminders_muted"
                "   and coalesce(l.reminder_time, $2::time) <= $1::time"
                "   and ($3::boolean or coalesce(l.reminder_days, $4::text) = 'daily')"
                "   and not exists (select 1 from ptl_bot.reminder_log r"
                "                   where r.email = l.email and r.local_date = $5)"
                " order by coalesce(l.reminder_time, $2::time), l.id limit $6",
                local_time,
                default_time,
                weekday,
                default_days,
                local_date,
                limit,
            )
        return [Recipient.from_record(r) for r in rows]

    async def recipients(self, email: str | None = None) -> list[Recipient]:
        """Every active link (or the one for `email`), muted or not: for the preview."""
        async with self.db.service() as conn:
            if email is None:
                rows = await conn.fetch(
                    f"select {_RECIPIENT_COLUMNS} from ptl_bot.telegram_links l"
                    " where l.active order by l.email"
                )
            else:
                rows = await conn.fetch(
                    f"select {_RECIPIENT_COLUMNS} from ptl_bot.telegram_links l"
                    " where l.active and l.email = $1",
                    normalise_email(email),
                )
        return [Recipient.from_record(r) for r in rows]

    async def recipient_for_user(self, telegram_user_id: int) -> Recipient | None:
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"select {_RECIPIENT_COLUMNS} from ptl_bot.telegram_links l"
                " where l.active and l.telegram_user_id = $1",
                telegram_user_id,
            )
        return Recipient.from_record(row) if row else None

    async def recipients_for_emails(self, emails: Sequence[str]) -> list[Recipient]:
        async with self.db.service() as conn:
            rows = await conn.fetch(
                f"select {_RECIPIENT_COLUMNS} from ptl_bot.telegram_links l"
                " where l.active and l.email = any($1::text[])",
                list(emails),
            )
        return [Recipient.from_record(r) for r in rows]

    async def set_preferences(
        self, telegram_user_id: int, changes: dict[str, Any]
    ) -> Recipient | None:
        """Store preference changes on the active link (a None value restores the operator
        default). Returns the updated recipient, or None if the user has no active link."""
        unknown = set(changes) - set(PREFERENCE_COLUMNS)
        if unknown:
            raise ValueError(f"not a reminder preference: {', '.join(sorted(unknown))}")
        if not changes:
            return await self.recipient_for_user(telegram_user_id)
        sets = ", ".join(
            f"{col} = coalesce(${i}, false)" if col == "reminders_muted" else f"{col} = ${i}"
            for i, col in enumerate(changes, start=2)
        )
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                f"update ptl_bot.telegram_links l set {sets}"
                f" where l.telegram_user_id = $1 and l.active returning {_RECIPIENT_COLUMNS}",
                telegram_user_id,
                *changes.values(),
            )
        return Recipient.from_record(row) if row else None

    # -- candidate patients ------------------------------------------------------------
    async def candidates(
        self,
        horizons: Sequence[tuple[str, dt.date]],
        refreshed_through: dt.date | None,
        day: dt.date | None = None,
    ) -> list[CandidateRow]:
        """Rows of these students that might belong in a digest, found by index:

        * running clocks whose stored breach date is on or before the student's horizon
          (today + window: breached, long waits and those breaching soon);
        * rows whose stored fields may be stale: never computed, or with a dated input after
          the last daily refresh (`refreshed_through`; None means everything);
        * rows with an open booking before `day` (its outcome is needed) or one the engine
          said comes after the breach date (default `day`: the earliest horizon).

        Each row appears once; the caller re-evaluates every one with the rules engine.
        A row's bookings are sent only when its summaries are unknown or say a line may name
        one (see CANDIDATES_SQL): the rest are answered from the summaries alone, and reading
        thousands of bookings nobody will name was most of a daily run's cost. One
        statement, outside a transaction block (`Database.fetch`): the caller sends the next
        chunk's query while it composes this one's digests.
        """
        if not horizons:
            return []
        emails = [e for e, _ in horizons]
        days = [d for _, d in horizons]
        since = refreshed_through or dt.date.min
        rows = await self.db.fetch(CANDIDATES_SQL, emails, days, since, day or min(days))
        unique = []
        seen: set[int] = set()
        for r in rows:
            if r[0] not in seen:  # a row can match more than one branch
                seen.add(r[0])
                unique.append(r)
        # Events and bookings arrive as JSON text and are decoded in one call each for the
        # whole chunk: tens of thousands of tiny documents cost far more decoded one by one.
        events = _loads_all(r[7] for r in unique)
        bookings = _loads_all(r[8] for r in unique)
        nexts = _loads_all(r[15] for r in unique)
        passed = _loads_all(r[17] for r in unique)
        # (tuple.__new__ with the fields in order: a NamedTuple's own constructor is a Python
        # function with keyword handling, four times slower for a chunk's thousands of rows)
        return [
            _new_row(CandidateRow, (r[0], r[1], r[2], r[3], r[4], r[5], r[6], ev, bk, r[9],
                                    r[10], r[11], r[12], r[13], r[14], nx, r[16], ps))
            for r, ev, bk, nx, ps in zip(unique, events, bookings, nexts, passed, strict=True)
        ]  # fmt: skip

    # -- one runner at a time ------------------------------------------------------------
    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take (or renew) the named lease for `seconds`; False while another holder's
        lease is still running. Database time, so every host agrees on expiry."""
        async with self.db.service() as conn:
            got = await conn.fetchval(
                "insert into ptl_bot.job_leases as l (name, holder, expires_at)"
                " values ($1, $2, now() + make_interval(secs => $3))"
                " on conflict (name) do update"
                " set holder = excluded.holder, expires_at = excluded.expires_at"
                " where l.expires_at < now() or l.holder = excluded.holder"
                " returning holder",
                name,
                holder,
                seconds,
            )
        return got is not None

    async def release_lease(self, name: str, holder: str) -> None:
        async with self.db.service() as conn:
            await conn.execute(
                "delete from ptl_bot.job_leases where name = $1 and holder = $2", name, holder
            )

    # -- the claim-before-send log -----------------------------------------------------
    async def claim(
        self,
        recipients: Sequence[Recipient],
        *,
        local_date: dt.date,
        runner: str,
        now: dt.datetime,
    ) -> set[str]:
        """Claim today's digest for each recipient; returns the emails this runner won.
        A student already claimed (by anyone, in any state) is not returned."""
        if not recipients:
            return set()
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "insert into ptl_bot.reminder_log"
                " (email, local_date, chat_id, status, claimed_by, claimed_at)"
                " select t.email, $3, t.chat_id, 'claimed', $4, $5"
                "   from unnest($1::text[], $2::bigint[]) as t(email, chat_id)"
                " on conflict (email, local_date) do nothing returning email",
                [r.email for r in recipients],
                [r.chat_id for r in recipients],
                local_date,
                runner,
                now,
            )
        return {r["email"] for r in rows}

    async def reclaim_stale(
        self, *, local_date: dt.date, runner: str, now: dt.datetime, stale_after: dt.timedelta
    ) -> list[str]:
        """Recover from a runner that died: returns today's stale claims, now held by `runner`.

        * `claimed` (no send attempted) for today: safe to take over and send.
        * `claimed` for an earlier day: too late to matter; recorded as failed.
        * `sending` (outcome unknown): recorded as uncertain and never sent again.
        """
        cutoff = now - stale_after
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.reminder_log set status = 'uncertain', finished_at = $1,"
                " detail = 'runner stopped during a send'"
                " where status = 'sending' and claimed_at < $2",
                now,
                cutoff,
            )
            await conn.execute(
                "update ptl_bot.reminder_log set status = 'failed', finished_at = $1,"
                " detail = 'claim expired'"
                " where status = 'claimed' and claimed_at < $2 and local_date < $3",
                now,
                cutoff,
                local_date,
            )
            rows = await conn.fetch(
                "update ptl_bot.reminder_log set claimed_by = $1, claimed_at = $2"
                " where status = 'claimed' and claimed_at < $3 and local_date = $4"
                " returning email",
                runner,
                now,
                cutoff,
                local_date,
            )
        return [r["email"] for r in rows]

    async def mark_sending(
        self, email: str, local_date: dt.date, *, runner: str, now: dt.datetime
    ) -> int | None:
        """Record that a send attempt starts; returns the attempt number, or None if this
        runner no longer holds the claim (then it must not send)."""
        async with self.db.service() as conn:
            attempts: int | None = await conn.fetchval(
                "update ptl_bot.reminder_log set status = 'sending',"
                " attempts = attempts + 1, claimed_at = $4"
                " where email = $1 and local_date = $2 and claimed_by = $3"
                "   and status = 'claimed' returning attempts",
                email,
                local_date,
                runner,
                now,
            )
        return attempts

    async def release(
        self, email: str, local_date: dt.date, *, runner: str, now: dt.datetime, detail: str
    ) -> None:
        """Telegram confirmed the attempt delivered nothing: back to `claimed` (retryable)."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.reminder_log set status = 'claimed', claimed_at = $4, detail = $5"
                " where email = $1 and local_date = $2 and claimed_by = $3 and status = 'sending'",
                email,
                local_date,
                runner,
                now,
                detail,
            )

    async def finish(
        self,
        email: str,
        local_date: dt.date,
        status: str,
        *,
        runner: str,
        now: dt.datetime,
        message_id: int | None = None,
        patients: int | None = None,
        detail: str | None = None,
    ) -> bool:
        async with self.db.service() as conn:
            result = await conn.execute(
                "update ptl_bot.reminder_log set status = $4, finished_at = $5,"
                " message_id = $6, patients = coalesce($7, patients),"
                " detail = coalesce($8, detail)"
                " where email = $1 and local_date = $2 and claimed_by = $3"
                "   and status in ('claimed', 'sending')",
                email,
                local_date,
                runner,
                status,
                now,
                message_id,
                patients,
                detail,
            )
        return result != "UPDATE 0"

    async def entry(self, email: str, local_date: dt.date) -> LogEntry | None:
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "select email, local_date, chat_id, status, claimed_by, attempts, patients,"
                " message_id, detail from ptl_bot.reminder_log"
                " where email = $1 and local_date = $2",
                normalise_email(email),
                local_date,
            )
        return LogEntry(**dict(row)) if row else None

    async def entries(self, local_date: dt.date) -> list[LogEntry]:
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "select email, local_date, chat_id, status, claimed_by, attempts, patients,"
                " message_id, detail from ptl_bot.reminder_log"
                " where local_date = $1 order by email",
                local_date,
            )
        return [LogEntry(**dict(r)) for r in rows]

    async def forget_empty(self, email: str, local_date: dt.date) -> bool:
        """Drop today's "nothing to say" record so a settings change can re-check today."""
        async with self.db.service() as conn:
            result = await conn.execute(
                "delete from ptl_bot.reminder_log"
                " where email = $1 and local_date = $2 and status = 'empty'",
                normalise_email(email),
                local_date,
            )
        return result != "DELETE 0"
