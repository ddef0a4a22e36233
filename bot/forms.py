"""Form logic that has nothing to do with Telegram: the patient fields a student fills in
step by step, how each one reads typed text or a tapped choice, how a clock is summed up
in one line, and when an abandoned form has expired.

Why here and not in the handlers: /add asks for every field and /update edits any one of
them, and both must accept and refuse exactly the same input with the same explanation.
Keeping the rules pure (no Telegram, no database) lets the tests throw thousands of odd
strings at them cheaply, and keeps the handlers about conversation flow only.

Every value a field returns is ready to store in the `ptl_patients` column it names; every
message it returns is HTML, with anything the student typed escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bot.dates import ACCEPTED_FORMS, format_date, parse_date
from bot.messages import forms as text
from bot.messages import update as u
from bot.nhs_number import format_nhs, generate_test_number, validate_for_training
from bot.pathway import PATHWAY_TYPES, ClockState, canonical_pathway_type
from bot.specialties import COMMON, by_code, lookup

__all__ = [
    "FIELDS",
    "FIELD_ORDER",
    "NAME_LIMIT",
    "NOTES_LIMIT",
    "PRIORITIES",
    "Choice",
    "Field",
    "FieldContext",
    "Parsed",
    "clock_line",
    "describe_change",
    "esc",
    "is_idle",
]

NAME_LIMIT: Final = 100
NOTES_LIMIT: Final = 1000
DATE_TEXT_LIMIT: Final = 60
"""Longer than any way of writing a date; longer text is refused before parsing."""

PRIORITIES: Final[tuple[tuple[str, str], ...]] = (
    # (callback value, stored value). Surgical P1a-P4 follow the Federation of Surgical
    # Specialty Associations' prioritisation; none of them changes a clock.
    ("routine", "Routine"),
    ("urgent", "Urgent"),
    ("usc", "Urgent suspected cancer"),
    ("p1a", "P1a"),
    ("p1b", "P1b"),
    ("p2", "P2"),
    ("p3", "P3"),
    ("p4", "P4"),
)
_PRIORITY_ALIASES: Final[Mapping[str, str]] = {
    **{stored.lower(): stored for _, stored in PRIORITIES},
    **{value: stored for value, stored in PRIORITIES},
    "2ww": "Urgent suspected cancer",
    "two week wait": "Urgent suspected cancer",
    "suspected cancer": "Urgent suspected cancer",
    "cancer": "Urgent suspected cancer",
}
_PATHWAY_ALIASES: Final[Mapping[str, str]] = {
    "18": "rtt",
    "18 week": "rtt",
    "18 weeks": "rtt",
    "18-week rtt": "rtt",
    "18 week rtt": "rtt",
    "28": "cancer_fds",
    "fds": "cancer_fds",
    "28 day": "cancer_fds",
    "28-day": "cancer_fds",
    "faster diagnosis": "cancer_fds",
    "28-day faster diagnosis": "cancer_fds",
    "62": "cancer_62",
    "62 day": "cancer_62",
    "62-day": "cancer_62",
    "62-day cancer": "cancer_62",
    "31": "cancer_31",
    "31 day": "cancer_31",
    "31-day": "cancer_31",
    "31-day cancer": "cancer_31",
    "6": "diagnostic",
    "6 week": "diagnostic",
    "6 weeks": "diagnostic",
    "6-week diagnostic": "diagnostic",
    "dm01": "diagnostic",
    "diagnostics": "diagnostic",
}
_NAME_PUNCTUATION: Final = frozenset(" '’‘-‐.,()")
_LABEL_PUNCTUATION: Final = frozenset(" '’‘-‐.,()&/")


def esc(value: object) -> str:
    """Escape anything a person typed before it goes into an HTML message."""
    return html.escape(str(value), quote=False)


def clip(value: str, limit: int) -> str:
    """Shorten free text for display (before escaping) so a message always fits."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------
# Results and context
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: its label, and the short value that travels in the callback data."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Parsed:
    """A field's verdict on one input: a value to store, or an HTML message saying why not."""

    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class FieldContext:
    """What a field may look at: today's date (the configured clock), the record as it
    stands (column -> value, for cross-field checks), and the NHS number policy."""

    today: dt.date
    values: Mapping[str, Any]
    allow_any_nhs: bool = False


# ---------------------------------------------------------------------------
# Shared checks
# ---------------------------------------------------------------------------


def _control_chars(value: str, *, newlines: bool = False) -> bool:
    for ch in value:
        if unicodedata.category(ch) == "Cc" and not (newlines and ch in "\n\t"):
            return True
        if ch in "\u2028\u2029" or 0xD800 <= ord(ch) <= 0xDFFF:
            return True
    return False


