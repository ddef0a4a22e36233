"""Wording of bookings: the PTL row's next booking, the card's bookings, /book and outcomes.

Why each sentence says what it says: a booking is only as good as what it does for the clock,
so every screen that shows a date also says, in the rules engine's own terms, whether the
patient will be seen or treated in time ("TCI 14 Jan 2026: day 120 of 126, within 18 weeks ✔")
and what to do when not. Everything a student typed (clinic, notes) is escaped here.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from typing import Final

from bot.messages import forms as form_text
from bot.rules.bookings import STATUS_LABELS, Booking, BookingMeaning, BookingSummary
from bot.rules.dates import format_date
from bot.rules.pathway import ClockState

WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def long_date(day: dt.date) -> str:
    """`Wed 14 Jan 2026`: the weekday matters when booking."""
    return f"{WEEKDAYS[day.weekday()]} {format_date(day)}"


def short_date(day: dt.date, today: dt.date | None) -> str:
    """`14 Jan` for a date in the coming months (the PTL row is one short line), with the
    year when it is far off or in another year long past."""
    full = format_date(day)
    if today is not None and -60 <= (day - today).days <= 300:
        return full.rsplit(" ", 1)[0]
    return full


# -- the PTL list -------------------------------------------------------------------------------

FILTER_LABELS: Final[Mapping[str, str]] = {
    "all": "All",
    "und": "🗓 Undated",
    "late": "✖ Booked after breach",
    "out": "❗ Outcome needed",
}
FILTER_BUTTON = "Bookings: {label} ▾"
FILTERED = "Showing <b>{status}</b> · <b>{ptype}</b> · <b>{booking}</b>: {n} patient{s}"
CHOOSE = (
    "Show which patients?\n"
    "<b>Undated</b>: waiting, with nothing booked ahead.\n"
    "<b>Booked after breach</b>: the next booking comes after the breach date.\n"
    "<b>Outcome needed</b>: a booking has passed with no outcome recorded."
)
COUNTS = "🗓 {und} undated · ✖ {late} booked after breach · ❗ {out} outcome needed"
ROW_NEXT = " · 🗓 {short} {date}"
ROW_LATE = " ✖"
ROW_UNDATED = " · undated"
ROW_OUTCOME = " · ❗ outcome needed"


def counts_line(counts: Mapping[str, int]) -> str:
    return COUNTS.format(und=counts.get("und", 0), late=counts.get("late", 0),
                         out=counts.get("out", 0))  # fmt: skip


def row_part(summary: BookingSummary, today: dt.date | None) -> str:
    """The booking end of a PTL row: "· 🗓 TCI 14 Jan", "· 🗓 TCI 14 Jan ✖", "· undated"."""
    part = ""
    booking = summary.next
    if booking is not None and booking.date is not None:
        part = ROW_NEXT.format(short=esc(booking.short), date=short_date(booking.date, today))
        if summary.after_breach:
            part += ROW_LATE
    elif summary.undated:
        part = ROW_UNDATED
    if summary.outcome_needed:
        part += ROW_OUTCOME
    return part


# -- what a booking means for the clock -----------------------------------------------------------

MEANS_IN_TIME = "{what} {date}: day {days} of {target}, within {standard} ✔"
MEANS_STOPS_LATE = (
    "{what} {date}: day {days}, after the breach date {breach} ✖: the patient will breach. "
    "Book on or before {last}, or escalate."
)
MEANS_RUNNING = (
    "{what} {date}: day {days} of {target}; the clock keeps running after it (breach date "
    "{breach})."
)
MEANS_ALREADY_LATE = (
    "{what} {date}: after the breach date {breach} ✖: the patient will have breached by then. "
    "Book on or before {last}, or escalate."
)
MEANS_ADJUSTED = (
    "{what} {date}: day {days}; a treatment adjustment is open, so there is no breach date "
    "until the patient says they are available again."
)
MEANS_NO_CLOCK_CHANGE = (
    "{what} {date}: the clock has stopped by then, so this booking doesn't change a wait."
)
MEANS_NOT_RUNNING = "The clock isn't running, so this booking doesn't change a wait."
MEANS_NO_CLOCK = (
    "This patient has no usable clock, so the booking can't be checked against a standard."
)


def meaning_line(found: BookingMeaning | None, now: ClockState | None) -> str:
    """What a booking means for the clock, read off the engine's clock on the booking date."""
    if now is None:
        return MEANS_NO_CLOCK
    if not now.running:
        return MEANS_NOT_RUNNING
    if found is None or found.booking.date is None:
        return MEANS_NO_CLOCK
    then = found.then
    what = esc(found.booking.short)
    on = format_date(found.booking.date)
    breach_date = then.breach_date
    standard = form_text.STANDARDS.get(then.pathway_type, "")
    if breach_date is None:
        return MEANS_ADJUSTED.format(what=what, date=on, days=then.days_waited)
    breach = format_date(breach_date)
    last = format_date(breach_date - dt.timedelta(days=1))
    if found.stops:
        template = MEANS_STOPS_LATE if found.late else MEANS_IN_TIME
        return template.format(what=what, date=on, days=then.days_waited, target=then.target_days,
                               standard=standard, breach=breach, last=last)  # fmt: skip
    if then.running:
        template = MEANS_ALREADY_LATE if found.late else MEANS_RUNNING
        return template.format(what=what, date=on, days=then.days_waited, target=then.target_days,
                               breach=breach, last=last)  # fmt: skip
    return MEANS_NO_CLOCK_CHANGE.format(what=what, date=on)


