"""Breach reminders without Telegram: preferences, send times, selection and composition.

Why it is split this way: when a digest is due and which sections it has are pure rules
(bot/rules/digest.py); this service reads the candidates, resolves each student's settings and
composes their digests; `handlers/reminders.py` only claims, sends and records.

The stored clock fields narrow the search (by index, see storage/reminders.py) but never
decide: every candidate row is re-evaluated with the rules engine for the digest's date,
because the engine ignores events dated after "today" until their day comes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import itertools
import os
import secrets
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from bot.config import Settings
from bot.rules.bookings import (
    Booking,
    BookingSummary,
    awaiting_outcome,
    booking_at,
    bookings_on,
    decode_bookings,
    summarise,
    upcoming,
)
from bot.rules.clock import Clock
from bot.rules.digest import (
    DAYS,
    BookingFlags,
    Digest,
    DigestItem,
    NextSend,
    Preferences,
    booking_section,
    classify,
    is_reminder_day,
    next_send,
    stored_booking_flags,
)
from bot.rules.frozen import fast_builder
from bot.rules.pathway import ClockState
from bot.rules.records import (
    evaluate_row,
    events_from_json,
    stored_booking_columns,
    stored_clock_fields,
)
from bot.services.progress import WEEKLY_LINE_WEEKDAY, StudentRecordService
from storage.backfill import BackfillReport, ClockBackfill
from storage.booking_backfill import BookingBackfill
from storage.db import Database
from storage.models import json_objects
from storage.reminders import CandidateRow, Recipient, ReminderRepository

__all__ = [
    "PreviewEntry",
    "ReminderService",
    "build_digest",
    "preferences_for",
    "readable_events",
    "stored_fields",
]

WEEK_LINE_CONCURRENCY = 4
"""Students whose weekly line is counted at once (each is one short transaction)."""


def readable_events(events: Any) -> list[dict[str, Any]]:
    """A row's `events` as the engine can read them: rows written by other tools may hold
    an object, a string or stray non-object entries; those entries are skipped, as
    `bot.rules.records.events_from_json` skips entries it cannot read."""
    return json_objects(events)


def stored_fields(
    pathway_type: str | None,
    clock_start: dt.date | None,
    events: Any,
    today: dt.date,
    priority: str | None = None,
) -> dict[str, Any]:
    """`bot.rules.records.stored_clock_fields` for a row of any provenance (see readable_events)."""
    return stored_clock_fields(pathway_type, clock_start, readable_events(events), today, priority)


# ---------------------------------------------------------------------------------------
# Preferences
# ---------------------------------------------------------------------------------------


def preferences_for(recipient: Recipient | None, settings: Settings) -> Preferences:
    """A student's effective reminder settings: their own choice, or the operator default
    (a stored value outside what /settings offers counts as no choice)."""
    default_time = dt.time.fromisoformat(settings.reminder_default_time)
    default_days = "weekdays" if settings.reminder_weekdays_only else "daily"
    if recipient is None:
        return Preferences(default_time, default_days, settings.reminder_default_window_days, False)
    days = recipient.reminder_days if recipient.reminder_days in DAYS else None
    window = recipient.reminder_window_days
    if window is not None and not 1 <= window <= 60:
        window = None
    return Preferences(
        send_time=recipient.reminder_time or default_time,
        days=days or default_days,
        window_days=window or settings.reminder_default_window_days,
        muted=recipient.reminders_muted,
        custom_time=recipient.reminder_time is not None,
        custom_days=days is not None,
        custom_window=window is not None,
    )


# ---------------------------------------------------------------------------------------
# Digests
# ---------------------------------------------------------------------------------------


def build_digest(
    email: str, rows: Iterable[CandidateRow], day: dt.date, window_days: int
) -> Digest:
    """Evaluate each candidate with the rules engine as at `day` and sort it into a section:
    longest waits first, then the most overdue, then the soonest to breach."""
    digest = Digest(email=email, day=day, window_days=window_days)
    lists = {section: getattr(digest, name) for section, name in _SECTION_LIST.items()}
    for row in rows:
        try:
            state = evaluate_row(
                row.pathway_type, row.clock_start_date, row.events, day, priority=row.priority
            )
        except Exception:
            # Written by another tool with stray entries: read what can be read. Checked only
            # on failure, so the usual rows pay nothing for it.
            try:
                state = evaluate_row(
                    row.pathway_type, row.clock_start_date, readable_events(row.events), day,
                    priority=row.priority,
                )  # fmt: skip
            except Exception:  # a malformed row must not sink the whole digest
                state = None
        if state is None:
            continue  # no usable clock: nothing to remind about
        bookings: BookingFlags | BookingSummary = (
            stored_booking_flags(row.next_on, row.passed_on, row.next_late, state.running)
            if row.booking_known
            else _bookings(row, state, day)
        )
        section = booking_section(classify(state, window_days), bookings)
        if section is None:
            continue
        shown = None
        if section == "booked_late" or section == "outcome":  # only these lines name one
            shown = _shown_booking(row, section, bookings, day)
        lists[section].append(
            _new_item(  # (by position: DigestItem's field order)
                row.patient_id,
                (row.patient_name or "").strip() or row.patient_id,
                row.specialty,
                state.pathway_type,  # (the engine's canonical type)
                state,
                section,
                shown,
                bookings.outcome_needed and section != "outcome",
            )
        )
    digest.long_waits.sort(key=lambda i: (-i.state.days_waited, i.name.casefold()))
    digest.breached.sort(key=lambda i: (i.state.days_to_breach or 0, i.name.casefold()))
    digest.due_soon.sort(key=lambda i: (i.state.days_to_breach or 0, i.name.casefold()))
    digest.undated_soon.sort(key=lambda i: (i.state.days_to_breach or 0, i.name.casefold()))
    digest.booked_late.sort(key=lambda i: (i.state.days_to_breach or 0, i.name.casefold()))
    digest.outcome_needed.sort(key=lambda i: (_booking_day(i), i.name.casefold()))
    return digest


_new_item: Final = fast_builder(DigestItem)  # one per patient listed: see bot.rules.frozen


def _shown_booking(
    row: CandidateRow,
    section: str,
    bookings: BookingFlags | BookingSummary,
    day: dt.date,
) -> Booking | None:
    """The booking a "booked after breach" or "outcome needed" line names: the next one, or
    the oldest passed with no outcome. From stored summaries the date is known, and usually
    where that booking sits in the list too (sql/084): only that element was sent and is read
    (`booking_at`); without its place, only that day's bookings are read (`bookings_on`).
    None if no booking is on the day the summaries name (the list changed under them)."""
    if isinstance(bookings, BookingFlags):
        late = section == "booked_late"
        on = bookings.next_on if late else bookings.oldest_passed_on
        if on is None:
            return None
        place = row.next_place if late else row.passed_place
        if place is not None:
            return booking_at(place, row.next_item if late else row.passed_item, on)
        if isinstance(row.appointments, list):
            found = bookings_on(enumerate(row.appointments), on)
        else:  # (not a list: one object, read whole)
            found = tuple(b for b in decode_bookings(row.appointments) if b.date == on)
        picked = (upcoming if section == "booked_late" else awaiting_outcome)(found, day)
        return picked[0] if picked else None
    if section == "booked_late":
        return bookings.next
    return bookings.awaiting[0] if bookings.awaiting else None


def _bookings(row: CandidateRow, state: ClockState | None, day: dt.date) -> BookingSummary:
    """The row's bookings as at the digest's day (the next one's meaning from the engine)."""
    if not row.appointments:
        return summarise((), state, day, None, None, ())
    try:
        return summarise(row.appointments, state, day, row.pathway_type, row.clock_start_date,
                         events_from_json(readable_events(row.events)),
                         priority=row.priority)  # fmt: skip
    except Exception:  # an unreadable row must not sink the whole digest
        return summarise((), state, day, None, None, ())


def _booking_day(item: DigestItem) -> dt.date:
    return item.booking.date if item.booking is not None and item.booking.date else dt.date.min


_SECTION_LIST = {
    "long_wait": "long_waits",
    "breached": "breached",
    "due_soon": "due_soon",
    "booked_late": "booked_late",
    "undated_soon": "undated_soon",
    "outcome": "outcome_needed",
}


# ---------------------------------------------------------------------------------------
# The service: what jobs, /settings and the preview command call
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreviewEntry:
    """What a student would receive on a date, and why (for `python -m bot reminders preview`)."""

    recipient: Recipient
    prefs: Preferences
    digest: Digest
    outcome: str  # 'send' | 'empty' | 'send_empty' | 'muted' | 'not_today'
    logged: str | None = None  # today's log status, when previewing today


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a bulk build, back on after (unless it was off).

    Why: a daily run builds hundreds of thousands of small objects that live until the run
    ends (rows, clocks, digest lines), none of them in a reference cycle. The collector, set
    off by allocations, walked that growing heap again and again: measured, 1.4 s of a 5.5 s
    run for 5,000 students. Nothing is lost while it is off: memory is still freed by
    reference counting, and any cycle made meanwhile is collected once it is back on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _runner_id() -> str:
    """Names the process (and instance) holding a claim, for the log and for debugging."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class ReminderService:
    """Selection and composition of digests, plus preference changes, for one bot process."""

    CHUNK = 500
    """Students per compose in a daily run (the runner claims no more at once)."""
    QUERY_CHUNK = 100
    """Students per candidate query, so Postgres finds the next students' rows while Python
    composes this one's digests (one query per 500 left Python waiting for each)."""
    YIELD_EVERY = 25
    """Students composed between pauses for other updates. A chunk is a third of a second of
    Python with bookings; without pauses every student's reply waited for it."""

    def __init__(
        self, db: Database, settings: Settings, clock: Clock, *, runner: str | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.repo = ReminderRepository(db)
        self.backfill = ClockBackfill(db)
        self.booking_backfill = BookingBackfill(db)
        self.runner = runner or _runner_id()
        # A claim untouched this long belongs to a runner that died (a live one touches the
        # row before every send, and claims no more than it can send in a minute or so).
        self.stale_after = dt.timedelta(minutes=10)

    # -- clocks ------------------------------------------------------------------------
    async def refresh_clocks(self) -> BackfillReport:
        """Make the stored clock fields current (rows the platform wrote or changed, and
        rows time may have changed since the last daily refresh), and the stored booking
        summaries of rows whose bookings someone else wrote."""
        report = await self.backfill.run(self.clock.today(), stored_fields)
        await self.booking_backfill.run(stored_booking_columns)
        return report

    # -- preferences ---------------------------------------------------------------------
    def preferences(self, recipient: Recipient | None) -> Preferences:
        return preferences_for(recipient, self.settings)

    @property
    def default_days(self) -> str:
        return "weekdays" if self.settings.reminder_weekdays_only else "daily"

    async def next_send_for(self, recipient: Recipient) -> NextSend | None:
        """When this student's next digest will be checked for, given today's log."""
        now = self.clock.now()
        entry = await self.repo.entry(recipient.email, now.date())
        done = entry is not None
        return next_send(self.preferences(recipient), now, done)

    async def update_preferences(
        self, telegram_user_id: int, changes: dict[str, object]
    ) -> Recipient | None:
        """Store the change, effective today: if today was already checked and there was
        nothing to say, that check is forgotten so today is looked at again under the new
        settings (a digest already sent today is never sent again)."""
        recipient = await self.repo.set_preferences(telegram_user_id, changes)
        if recipient is not None:
            await self.repo.forget_empty(recipient.email, self.clock.today())
        return recipient

    # -- selection and composition ---------------------------------------------------------
    async def due_now(self, limit: int = 1000) -> list[Recipient]:
        now = self.clock.now()
        return await self.repo.due(
            local_date=now.date(),
            local_time=now.time().replace(second=0, microsecond=0, tzinfo=None),
            weekday=now.weekday() < 5,
            default_time=dt.time.fromisoformat(self.settings.reminder_default_time),
            default_days=self.default_days,
            limit=limit,
        )

    async def compose(self, recipients: Sequence[Recipient], day: dt.date) -> dict[str, Digest]:
        """Each recipient's digest for `day`, keyed by email (empty digests included).

        Chunk by chunk; the next chunk's query is sent before this chunk is evaluated, so
        Postgres works while Python does. Python's cycle collector is paused meanwhile
        (`collector_paused`)."""
        with collector_paused():
            return await self._compose(recipients, day)

    async def _compose(self, recipients: Sequence[Recipient], day: dt.date) -> dict[str, Digest]:
        through = await self.backfill.refreshed_through()
        digests: dict[str, Digest] = {}
        plans = [
            {r.email: self.preferences(r).window_days for r in chunk}
            for chunk in _chunks(recipients, self.QUERY_CHUNK)
        ]

        def fetch(windows: dict[str, int]) -> asyncio.Task[list[CandidateRow]]:
            horizons = [(email, day + dt.timedelta(days=w)) for email, w in windows.items()]
            return asyncio.ensure_future(self.repo.candidates(horizons, through, day))

        pending = fetch(plans[0]) if plans else None
        try:
            for i, windows in enumerate(plans):
                assert pending is not None
                rows = await pending
                pending = fetch(plans[i + 1]) if i + 1 < len(plans) else None
                by_email: dict[str, list[CandidateRow]] = {}
                for row in rows:
                    by_email.setdefault(row.email, []).append(row)
                for n, (email, window) in enumerate(windows.items(), start=1):
                    digests[email] = build_digest(email, by_email.get(email, ()), day, window)
                    if n % self.YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # let waiting updates in (see YIELD_EVERY)
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
        if day.weekday() == WEEKLY_LINE_WEEKDAY:
            await self._add_week_lines(digests, day)
        return digests

    async def _add_week_lines(self, digests: dict[str, Digest], day: dt.date) -> None:
        """The weekly line: each student's own week, counted as that student (row-level
        security, no service path), a few students at a time so the pool stays free."""
        record = StudentRecordService(self.db, self.settings.tz)
        gate = asyncio.Semaphore(WEEK_LINE_CONCURRENCY)

        async def one(digest: Digest) -> None:
            async with gate:
                digest.week = await record.week(digest.email, day)

        await asyncio.gather(*(one(d) for d in digests.values()))

    async def preview(self, day: dt.date, email: str | None = None) -> list[PreviewEntry]:
        """Who would receive what on `day`, without sending or recording anything."""
        recipients = await self.repo.recipients(email)
        digests = await self.compose(recipients, day)
        today = self.clock.today()
        logged = {}
        if day == today:
            logged = {e.email: e.status for e in await self.repo.entries(day)}
        entries = []
        for r in recipients:
            prefs = self.preferences(r)
            digest = digests[r.email]
            if prefs.muted:
                outcome = "muted"
            elif not is_reminder_day(prefs.days, day):
                outcome = "not_today"
            elif digest.is_empty:
                outcome = "send_empty" if self.settings.reminder_send_empty else "empty"
            else:
                outcome = "send"
            entries.append(PreviewEntry(r, prefs, digest, outcome, logged.get(r.email)))
        return entries


def _chunks(items: Sequence[Recipient], size: int) -> Iterable[Sequence[Recipient]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
