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


# -- /book: the form --------------------------------------------------------------------------

FIND_PROMPT = (
    "<b>Book a patient</b>\n"
    "Which patient? Type part of their name, the patient ID or the NHS number."
)
FIND_UNDATED = "Undated and closest to breach:"
GONE = "That patient isn't on your PTL any more (deleted, perhaps on the web platform)."
STALE = (
    "This patient was changed elsewhere (perhaps on the web platform) while you were booking, "
    "so nothing was saved. Here is the patient as it is now: start again from the card."
)
NOT_WRITABLE = (
    "This patient's bookings were saved on the web platform in a form the bot can't add to "
    "safely, so nothing was changed. Add the booking on the platform."
)
BOOKING_GONE = "That booking has changed or gone (perhaps on the web platform). Nothing was saved."

TITLE = "<b>Book · {name}</b>"
TYPE_TITLE = "What are you booking?"
TYPE_PROMPT = "Tap what is being booked for this patient."
ALREADY = "Already booked:"
DATE_TITLE = "Date"
DATE_PROMPT = (
    "When is the {label}? Type a date (tomorrow, next Friday, in 3 weeks, 14 Jan, 14/01/26) "
    "or tap one."
)
DATE_BREACH = "Breach date {breach}: the last compliant day is <b>{last}</b>."
DATE_TOMORROW = "Tomorrow ({date})"
DATE_IN_WEEKS = "In {n} week{s} ({date})"
DATE_LAST_DAY = "Last compliant day ({date})"
DATE_TOO_FAR = (
    "{date} is more than two years away: check the year. A booking is for a date in the "
    "coming months."
)
DATE_TOO_LONG = "That's too long to be a date. " + "{forms}"
DAY_TITLE = "Check the day"
DAY_WEEKEND = "<b>{date}</b> is a {weekday}."
DAY_HOLIDAY = "<b>{date}</b> is {holiday}, a bank holiday in England."
DAY_QUESTION = "Most clinics and theatres don't run then. Book it on that day anyway?"
DAY_KEEP = "Yes, book {date}"
DAY_OTHER = "Choose another date"
TIME_TITLE = "Time (optional)"
TIME_PROMPT = "What time? For example 9:30, 14:15 or 2pm. Or tap Skip."
TIME_BAD = "I couldn't read “{text}” as a time of day. Type it like 9:30, 14:15 or 2pm."
CLINIC_TITLE = "Where, and with whom (optional)"
CLINIC_PROMPT = (
    "Type the clinic or ward, and who the patient sees if you know: for example "
    "“Day Surgery Unit with Ms Patel”. Or tap Skip."
)
CLINIC_LIMIT = 100
NOTES_TITLE = "Notes (optional)"
NOTES_PROMPT = (
    "Anything the PTL meeting should know, or tap Skip. A booking out of turn needs its "
    "reason here (“patient choice: away until March”)."
)
NOTES_LATE = (
    "⚠️ This date is after the breach date. If you have escalated it, say so here "
    "(“escalated to the service manager”)."
)
NOTES_LIMIT = 300
CONFIRM_TITLE = "<b>Check and save</b> · {name}"
CONFIRM_BOOKING = "{label} · <b>{when}</b>{where}"
CONFIRM_NOTES = "Notes: {notes}"
CONFIRM_MEANS = "<b>For the clock</b>: {line}"
CONFIRM_MOVE = "Move the {label} from {old} to <b>{new}</b>, at the {who}'s request."
SAVE = "✅ Save booking"
SAVED = "📅 Booked for <b>{name}</b>: {line}"
MOVED = "📅 Moved for <b>{name}</b>: {line}"