def _check_words(
    raw: str, *, what: str, limit: int, punctuation: frozenset[str], allowed: str, hint: str
) -> Parsed:
    """Names, consultants, specialties: one line of letters, digits and a little punctuation."""
    value = " ".join(raw.split())
    if not value:
        return Parsed(error=text.EMPTY.format(hint=hint))
    if len(value) > limit:
        return Parsed(error=text.TOO_LONG.format(n=len(value), what=what.lower(), limit=limit))
    if _control_chars(raw):
        return Parsed(error=text.CONTROL_CHARS)
    bad: list[str] = []
    for ch in value:
        if ch in punctuation or unicodedata.category(ch)[0] in "LMN":
            continue
        if ch not in bad:
            bad.append(ch)
    if bad:
        shown = " ".join(bad[:8])
        return Parsed(error=text.BAD_CHARS.format(what=what, allowed=allowed, chars=esc(shown)))
    if not any(unicodedata.category(ch)[0] == "L" for ch in value):
        return Parsed(error=text.NEEDS_LETTER.format(what=what))
    return Parsed(value)


# ---------------------------------------------------------------------------
# Fields
# ---------------------------------------------------------------------------


class Field:
    """One patient detail a form asks for. Subclasses override what differs."""

    key: str = ""
    """Short id used in callback data and form state."""
    column: str = ""
    """The `ptl_patients` column the value is stored in."""
    title: str = ""
    optional: bool = False

    def prompt(self, ctx: FieldContext) -> str:
        raise NotImplementedError

    def choices(self, ctx: FieldContext) -> Sequence[Sequence[Choice]]:
        return ()

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        raise NotImplementedError

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        return Parsed(error=text.USE_BUTTONS)

    def recheck(self, value: Any, ctx: FieldContext) -> Parsed:
        """Keep a value entered earlier, checking it still fits the other answers (a date
        against a referral date changed since, say)."""
        return Parsed(value)

    def show(self, value: Any) -> str:
        """The stored value as the student should read it (HTML-escaped)."""
        if value is None or value == "":
            return text.NOT_SET
        return esc(clip(str(value), 120))


class NameField(Field):
    key, column, title = "name", "patient_name", text.NAME_TITLE

    def prompt(self, ctx: FieldContext) -> str:
        return text.NAME_PROMPT

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        return _check_words(
            raw,
            what=text.WHAT_NAME,
            limit=NAME_LIMIT,
            punctuation=_NAME_PUNCTUATION,
            allowed=text.NAME_ALLOWED,
            hint=text.NAME_PROMPT,
        )


class NhsField(Field):
    key, column, title = "nhs", "nhs_number", text.NHS_TITLE

    def prompt(self, ctx: FieldContext) -> str:
        return text.NHS_PROMPT_ANY if ctx.allow_any_nhs else text.NHS_PROMPT

    def choices(self, ctx: FieldContext) -> Sequence[Sequence[Choice]]:
        return ((Choice(text.NHS_GENERATE, "gen"),),)

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        if len(raw) > 40:
            return Parsed(error=text.TOO_LONG.format(n=len(raw), what="an NHS number", limit=40))
        check = validate_for_training(raw, allow_any_valid=ctx.allow_any_nhs)
        if not check.ok:
            return Parsed(error=esc(check.message or text.USE_BUTTONS))
        return Parsed(check.number)

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        if value == "gen":
            return Parsed(generate_test_number())
        return super().from_choice(value, ctx)

    def show(self, value: Any) -> str:
        if not value:
            return text.NOT_SET
        try:
            return esc(format_nhs(str(value)))
        except ValueError:
            return esc(clip(str(value), 20))


class SpecialtyField(Field):
    key, column, title = "spec", "specialty", text.SPECIALTY_TITLE

    def prompt(self, ctx: FieldContext) -> str:
        return text.SPECIALTY_PROMPT

    def choices(self, ctx: FieldContext) -> Sequence[Sequence[Choice]]:
        buttons = [Choice(f"{t.code} {t.short}", t.code) for t in COMMON]
        return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        found = lookup(raw) if len(raw) <= 60 else None
        if found is not None:
            return Parsed(found.name)
        return _check_words(
            raw,
            what=text.WHAT_SPECIALTY,
            limit=NAME_LIMIT,
            punctuation=_LABEL_PUNCTUATION,
            allowed=text.LABEL_ALLOWED,
            hint=text.SPECIALTY_PROMPT,
        )

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        found = by_code(value)
        return Parsed(found.name) if found else super().from_choice(value, ctx)


