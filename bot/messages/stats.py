"""Wording of /stats."""

from __future__ import annotations

EMPTY = "📊 No statistics yet: your PTL is empty. Add a patient with /add."
TITLE = "📊 <b>Your PTL</b> as at {date}"
PATIENTS = "Patients: <b>{total}</b> ({waiting} waiting, {closed} closed{no_clock})"
NO_CLOCK = ", {n} with no clock"
STATUS = "🔴 Breached: <b>{breached}</b> · 🟠 At risk: <b>{at_risk}</b> · 🟢 On track: {on_track}"
LONG_WAITS = "⚠️ Long waits (RTT 52+ weeks): <b>{n}</b>{detail}"
LONG_WAIT_DETAIL = " ({parts})"
NO_LONG_WAITS = "Long waits (RTT 52+ weeks): none"
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
    "Patients still waiting, by weeks waited. The dashed line is the 18-week RTT standard."
)
