"""The one injectable source of "now" and "today" for the whole bot.

Waiting times are counted in calendar days as the hospital sees them, so "today" must be
the date in the trust's timezone (Europe/London by default), never the server's local
date or UTC: between midnight and 1 am in British Summer Time those differ, and a breach
reminder sent "a day early" teaches the wrong thing. Every module that needs the date asks
a :class:`Clock`; the application builds one :class:`SystemClock`, tests use a
:class:`FixedClock` so results are reproducible, and the console a :class:`TickingClock`
(real time running on from a chosen moment, so a reminder set for later does arrive).
"""

from __future__ import annotations

import datetime as dt
import time
from abc import ABC, abstractmethod
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_TIMEZONE",
    "Clock",
    "FixedClock",
    "SystemClock",
    "TickingClock",
    "get_timezone",
]

DEFAULT_TIMEZONE = "Europe/London"


def get_timezone(name: str | ZoneInfo = DEFAULT_TIMEZONE) -> ZoneInfo:
    """Return the IANA timezone ``name``, with a readable error for a typo.

    Only IANA names (``Europe/London``) are accepted, not abbreviations such as ``BST``
    or fixed offsets, because those ignore the clocks changing in spring and autumn.
    """
    if isinstance(name, ZoneInfo):
        return name
    cleaned = (name or "").strip()
    try:
        if not cleaned:
            raise ZoneInfoNotFoundError(cleaned)
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"Unknown timezone {name!r}: use an IANA name such as 'Europe/London'."
        ) from None


class Clock(ABC):
    """Where "now" comes from. Subclasses supply :meth:`now`; ``today`` follows from it."""

    def __init__(self, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> None:
        self.tz: ZoneInfo = get_timezone(tz)

    @abstractmethod
    def now(self) -> dt.datetime:
        """The current moment as an aware datetime in this clock's timezone."""

    def today(self) -> dt.date:
        """Today's date in this clock's timezone: the ``today`` for every PTL rule."""
        return self.now().date()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(now={self.now().isoformat()}, tz={self.tz.key!r})"


class SystemClock(Clock):
    """The real time, read from the system and converted to the configured timezone."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(self.tz)


class FixedClock(Clock):
    """A clock that only moves when told to, for tests and the console's ``--today``.

    Give it a date (taken as midday local time, well away from the hours the clocks
    change), a naive datetime (taken as local time in ``tz``) or an aware datetime
    (converted to ``tz``).
    """

    def __init__(
        self,
        moment: dt.date | dt.datetime | str,
        tz: str | ZoneInfo = DEFAULT_TIMEZONE,
    ) -> None:
        super().__init__(tz)
        self._now = self._coerce(moment)

    def _coerce(self, moment: dt.date | dt.datetime | str) -> dt.datetime:
        if isinstance(moment, str):
            text = moment.strip()
            try:
                moment = (
                    dt.datetime.fromisoformat(text)
                    if "T" in text or " " in text
                    else dt.date.fromisoformat(text)
                )
            except ValueError:
                raise ValueError(
                    f"Can't read {moment!r} as a date: use YYYY-MM-DD, e.g. 2025-10-12."
                ) from None
        if isinstance(moment, dt.datetime):
            if moment.tzinfo is None:
                return moment.replace(tzinfo=self.tz)
            return moment.astimezone(self.tz)
        if isinstance(moment, dt.date):
            return dt.datetime(moment.year, moment.month, moment.day, 12, tzinfo=self.tz)
        raise TypeError(f"FixedClock needs a date or datetime, not {type(moment).__name__}")

    def now(self) -> dt.datetime:
        return self._now

    def set(self, moment: dt.date | dt.datetime | str) -> None:
        """Jump to another moment (same rules as the constructor)."""
        self._now = self._coerce(moment)

    def advance(
        self, days: float = 0, *, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> dt.datetime:
        """Move forward (or back, with negative values) and return the new moment.

        Days are calendar days in local time, so advancing one day across the spring
        clock change keeps the same wall-clock time rather than drifting by an hour.
        """
        local = self._now.replace(tzinfo=None) + dt.timedelta(days=days)
        moved = local.replace(tzinfo=self.tz)
        # Wall-clock arithmetic for days; exact elapsed time for the smaller units.
        elapsed = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
        if elapsed:
            moved = (moved.astimezone(dt.UTC) + elapsed).astimezone(self.tz)
        self._now = moved
        return moved


class TickingClock(Clock):
    """Real time running on from a chosen moment: the console's ``--today`` and ``:time``.

    Unlike :class:`FixedClock` it keeps moving, so jobs that wait for a time of day (a
    reminder at 08:30) see that time come. :meth:`set` jumps; time runs on from there.
    """

    def __init__(
        self, moment: dt.datetime | None = None, tz: str | ZoneInfo = DEFAULT_TIMEZONE
    ) -> None:
        super().__init__(tz)
        self.set(moment or dt.datetime.now(self.tz))

    def set(self, moment: dt.datetime) -> None:
        """Jump to `moment` (naive: local time in this clock's timezone) and tick on."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        self._from = moment.astimezone(dt.UTC)
        self._since = time.monotonic()

    def now(self) -> dt.datetime:
        elapsed = dt.timedelta(seconds=time.monotonic() - self._since)
        return (self._from + elapsed).astimezone(self.tz)