# -- the card ----------------------------------------------------------------------------------

BOOK = "📅 Book"
MANAGE = "🗓 Bookings"
CARD_TITLE = "<b>Bookings</b>"
CARD_NONE_RUNNING = "Undated: nothing booked. Tap 📅 Book to give this patient a date."
CARD_NONE = "No bookings."
CARD_UPCOMING = "🗓 {label} · {when}{extra}"
CARD_AWAITING = "❗ {label} · {when}: <b>outcome needed</b>"
CARD_PAST = "• {label} · {when} · {status}"
CARD_MEANING = "   {line}"
CARD_EARLIER = "…and {n} earlier"
CARD_READ_ONLY = " <i>(written elsewhere: change it on the platform)</i>"
MAX_PAST_SHOWN = 3


def when(booking: Booking) -> str:
    if booking.date is None:
        return "no date"
    text = long_date(booking.date)
    if booking.time:
        text += f" {esc(booking.time)}"
    return text


def where(booking: Booking) -> str:
    parts = [esc(p) for p in (booking.clinic, booking.with_) if p]
    return (" · " + " · ".join(parts)) if parts else ""


def status_words(booking: Booking) -> str:
    if booking.status == "unknown":
        return esc(booking.status_text) if booking.status_text else STATUS_LABELS["unknown"]
    return STATUS_LABELS[booking.status]


def card_lines(summary: BookingSummary, now: ClockState | None, today: dt.date) -> list[str]:
    """The card's bookings: what is coming (the next one with what it means for the clock),
    what needs an outcome, and the latest past bookings with theirs."""
    bookings = summary.bookings
    if not bookings:
        return [CARD_TITLE, CARD_NONE_RUNNING if summary.running else CARD_NONE]
    lines = [CARD_TITLE]
    ahead = [b for b in bookings if b.open and b.date is not None and b.date >= today]
    ahead.sort(key=lambda b: (b.date or today, b.time or "", b.index))
    for b in ahead:
        line = CARD_UPCOMING.format(label=esc(b.label), when=when(b), extra=where(b))
        lines.append(line + ("" if b.editable else CARD_READ_ONLY))
        if summary.next is not None and b.index == summary.next.index:
            lines.append(CARD_MEANING.format(line=meaning_line(summary.next_meaning, now)))
    for b in summary.awaiting:
        line = CARD_AWAITING.format(label=esc(b.label), when=when(b))
        lines.append(line + ("" if b.editable else CARD_READ_ONLY))
    past = [b for b in bookings if not b.open]
    past.sort(key=lambda b: (b.date or dt.date.min, b.index))
    if len(past) > MAX_PAST_SHOWN:
        lines.append(CARD_EARLIER.format(n=len(past) - MAX_PAST_SHOWN))
    for b in past[-MAX_PAST_SHOWN:]:
        line = CARD_PAST.format(label=esc(b.label), when=when(b), status=status_words(b))
        lines.append(line + ("" if b.editable else CARD_READ_ONLY))
    if not ahead and summary.running:
        lines.append(CARD_NONE_RUNNING)
    return lines


def booking_button(booking: Booking, today: dt.date) -> str:
    mark = "❗" if booking.date is not None and booking.date < today else "🗓"
    date = format_date(booking.date) if booking.date else "no date"
    return f"{mark} {booking.short} {date}"[:60]


def list_lines(bookings: Sequence[Booking]) -> list[str]:
    return [f"• {esc(b.label)} · {when(b)}{where(b)}" for b in bookings]
