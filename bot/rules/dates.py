"""Reading the dates students type on a phone, and writing dates one way everywhere.

Students type dates the way people in the UK do: day first (``12/10/25`` is 12 October),
or in words (``yesterday``, ``3 weeks ago``, ``last Monday``, ``12 Oct``). Reading
``12/10/25`` as 10 December would silently put a wrong clock start on a pathway, so
:func:`parse_date` always reads day first and shows what it understood; when it refuses a
date it says what it read and what it accepts, so the student learns the format rather
than guessing.

The common forms are handled by a small, exact fast path (about a microsecond); anything
else goes to dateparser (English only, which keeps it to a few milliseconds). dateparser's
first call loads its language data and costs a few hundred milliseconds, so the
application calls :func:`warm_up` at start-up rather than making the first student wait.

:func:`parse_date` returns a :class:`DateResult` rather than raising, because every caller
is a conversation step that shows the message and asks again; ``result.unwrap()`` raises
:class:`DateParseError` for code that prefers an exception.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # pragma: no cover - typing only; dateparser is imported lazily
    from dateparser.date import DateDataParser

__all__ = [
    "ACCEPTED_FORMS",
    "DATE_SHORTCUTS",
    "EARLIEST_DATE",
    "UPCOMING_FORMS",
    "DateParseError",
    "DateResult",
    "format_date",
    "parse_date",
    "shortcut_date",
    "warm_up",
]

EARLIEST_DATE: Final = dt.date(2000, 1, 1)
UPCOMING_FORMS: Final = (
    "You can type tomorrow, next Friday, in 3 weeks, 14 Jan, 14/01/26 or 2026-01-14 "
    "(day first, as in the UK)."
)
ACCEPTED_FORMS: Final = (
    "You can type today, yesterday, 3 weeks ago, last Monday, 12/10/25, 12/10/2025, "
    "12 Oct or 2025-10-12 (day first, as in the UK)."
)

_MONTH_ABBR: Final = (
    "",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
_MONTH_NAMES: Final = (
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_date(d: dt.date) -> str:
    """The one way the bot writes a date: ``12 Oct 2025``, ``3 Oct 2025``.

    Built by hand rather than with ``%b`` so the server's locale can never change it,
    and without a leading zero because that is how dates are read aloud and on letters.
    """
    return f"{d.day} {_MONTH_ABBR[d.month]} {d.year}"


class DateParseError(ValueError):
    """Raised by :meth:`DateResult.unwrap`; ``message`` is ready to show a student."""

    def __init__(self, message: str, understood: dt.date | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.understood = understood


@dataclass(frozen=True, slots=True)
class DateResult:
    """Outcome of :func:`parse_date`.

    ``value`` is the accepted date (``ok`` is true). When refused, ``message`` explains
    why in plain words and ``understood`` holds the date that was read, if one was (for
    example the future date that was refused).
    """

    ok: bool
    value: dt.date | None = None
    message: str | None = None
    understood: dt.date | None = None

    def unwrap(self) -> dt.date:
        if self.ok and self.value is not None:
            return self.value
        raise DateParseError(self.message or "Not a date.", self.understood)


# ---------------------------------------------------------------------------
# Fast path: exact handling of the forms students type most.
# ---------------------------------------------------------------------------

_MONTHS: Final[dict[str, int]] = {}
for _n in range(1, 13):
    _MONTHS[_MONTH_NAMES[_n].lower()] = _n
    _MONTHS[_MONTH_ABBR[_n].lower()] = _n
_MONTHS["sept"] = 9

_WEEKDAYS: Final[dict[str, int]] = {}
for _n, _name in enumerate(calendar.day_name):
    _WEEKDAYS[_name.lower()] = _n
    _WEEKDAYS[_name[:3].lower()] = _n
_WEEKDAYS.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})

_MONTH_RE: Final = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUMERIC: Final = re.compile(r"(\d{1,2})\s*([/.\-\s])\s*(\d{1,2})(?:\s*\2\s*(\d{4}|\d{2}))?")
_ISO: Final = re.compile(r"(\d{4})\s*([-/.])\s*(\d{1,2})\s*\2\s*(\d{1,2})")
_COMPACT: Final = re.compile(r"(\d{2})(\d{2})(\d{2}|\d{4})")
_DAY_MONTH: Final = re.compile(
    rf"(\d{{1,2}})\s*(?:of\s+)?({_MONTH_RE})\.?(?:,?\s*(\d{{4}}|\d{{2}}))?"
)
_MONTH_DAY: Final = re.compile(rf"({_MONTH_RE})\.?\s*(\d{{1,2}}),?(?:\s+(\d{{4}}|\d{{2}}))?")
_MONTH_ONLY: Final = re.compile(rf"(?:{_MONTH_RE})\.?,?(?:\s*(?:\d{{4}}|\d{{2}}))?")
_AGO: Final = re.compile(r"(a|an|one|\d{1,4})\s*(day|week|fortnight|month|year)s?\s+ago")
_IN: Final = re.compile(
    r"in\s+(a|an|one|\d{1,4})\s*(day|week|fortnight|month|year)s?(?:'?s?\s+time)?"
)
_WEEKDAY: Final = re.compile(r"(?:(last|next|on)\s+)?([a-z]+)")
_ORDINAL: Final = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b")
_KEYWORDS: Final = {
    "today": 0,
    "now": 0,
    "tonight": 0,
    "this morning": 0,
    "this afternoon": 0,
    "yesterday": -1,
    "yday": -1,
    "the day before yesterday": -2,
    "day before yesterday": -2,
    "tomorrow": 1,
    "tmrw": 1,
}


class _Impossible(Exception):
    """Day, month and year were read, but no such date exists (31 Feb, month 13)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _expand_year(text: str) -> int:
    """Two-digit years are this century: 25 -> 2025 (no pathway predates 2000)."""
    year = int(text)
    return 2000 + year if len(text) <= 2 else year


