"""A clock in words: the one place that turns the engine's ClockState into what a screen says.

Why one module: the card, the PTL list, /add's summary, /update's event picker and its
before-and-after, /validate and the digest must say the same thing about the same clock, in
the same words. Everything here is read off `ClockState`s from the rules engine; nothing is
recomputed. The output is HTML with nothing user-typed in it.

Wording rules kept here (issue 15, point 7): a stopped clock says "within" or "after" the
standard with its day ("after the 18-week standard (day 275)"), never "breached 18 weeks";
one week is "1 week"; every standard is named the same way on every screen ("6 weeks" for
DM01, never "41 days"); a nullified or ended clock shows no reporting band and no breach
date beside "doesn't count"; and no internal name (``cancer_fds``) ever reaches a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final

from bot.messages import forms as form_text
from bot.messages import update as u
from bot.rules.dates import format_date
from bot.rules.pathway import EVENT_KINDS, PATHWAY_TYPES, STATUSES, ClockState, Event

# -- marks and names ---------------------------------------------------------------------------
MARKS: Final[Mapping[str, str]] = {
    "breached": "🔴",
    "at_risk": "🟠",
    "on_track": "🟢",
    "stopped": "⚪",
    "ended": "⬜",
    "nullified": "⚫",
    "transferred": "↗",
}
NO_CLOCK_MARK: Final = "❔"
"""A row with no usable clock (no clock start, unknown pathway type, start after today)."""

STANDARDS: Final[Mapping[str, str]] = form_text.STANDARDS
"""How long each standard is, said the same way on every screen."""
STANDARD_NAMES: Final[Mapping[str, str]] = {
    "rtt": "18-week standard",
    "cancer_fds": "28-day Faster Diagnosis Standard",
    "cancer_62": "62-day standard",
    "cancer_31": "31-day standard",
    "diagnostic": "6-week diagnostic standard",
}

# -- one line --------------------------------------------------------------------------------
LINE_RUNNING = "{mark} <b>{status}</b> · {waited} · breach date {breach} ({to_go})"
LINE_ADJUSTED = (
    "{mark} <b>{status}</b> · {waited} · treatment adjustment open since {since}: "
    "no breach date until the patient is available"
)
LINE_STOPPED = "{mark} <b>Clock stopped</b> {stop} · {verdict}"
LINE_ENDED = "{mark} <b>Ended</b> {stop} · day {day} · not reported against the {standard}"
LINE_NULLIFIED = (
    "{mark} <b>Nullified</b> {stop}: a DNA of the first appointment, the wait doesn't count"
)
LINE_TRANSFERRED = "{mark} <b>Transferred out</b> {date}: no longer on this PTL"
LINE_NONE = "❔ No clock (no usable clock start)"

WAITED_WEEKS = "{weeks} weeks waited ({days} days)"
WAITED_ONE_WEEK = "1 week waited ({days} days)"
WAITED_ONE_DAY = "1 day waited"
WAITED_DAYS = "{days} days waited"
ONE_DAY = "1 day"
N_DAYS = "{n} days"
DAYS_TO_GO = "{n} days to go"
ONE_DAY_TO_GO = "1 day to go"
BREACHES_TODAY = "breaches today"
BREACHED_AGO = "breached {n} days ago"
BREACHED_YESTERDAY = "breached yesterday"
WITHIN = "within the {standard} (day {day}) ✔"
AFTER = "after the {standard} (day {day}) ✖"

# -- the card --------------------------------------------------------------------------------
CARD_STATUS = "{mark} <b>{status}</b>"
CARD_WAITED = "⏱ <b>{waited}</b>"
CARD_WAITED_RTT = "⏱ <b>{waited}</b> · RTT band {band}"
CARD_STANDARD = "Standard: {standard} (breach from {breach})"
CARD_DAYS_TO_BREACH = "{days} days to breach"
CARD_ONE_DAY_TO_BREACH = "1 day to breach: the last compliant day is today"
CARD_BREACH_TODAY = "Breaches today"
CARD_BREACHED_FOR = "Breached {days} days ago: the patient still needs treating"
CARD_BREACHED_FOR_ONE = "Breached yesterday: the patient still needs treating"
CARD_STOPPED = "Clock stopped {date}: {label}{code}, {verdict}"
CARD_CODE = " (code {code})"
CARD_ENDED = (
    "Pathway ended {date}: {label}. It is not reported against the {standard}, and is never "
    "a breach."
)
CARD_NULLIFIED = (
    "Clock nullified {date} by a DNA of the first appointment (code 33): this wait ({days}) "
    "doesn't count. If the patient rebooks, record a new clock."
)
CARD_TRANSFERRED = (
    "Transferred to another provider {date}: no longer on this PTL. The clock carries on at "
    "the new provider from its original start."
)
CARD_ADJUSTMENT_OPEN = (
    "⏸ Treatment adjustment open since {date} (the patient declined an admission date): the "
    "wait stops counting until they are available again, so there is no breach date yet."
)
CARD_ADJUSTED = "Treatment adjustment: {days} not counted (the breach date moved on as many)."
CARD_RESET = {
    "dna_first_appointment": "Clock restarted {date} after a DNA of the test (DM01 reset).",
    "patient_cancelled": "Clock restarted {date} after the patient cancelled (DM01 reset).",
    "new_clock": "Clock restarted {date}, when the patient rebooked after a DNA (first seen "
    "adjustment).",
}
CARD_AWAITING_REBOOKING = (
    "The patient did not attend their first appointment: when they rebook, record a New "
    "clock start on that date (first seen adjustment)."
)
CARD_LONG_WAIT = "⚠️ Long wait: more than {weeks} weeks"
CARD_REBOOK_AFTER_CANCELLATION = (
    "↩️ The patient cancelled on {date} and nothing is booked yet: rebook them. {why}"
)
CARD_REBOOK_WHY = {
    "rtt": "The RTT clock keeps running (there are no pauses).",
    "diagnostic": "The 6-week clock restarted on that date (DM01 reset) and counts from it.",
}
CARD_REBOOK_WHY_CANCER = "The cancer clock keeps running (a cancellation is not an adjustment)."
CARD_NO_CLOCK = (
    "❔ <b>No clock</b>: this pathway has no usable clock start, so its wait can't be "
    "counted. Use ✏️ Update to set the clock start, or ✅ Validate to see why."
)

# -- the PTL list ------------------------------------------------------------------------------
WHEN_RUNNING = "breach {date} ({days}d)"
WHEN_BREACH_TODAY = "breaches today ({date})"
WHEN_BREACHED = "breached {date}"
WHEN_ADJUSTED = "adjustment open: no breach date"
WHEN_STOPPED = "stopped {date}"
WHEN_STOPPED_LATE = "stopped {date}, after the standard"
WHEN_ENDED = "ended {date}, not reported"
WHEN_NULLIFIED = "nullified {date}"
WHEN_TRANSFERRED = "transferred {date}"
WHEN_NO_CLOCK = "no clock start"

# -- what the record says needs doing (/validate) ---------------------------------------------
NEEDS_TREATING = (
    "The patient has breached the {standard} (day {day}) and still needs {what}: book the "
    "earliest date and escalate."
)
NEEDS_BY = "The patient needs {what} by {last} (last compliant day)."
NEEDS_CHASING = (
    "A treatment adjustment is open: chase the patient and record when they are available."
)
WHAT_IS_NEEDED: Final[Mapping[str, str]] = {
    "rtt": "treating",
    "cancer_fds": "their diagnosis (or the all-clear)",
    "cancer_62": "their first treatment",
    "cancer_31": "treatment",
    "diagnostic": "their test",
}


def mark(state: ClockState | None) -> str:
    return MARKS[state.status] if state is not None else NO_CLOCK_MARK


def pathway_name(pathway_type: str) -> str:
    """The pathway as a person reads it ("18-week RTT"), never the stored key."""
    found = PATHWAY_TYPES.get(pathway_type)
    return found.label if found is not None else "unknown pathway"


def days(n: int) -> str:
    return ONE_DAY if n == 1 else N_DAYS.format(n=n)


def _date(day: dt.date | None) -> str:
    """A date as shown, or the words for "no breach date" (an open treatment adjustment)."""
    return format_date(day) if day is not None else u.NO_BREACH_DATE


def waited(state: ClockState) -> str:
    """ "8 weeks waited (56 days)"; "1 week waited (7 days)"; "6 days waited"."""
    if state.weeks_waited == 0:
        if state.days_waited == 1:
            return WAITED_ONE_DAY
        return WAITED_DAYS.format(days=state.days_waited)
    if state.weeks_waited == 1:
        return WAITED_ONE_WEEK.format(days=state.days_waited)
    return WAITED_WEEKS.format(weeks=state.weeks_waited, days=state.days_waited)


def to_go(state: ClockState) -> str:
    d = state.days_to_breach
    if d is None:
        return ""
    if d > 1:
        return DAYS_TO_GO.format(n=d)
    if d == 1:
        return ONE_DAY_TO_GO
    if d == 0:
        return BREACHES_TODAY
    return BREACHED_YESTERDAY if d == -1 else BREACHED_AGO.format(n=-d)


def verdict(state: ClockState) -> str:
    """How a stopped clock compares with its standard: "within the 18-week standard (day 87)
    ✔" or "after the 18-week standard (day 275) ✖" (never "breached 18 weeks")."""
    template = AFTER if state.breached else WITHIN
    return template.format(standard=STANDARD_NAMES[state.pathway_type], day=state.days_waited)


