"""A clock in words: one place that turns the engine's ClockState into what every screen says.

Why one module: the card, /add's summary, /update's before-and-after and the lists must say
the same thing about the same clock. Everything here is read off `ClockState`s from the rules
engine; nothing is recomputed. The output is HTML with nothing user-typed in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

from bot.messages import forms as text
from bot.messages import update as u
from bot.messages.numbers import plural
from bot.rules.dates import format_date
from bot.rules.pathway import ClockState

_MARKS: Final[Mapping[str, str]] = {
    "breached": "🔴",
    "at_risk": "🟠",
    "on_track": "🟢",
    "stopped": "⚪",
    "ended": "⬜",
    "nullified": "⚫",
    "transferred": "↗",
}


def _date(day: dt.date | None) -> str:
    """A date as shown, or the words for "no breach date" (an open treatment adjustment)."""
    return format_date(day) if day is not None else u.NO_BREACH_DATE


def _days(n: int) -> str:
    return text.ONE_DAY if n == 1 else text.N_DAYS.format(n=n)


def waited(state: ClockState) -> str:
    if state.weeks_waited == 0:
        return text.WAITED_DAYS.format(days=state.days_waited)
    if state.weeks_waited == 1:
        return text.WAITED_ONE_WEEK.format(days=state.days_waited)
    return text.WAITED_WEEKS.format(weeks=state.weeks_waited, days=state.days_waited)


def to_go(state: ClockState) -> str:
    d = state.days_to_breach
    if d is None:
        return ""
    if d > 1:
        return text.DAYS_TO_GO.format(n=d)
    if d == 1:
        return text.ONE_DAY_TO_GO
    if d == 0:
        return text.BREACHES_TODAY
    return text.BREACHED_YESTERDAY if d == -1 else text.BREACHED_AGO.format(n=-d)


def verdict(state: ClockState) -> str:
    standard = text.STANDARDS[state.pathway_type]
    return (text.AFTER if state.breached else text.WITHIN).format(standard=standard)


def clock_line(state: ClockState | None) -> str:
    """A clock in one line: status, weeks waited, breach date (or how it ended)."""
    if state is None:
        return text.CLOCK_NONE
    mark = _MARKS[state.status]
    if state.running:
        if state.breach_date is None:
            since = state.adjustment_open_since
            return text.CLOCK_ADJUSTED.format(
                mark=mark,
                status=state.status_label,
                waited=waited(state),
                since=format_date(since) if since else "",
            )
        return text.CLOCK_RUNNING.format(
            mark=mark,
            status=state.status_label,
            waited=waited(state),
            breach=format_date(state.breach_date),
            to_go=to_go(state),
        )
    if state.status == "transferred" and state.transferred_on is not None:
        return text.CLOCK_TRANSFERRED.format(mark=mark, date=format_date(state.transferred_on))
    stop = format_date(state.clock_stop) if state.clock_stop else ""
    if state.status == "nullified":
        return text.CLOCK_NULLIFIED.format(mark=mark, stop=stop)
    if state.status == "ended":
        return text.CLOCK_ENDED.format(
            mark=mark,
            stop=stop,
            days=_days(state.days_waited),
            standard=text.STANDARDS[state.pathway_type],
        )
    return text.CLOCK_STOPPED.format(
        mark=mark, stop=stop, days=_days(state.days_waited), verdict=verdict(state)
    )


def _same_clock(a: ClockState, b: ClockState) -> bool:
    return (
        a.status,
        a.clock_start,
        a.clock_stop,
        a.breach_date,
        a.days_waited,
        a.clock_number,
    ) == (
        b.status,
        b.clock_start,
        b.clock_stop,
        b.breach_date,
        b.days_waited,
        b.clock_number,
    )


def ignored_reason(state: ClockState | None, index: int | None) -> str | None:
    """Why the event at `index` (in the engine's event list) changed nothing, if it didn't."""
    if state is None or index is None:
        return None
    for ignored in state.ignored:
        if ignored.index == index:
            return ignored.reason
    return None


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
    days = _days(after.days_waited)
    if after.clock_number > before.clock_number:
        lines.append(
            u.NEW_CLOCK.format(
                date=format_date(after.clock_start),
                code=after.rtt_code,
                breach=_date(after.breach_date),
            )
        )
    elif before.running and after.status == "stopped":
        phrase = u.STOP_PHRASES.get(after.ended_by or "", "stopped after {days}")
        lines.append(u.STOPPED.format(phrase=phrase.format(days=days), verdict=verdict(after)))
    elif before.running and after.status == "ended":
        phrase = u.STOP_PHRASES.get(after.ended_by or "", "ended after {days}")
        lines.append(
            u.ENDED.format(
                phrase=phrase.format(days=days), standard=text.STANDARDS[after.pathway_type]
            )
        )
    elif before.running and after.status == "nullified":
        lines.append(u.NULLIFIED.format(days=days))
    elif before.running and after.status == "transferred":
        lines.append(u.TRANSFERRED.format(days=days))
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
    newly = {i.index for i in after.ignored} - {i.index for i in before.ignored} - {new_event}
    if newly:
        lines.append(u.NEWLY_IGNORED.format(events=plural(len(newly), "recorded event")))
    return lines