class PathwayField(Field):
    key, column, title = "path", "pathway_type", text.PATHWAY_TITLE

    def prompt(self, ctx: FieldContext) -> str:
        return "\n".join([text.PATHWAY_PROMPT, "", *text.PATHWAY_LINES.values()])

    def choices(self, ctx: FieldContext) -> Sequence[Sequence[Choice]]:
        return [(Choice(label, key),) for key, label in text.PATHWAY_BUTTONS.items()]

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        cleaned = " ".join(raw.lower().split())[:40]
        key = _PATHWAY_ALIASES.get(cleaned)
        if key is None:
            try:
                key = canonical_pathway_type(cleaned)
            except ValueError:
                return Parsed(error=text.PATHWAY_UNKNOWN)
        return Parsed(key)

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        return Parsed(value) if value in PATHWAY_TYPES else super().from_choice(value, ctx)

    def show(self, value: Any) -> str:
        try:
            return esc(PATHWAY_TYPES[canonical_pathway_type(str(value))].label)
        except (ValueError, KeyError):
            return super().show(value)


class DateField(Field):
    """A date in the past (or today), typed in words or numbers, or tapped."""

    def prompt(self, ctx: FieldContext) -> str:
        raise NotImplementedError

    def choices(self, ctx: FieldContext) -> Sequence[Sequence[Choice]]:
        return ((Choice(text.TODAY, "today"), Choice(text.YESTERDAY, "yday")),)

    def check(self, value: dt.date, ctx: FieldContext) -> Parsed:
        return Parsed(value)

    def recheck(self, value: Any, ctx: FieldContext) -> Parsed:
        return self.check(value, ctx) if isinstance(value, dt.date) else Parsed(value)

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        if len(raw) > DATE_TEXT_LIMIT:
            return Parsed(error=text.DATE_TOO_LONG.format(accepted=esc(ACCEPTED_FORMS)))
        if _control_chars(raw):
            return Parsed(error=text.CONTROL_CHARS)
        result = parse_date(raw, ctx.today)
        if not result.ok or result.value is None:
            return Parsed(error=esc(result.message or ACCEPTED_FORMS))
        return self.check(result.value, ctx)

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        if value == "today":
            return self.check(ctx.today, ctx)
        if value == "yday":
            return self.check(ctx.today - dt.timedelta(days=1), ctx)
        return super().from_choice(value, ctx)

    def show(self, value: Any) -> str:
        return format_date(value) if isinstance(value, dt.date) else super().show(value)


class ReferralDateField(DateField):
    key, column, title = "ref", "referral_date", text.REFERRAL_TITLE

    def prompt(self, ctx: FieldContext) -> str:
        return text.REFERRAL_PROMPT

    def check(self, value: dt.date, ctx: FieldContext) -> Parsed:
        start = ctx.values.get("clock_start_date")
        if isinstance(start, dt.date) and value > start:
            return Parsed(error=text.REFERRAL_AFTER_START.format(start=format_date(start)))
        return Parsed(value)


class ClockStartField(DateField):
    key, column, title = "start", "clock_start_date", text.CLOCK_START_TITLE

    def prompt(self, ctx: FieldContext) -> str:
        try:
            ptype = canonical_pathway_type(str(ctx.values.get("pathway_type") or "rtt"))
        except ValueError:
            ptype = "rtt"
        return f"{text.CLOCK_START_WHY[ptype]} {text.CLOCK_START_PROMPT}"

    def choices(self, ctx: FieldContext) -> Sequence[Sequence[Choice]]:
        referral = ctx.values.get("referral_date")
        rows: list[Sequence[Choice]] = []
        if isinstance(referral, dt.date):
            rows.append((Choice(text.SAME_AS_REFERRAL.format(date=format_date(referral)), "same"),))
        rows.extend(super().choices(ctx))
        return rows

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        referral = ctx.values.get("referral_date")
        if value == "same" and isinstance(referral, dt.date):
            return self.check(referral, ctx)
        return super().from_choice(value, ctx)

    def check(self, value: dt.date, ctx: FieldContext) -> Parsed:
        referral = ctx.values.get("referral_date")
        if isinstance(referral, dt.date) and value < referral:
            return Parsed(error=text.START_BEFORE_REFERRAL.format(referral=format_date(referral)))
        return Parsed(value)