def clock_line(state: ClockState | None) -> str:
    """A clock in one line: status, time waited, breach date (or how it ended)."""
    if state is None:
        return LINE_NONE
    m = MARKS[state.status]
    if state.running:
        if state.breach_date is None:
            since = state.adjustment_open_since
            return LINE_ADJUSTED.format(
                mark=m, status=state.status_label, waited=waited(state),
                since=format_date(since) if since else "",
            )  # fmt: skip
        return LINE_RUNNING.format(
            mark=m,
            status=state.status_label,
            waited=waited(state),
            breach=format_date(state.breach_date),
            to_go=to_go(state),
        )
    if state.status == "transferred" and state.transferred_on is not None:
        return LINE_TRANSFERRED.format(mark=m, date=format_date(state.transferred_on))
    stop = format_date(state.clock_stop) if state.clock_stop else ""
    if state.status == "nullified":
        return LINE_NULLIFIED.format(mark=m, stop=stop)
    if state.status == "ended":
        return LINE_ENDED.format(
            mark=m, stop=stop, day=state.days_waited,
            standard=STANDARD_NAMES[state.pathway_type],
        )  # fmt: skip
    return LINE_STOPPED.format(mark=m, stop=stop, verdict=verdict(state))


def ptl_when(state: ClockState | None) -> str:
    """The end of a PTL list line: when it breaches, or how the clock ended."""
    if state is None:
        return WHEN_NO_CLOCK
    if state.running:
        breach, to_breach = state.breach_date, state.days_to_breach
        if breach is None or to_breach is None:
            return WHEN_ADJUSTED
        if to_breach > 0:
            return WHEN_RUNNING.format(date=format_date(breach), days=to_breach)
        if to_breach == 0:
            return WHEN_BREACH_TODAY.format(date=format_date(breach))
        return WHEN_BREACHED.format(date=format_date(breach))
    if state.status == "transferred" and state.transferred_on is not None:
        return WHEN_TRANSFERRED.format(date=format_date(state.transferred_on))
    stop = format_date(state.clock_stop) if state.clock_stop is not None else ""
    if state.status == "nullified":
        return WHEN_NULLIFIED.format(date=stop)
    if state.status == "ended":
        return WHEN_ENDED.format(date=stop)
    return (WHEN_STOPPED_LATE if state.breached else WHEN_STOPPED).format(date=stop)


