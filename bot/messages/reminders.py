"""Wording for breach reminders and /settings: what is at risk, by when, and what to do.

Why the "next step" lines: a student learning to coordinate a PTL needs more than a list of
red rows; each section says what a waiting-list coordinator would actually do next for that
kind of pathway, so the daily digest teaches the job as well as reminding.
Everything a student typed (patient names) is escaped here, in one place.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence

from bot.messages import clock as clock_words
from bot.messages.my_progress import weekly_line
from bot.messages.numbers import plural
from bot.rules.dates import format_date
from bot.rules.digest import Digest, DigestItem, NextSend, Preferences

WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

PATHWAY_SHORT = {
    "rtt": "18-week RTT",
    "cancer_fds": "Cancer 28-day FDS",
    "cancer_62": "Cancer 62-day",
    "cancer_31": "Cancer 31-day",
    "diagnostic": "6-week diagnostic",
}

# What a coordinator does next, by section and pathway type. {by} is the last compliant day.
NEXT_STEP: dict[str, dict[str, str]] = {
    "due_soon": {
        "rtt": "book treatment (a TCI date) on or before {by}; if there is no capacity, "
        "escalate to the service manager now, not after the breach.",
        "cancer_fds": "make sure the patient is told the outcome (cancer diagnosed or ruled "
        "out) by {by}: chase the results and book the outcome conversation.",
        "cancer_62": "confirm a first definitive treatment date on or before {by} and raise "
        "the patient at the cancer PTL meeting if there is none.",
        "cancer_31": "confirm the treatment start on or before {by}; escalate to the cancer "
        "services manager if it cannot be met.",
        "diagnostic": "book the test on or before {by}; if no slot is free, escalate to the "
        "diagnostics manager.",
    },
    "breached": {
        "rtt": "book the earliest possible treatment date, escalate to the service manager "
        "and record the breach reason. The clock keeps running until treatment.",
        "cancer_fds": "chase the results, tell the patient the outcome as soon as possible "
        "and record the breach reason for the cancer waiting times return.",
        "cancer_62": "escalate at the cancer PTL meeting, agree the fastest route to "
        "treatment and record the breach reason.",
        "cancer_31": "escalate to the cancer services manager, treat as soon as possible and "
        "record the breach reason.",
        "diagnostic": "book the earliest test slot and escalate: every week past six counts "
        "against the DM01 standard.",
    },
    "long_wait": {
        "rtt": "a wait of more than 52 weeks is reported to the trust board: ask for a "
        "clinical harm review, escalate to the RTT lead and book treatment as the top "
        "priority.",
    },
    "undated_soon": {
        "rtt": "give each one a date on or before {by}, in turn: clinical priority first, then "
        "the longest wait. With no capacity, escalate now, not after the breach.",
        "diagnostic": "book the test on or before {by}, in turn; if no slot is free, escalate "
        "to the diagnostics manager.",
    },
    "booked_late": {
        "rtt": "bring the booking forward to on or before the last compliant day, or escalate "
        "(service manager, or the cancer PTL meeting) and write that in the booking's notes.",
    },
    "outcome": {
        "rtt": "record whether each patient attended, did not attend or cancelled "
        "(🗓 Bookings on the card): an unrecorded outcome hides a treatment, a DNA or a "
        "rebooking.",
    },
}

SECTION_TITLE = {
    "long_wait": "🚨 <b>Waiting more than 52 weeks</b>",
    "breached": "🔴 <b>Breached</b>",
    "due_soon": "🟠 <b>Breaching in the next {window} days</b>",
    "booked_late": "✖ <b>Booked after the breach date</b>",
    "undated_soon": "🗓 <b>Undated and breaching within {window} days</b>",
    "outcome": "❗ <b>Outcome needed</b>",
}
SECTION_ICON = {
    "long_wait": "🚨",
    "breached": "🔴",
    "due_soon": "🟠",
    "booked_late": "✖",
    "undated_soon": "🗓",
    "outcome": "❗",
}

MAX_LISTED = 15  # patients listed (and given a button) in one digest; the rest are counted
MAX_TEXT = 4000  # Telegram's limit is 4096; keep a margin
NAME_MAX = 60
BUTTON_NAME_MAX = 22


def long_date(day: dt.date) -> str:
    """`Mon 3 Mar 2025`: the weekday matters when planning the week."""
    return f"{WEEKDAY_ABBR[day.weekday()]} {format_date(day)}"


def _name(item: DigestItem) -> str:
    name = item.name if len(item.name) <= NAME_MAX else item.name[: NAME_MAX - 1] + "…"
    return html.escape(name, quote=False)


def _days(n: int) -> str:
    """ "1 day", "3 days": the clock's own wording (bot/messages/clock.py), so the digest
    counts days the way every other screen does."""
    return clock_words.days(n)


def _item_line(number: int, item: DigestItem, today: dt.date) -> str:
    s = item.state
    label = PATHWAY_SHORT.get(item.pathway_type, item.pathway_type)
    head = f"{number}. <b>{_name(item)}</b> · {label}"
    to_breach = s.days_to_breach or 0
    if item.section == "outcome":
        if item.booking is None or item.booking.date is None:
            return f"{head} · a booking has passed: <b>record the outcome</b>"
        return (
            f"{head} · {html.escape(item.booking.label, quote=False)} on "
            f"{format_date(item.booking.date)}: <b>record the outcome</b>"
        )
    breach = s.breach_date
    if breach is None:  # an open treatment adjustment: no breach date to show
        return head
    if item.section == "long_wait":
        breached_on = format_date(breach)
        return f"{head} · <b>{s.weeks_waited} weeks</b> waiting (breached {breached_on})"
    if item.section == "breached":
        if to_breach == 0:
            when = f"<b>breached today</b> ({format_date(breach)})"
        else:
            when = f"breached {format_date(breach)} (<b>{_days(-to_breach)} ago</b>)"
        return f"{head} · {when}"
    if item.section == "booked_late" and item.booking is not None and item.booking.date:
        return (
            f"{head} · {html.escape(item.booking.short, quote=False)} "
            f"{long_date(item.booking.date)}, after the breach date {format_date(breach)}"
        )
    last_day = breach - dt.timedelta(days=1)
    act_by = "today" if last_day == today else long_date(last_day)
    if to_breach == 1:
        return f"{head} · breaches <b>tomorrow</b>: act by <b>today</b>"
    return f"{head} · breaches {long_date(breach)} (in {_days(to_breach)}): act by <b>{act_by}</b>"


def _next_steps(section: str, items: Sequence[DigestItem]) -> list[str]:
    """One "next step" line per pathway type present in the section."""
    steps = NEXT_STEP[section]
    lines = []
    seen: list[str] = []
    for item in items:
        if item.pathway_type not in seen:
            seen.append(item.pathway_type)
    for ptype in seen:
        template = steps.get(ptype) or steps.get("rtt", "")
        text = template.format(by="the act-by date")
        prefix = f"{PATHWAY_SHORT.get(ptype, ptype)}: " if len(seen) > 1 else ""
        lines.append(f"<i>→ Next: {prefix}{text}</i>")
    return lines


def _summary(digest: Digest) -> str:
    parts = []
    if digest.long_waits:
        parts.append(f"more than 52 weeks: <b>{len(digest.long_waits)}</b>")
    if digest.breached:
        parts.append(f"breached: <b>{len(digest.breached)}</b>")
    if digest.booked_late:
        parts.append(f"booked after breach: <b>{len(digest.booked_late)}</b>")
    soon = len(digest.due_soon) + len(digest.undated_soon)
    if soon:
        undated = f", {len(digest.undated_soon)} undated" if digest.undated_soon else ""
        parts.append(f"breaching within {_days(digest.window_days)}: <b>{soon}</b>{undated}")
    if digest.outcome_needed:
        parts.append(f"outcome needed: <b>{len(digest.outcome_needed)}</b>")
    summary = " · ".join(parts)
    return summary[:1].upper() + summary[1:]


def digest_text(digest: Digest, *, max_listed: int = MAX_LISTED) -> tuple[str, list[DigestItem]]:
    """The digest message and the patients it lists (numbered, in order, for the buttons).

    Long PTLs are cut to the most urgent `max_listed` patients and the rest counted, so the
    message always fits Telegram's limit and the buttons stay usable on a phone.
    """
    while True:
        text, listed = _render(digest, max_listed)
        if len(text) <= MAX_TEXT or max_listed <= 1:
            return text, listed
        max_listed -= 1


def _render(digest: Digest, max_listed: int) -> tuple[str, list[DigestItem]]:
    header = f"⏰ <b>Breach reminder</b> · {long_date(digest.day)}"
    week = weekly_line(*digest.week) if digest.week and digest.has_week_line else None
    if week and not digest.count:
        return f"{header}\n\n{week}\n\n<i>Change the time or days: /settings</i>", []
    if digest.is_empty:
        return (
            f"{header}\n\nNothing to act on today: no patient is breached, waiting more "
            f"than 52 weeks, or breaching within {_days(digest.window_days)}. 👍\n\n"
            "<i>Change the time or days: /settings</i>"
        ), []
    lines = [header, _summary(digest)]
    listed: list[DigestItem] = []
    hidden = 0
    for section, items in digest.sections():
        if not items:
            continue
        room = max_listed - len(listed)
        shown = items[: max(room, 0)]
        hidden += len(items) - len(shown)
        lines.append("")
        lines.append(SECTION_TITLE[section].format(window=digest.window_days))
        for item in shown:
            listed.append(item)
            line = _item_line(len(listed), item, digest.day)
            lines.append(line + (" · ❗ outcome needed" if item.outcome_needed else ""))
        if len(items) > len(shown):
            lines.append(f"…and {len(items) - len(shown)} more.")
        lines.extend(_next_steps(section, items))
    lines.append("")
    if hidden:
        lines.append(f"<b>{hidden}</b> more not listed here: /ptl shows your whole PTL.")
    if week:
        lines.extend([week, ""])
    lines.append("<i>Tap a patient to open their card · /settings to change time or days</i>")
    return "\n".join(lines), listed


def button_label(number: int, item: DigestItem) -> str:
    name = item.name
    if len(name) > BUTTON_NAME_MAX:
        name = name[: BUTTON_NAME_MAX - 1] + "…"
    icon = SECTION_ICON.get(item.section, "•")
    return f"{icon} {number}. {name}"


PTL_BUTTON = "📋 My PTL"
SETTINGS_BUTTON = "⚙️ Reminder settings"

# What handlers/card.py accepts after `card:` (and keeps callback data within 64 bytes).
_CARD_ID = re.compile(r"[^:]{1,40}")


def digest_buttons(listed: Sequence[DigestItem]) -> list[list[tuple[str, str]]]:
    """Button rows as (label, callback data): one per listed patient, two to a row (each
    opens the patient card), then the PTL and the reminder settings."""
    buttons = [
        (button_label(n, item), f"card:{item.patient_id}")
        for n, item in enumerate(listed, start=1)
        if _CARD_ID.fullmatch(item.patient_id)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([(PTL_BUTTON, "menu:ptl"), (SETTINGS_BUTTON, "set:menu")])
    return rows


# ---------------------------------------------------------------------------------------
# /settings
# ---------------------------------------------------------------------------------------

DAYS_LABEL = {"weekdays": "Weekdays (Mon–Fri)", "daily": "Every day"}


def _hhmm(t: dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def next_send_text(nxt: NextSend | None, *, sent_today: bool = False) -> str:
    if nxt is None:
        return "🔕 Reminders are muted: unmute to hear about breaches again."
    if nxt.imminent:
        return "Today's reminder is due now: it will arrive within a minute."
    text = f"Next reminder: <b>{long_date(nxt.at.date())} at {_hhmm(nxt.at.time())}</b>"
    if sent_today:
        text = "Today's reminder has already been sent.\n" + text
    return text


def settings_text(
    prefs: Preferences,
    nxt: NextSend | None,
    *,
    sent_today: bool = False,
    send_empty: bool = False,
    saved: str | None = None,
    zone: str = "Europe/London",
) -> str:
    default = " <i>(default)</i>"
    lines = []
    if saved:
        lines += [f"✅ {saved}", ""]
    lines += [
        "⏰ <b>Breach reminders</b>",
        f"Time: <b>{_hhmm(prefs.send_time)}</b> {zone_label(zone)}"
        f"{'' if prefs.custom_time else default}",
        f"Days: <b>{DAYS_LABEL[prefs.days]}</b>{'' if prefs.custom_days else default}",
        f"Window: breaching within <b>{_days(prefs.window_days)}</b>"
        f"{'' if prefs.custom_window else default}",
        f"Status: {'🔕 <b>Muted</b>' if prefs.muted else '🔔 <b>On</b>'}",
        "",
        next_send_text(nxt, sent_today=sent_today),
    ]
    if not prefs.muted and not send_empty:
        lines.append(
            "<i>You only get a message when a patient is breached, waiting more than 52 "
            "weeks, or breaching within your window.</i>"
        )
    return "\n".join(lines)


def zone_label(zone: str) -> str:
    """How the send time's zone is named: "UK time" for the default Europe/London."""
    return "UK time" if zone == "Europe/London" else f"{html.escape(zone)} time"