class PriorityField(Field):
    key, column, title = "prio", "priority", text.PRIORITY_TITLE

    def prompt(self, ctx: FieldContext) -> str:
        return text.PRIORITY_PROMPT

    def choices(self, ctx: FieldContext) -> Sequence[Sequence[Choice]]:
        main = [Choice(stored, value) for value, stored in PRIORITIES[:3]]
        surgical = [Choice(stored, value) for value, stored in PRIORITIES[3:]]
        return ((main[0], main[1]), (main[2],), tuple(surgical))

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        found = _PRIORITY_ALIASES.get(" ".join(raw.lower().split())[:40])
        return Parsed(found) if found else Parsed(error=text.PRIORITY_UNKNOWN)

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        found = dict(PRIORITIES).get(value)
        return Parsed(found) if found else super().from_choice(value, ctx)


class ConsultantField(Field):
    key, column, title, optional = "cons", "consultant", text.CONSULTANT_TITLE, True

    def prompt(self, ctx: FieldContext) -> str:
        return text.CONSULTANT_PROMPT

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        return _check_words(
            raw,
            what=text.WHAT_NAME,
            limit=NAME_LIMIT,
            punctuation=_NAME_PUNCTUATION,
            allowed=text.NAME_ALLOWED,
            hint=text.CONSULTANT_PROMPT,
        )


class NotesField(Field):
    key, column, title, optional = "notes", "notes", text.NOTES_TITLE, True

    def prompt(self, ctx: FieldContext) -> str:
        return text.NOTES_PROMPT.format(limit=NOTES_LIMIT)

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        value = raw.strip()
        if not value:
            return Parsed(error=text.EMPTY.format(hint=self.prompt(ctx)))
        if len(value) > NOTES_LIMIT:
            return Parsed(error=text.TOO_LONG.format(n=len(value), what="notes", limit=NOTES_LIMIT))
        if _control_chars(value, newlines=True):
            return Parsed(error=text.CONTROL_CHARS)
        return Parsed(value)

    def show(self, value: Any) -> str:
        if not value:
            return text.NOT_SET
        return esc(clip(str(value), 300))


FIELDS: Final[Mapping[str, Field]] = {
    f.key: f
    for f in (
        NameField(),
        NhsField(),
        SpecialtyField(),
        PathwayField(),
        ReferralDateField(),
        ClockStartField(),
        PriorityField(),
        ConsultantField(),
        NotesField(),
    )
}
FIELD_ORDER: Final[tuple[str, ...]] = tuple(FIELDS)


# ---------------------------------------------------------------------------
# Clock lines and expiry
# ---------------------------------------------------------------------------

_MARKS: Final[Mapping[str, str]] = {
    "breached": "🔴",
    "at_risk": "🟠",
    "on_track": "🟢",
    "stopped": "⚪",
    "nullified": "⚫",
    "transferred": "↗",
}


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
    return text.CLOCK_STOPPED.format(
        mark=mark, stop=stop, days=_days(state.days_waited), verdict=verdict(state)
    )


def is_idle(touched: dt.datetime | None, now: dt.datetime, idle: dt.timedelta) -> bool:
    """True when a form last touched at `touched` has been left alone for `idle` or more.
    A form with no timestamp (written by an older version) counts as idle."""
    if touched is None:
        return True
    return now - touched >= idle


# ---------------------------------------------------------------------------
# What an update does to a clock
# ---------------------------------------------------------------------------


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
                breach=format_date(after.breach_date),
            )
        )
    elif before.running and after.status == "stopped":
        phrase = u.STOP_PHRASES.get(after.ended_by or "", "stopped after {days}")
        lines.append(u.STOPPED.format(phrase=phrase.format(days=days), verdict=verdict(after)))
    elif before.running and after.status == "nullified":
        lines.append(u.NULLIFIED.format(days=days))
    elif before.running and after.status == "transferred":
        lines.append(u.TRANSFERRED.format(days=days))
    elif _same_clock(before, after):
        if after.running and new_event is not None:
            lines.append(
                u.CONTINUES.format(waited=waited(after), breach=format_date(after.breach_date))
            )
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
                u.BREACH_MOVED.format(
                    old=format_date(before.breach_date), new=format_date(after.breach_date)
                )
            )
        if before.status != after.status:
            lines.append(u.STATUS_MOVED.format(old=before.status_label, new=after.status_label))
        if not lines:
            lines.append(u.NOW_HAS_CLOCK.format(line=clock_line(after)))
    newly = {i.index for i in after.ignored} - {i.index for i in before.ignored} - {new_event}
    if newly:
        lines.append(u.NEWLY_IGNORED.format(n=len(newly)))
    return lines