def card_lines(state: ClockState | None) -> list[str]:
    """The clock block of the patient card."""
    if state is None:
        return [CARD_NO_CLOCK]
    ptype = state.pathway_type
    rtt = ptype == "rtt"
    lines = [CARD_STATUS.format(mark=MARKS[state.status], status=STATUSES[state.status])]
    if state.status == "nullified":
        # The wait doesn't count at all: no band, no standard, no breach date beside that.
        if state.clock_stop is not None:
            lines.append(
                CARD_NULLIFIED.format(
                    date=format_date(state.clock_stop), days=days(state.days_waited)
                )
            )
        return lines
    if rtt and state.status != "ended":
        lines.append(CARD_WAITED_RTT.format(waited=waited(state), band=state.rtt_band))
    else:
        lines.append(CARD_WAITED.format(waited=waited(state)))
    if state.status == "ended":
        kind = EVENT_KINDS.get(state.ended_by or "")
        lines.append(
            CARD_ENDED.format(
                date=format_date(state.clock_stop) if state.clock_stop else "",
                label=kind.label if kind else "",
                standard=STANDARD_NAMES[ptype],
            )
        )
        return lines
    if state.breach_date is not None and state.status != "transferred":
        lines.append(
            CARD_STANDARD.format(standard=STANDARDS[ptype], breach=format_date(state.breach_date))
        )
    if state.reset_by is not None and state.reset_by in CARD_RESET:
        lines.append(CARD_RESET[state.reset_by].format(date=format_date(state.clock_start)))
    if state.adjustment_open_since is not None and state.running:
        lines.append(CARD_ADJUSTMENT_OPEN.format(date=format_date(state.adjustment_open_since)))
    elif state.adjusted_days:
        lines.append(CARD_ADJUSTED.format(days=days(state.adjusted_days)))
    if state.awaiting_rebooking:
        lines.append(CARD_AWAITING_REBOOKING)
    if state.running and state.days_to_breach is not None:
        d = state.days_to_breach
        if d > 1:
            lines.append(CARD_DAYS_TO_BREACH.format(days=d))
        elif d == 1:
            lines.append(CARD_ONE_DAY_TO_BREACH)
        elif d == 0:
            lines.append(CARD_BREACH_TODAY)
        elif d == -1:
            lines.append(CARD_BREACHED_FOR_ONE)
        else:
            lines.append(CARD_BREACHED_FOR.format(days=-d))
    elif state.status == "transferred" and state.transferred_on is not None:
        lines.append(CARD_TRANSFERRED.format(date=format_date(state.transferred_on)))
    elif state.status == "stopped" and state.clock_stop is not None:
        kind = EVENT_KINDS.get(state.ended_by or "")
        lines.append(
            CARD_STOPPED.format(
                date=format_date(state.clock_stop),
                label=kind.label if kind else "",
                code=CARD_CODE.format(code=state.rtt_code) if rtt else "",
                verdict=verdict(state),
            )
        )
    if state.long_wait_weeks:
        lines.append(CARD_LONG_WAIT.format(weeks=state.long_wait_weeks))
    return lines


