"""Breach-reminder rules with no I/O: when a digest is due, and what goes in one.

Why in the rules: a student's send time, the clock-change days and which patients a digest
names are rules a tutor can reason about and a test can pin down with a fixed clock. Both the
reminder service (bot/services/reminders.py) and the digest wording (bot/messages/reminders.py)
use these types, so they live below both. Standard library and the rules engine only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo

from bot.rules.bookings import Booking, BookingSummary
from bot.rules.pathway import ClockState

DAYS = ("weekdays", "daily")
TIME_CHOICES = ("07:00", "07:30", "08:00", "08:30", "09:00", "12:00", "17:00")
WINDOW_CHOICES = (3, 7, 14, 28)
LONG_WAIT_WEEKS = 52


@dataclass(frozen=True, slots=True)
class Preferences:
    """A student's effective reminder settings: their own choice, or the operator default
    (resolved by `bot.services.reminders.preferences_for`)."""

    send_time: dt.time
    days: str  # 'weekdays' | 'daily'
    window_days: int
    muted: bool
    custom_time: bool = False
    custom_days: bool = False
    custom_window: bool = False


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
    section: (
        str  # 'long_wait' | 'breached' | 'booked_late' | 'undated_soon' | 'due_soon' | 'outcome'
    )
    booking: Booking | None = None
    """The next booking (booked_late), or the oldest one awaiting its outcome (outcome)."""
    outcome_needed: bool = False
    """A booking has passed with no outcome (said on the line of a patient listed elsewhere)."""


@dataclass
class Digest:
    """What one student is told on one day."""

    email: str
    day: dt.date
    window_days: int
    long_waits: list[DigestItem] = field(default_factory=list)
    breached: list[DigestItem] = field(default_factory=list)
    due_soon: list[DigestItem] = field(default_factory=list)
    booked_late: list[DigestItem] = field(default_factory=list)
    """Running clocks whose next booking comes after the breach date."""
    undated_soon: list[DigestItem] = field(default_factory=list)
    """Breaching within the window with nothing booked ahead."""
    outcome_needed: list[DigestItem] = field(default_factory=list)
    """Patients listed nowhere else with a booking passed and no outcome recorded."""
    week: tuple[int, int] | None = None
    """On the weekly day: (events recorded, clocks stopped in time) in the 7 days to `day`,
    the student's own record (bot.services.progress); None on other days."""

    @property
    def has_week_line(self) -> bool:
        """The week had some activity worth a line (a quiet week says nothing)."""
        return self.week is not None and any(self.week)

    @property
    def is_empty(self) -> bool:
        return not (self.items() or self.has_week_line)

    @property
    def count(self) -> int:
        return len(self.items())

    def sections(self) -> list[tuple[str, list[DigestItem]]]:
        """Each section with its patients, most urgent first (the order the digest shows)."""
        return [
            ("long_wait", self.long_waits),
            ("breached", self.breached),
            ("booked_late", self.booked_late),
            ("undated_soon", self.undated_soon),
            ("due_soon", self.due_soon),
            ("outcome", self.outcome_needed),
        ]

    def items(self) -> list[DigestItem]:
        return [item for _, items in self.sections() for item in items]


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


class BookingFlags(NamedTuple):
    """The three booking questions a digest asks of a patient (as BookingSummary answers them).
    A tuple: one is built for every candidate of a daily run."""

    undated: bool
    after_breach: bool
    outcome_needed: bool
    next_on: dt.date | None = None
    """The next open booking's date (on or after the day)."""
    oldest_passed_on: dt.date | None = None
    """The oldest open booking's date before the day (its outcome is needed)."""


def stored_booking_flags(
    next_on: dt.date | None, passed_on: dt.date | None, next_late: bool, running: bool
) -> BookingFlags:
    """The flags from a row's stored booking summaries (sql/080) as the candidate query reads
    them for the digest's day (storage/reminders.py): the next open booking's date on or after
    the day and whether the engine listed it as late, and the oldest open booking's date
    before the day. The summaries were written by the rules engine and do not depend on the
    date, so they answer for any day without reading the bookings again."""
    return _new_flags(  # (tuple.__new__, by position: one per candidate of a daily run)
        BookingFlags,
        (
            running and next_on is None,
            running and next_on is not None and next_late,
            passed_on is not None,
            next_on,
            passed_on,
        ),
    )


_new_flags: Final = tuple.__new__


def booking_section(section: str | None, bookings: BookingFlags | BookingSummary) -> str | None:
    """The section once bookings are taken into account: a patient whose next booking comes
    after the breach date is listed as booked late (unless already breached or a long wait),
    one breaching soon with nothing booked as undated, and one listed nowhere else whose
    booking has passed with no outcome as outcome needed. Each patient is listed once."""
    if section in ("long_wait", "breached"):
        return section
    if bookings.after_breach:
        return "booked_late"
    if section == "due_soon":
        return "undated_soon" if bookings.undated else "due_soon"
    if bookings.outcome_needed:
        return "outcome"
    return section
