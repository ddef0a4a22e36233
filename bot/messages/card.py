"""Wording of the patient card (shown by /ptl, /find, after a save, from reminders)."""

from __future__ import annotations

UPDATE = "✏️ Update"
DELETE = "🗑 Delete"
VALIDATE = "✅ Validate"
BACK_TO_PTL = "« PTL"

UNNAMED = "(no name)"
ID_LINE = "ID <code>{patient_id}</code>"
NHS = "NHS {nhs}"
PATHWAY = "{label}"
PRIORITY = "Priority: {priority}"
SPECIALTY = "Specialty: {specialty}"
CONSULTANT = "Consultant: {consultant}"
REFERRAL = "Referral received {date}"
CLOCK_START = "Clock start {date}"
CLOCK_NUMBER = " (clock {n} on this pathway)"

NO_CLOCK = (
    "❔ <b>No clock</b>: this pathway has no usable clock start, so its wait can't be "
    "counted. Use ✏️ Update to set the clock start, or ✅ Validate to see why."
)
WAITED = "⏱ <b>{weeks} weeks</b> waited ({days} days) · RTT band {band}"
WAITED_CANCER = "⏱ <b>{days} days</b> waited ({weeks} weeks)"
TARGET = "Standard: {target} days (breach from {breach_date})"
DAYS_TO_BREACH = "{days} days to breach"
ONE_DAY_TO_BREACH = "1 day to breach: the last compliant day is today"
BREACH_TODAY = "Breaches today"
BREACHED_FOR = "Breached {days} days ago"
BREACHED_FOR_ONE = "Breached yesterday"
STOPPED = "Clock stopped {date}: {label} (code {code})"
ENDED = "Pathway ended {date}: {label}. Not reported against the standard, and never a breach."
ADJUSTMENT_OPEN = (
    "⏸ Treatment adjustment open since {date} (the patient declined an admission date): the "
    "wait stops counting until they are available again, so there is no breach date yet."
)
ADJUSTED = "Treatment adjustment: {days} not counted (the breach date moved on by as many)."
STOPPED_IN_TIME = "within the standard ✔"
STOPPED_LATE = "after the breach date ✖"
NULLIFIED = (
    "Clock nullified {date} by a first-appointment DNA (code 33): this wait doesn't count. "
    "If the patient rebooks, record a new clock."
)
TRANSFERRED = "Transferred to another provider {date} (code 21): no longer on this PTL."
LONG_WAIT = "⚠️ Long wait: more than {weeks} weeks"
STATUS = "{mark} <b>{status}</b>"

EVENTS_TITLE = "<b>Events</b>"
NO_EVENTS = "No events recorded yet."
EVENT_LINE = "• {date} · {code} · {text}{flag}"
EVENT_IGNORED_FLAG = " <i>(no effect: see ✅ Validate)</i>"
EARLIER_EVENTS = "…and {n} earlier"
NOTES = "<b>Notes</b>: {notes}"

NOT_FOUND = "That patient isn't on your PTL any more (deleted, or never yours)."