def rebook_reminder(
    state: ClockState | None, events: Sequence[Event], *, booked_ahead: bool
) -> str | None:
    """The card's reminder after a patient cancellation (rules contract r2, Events): when the
    latest event applied to a running clock is the patient's cancellation and nothing is
    booked ahead, the student is told to rebook and what the cancellation did to the clock."""
    if state is None or not state.running or booked_ahead or not state.applied:
        return None
    last = state.applied[-1]
    if last >= len(events) or events[last].kind != "patient_cancelled":
        return None
    ptype = state.pathway_type
    return CARD_REBOOK_AFTER_CANCELLATION.format(
        date=format_date(events[last].date),
        why=CARD_REBOOK_WHY.get(ptype, CARD_REBOOK_WHY_CANCER),
    )


def what_is_needed(state: ClockState | None) -> str | None:
    """For a record that is consistent: what the patient still needs, if anything pressing
    (a breached or at-risk clock, an open adjustment). None when nothing presses."""
    if state is None or not state.running:
        return None
    if state.breach_date is None:
        return NEEDS_CHASING
    what = WHAT_IS_NEEDED[state.pathway_type]
    if state.status == "breached":
        return NEEDS_TREATING.format(
            standard=STANDARD_NAMES[state.pathway_type], day=state.days_waited, what=what
        )
    if state.status == "at_risk":
        last = state.breach_date - dt.timedelta(days=1)
        return NEEDS_BY.format(what=what, last=format_date(last))
    return None


# -- what an update does (the confirm step and the event picker) -------------------------------
def _same_clock(a: ClockState, b: ClockState) -> bool:
    return (
        a.status,
        a.clock_start,
        a.clock_stop,
        a.breach_date,
        a.days_waited,
        a.clock_number,
        a.adjusted_days,
        a.adjustment_open_since,
    ) == (
        b.status,
        b.clock_start,
        b.clock_stop,
        b.breach_date,
        b.days_waited,
        b.clock_number,
        b.adjusted_days,
        b.adjustment_open_since,
    )


def ignored_reason(state: ClockState | None, index: int | None) -> str | None:
    """Why the event at `index` (in the engine's event list) changed nothing, if it didn't."""
    if state is None or index is None:
        return None
    for ignored in state.ignored:
        if ignored.index == index:
            return ignored.reason
    return None


def _note(state: ClockState | None, index: int | None) -> str | None:
    if state is None or index is None:
        return None
    for note in state.notes:
        if note.index == index:
            return note.note
    return None


def _code(state: ClockState) -> str:
    """ " (code 11)" on an RTT row; nothing on cancer and DM01 rows, which don't use RTT codes."""
    return u.CODE.format(code=state.rtt_code) if state.pathway_type == "rtt" else ""