# -- managing a booking -------------------------------------------------------------------------
MANAGE_TITLE = "<b>Bookings · {name}</b>"
MANAGE_PROMPT = "Which booking? A ❗ booking has passed and needs its outcome."
MANAGE_NONE = "This patient has no open bookings to change. Use 📅 Book to add one."
ACTION_TITLE = "<b>{label}</b> · {when}{where}"
ACTION_PAST = "This booking has passed: what happened?"
ACTION_FUTURE = "What do you want to do with it?"
ACTION_TODAY = "This booking is today: record what happened, or move it."
OUTCOME_BUTTONS: Final[Mapping[str, str]] = {
    "attended": "✅ Attended",
    "dna": "🚫 Did not attend",
    "cancelled_patient": "↩️ Cancelled by the patient",
    "cancelled_hospital": "🏥 Cancelled by the hospital",
}
RESCHEDULE = "📆 Move to another date"
WHO_TITLE = "Who asked to move it?"
WHO_PROMPT = (
    "A move the patient asks for is a patient cancellation; one the hospital makes is a "
    "hospital cancellation. They mean different things for some clocks."
)
WHO_PATIENT = "The patient"
WHO_HOSPITAL = "The hospital"
ADJUST_TITLE = "A declined admission date"
ADJUST_PROMPT = (
    "On a {standard} cancer pathway, a patient who declines a reasonable offer of an admitted "
    "(inpatient or day case) treatment date can be given a <b>treatment adjustment</b>: the "
    "clock stops counting from the declined date ({date}) until the patient says they are "
    "available again. Was this a reasonable offer the patient declined?"
)
ADJUST_YES = "Yes: a declined admission offer"
ADJUST_NO = "No: a plain cancellation"
ADJUST_OPEN = (
    "Treatment adjustment: from {declined} the clock stops counting, and there is no breach "
    "date until the patient says when they are available again (the PTL shows them at risk, "
    "to chase). When they do, tap 📅 Book › 🙋 Patient available again."
)
ADJUST_CLOSED = (
    "Treatment adjustment: the days from {declined} to {available} ({days} day{s}) don't count, "
    "so the breach date moves to <b>{breach}</b>."
)
ADJUSTMENT_OPEN_NOTE = (
    "⏸ A treatment adjustment is open from the declined admission date {since}: no breach "
    "date until the patient says when they are available again."
)
AVAILABLE_BUTTON = "🙋 Patient available again"
AVAILABLE_TITLE = "<b>When is the patient available again?</b>"
AVAILABLE_PROMPT = (
    "The adjustment runs from the declined date ({declined}) to the day the patient says they "
    "are available for treatment again. Type that day (for example 14 Apr, or in 3 weeks)."
)
AVAILABLE_UNKNOWN = "Not known yet"
AVAILABLE_TODAY = "From today ({date})"
AVAILABLE_TOO_EARLY = (
    "{date} is before the declined date ({declined}): the patient is available again on or "
    "after it. Type another day."
)
SAVE_EVENT = "✅ Save"
CHANGES_AHEAD: Final[Mapping[str, str]] = {
    "admission_offer_declined": "nothing today: the adjustment starts on {date}, the declined "
    "admission date",
    "patient_available": "nothing today: the adjustment ends on {date}, the day the patient "
    "is available again",
}
STANDARD_NAMES: Final[Mapping[str, str]] = {
    "rtt": "18-week",
    "cancer_fds": "28-day",
    "cancer_62": "62-day",
    "cancer_31": "31-day",
    "diagnostic": "6-week",
}
"""A standard as an adjective: "on a 62-day pathway", "the 28-day clock"."""
SAVED_AVAILABLE = "🙋 Patient available again recorded for <b>{name}</b>. {text}"
AVAILABLE_WHAT = "Patient available again"
MOVED_WHAT = "moved at the patient's request"
REBOOKED_WHAT = "Patient contacted us to rebook"
REBOOK_TITLE = "<b>A rebooking after a DNA</b>"
REBOOK_PROMPT: Final[Mapping[str, str]] = {
    "first_seen": (
        "The patient did not attend their first appointment ({dna}). On the {standard} "
        "standard the wait then counts from the day they contact us to rebook (the first seen "
        "adjustment). When did they contact us? Type the day, or tap one."
    ),
    "nullified": (
        "The DNA on {dna} nullified the RTT clock. If the patient has contacted us to rebook, a "
        "new clock starts on that day. When did they contact us? Type the day, or tap one."
    ),
}
REBOOK_TODAY = "Today ({date})"
REBOOK_NONE = "Book without a new clock start"
REBOOK_TOO_EARLY = "{date} is before the DNA ({dna}): type the day the patient contacted us."
REBOOK_WHY: Final[Mapping[str, str]] = {
    "first_seen": (
        "First seen adjustment: the wait now counts from the rebooking on {start}, so the "
        "breach date is {breach}."
    ),
    "new": "A new clock starts on {start} (breach date {breach}).",
}