BTN_TIME = "⏰ Time"
BTN_DAYS = "📅 Days"
BTN_WINDOW = "🔭 Window"
BTN_MUTE = "🔕 Mute"
BTN_UNMUTE = "🔔 Unmute"
BTN_DEFAULTS = "↩️ Use defaults"
BTN_DONE = "✅ Done"
BTN_BACK = "« Back"

TIME_PROMPT = (
    "⏰ <b>Reminder time</b> ({zone})\n"
    "Pick a time, or type one, e.g. <code>07:45</code> or <code>6pm</code>."
)
TIME_INVALID = (
    "I couldn't read <b>{text}</b> as a time of day. Type it like <code>07:45</code>, "
    "<code>7.45</code> or <code>6pm</code>, or pick a button. Nothing was changed."
)
DAYS_PROMPT = (
    "📅 <b>Which days?</b>\nWeekends are quiet on most PTLs; pick every day if yours is not."
)
WINDOW_PROMPT = (
    "🔭 <b>Reminder window</b>\nList patients whose breach date falls within this many days. "
    "Breached patients and waits of more than 52 weeks are always listed."
)

SAVED_TIME = "Saved: reminders at {time}."
SAVED_DAYS = "Saved: {days}."
SAVED_WINDOW = "Saved: patients breaching within {days}."
SAVED_MUTE = "Muted: no reminders until you unmute."
SAVED_UNMUTE = "Reminders are back on."
SAVED_DEFAULTS = "Back to the defaults."
DONE = "Reminder settings saved. {next}"
NO_CHANGE = "That is already your setting."