def describe_change(
    before: ClockState | None, after: ClockState | None, *, new_event: int | None = None
) -> list[str]:
    """What an update does to the clock, in plain words (HTML, nothing user-typed).

    `new_event` is the index, in the engine's event list for `after`, of an event being
    recorded: an event the engine would ignore is explained instead ("the clock had already
    stopped..."). Everything here is read off the engine's two ClockStates; nothing is
    recomputed.
    """
    reason = ignored_reason(after, new_event)
    if reason is not None:
        return [u.IGNORED.get(reason, u.UNCHANGED)]
    if after is None:
        return [u.NOW_NO_CLOCK] if before is not None else [u.UNCHANGED]
    if before is None:
        return [u.NOW_HAS_CLOCK.format(line=clock_line(after))]
    lines: list[str] = []
    if after.clock_number > before.clock_number:
        lines.append(
            u.NEW_CLOCK.format(
                date=format_date(after.clock_start),
                code=_code(after),
                breach=_date(after.breach_date),
            )
        )
    elif before.running and after.status == "stopped":
        phrase = u.STOP_PHRASES.get(after.ended_by or "", u.STOPPED_PLAIN)
        lines.append(u.STOPPED.format(phrase=phrase, verdict=verdict(after)))
    elif before.running and after.status == "ended":
        phrase = u.STOP_PHRASES.get(after.ended_by or "", u.ENDED_PLAIN)
        lines.append(
            u.ENDED.format(
                phrase=phrase, day=after.days_waited, standard=STANDARD_NAMES[after.pathway_type]
            )
        )
    elif before.running and after.status == "nullified":
        lines.append(u.NULLIFIED.format(days=days(after.days_waited)))
    elif before.running and after.status == "transferred":
        lines.append(u.TRANSFERRED.format(days=days(after.days_waited)))
    elif (
        after.running
        and after.adjustment_open_since is not None
        and before.adjustment_open_since is None
    ):
        lines.append(u.ADJUSTMENT_OPENED.format(date=format_date(after.adjustment_open_since)))
    elif (
        after.running
        and before.adjustment_open_since is not None
        and (after.adjustment_open_since is None)
    ):
        lines.append(
            u.ADJUSTMENT_CLOSED.format(
                days=days(after.adjusted_days - before.adjusted_days),
                breach=_date(after.breach_date),
            )
        )
    elif after.running and after.clock_start != before.clock_start and after.reset_by:
        lines.append(
            u.RESET.get(after.reset_by, u.START_MOVED_PLAIN).format(
                date=format_date(after.clock_start), breach=_date(after.breach_date)
            )
        )
    elif _same_clock(before, after):
        if after.running and new_event is not None:
            lines.append(u.CONTINUES.format(waited=waited(after), breach=_date(after.breach_date)))
        else:
            lines.append(u.UNCHANGED)
    else:
        if before.clock_start != after.clock_start:
            lines.append(
                u.START_MOVED.format(
                    old=format_date(before.clock_start), new=format_date(after.clock_start)
                )
            )
        if before.breach_date != after.breach_date:
            lines.append(
                u.BREACH_MOVED.format(old=_date(before.breach_date), new=_date(after.breach_date))
            )
        if before.status != after.status:
            lines.append(u.STATUS_MOVED.format(old=before.status_label, new=after.status_label))
        if not lines:
            lines.append(u.NOW_HAS_CLOCK.format(line=clock_line(after)))
    note = _note(after, new_event)
    if note is not None:
        lines.append(u.NOTES[note])
    elif after.awaiting_rebooking and not before.awaiting_rebooking:
        lines.append(u.AWAITING_REBOOKING)
    newly = {i.index for i in after.ignored} - {i.index for i in before.ignored} - {new_event}
    if newly:
        n = len(newly)
        lines.append(u.NEWLY_IGNORED.format(n=n, s="" if n == 1 else "s"))
    return lines


def effect_today(before: ClockState | None, after: ClockState | None, new_event: int) -> str:
    """What one event would do to this patient's clock if it happened today: the short
    phrase the event picker shows beside it, read off the engine's clocks before and after."""
    reason = ignored_reason(after, new_event)
    if reason is not None or after is None or before is None:
        return u.EFFECT_NONE.get(reason or "", u.EFFECT_NONE[""])
    if after.clock_number > before.clock_number:
        return u.EFFECT_STARTS.format(code=_code(after))
    if before.running and after.status == "stopped":
        return u.EFFECT_STOPS.format(verdict=verdict(after))
    if before.running and after.status == "ended":
        return u.EFFECT_ENDS
    if before.running and after.status == "nullified":
        return u.EFFECT_NULLIFIES
    if before.running and after.status == "transferred":
        return u.EFFECT_TRANSFERS
    if after.adjustment_open_since is not None and before.adjustment_open_since is None:
        return u.EFFECT_ADJUSTS
    if before.adjustment_open_since is not None and after.adjustment_open_since is None:
        return u.EFFECT_RESUMES
    if after.clock_start != before.clock_start:
        return u.EFFECT_RESETS
    note = _note(after, new_event)
    if note is not None:
        return u.EFFECT_CONTINUES_BECAUSE[note]
    if after.awaiting_rebooking and not before.awaiting_rebooking:
        return u.EFFECT_AWAITS_REBOOKING
    return u.EFFECT_CONTINUES
