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
REFERRAL = "Referral letter {date}"
CLOCK_START = "Clock start {date}{meaning}"
CLOCK_START_MEANS = {
    "rtt": " (referral received)",
    "cancer_fds": " (referral received)",
    "cancer_62": " (referral or upgrade received)",
    "cancer_31": " (decision to treat or ECAD)",
    "diagnostic": " (test requested)",
}
CLOCK_NUMBER = " (clock {n} on this pathway)"


EVENTS_TITLE = "<b>Events</b>"
NO_EVENTS = "No events recorded yet."
EVENT_LINE = "• {date} · {code} · {text}{flag}"
EVENT_LINE_NO_CODE = "• {date} · {text}{flag}"
EVENT_IGNORED_FLAG = " <i>(no effect: see ✅ Validate)</i>"
EARLIER_EVENTS = "…and {n} earlier"
NOTES = "<b>Notes</b>: {notes}"

NOT_FOUND = "That patient isn't on your PTL any more (deleted, or never yours)."