def _build(
    year: int | None,
    month: int,
    day: int,
    today: dt.date,
    allow_future: bool,
    raw: str,
    upcoming: bool = False,
) -> dt.date:
    """Make a date, explaining exactly why when it doesn't exist.

    With no year, the most recent such date on or before today is meant (a student
    recording what happened), this year's when future dates are allowed, or the next one
    on or after today for an upcoming date (a booking: "14 Jan" typed in December).
    """
    if not 1 <= month <= 12:
        hint = ""
        if 1 <= day <= 12 and 1 <= month <= 31:
            yr = "" if year is None else f"/{year}"
            hint = f" Did you mean {month:02d}/{day:02d}{yr}?"
        raise _Impossible(
            f"I couldn't read “{raw}” as a date: there's no month {month}. Dates are "
            f"written day first (DD/MM/YYYY), as in the UK.{hint}"
        )
    if year is None:
        if upcoming:
            year = today.year
            for ahead in range(9):
                y = today.year + ahead
                if day <= calendar.monthrange(y, month)[1] and dt.date(y, month, day) >= today:
                    year = y
                    break
        elif allow_future:
            year = today.year
        else:
            year = today.year
            for back in range(9):
                y = today.year - back
                if day <= calendar.monthrange(y, month)[1] and dt.date(y, month, day) <= today:
                    year = y
                    break
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        if day == 0:
            raise _Impossible(f"I couldn't read “{raw}” as a date: there's no day 0 in a month.")
        why = f"{_MONTH_NAMES[month]} {year} has {last} days"
        if month == 2 and day == 29:
            why = f"{year} isn't a leap year, so February has 28 days"
        raise _Impossible(
            f"I read “{raw}” as {day} {_MONTH_ABBR[month]} {year}, which doesn't exist: {why}."
        )
    return dt.date(year, month, day)


def _more_than_a_day(raw: str) -> str:
    return (
        f"“{raw}” covers more than one day: which day was it? "
        "For example last Monday, 3 weeks ago or 12/10/25."
    )


