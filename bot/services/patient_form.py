"""The patient form's fields: what /add asks for each detail, how /add and /update read a
typed answer or a tapped button, and how a stored value reads back.

Why here and not in the handlers: /add asks for every field and /update edits any one of
them, and both must accept and refuse exactly the same input with the same explanation. The
data rules (limits, characters, aliases) are pure and live in bot/rules/fields.py; the words
in bot/messages/forms.py; this module joins them and stays free of Telegram and the database,
so tests can throw thousands of odd strings at it cheaply.

Every value a field returns is ready to store in the `ptl_patients` column it names; every
message it returns is HTML, with anything the student typed escaped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bot.messages import forms as text
from bot.messages.html import esc
from bot.rules.dates import ACCEPTED_FORMS, DATE_SHORTCUTS, format_date, parse_date, shortcut_date
from bot.rules.fields import (
    DATE_TEXT_LIMIT,
    LABEL_PUNCTUATION,
    NAME_LIMIT,
    NAME_PUNCTUATION,
    NOTES_LIMIT,
    PRIORITIES,
    clip,
    has_control_chars,
    has_letter,
    pathway_from_text,
    priority_from_text,
    unexpected_chars,
)
from bot.rules.nhs_number import format_nhs, generate_test_number, validate_for_training
from bot.rules.pathway import PATHWAY_TYPES, canonical_pathway_type
from bot.rules.specialties import COMMON, by_code, lookup

__all__ = [
    "FIELDS",
    "FIELD_ORDER",
    "Choice",
    "Field",
    "FieldContext",
    "Parsed",
    "date_choices",
]


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


def _check_words(
    raw: str, *, what: str, limit: int, punctuation: frozenset[str], allowed: str, hint: str
) -> Parsed:
    """Names, consultants, specialties: one line of letters, digits and a little punctuation."""
    value = " ".join(raw.split())
    if not value:
        return Parsed(error=text.EMPTY.format(hint=hint))
    if len(value) > limit:
        return Parsed(error=text.TOO_LONG.format(n=len(value), what=what.lower(), limit=limit))
    if has_control_chars(raw):
        return Parsed(error=text.CONTROL_CHARS)
    bad = unexpected_chars(value, punctuation)
    if bad:
        shown = " ".join(bad[:8])
        return Parsed(error=text.BAD_CHARS.format(what=what, allowed=allowed, chars=esc(shown)))
    if not has_letter(value):
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
            punctuation=NAME_PUNCTUATION,
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
            punctuation=LABEL_PUNCTUATION,
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
        key = pathway_from_text(raw)
        return Parsed(key) if key else Parsed(error=text.PATHWAY_UNKNOWN)

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        return Parsed(value) if value in PATHWAY_TYPES else super().from_choice(value, ctx)

    def show(self, value: Any) -> str:
        try:
            return esc(PATHWAY_TYPES[canonical_pathway_type(str(value))].label)
        except (ValueError, KeyError):
            return super().show(value)


def date_choices(
    today: dt.date, *, earliest: dt.date | None = None, latest: dt.date | None = None
) -> list[tuple[Choice, ...]]:
    """Today, Yesterday and 1 / 4 / 8 / 12 / 18 weeks ago, each with the date it stands for,
    two to a row; a shortcut outside ``earliest``..``latest`` is left out rather than offered
    and then refused (an event before the clock start, a receipt before the letter)."""
    buttons: list[Choice] = []
    for value, _ in DATE_SHORTCUTS:
        day = shortcut_date(value, today)
        if day is None or (earliest is not None and day < earliest):
            continue
        if latest is not None and day > latest:
            continue
        buttons.append(Choice(text.DATE_BUTTONS[value].format(date=format_date(day)), value))
    return [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


class DateField(Field):
    """A date in the past (or today), typed in words or numbers, or tapped."""

    def prompt(self, ctx: FieldContext) -> str:
        raise NotImplementedError

    def bounds(self, ctx: FieldContext) -> tuple[dt.date | None, dt.date | None]:
        """The earliest and latest dates the other answers allow (None: no limit)."""
        return None, None

    def choices(self, ctx: FieldContext) -> Sequence[Sequence[Choice]]:
        earliest, latest = self.bounds(ctx)
        return date_choices(ctx.today, earliest=earliest, latest=latest)

    def check(self, value: dt.date, ctx: FieldContext) -> Parsed:
        return Parsed(value)

    def recheck(self, value: Any, ctx: FieldContext) -> Parsed:
        return self.check(value, ctx) if isinstance(value, dt.date) else Parsed(value)

    def from_text(self, raw: str, ctx: FieldContext) -> Parsed:
        if len(raw) > DATE_TEXT_LIMIT:
            return Parsed(error=text.DATE_TOO_LONG.format(accepted=esc(ACCEPTED_FORMS)))
        if has_control_chars(raw):
            return Parsed(error=text.CONTROL_CHARS)
        result = parse_date(raw, ctx.today)
        if not result.ok or result.value is None:
            return Parsed(error=esc(result.message or ACCEPTED_FORMS))
        return self.check(result.value, ctx)

    def from_choice(self, value: str, ctx: FieldContext) -> Parsed:
        day = shortcut_date(value, ctx.today)
        if day is not None:
            return self.check(day, ctx)
        return super().from_choice(value, ctx)

    def show(self, value: Any) -> str:
        return format_date(value) if isinstance(value, dt.date) else super().show(value)


class ReferralDateField(DateField):
    key, column, title = "ref", "referral_date", text.REFERRAL_TITLE

    def prompt(self, ctx: FieldContext) -> str:
        return text.REFERRAL_PROMPT

    def bounds(self, ctx: FieldContext) -> tuple[dt.date | None, dt.date | None]:
        start = ctx.values.get("clock_start_date")
        return None, start if isinstance(start, dt.date) else None

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
        lines = [text.CLOCK_START_WHY[ptype]]
        referral = ctx.values.get("referral_date")
        if isinstance(referral, dt.date) and ptype != "cancer_31":
            # The letter's date and the day it arrived are different facts (PTL_RULES r2).
            lines.append(text.CLOCK_START_DIFFERENCE.format(date=format_date(referral)))
        lines.append(text.CLOCK_START_PROMPT)
        return "\n".join(lines)

    def bounds(self, ctx: FieldContext) -> tuple[dt.date | None, dt.date | None]:
        referral = ctx.values.get("referral_date")
        return (referral if isinstance(referral, dt.date) else None), None

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
        found = priority_from_text(raw)
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
            punctuation=NAME_PUNCTUATION,
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
        if has_control_chars(value, newlines=True):
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
