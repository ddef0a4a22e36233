"""Breach reminders without Telegram: preferences, send times, selection and composition.

Why it is split this way: when a digest is due, who gets one and what it says are rules a
tutor can reason about and a test can pin down with a fixed clock, so they live here as plain
functions and one service object; `handlers/reminders.py` only claims, sends and records.

The stored clock fields narrow the search (by index, see storage/reminders.py) but never
decide: every candidate row is re-evaluated with the rules engine for the digest's date,
because the engine ignores events dated after "today" until their day comes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import re
import secrets
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.pathway import ClockState, canonical_pathway_type
from bot.records import evaluate_row, stored_clock_fields
from storage.backfill import BackfillReport, ClockBackfill
from storage.db import Database
from storage.reminders import CandidateRow, Recipient, ReminderRepository

if TYPE_CHECKING:
    from bot.services import Services

__all__ = [
    "DAYS",
    "TIME_CHOICES",
    "WINDOW_CHOICES",
    "Digest",
    "DigestItem",
    "NextSend",
    "Preferences",
    "PreviewEntry",
    "ReminderService",
    "add_reminders_parser",
    "build_digest",
    "is_reminder_day",
    "next_send",
    "parse_time",
    "preview_lines",
    "reminder_service",
    "send_moment",
]

DAYS = ("weekdays", "daily")
TIME_CHOICES = ("07:00", "07:30", "08:00", "08:30", "09:00", "12:00", "17:00")
WINDOW_CHOICES = (3, 7, 14, 28)
LONG_WAIT_WEEKS = 52


def readable_events(events: Any) -> list[Mapping[str, Any]]:
    """A row's `events` as the engine can read them: rows written by other tools may hold
    an object, a string or stray non-object entries; those entries are skipped, as
    `bot.records.events_from_json` skips entries it cannot read."""
    if not isinstance(events, list):
        return []
    return [e for e in events if isinstance(e, Mapping)]


def stored_fields(
    pathway_type: str | None, clock_start: dt.date | None, events: Any, today: dt.date
) -> dict[str, Any]:
    """`bot.records.stored_clock_fields` for a row of any provenance (see readable_events)."""
    return stored_clock_fields(pathway_type, clock_start, readable_events(events), today)


# ---------------------------------------------------------------------------------------
# Preferences and send times
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preferences:
    """A student's effective reminder settings: their own choice, or the operator default."""

    send_time: dt.time
    days: str  # 'weekdays' | 'daily'
    window_days: int
    muted: bool
    custom_time: bool = False
    custom_days: bool = False
    custom_window: bool = False

    @classmethod
    def resolve(cls, recipient: Recipient | None, settings: Settings) -> Preferences:
        default_time = dt.time.fromisoformat(settings.reminder_default_time)
        default_days = "weekdays" if settings.reminder_weekdays_only else "daily"
        if recipient is None:
            return cls(default_time, default_days, settings.reminder_default_window_days, False)
        days = recipient.reminder_days if recipient.reminder_days in DAYS else None
        window = recipient.reminder_window_days
        if window is not None and not 1 <= window <= 60:
            window = None
        return cls(
            send_time=recipient.reminder_time or default_time,
            days=days or default_days,
            window_days=window or settings.reminder_default_window_days,
            muted=recipient.reminders_muted,
            custom_time=recipient.reminder_time is not None,
            custom_days=days is not None,
            custom_window=window is not None,
        )


_TIME = re.compile(
    r"^\s*(?P<h>\d{1,2})(?:\s*[:.h]\s*(?P<m>\d{2})|(?P<m2>\d{2}))?\s*(?P<ap>am|pm|a\.m\.|p\.m\.)?\s*$",
    re.IGNORECASE,
)


