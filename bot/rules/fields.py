"""The rules every patient field follows, with no wording and no I/O: how long a value may be,
which characters a name or label may hold, which words mean which priority or pathway, and
when an abandoned form has expired.

Why apart from the form (bot/services/patient_form.py): these are facts about the data that
/add, /update, scenario imports and tests all share; the form adds the prompts, buttons and
explanations around them. Standard library and the rules engine only.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from typing import Final

from bot.rules.pathway import canonical_pathway_type

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
PRIORITY_ALIASES: Final[Mapping[str, str]] = {
    **{stored.lower(): stored for _, stored in PRIORITIES},
    **{value: stored for value, stored in PRIORITIES},
    "2ww": "Urgent suspected cancer",
    "two week wait": "Urgent suspected cancer",
    "suspected cancer": "Urgent suspected cancer",
    "cancer": "Urgent suspected cancer",
}
PATHWAY_ALIASES: Final[Mapping[str, str]] = {
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
NAME_PUNCTUATION: Final = frozenset(" '’‘-‐.,()")
LABEL_PUNCTUATION: Final = frozenset(" '’‘-‐.,()&/")


_SEPARATORS = {"\u2028": "\n", "\u2029": "\n"}


def strip_control_chars(value: str, *, multiline: bool = False) -> str:
    """Typed text without the characters nobody means to type: control characters (NUL,
    which Postgres refuses in text and JSON, among them) and lone surrogates.

    The companion of `has_control_chars`: a form step refuses such text and says so (one
    check, in the Form base), while the words after a command (`/find Sm\x00ith`, every
    form's entry), the email and code typed at /start, and /update or /validate searches are
    cleaned with this rule before they are used or stored. With `multiline` newlines and
    tabs stay and a line or paragraph separator becomes a newline; otherwise each becomes a
    space.
    """
    if value.isprintable():  # the usual case: nothing to do
        return value
    kept: list[str] = []
    for ch in value:
        if ch in "\n\t" or ch in _SEPARATORS:
            kept.append(("\n" if ch in _SEPARATORS else ch) if multiline else " ")
        elif unicodedata.category(ch) == "Cc" or 0xD800 <= ord(ch) <= 0xDFFF:
            continue
        else:
            kept.append(ch)
    return "".join(kept)


def has_control_chars(value: str, *, newlines: bool = False) -> bool:
    """True when `value` holds a control character (newlines and tabs allowed on request),
    a line/paragraph separator or a lone surrogate: none of these belongs in a PTL field."""
    for ch in value:
        if unicodedata.category(ch) == "Cc" and not (newlines and ch in "\n\t"):
            return True
        if ch in "\u2028\u2029" or 0xD800 <= ord(ch) <= 0xDFFF:
            return True
    return False


def unexpected_chars(value: str, punctuation: frozenset[str]) -> list[str]:
    """The distinct characters of `value` that are neither letters, marks, digits nor the
    allowed punctuation, in the order they first appear."""
    bad: list[str] = []
    for ch in value:
        if ch in punctuation or unicodedata.category(ch)[0] in "LMN":
            continue
        if ch not in bad:
            bad.append(ch)
    return bad


def has_letter(value: str) -> bool:
    return any(unicodedata.category(ch)[0] == "L" for ch in value)


def priority_from_text(raw: str) -> str | None:
    """The stored priority a typed word stands for ("2ww", "p1a", "Routine"), or None."""
    return PRIORITY_ALIASES.get(" ".join(raw.lower().split())[:40])


def pathway_from_text(raw: str) -> str | None:
    """The pathway type a typed phrase stands for ("18 weeks", "fds", "62-day"), or None."""
    cleaned = " ".join(raw.lower().split())[:40]
    key = PATHWAY_ALIASES.get(cleaned)
    if key is not None:
        return key
    try:
        return canonical_pathway_type(cleaned)
    except ValueError:
        return None


def clip(value: str, limit: int) -> str:
    """Shorten free text for display (before escaping) so a message always fits."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def is_idle(touched: dt.datetime | None, now: dt.datetime, idle: dt.timedelta) -> bool:
    """True when a form last touched at `touched` has been left alone for `idle` or more.
    A form with no timestamp (written by an older version) counts as idle."""
    if touched is None:
        return True
    return now - touched >= idle