def days_button(days: str, current: str) -> str:
    return ("✓ " if days == current else "") + DAYS_LABEL[days]


def window_button(window: int, current: int) -> str:
    return ("✓ " if window == current else "") + _days(window)


def time_button(choice: str, current: dt.time) -> str:
    return ("✓ " if choice == _hhmm(current) else "") + choice


# ---------------------------------------------------------------------------------------
# Preview (python -m bot reminders preview)
# ---------------------------------------------------------------------------------------

PREVIEW_OUTCOME = {
    "send": "would receive",
    "send_empty": "would receive (nothing to act on)",
    "empty": "nothing to say: no message",
    "muted": "muted: no message",
    "not_today": "not a reminder day: no message",
}


def preview_heading(email: str, prefs: Preferences, outcome: str, logged: str | None) -> str:
    days = DAYS_LABEL[prefs.days].lower()
    when = f"{_hhmm(prefs.send_time)}, {days}, window {_days(prefs.window_days)}"
    line = f"== {email} · {when} · {PREVIEW_OUTCOME[outcome]}"
    if logged:
        line += f" · today's log: {logged}"
    return line


def preview_summary(day: dt.date, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    parts = ", ".join(f"{counts[k]} {PREVIEW_OUTCOME[k]}" for k in PREVIEW_OUTCOME if counts.get(k))
    students = plural(total, "linked student")
    return f"Reminders for {long_date(day)}: {students}: {parts or 'none'}."