def parse_time(text: str) -> dt.time | None:
    """A time of day typed on a phone: 7:45, 07.45, 0745, 7am, 5:30pm, 17h30. None if
    it is not a time (the caller explains the accepted forms)."""
    match = _TIME.match(text or "")
    if match is None:
        return None
    hour = int(match["h"])
    minute = int(match["m"] or match["m2"] or 0)
    ampm = (match["ap"] or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def is_reminder_day(days: str, day: dt.date) -> bool:
    return days == "daily" or day.weekday() < 5


def send_moment(day: dt.date, send_time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The instant on `day` when the local wall clock first reads `send_time` or later.

    On the spring clock change a time inside the skipped hour (01:00-01:59 in London)
    never appears on the wall clock, so the send happens at the first minute after the gap;
    on the autumn change a repeated time is sent at its first occurrence. This is the same
    rule the minute tick applies ("local time has reached the send time").
    """
    naive = dt.datetime.combine(day, send_time)
    for minutes in range(0, 24 * 60):
        candidate = naive + dt.timedelta(minutes=minutes)
        aware = candidate.replace(tzinfo=tz)
        if aware.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == candidate:
            return aware
    return naive.replace(tzinfo=tz)  # pragma: no cover - no zone skips a whole day


@dataclass(frozen=True, slots=True)
class NextSend:
    """When the next digest is checked for: `at` is an aware local time; `imminent` means
    today's is due now (its time has passed and none has been sent), within a minute."""

    at: dt.datetime
    imminent: bool = False


def next_send(prefs: Preferences, now: dt.datetime, done_today: bool) -> NextSend | None:
    """The next reminder for these settings as seen at `now` (aware, local), or None when
    muted. `done_today` means today's digest was already sent or is being sent."""
    if prefs.muted:
        return None
    tz = now.tzinfo if isinstance(now.tzinfo, ZoneInfo) else ZoneInfo("Europe/London")
    today = now.date()
    for offset in range(0, 8):
        day = today + dt.timedelta(days=offset)
        if not is_reminder_day(prefs.days, day):
            continue
        if offset == 0 and done_today:
            continue
        moment = send_moment(day, prefs.send_time, tz)
        if offset == 0 and moment <= now:
            return NextSend(now, imminent=True)
        return NextSend(moment)
    return None  # pragma: no cover - every week has a weekday


# ---------------------------------------------------------------------------------------
# Digests
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class DigestItem:
    """One patient in a digest, with the engine's clock as at the digest's date."""

    patient_id: str
    name: str
    specialty: str | None
    pathway_type: str
    state: ClockState
    section: str  # 'long_wait' | 'breached' | 'due_soon'


@dataclass
class Digest:
    """What one student is told on one day."""

    email: str
    day: dt.date
    window_days: int
    long_waits: list[DigestItem] = field(default_factory=list)
    breached: list[DigestItem] = field(default_factory=list)
    due_soon: list[DigestItem] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.long_waits or self.breached or self.due_soon)

    @property
    def count(self) -> int:
        return len(self.long_waits) + len(self.breached) + len(self.due_soon)

    def items(self) -> list[DigestItem]:
        return [*self.long_waits, *self.breached, *self.due_soon]


def classify(state: ClockState | None, window_days: int) -> str | None:
    """Which digest section a clock belongs in, or None when there is nothing to say.

    A 52+ week wait (RTT only) is always breached too; it gets its own section, above the
    other breaches, because a trust reports and reviews those patients individually.
    """
    if state is None or not state.running or state.days_to_breach is None:
        return None
    if state.long_wait_weeks is not None and state.long_wait_weeks >= LONG_WAIT_WEEKS:
        return "long_wait"
    if state.days_to_breach <= 0:
        return "breached"
    if state.days_to_breach <= window_days:
        return "due_soon"
    return None


def build_digest(
    email: str, rows: Iterable[CandidateRow], day: dt.date, window_days: int
) -> Digest:
    """Evaluate each candidate with the rules engine as at `day` and sort it into a section:
    longest waits first, then the most overdue, then the soonest to breach."""
    digest = Digest(email=email, day=day, window_days=window_days)
    for row in rows:
        try:
            state = evaluate_row(row.pathway_type, row.clock_start_date, row.events, day)
        except Exception:
            # Written by another tool with stray entries: read what can be read. Checked only
            # on failure, so the usual rows pay nothing for it.
            try:
                state = evaluate_row(
                    row.pathway_type, row.clock_start_date, readable_events(row.events), day
                )
            except Exception:  # a malformed row must not sink the whole digest
                state = None
        section = classify(state, window_days)
        if section is None or state is None:
            continue
        item = DigestItem(
            patient_id=row.patient_id,
            name=(row.patient_name or "").strip() or row.patient_id,
            specialty=row.specialty,
            pathway_type=_canonical(row.pathway_type),
            state=state,
            section=section,
        )
        getattr(digest, _SECTION_LIST[section]).append(item)
    digest.long_waits.sort(key=lambda i: (-i.state.days_waited, i.name.casefold()))
    digest.breached.sort(key=lambda i: (i.state.days_to_breach or 0, i.name.casefold()))
    digest.due_soon.sort(key=lambda i: (i.state.days_to_breach or 0, i.name.casefold()))
    return digest


_SECTION_LIST = {"long_wait": "long_waits", "breached": "breached", "due_soon": "due_soon"}


def _canonical(pathway_type: str | None) -> str:
    try:
        return canonical_pathway_type(pathway_type or "rtt")
    except ValueError:
        return "rtt"


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


def _runner_id() -> str:
    """Names the process (and instance) holding a claim, for the log and for debugging."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class ReminderService:
    """Selection and composition of digests, plus preference changes, for one bot process."""

    CHUNK = 500  # students per candidate query: bounded memory for any class size

    def __init__(
        self, db: Database, settings: Settings, clock: Clock, *, runner: str | None = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.repo = ReminderRepository(db)
        self.backfill = ClockBackfill(db)
        self.runner = runner or _runner_id()
        # A claim untouched this long belongs to a runner that died (a live one touches the
        # row before every send, and claims no more than it can send in a minute or so).
        self.stale_after = dt.timedelta(minutes=10)

    # -- clocks ------------------------------------------------------------------------
    async def refresh_clocks(self) -> BackfillReport:
        """Make the stored clock fields current (rows the platform wrote or changed, and
        rows time may have changed since the last daily refresh)."""
        return await self.backfill.run(self.clock.today(), stored_fields)

    # -- preferences ---------------------------------------------------------------------
    def preferences(self, recipient: Recipient | None) -> Preferences:
        return Preferences.resolve(recipient, self.settings)

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
        Postgres works while Python does."""
        through = await self.backfill.refreshed_through()
        digests: dict[str, Digest] = {}
        plans = [
            {r.email: self.preferences(r).window_days for r in chunk}
            for chunk in _chunks(recipients, self.CHUNK)
        ]

        def fetch(windows: dict[str, int]) -> asyncio.Task[list[CandidateRow]]:
            horizons = [(email, day + dt.timedelta(days=w)) for email, w in windows.items()]
            return asyncio.ensure_future(self.repo.candidates(horizons, through))

        pending = fetch(plans[0]) if plans else None
        try:
            for i, windows in enumerate(plans):
                assert pending is not None
                rows = await pending
                pending = fetch(plans[i + 1]) if i + 1 < len(plans) else None
                by_email: dict[str, list[CandidateRow]] = {}
                for row in rows:
                    by_email.setdefault(row.email, []).append(row)
                for email, window in windows.items():
                    digests[email] = build_digest(email, by_email.get(email, ()), day, window)
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
        return digests

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


def reminder_service(services: Services) -> ReminderService:
    """The process's ReminderService, created on first use from the shared services."""
    if services.reminders is None:
        services.reminders = ReminderService(services.db, services.settings, services.clock)
    return services.reminders


def _chunks(items: Sequence[Recipient], size: int) -> Iterable[Sequence[Recipient]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# ---------------------------------------------------------------------------------------
# `python -m bot reminders preview [--date YYYY-MM-DD] [--email EMAIL]`
# ---------------------------------------------------------------------------------------


def add_reminders_parser(sub: Any) -> None:
    """Register the `reminders` subcommand on the CLI's subparsers."""
    reminders = sub.add_parser(
        "reminders",
        help="preview breach reminders: who would receive what on a date (nothing is sent)",
        description="Prints each linked student's digest for a date as plain text, without "
        "sending or recording anything. For the operator, and for tutors preparing a class.",
    )
    actions = reminders.add_subparsers(dest="action", metavar="ACTION", required=True)
    preview = actions.add_parser("preview", help="print the digests for a date without sending")
    preview.add_argument(
        "--date", metavar="YYYY-MM-DD", help="the day to preview (default: today, UK time)"
    )
    preview.add_argument("--email", metavar="EMAIL", help="only this student's digest")
    preview.set_defaults(func=_run_preview_command)


def _run_preview_command(args: Any, settings: Settings) -> int:
    import asyncio
    import sys

    day: dt.date | None = None
    if args.date:
        try:
            day = dt.date.fromisoformat(args.date.strip())
        except ValueError:
            print(f"--date {args.date!r}: use YYYY-MM-DD, e.g. 2025-03-03.", file=sys.stderr)
            return 2
    return asyncio.run(_preview(settings, day, args.email, sys.stdout))


async def _preview(settings: Settings, day: dt.date | None, email: str | None, out: Any) -> int:
    from bot.clock import SystemClock
    from bot.runtime import open_database

    db = await open_database(settings)
    try:
        service = ReminderService(db, settings, SystemClock(settings.timezone))
        lines = await preview_lines(service, day or service.clock.today(), email)
    finally:
        await db.close()
    print("\n".join(lines), file=out)
    return 0 if lines and not lines[0].startswith("No ") else 1


async def preview_lines(
    service: ReminderService, day: dt.date, email: str | None = None
) -> list[str]:
    """The preview as plain-text lines: a heading per student, the digest they would get,
    its buttons, and a summary. Reads only; sends and records nothing."""
    from bot.messages import reminders as text
    from bot.offline import html_to_plain

    entries = await service.preview(day, email)
    if not entries:
        who = f"for {email.strip().lower()}" if email else "at all"
        return [f"No active Telegram link {who}: nobody would receive a reminder."]
    lines: list[str] = []
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.outcome] = counts.get(entry.outcome, 0) + 1
        r = entry.recipient
        lines.append(text.preview_heading(r.email, entry.prefs, entry.outcome, entry.logged))
        if entry.outcome in ("send", "send_empty") or (email and not entry.digest.is_empty):
            body, listed = text.digest_text(entry.digest)
            lines.extend("   " + line if line else "" for line in html_to_plain(body).split("\n"))
            buttons = [text.button_label(n, item) for n, item in enumerate(listed, start=1)]
            buttons += [text.PTL_BUTTON, text.SETTINGS_BUTTON]
            lines.append("   [" + "] [".join(buttons) + "]")
        lines.append("")
    lines.append(text.preview_summary(day, counts))
    return lines
