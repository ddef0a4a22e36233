"""Wording of /ptl (the list), /find and the bin."""

from __future__ import annotations

PAGE_SIZE = 8

TITLE = "📋 <b>Your PTL</b> · {total} patient{s}"
COUNTS = "🔴 {breached} breached · 🟠 {at_risk} at risk · 🟢 {on_track} on track"
CLOSED_COUNT = " · ⚪ {closed} closed"
FILTERED = "Showing <b>{status}</b> · <b>{ptype}</b>: {n} patient{s}"
PAGE = "Page {page} of {pages}. Tap a patient to open their card."
EMPTY = "📋 Your PTL is empty. Add your first (fictional) patient with /add, or send /menu."
EMPTY_FILTER = "No patients match these filters."
ORDER_NOTE = "<i>Breached first, then fewest days to breach.</i>"

# One compact line per patient.
LINE = "{n}. {mark} <b>{name}</b> · {weeks}w · {when}"

PREV = "‹ Prev"
NEXT = "Next ›"
PAGE_BUTTON = "{page}/{pages} ↻"
STATUS_BUTTON = "Status: {label} ▾"
TYPE_BUTTON = "Type: {label} ▾"
CLEAR_FILTERS = "✖ Clear filters"
BACK = "« Back"
CHOOSE_STATUS = "Show which patients?"
CHOOSE_TYPE = "Show which pathway type?"
UP_TO_DATE = "Up to date."

STATUS_FILTER_LABELS: dict[str, str] = {
    "all": "All",
    "br": "🔴 Breached",
    "ar": "🟠 At risk",
    "ot": "🟢 On track",
    "open": "Waiting (open clocks)",
    "closed": "Closed / no clock",
}
TYPE_FILTER_LABELS: dict[str, str] = {
    "all": "All",
    "rtt": "RTT 18 weeks",
    "fds": "Cancer 28-day FDS",
    "c62": "Cancer 62-day",
    "c31": "Cancer 31-day",
    "dx": "Diagnostic 6 weeks",
}