def _minus_months(d: dt.date, months: int) -> dt.date:
    """Calendar months back, keeping the day where it exists (31 Mar - 1 month = 28/29 Feb)."""
    total = d.year * 12 + d.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _fast(
    text: str, today: dt.date, allow_future: bool, raw: str, upcoming: bool = False
) -> dt.date | None:
    """Read the common forms exactly; ``None`` means "not a form I know, ask dateparser"."""
    offset = _KEYWORDS.get(text)
    if offset is not None:
        return today + dt.timedelta(days=offset)
    first = text[0]
    if first.isdigit():
        m = _ISO.fullmatch(text)
        if m:
            return _build(int(m[1]), int(m[3]), int(m[4]), today, allow_future, raw, upcoming)
        m = _NUMERIC.fullmatch(text)
        if m:
            year = _expand_year(m[4]) if m[4] else None
            return _build(year, int(m[3]), int(m[1]), today, allow_future, raw, upcoming)
        m = _COMPACT.fullmatch(text)
        if m:  # 121025 or 12102025: day, month, year with no separators
            return _build(
                _expand_year(m[3]), int(m[2]), int(m[1]), today, allow_future, raw, upcoming
            )
        m = _DAY_MONTH.fullmatch(text)
        if m:
            year = _expand_year(m[3]) if m[3] else None
            return _build(year, _MONTHS[m[2]], int(m[1]), today, allow_future, raw, upcoming)
    m = _AGO.fullmatch(text)
    if m:
        n = 1 if m[1] in ("a", "an", "one") else int(m[1])
        unit = m[2]
        if unit == "day":
            return today - dt.timedelta(days=n)
        if unit == "week":
            return today - dt.timedelta(weeks=n)
        if unit == "fortnight":
            return today - dt.timedelta(weeks=2 * n)
        return _minus_months(today, n if unit == "month" else 12 * n)
    m = _IN.fullmatch(text)
    if m:
        n = 1 if m[1] in ("a", "an", "one") else int(m[1])
        unit = m[2]
        if unit == "day":
            return today + dt.timedelta(days=n)
        if unit == "week":
            return today + dt.timedelta(weeks=n)
        if unit == "fortnight":
            return today + dt.timedelta(weeks=2 * n)
        return _minus_months(today, -(n if unit == "month" else 12 * n))
    m = _MONTH_DAY.fullmatch(text)
    if m:
        year = _expand_year(m[3]) if m[3] else None
        return _build(year, _MONTHS[m[1]], int(m[2]), today, allow_future, raw, upcoming)
    if _MONTH_ONLY.fullmatch(text):
        raise _Impossible(_more_than_a_day(raw))
    m = _WEEKDAY.fullmatch(text)
    if m and m[2] in _WEEKDAYS:
        target = _WEEKDAYS[m[2]]
        if m[1] == "next":  # the first one after today
            return today + dt.timedelta(days=(target - today.weekday() - 1) % 7 + 1)
        if m[1] == "last":  # the most recent one before today
            return today - dt.timedelta(days=(today.weekday() - target - 1) % 7 + 1)
        if upcoming:  # "Monday" / "on Monday" for a booking: the next one, today included
            return today + dt.timedelta(days=(target - today.weekday()) % 7)
        # "Monday" / "on Monday": the most recent one, today included.
        return today - dt.timedelta(days=(today.weekday() - target) % 7)
    return None


# ---------------------------------------------------------------------------
# Slow path: dateparser, English only, day first.
# ---------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _parser(today: dt.date, allow_future: bool, upcoming: bool = False) -> DateDataParser:
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["en"],
        settings={
            "DATE_ORDER": "DMY",
            "PREFER_DAY_OF_MONTH": "current",
            "PREFER_DATES_FROM": (
                "future" if upcoming else "current_period" if allow_future else "past"
            ),
            "RELATIVE_BASE": dt.datetime(today.year, today.month, today.day, 12),
            "REQUIRE_PARTS": ["day", "month"],
            # No "timestamp" (an NHS number would become a date in 2001) and no
            # "no-spaces-time" (it guesses wildly at digit runs).
            "PARSERS": ["relative-time", "custom-formats", "absolute-time"],
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )


def _slow(
    text: str, today: dt.date, allow_future: bool, raw: str, upcoming: bool = False
) -> dt.date | None:
    try:
        data: Any = _parser(today, allow_future, upcoming).get_date_data(text)
    except Exception:  # dateparser can trip over odd input; to us that is "not a date"
        return None
    if data is None or data.date_obj is None:
        return None
    # "last week" or "October" is a span, but "2 weeks ago" / "in a month" is a day.
    relative = "ago" in text or text.startswith("in ")
    if data.period in ("week", "month", "year") and not relative:
        raise _Impossible(_more_than_a_day(raw))
    result: dt.date = data.date_obj.date()
    return result


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def _clean(text: str) -> str:
    text = " ".join(text.strip().lower().replace("\u2019", "'").split())
    text = text.rstrip(".!?,")
    return _ORDINAL.sub(r"\1", text)


