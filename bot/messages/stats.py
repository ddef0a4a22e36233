"""Wording of /stats."""

from __future__ import annotations

EMPTY = "📊 No statistics yet: your PTL is empty. Add a patient with /add."
TITLE = "📊 <b>Your PTL</b> as at {date}"
PATIENTS = "Patients: <b>{total}</b> ({waiting} waiting, {closed} closed{no_clock})"
NO_CLOCK = ", {n} with no clock"
STATUS = "🔴 Breached: <b>{breached}</b> · 🟠 At risk: <b>{at_risk}</b> · 🟢 On track: {on_track}"
LONG_WAITS = "⚠️ RTT waits of more than 52 weeks: <b>{n}</b>{detail}"
LONG_WAIT_DETAIL = " (of them, {parts})"
LONG_WAIT_PART = "{n} more than {weeks} weeks"
NO_LONG_WAITS = "RTT waits of more than 52 weeks: none"
BOOKINGS = (
    "🗓 Dated: <b>{dated}</b> · Undated: <b>{undated}</b> (of {waiting} waiting)"
    " · ✖ Booked after breach: {late} · ❗ Outcomes needed: {outcomes}"
)
WAITS = "Median wait: <b>{median}</b> · Longest: <b>{longest}</b>"
NOBODY_WAITING = "Nobody is waiting: every clock on your PTL has stopped."
RTT_18 = (
    "RTT within 18 weeks: <b>{within} of {total}</b> ({percent:.0f}%; the standard is {standard}%)"
)
SPECIALTY_TITLE = "<b>By specialty</b> (waiting · breached · longest wait)"
SPECIALTY_LINE = "{name}: {waiting} · {breached} · {longest}"
SPECIALTY_MORE = "…and {n} more specialties"
WEEKS_DAYS = "{weeks} weeks ({days} days)"
WEEKS_SHORT = "{weeks}w"
CHART_CAPTION = (
    "Patients still waiting, one chart per standard, in reporting bands: each dashed line "
    "is that standard's own (bars left of it are within it)."
)

# The chart (bot/services/charts.py): one panel per standard with waiting patients.
CHART_TITLE = "Patients still waiting ({n})"
CHART_PANEL_TITLE = "{standard}: {waiting} waiting"
CHART_PANEL_PART = {"breached": ", {n} breached", "at_risk": ", {n} at risk"}
CHART_LEGEND = {"breached": "Breached", "at_risk": "At risk", "on_track": "On track"}
CHART_STANDARD = {
    # standard name, its line's label, the x axis
    "rtt": ("18-week RTT", "18 weeks", "Weeks waited (RTT reporting bands)"),
    "cancer_fds": ("Cancer 28-day FDS", "28 days", "Days waited (7-day bands)"),
    "cancer_62": ("Cancer 62-day", "62 days", "Days waited (7-day bands)"),
    "cancer_31": ("Cancer 31-day", "31 days", "Days waited (7-day bands)"),
    "diagnostic": ("6-week diagnostic (DM01)", "6 weeks", "Completed weeks waited"),
}
CHART_OVERFLOW = " · last bar: this long or longer"