OUTCOME_TITLE = "<b>Check and save</b> · {name}"
OUTCOME_LINE = "{label} on {date}: <b>{outcome}</b>"
OUTCOME_EVENT = "Records on the pathway: <b>{label}</b> on {date}"
OUTCOME_NO_EVENT: Final[Mapping[str, str]] = {
    "rtt": (
        "Nothing is recorded on the pathway: when the hospital cancels, the RTT clock keeps "
        "running (it never stops, pauses or restarts for a cancellation). Rebook the patient as "
        "soon as possible."
    ),
    "cancer": (
        "Nothing is recorded on the pathway: when the hospital cancels, the cancer clock keeps "
        "running (a hospital cancellation is never an adjustment). Rebook the patient as soon "
        "as possible."
    ),
    "diagnostic": (
        "Nothing is recorded on the pathway: when the hospital cancels, the 6-week (DM01) clock "
        "keeps running (only the patient's DNA or cancellation resets it). Rebook the test as "
        "soon as possible."
    ),
}
OUTCOME_DATE_NOTE = (
    "Recorded on the appointment date; if the patient rang earlier, correct the date with /update."
)
BEFORE = "<b>Before</b>: {line}"
AFTER = "<b>After</b>: {line}"
CHANGES = "<b>What changes</b>: {text}"
SAVE_OUTCOME = "✅ Save outcome"
SAVED_OUTCOME = "✅ {outcome} recorded for <b>{name}</b>: {text}"
REBOOK_HINT = "Rebook with 📅 Book on the card below."
OUTCOME_NAMES: Final[Mapping[str, str]] = {
    "attended": "Attended",
    "dna": "Did not attend",
    "cancelled_patient": "Cancelled by the patient",
    "cancelled_hospital": "Cancelled by the hospital",
}
DNA_WHY: Final[Mapping[str, str]] = {
    "nullifies": (
        "A DNA at the first appointment after the referral (a date clearly communicated to the "
        "patient) nullifies the RTT clock: this wait doesn't count. If the patient contacts us "
        "to rebook, 📅 Book starts a new clock on that day."
    ),
    "dna_urgent_suspected_cancer": (
        "The RTT clock keeps running: on an urgent suspected cancer referral a first-"
        "appointment DNA doesn't nullify the clock. It continues unless a clinician decides to "
        "discharge the patient back to their GP (record that with /update, Discharged)."
    ),
    "dna_after_activity": (
        "The clock keeps running: the patient has already been seen on this clock, so this "
        "isn't the first appointment after the referral. Only that DNA nullifies an RTT clock "
        "(or gives a cancer first seen adjustment). Rebook the patient."
    ),
    "dna_not_after_referral": (
        "The RTT clock keeps running: this clock followed active monitoring or a treatment, not "
        "a new referral, so a DNA doesn't nullify it. Rebook the patient."
    ),
    "first_seen": (
        "A DNA of the first appointment doesn't stop the {standard} clock. When the patient "
        "contacts us to rebook, 📅 Book asks for that day: the wait then counts from it (the "
        "first seen adjustment)."
    ),
    "diagnostic": (
        "A DNA of the test resets the 6-week (DM01) clock: it now counts from {start}, so the "
        "breach date is {breach}. Rebook the test."
    ),
    "cancer_31": (
        "A DNA doesn't stop or adjust a 31-day clock (the first seen adjustment is for the "
        "28-day and 62-day standards): rebook quickly."
    ),
    "continues": "The clock keeps running: rebook the patient.",
}
DNA_LATER: Final[Mapping[str, str]] = {
    "rtt": (
        "Nothing is recorded on the pathway: only a DNA at the first appointment after the "
        "referral can nullify an RTT clock, and this was a later one, so the clock keeps "
        "running (the booking keeps the DNA). Rebook the patient; a discharge back to the GP "
        "needs a clinician's judgement that it is not against the patient's interests."
    ),
    "cancer": (
        "Nothing is recorded on the pathway: a DNA of a later appointment doesn't stop or "
        "adjust a cancer clock (the first seen adjustment is for the first appointment only), "
        "so the clock keeps running (the booking keeps the DNA). Rebook quickly."
    ),
    "diagnostic": (
        "Nothing is recorded on the pathway: only a DNA of the test itself resets a 6-week "
        "(DM01) clock, so the clock keeps running (the booking keeps the DNA). Rebook."
    ),
}
PATIENT_CANCEL_WHY: Final[Mapping[str, str]] = {
    "rtt": (
        "A patient cancellation never stops or pauses an RTT clock: rebook. After two "
        "reasonable offers declined, the route is a clinical review, not a pause."
    ),
    "diagnostic": (
        "A cancellation by the patient resets the 6-week (DM01) clock to the day they "
        "cancelled: it now counts from {start}, so the breach date is {breach}. Rebook the test."
    ),
    "cancer": "A patient cancellation doesn't stop or pause a cancer clock: rebook quickly.",
}


def family(pathway_type: str) -> str:
    """Which set of rules a sentence is about: "rtt", "diagnostic" or "cancer"."""
    if pathway_type in ("rtt", "diagnostic"):
        return pathway_type
    return "cancer"


def maybe_date(day: dt.date | None) -> str:
    return format_date(day) if day is not None else "not known yet"