def parse_date(
    text: str,
    today: dt.date,
    *,
    allow_future: bool = False,
    earliest: dt.date = EARLIEST_DATE,
    upcoming: bool = False,
) -> DateResult:
    """Read a date a student typed, as at ``today`` (from the configured clock).

    Accepts ``today``, ``yesterday``, ``3 weeks ago``, ``last Monday``, ``12/10/25``,
    ``12/10/2025``, ``12 Oct``, ``2025-10-12`` and most other ways of writing a date in
    British English. Refuses, saying what was understood and what is accepted: dates
    that don't exist (31/02/2025), dates after ``today`` unless ``allow_future``, dates
    before ``earliest`` (1 Jan 2000 by default; a date of birth would pass an earlier
    one), and text that isn't a date.

    ``upcoming`` is for dates still to come (a booking): future dates are allowed, dates
    before ``today`` are refused, and a date written without a year ("14 Jan") or a bare
    weekday ("Friday") means the next one on or after today.
    """
    return _parse(
        _clean(text or ""), today, allow_future or upcoming, earliest, (text or "").strip(),
        upcoming,
    )  # fmt: skip


@lru_cache(maxsize=4096)
def _parse(
    text: str,
    today: dt.date,
    allow_future: bool,
    earliest: dt.date,
    raw: str,
    upcoming: bool = False,
) -> DateResult:
    forms = UPCOMING_FORMS if upcoming else ACCEPTED_FORMS
    if not text:
        return DateResult(False, message=f"I didn't see a date. {forms}")
    try:
        value = _fast(text, today, allow_future, raw, upcoming)
        if value is None:
            value = _slow(text, today, allow_future, raw, upcoming)
    except _Impossible as exc:
        return DateResult(False, message=f"{exc.message} {forms}")
    except (OverflowError, ValueError):
        value = None
    if value is None:
        return DateResult(False, message=f"I couldn't read “{raw}” as a date. {forms}")
    if value > today and not allow_future:
        return DateResult(
            False,
            message=(
                f"I read “{raw}” as {format_date(value)}, which is in the future. This date "
                f"has to be today ({format_date(today)}) or earlier. {forms}"
            ),
            understood=value,
        )
    if upcoming and value < today:
        return DateResult(
            False,
            message=(
                f"I read “{raw}” as {format_date(value)}, which is in the past. This date "
                f"has to be today ({format_date(today)}) or later. {UPCOMING_FORMS}"
            ),
            understood=value,
        )
    if value < earliest:
        return DateResult(
            False,
            message=(
                f"I read “{raw}” as {format_date(value)}, which is before "
                f"{format_date(earliest)}, the earliest date accepted here. Check the year. "
                f"{forms}"
            ),
            understood=value,
        )
    return DateResult(True, value=value)


def warm_up() -> float:
    """Load dateparser and its English data now; return the seconds it took.

    Call it once at start-up (the application does, and logs the figure) so that the
    first student who types "the day before yesterday" doesn't wait for it.
    """
    started = time.perf_counter()
    today = dt.date(2025, 1, 1)  # any date: only the loading matters, not the answer
    for allow_future in (False, True):
        for sample in (
            "the day before yesterday",
            "12th of October 2025",
            "2 weeks and 3 days ago",
        ):
            _slow(_clean(sample), today, allow_future, sample)
    return time.perf_counter() - started


DATE_SHORTCUTS: Final[tuple[tuple[str, int], ...]] = (
    # (the value a button carries, days before today): realistic PTL dates are weeks back,
    # so the date steps offer these as buttons (the words are in bot/messages/forms.py).
    ("today", 0),
    ("yday", 1),
    ("w1", 7),
    ("w4", 28),
    ("w8", 56),
    ("w12", 84),
    ("w18", 126),
)
_SHORTCUT_DAYS: Final[dict[str, int]] = dict(DATE_SHORTCUTS)


def shortcut_date(value: str, today: dt.date) -> dt.date | None:
    """The date a shortcut button stands for ("w4": four weeks before today), or None."""
    back = _SHORTCUT_DAYS.get(value)
    return None if back is None else today - dt.timedelta(days=back)
