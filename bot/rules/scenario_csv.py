"""Scenario patients from a tutor's CSV: the published column layout and its validation.

Why this module knows nothing of Telegram: the same rules must hold wherever a CSV comes
from, and every rule is the one a student meets in /add (the NHS number policy, day-first
dates, the pathway types and event kinds of the rules engine, and the pathway validator's
errors). A file is accepted only when every line is clean; otherwise every problem is
reported with its line number and column, so the tutor fixes the file in one go.

Dates may be relative to the day a student presses Start (``-130``, ``130 days ago``,
``18 weeks ago``, ``today``), which keeps an exercise fresh however late it is started, or
fixed calendar dates (``12/10/2025``, ``2025-10-12``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from bot.rules.dates import EARLIEST_DATE, format_date, parse_date
from bot.rules.fields import DATE_TEXT_LIMIT, clip
from bot.rules.nhs_number import generate_test_number, validate_for_training
from bot.rules.pathway import EVENT_KINDS, PATHWAY_TYPES, Event
from bot.rules.scenarios import DaySpec, ScenarioEvent, ScenarioPatient, resolve_day
from bot.rules.validator import validate

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ROWS",
    "Column",
    "CsvProblem",
    "CsvResult",
    "parse_day",
    "parse_exercise_csv",
]

MAX_ROWS: Final = 50
MAX_BYTES: Final = 256 * 1024
MAX_OFFSET_DAYS: Final = 3650
MAX_ERRORS_SHOWN: Final = 25
QUOTE_LIMIT: Final = 40  # characters of a cell quoted back in a problem
PROBLEM_LIMIT: Final = 240  # characters of one problem line
PROBLEMS_TEXT_LIMIT: Final = 2000  # characters of all problem lines in one reply


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    required: bool
    meaning: str
    example: str


COLUMNS: Final[tuple[Column, ...]] = (
    Column("patient_name", True, "a made-up name (fictional patients only)", "Ann Example"),
    Column(
        "nhs_number",
        False,
        "10 digits in the 999 test range; leave blank and one is generated",
        "999 123 4563",
    ),
    Column("specialty", False, "free text", "Cardiology"),
    Column("pathway_type", True, ", ".join(PATHWAY_TYPES), "rtt"),
    Column(
        "clock_start",
        True,
        "relative to the day the student starts (-130, 130 days ago, 18 weeks ago, today) "
        "or a date (12/10/2025)",
        "-130",
    ),
    Column("referral_date", False, "same forms as clock_start; blank = clock start", "-135"),
    Column("priority", False, "Routine, Urgent, Urgent suspected cancer...", "Routine"),
    Column("consultant", False, "free text", "Dr A Example"),
    Column("referral_source", False, "free text", "GP referral"),
    Column(
        "events",
        False,
        "kind@date, separated by ; (kinds: " + ", ".join(EVENT_KINDS) + ")",
        "activity@-100; treatment_started@-3",
    ),
    Column("notes", False, "free text, up to 1000 characters", "Listed for surgery"),
)
_BY_NAME: Final = {c.name: c for c in COLUMNS}
_REQUIRED: Final = tuple(c.name for c in COLUMNS if c.required)

_RELATIVE: Final = re.compile(
    r"^(?:[-−–]\s*(?P<minus>\d{1,5})|(?P<zero>[+]?0)|(?P<today>today)|(?P<yesterday>yesterday)"
    r"|(?P<n>\d{1,5}|a|an|one)\s*(?P<unit>day|week)s?\s+ago)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class CsvProblem:
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"Line {self.line}" if self.line is not None else "File"
        if self.column:
            where += f", {clip(self.column, QUOTE_LIMIT)}"
        return clip(f"{where}: {self.message}", PROBLEM_LIMIT)


def _quoted(value: str) -> str:
    """A cell quoted back to the tutor, clipped: a stray 5,000-character cell must not
    push the list of problems past what one Telegram message holds."""
    return f"“{clip(value, QUOTE_LIMIT)}”"


def _columns(what: str, names: Sequence[str]) -> str:
    """ "Unknown column: x" or "Unknown columns: x, y": a tutor reads proper plurals."""
    noun = "column" if len(names) == 1 else "columns"
    return f"{what} {noun}: " + ", ".join(clip(n, QUOTE_LIMIT) for n in names)


@dataclass
class CsvResult:
    patients: list[ScenarioPatient] = field(default_factory=list)
    errors: list[CsvProblem] = field(default_factory=list)
    warnings: list[CsvProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.patients)


class _CellError(ValueError):
    pass


def parse_day(text: str, today: dt.date) -> DaySpec:
    """A relative day offset (``-130``, ``130 days ago``, ``today``) or a calendar date.

    Relative forms are kept as offsets from the import day; anything else is read by
    :func:`bot.rules.dates.parse_date` as at ``today`` and kept as a fixed date.
    """
    raw = text.strip()
    if len(raw) > DATE_TEXT_LIMIT:
        raise _CellError(f"{_quoted(raw)} is too long for a date; check the column.")
    match = _RELATIVE.match(raw)
    if match:
        if match["minus"] is not None:
            days = int(match["minus"])
        elif match["zero"] is not None or match["today"] is not None:
            days = 0
        elif match["yesterday"] is not None:
            days = 1
        else:
            n = match["n"].lower()
            count = 1 if n in ("a", "an", "one") else int(n)
            days = count * (7 if match["unit"].lower() == "week" else 1)
        if days > MAX_OFFSET_DAYS:
            raise _CellError(f"{raw} is more than {MAX_OFFSET_DAYS} days back; check it.")
        return -days
    if re.fullmatch(r"\+?\d{1,5}", raw):
        raise _CellError(
            f"{_quoted(raw)} would be in the future. Write days before the start as a negative "
            "number, e.g. -130."
        )
    result = parse_date(raw, today)
    if not result.ok or result.value is None:
        raise _CellError(result.message or "not a date")
    return result.value


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _dialect(text: str) -> str:
    head = text.split("\n", 1)[0]
    return ";" if head.count(";") > head.count(",") else ","


def parse_exercise_csv(
    content: bytes,
    *,
    today: dt.date,
    allow_any_valid_nhs: bool = False,
    rng: random.Random | None = None,
) -> CsvResult:
    """Validate a CSV of scenario patients; ``today`` is the tutor's today (for fixed dates
    and for checking each pathway as it would stand if started today)."""
    result = CsvResult()
    if len(content) > MAX_BYTES:
        result.errors.append(
            CsvProblem(None, None, f"The file is over {MAX_BYTES // 1024} KB; is it the right one?")
        )
        return result
    text = _decode(content)
    if b"\x00" in content:
        result.errors.append(CsvProblem(None, None, "This looks like a binary file, not a CSV."))
        return result
    reader = csv.reader(io.StringIO(text), delimiter=_dialect(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        result.errors.append(CsvProblem(None, None, "The file is empty."))
        return result
    names = [h.strip().lower().replace(" ", "_") for h in header]
    unknown = [n for n in names if n and n not in _BY_NAME]
    missing = [n for n in _REQUIRED if n not in names]
    duplicated = sorted({n for n in names if n and names.count(n) > 1})
    if unknown:
        result.errors.append(
            CsvProblem(
                1,
                None,
                _columns("Unknown", unknown) + ". The columns are: " + ", ".join(_BY_NAME) + ".",
            )
        )
    if missing:
        result.errors.append(CsvProblem(1, None, _columns("Missing", missing)))
    if duplicated:
        result.errors.append(CsvProblem(1, None, _columns("Repeated", duplicated)))
    if result.errors:
        return result

    seen_nhs: dict[str, int] = {}
    rows = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            rows += 1
            if rows > MAX_ROWS:
                result.errors.append(
                    CsvProblem(line, None, f"At most {MAX_ROWS} patients per exercise.")
                )
                break
            if len(cells) > len(names):
                result.errors.append(
                    CsvProblem(
                        line,
                        None,
                        f"{len(cells)} cells but {len(names)} columns: is there an unquoted comma?",
                    )
                )
                continue
            row = {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names)}
            patient = _patient(row, line, f"P{rows}", today, allow_any_valid_nhs, rng, result)
            if patient is None:
                continue
            if patient.nhs_number in seen_nhs:
                result.errors.append(
                    CsvProblem(
                        line,
                        "nhs_number",
                        f"the same NHS number as line {seen_nhs[patient.nhs_number]}",
                    )
                )
                continue
            seen_nhs[patient.nhs_number] = line
            result.patients.append(patient)
    except csv.Error as exc:
        result.errors.append(CsvProblem(reader.line_num, None, f"unreadable CSV ({exc})"))
    if not result.errors and not result.patients:
        result.errors.append(CsvProblem(None, None, "The file has a header but no patients."))
    return result


def _patient(
    row: dict[str, str],
    line: int,
    key: str,
    today: dt.date,
    allow_any_valid_nhs: bool,
    rng: random.Random | None,
    result: CsvResult,
) -> ScenarioPatient | None:
    errors: list[CsvProblem] = []

    def cell_error(column: str, message: str) -> None:
        errors.append(CsvProblem(line, column, message))

    name = row.get("patient_name", "")
    if not name:
        cell_error("patient_name", "a name is needed (a made-up one).")
    elif len(name) > 200:
        cell_error("patient_name", "at most 200 characters.")

    nhs = row.get("nhs_number", "")
    if nhs:
        check = validate_for_training(nhs, allow_any_valid=allow_any_valid_nhs)
        if not check.ok or check.number is None:
            cell_error("nhs_number", check.message or "not a valid NHS number")
        else:
            nhs = check.number
    else:
        nhs = generate_test_number(rng)

    ptype = row.get("pathway_type", "").strip().lower()
    if ptype not in PATHWAY_TYPES:
        cell_error(
            "pathway_type",
            f"{_quoted(ptype or 'blank')} is not a pathway type;"
            f" use one of {', '.join(PATHWAY_TYPES)}.",
        )

    start: DaySpec | None = None
    if not row.get("clock_start"):
        cell_error("clock_start", "the clock start is needed (e.g. -130 or 12/10/2025).")
    else:
        try:
            start = parse_day(row["clock_start"], today)
        except _CellError as exc:
            cell_error("clock_start", str(exc))

    referral: DaySpec | None = None
    if row.get("referral_date"):
        try:
            referral = parse_day(row["referral_date"], today)
        except _CellError as exc:
            cell_error("referral_date", str(exc))

    events: list[ScenarioEvent] = []
    for n, item in enumerate((row.get("events") or "").split(";"), start=1):
        item = item.strip()
        if not item:
            continue
        kind, sep, when = item.partition("@")
        kind = kind.strip().lower().replace(" ", "_")
        if not sep or not when.strip():
            cell_error(
                "events",
                f"event {n} ({_quoted(item)}) should look like kind@date, e.g. activity@-100.",
            )
            continue
        if kind not in EVENT_KINDS:
            cell_error(
                "events",
                f"event {n}: {_quoted(kind)} is not an event kind;"
                f" use one of {', '.join(EVENT_KINDS)}.",
            )
            continue
        try:
            events.append(ScenarioEvent(kind, parse_day(when, today)))
        except _CellError as exc:
            cell_error("events", f"event {n}: {exc}")

    for column, limit in (
        ("specialty", 100),
        ("priority", 40),
        ("consultant", 100),
        ("referral_source", 100),
        ("notes", 1000),
    ):
        if len(row.get(column, "")) > limit:
            cell_error(column, f"at most {limit} characters.")

    if not errors and start is not None:
        # The pathway as it would stand if started today: the validator's errors block the
        # file (as they would in /add); its warnings are shown but allowed (a scenario may
        # be built around a mistake for students to find).
        clock_start = resolve_day(start, today)
        referral_date = resolve_day(referral, today) if referral is not None else None
        if clock_start < EARLIEST_DATE:
            cell_error("clock_start", f"before {format_date(EARLIEST_DATE)}.")
        engine_events = [Event(resolve_day(e.day, today), e.kind, i) for i, e in enumerate(events)]
        for finding in validate(ptype, clock_start, engine_events, today, referral_date):
            problem = CsvProblem(
                line, "events" if finding.event_index is not None else None, finding.message
            )
            if finding.severity == "error":
                errors.append(problem)
            elif finding.severity == "warning":
                result.warnings.append(problem)

    if errors:
        result.errors.extend(errors)
        return None
    assert start is not None
    return ScenarioPatient(
        key=key,
        name=name,
        nhs_number=nhs,
        pathway_type=ptype,
        clock_start=start,
        specialty=row.get("specialty") or None,
        referral_date=referral,
        priority=row.get("priority") or None,
        consultant=row.get("consultant") or None,
        referral_source=row.get("referral_source") or None,
        events=tuple(events),
        notes=row.get("notes") or None,
    )


def template_csv() -> bytes:
    """An example file with every column, for tutors to start from."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.name for c in COLUMNS])
    writer.writerow(
        [
            "Ann Example",
            "",
            "Cardiology",
            "rtt",
            "-130",
            "-135",
            "Routine",
            "Dr A Example",
            "GP referral",
            "activity@-100",
            "",
        ]
    )
    writer.writerow(
        [
            "Bill Example",
            "",
            "Dermatology",
            "rtt",
            "-40",
            "",
            "Routine",
            "",
            "",
            "dna_first_appointment@-20",
            "Did not attend",
        ]
    )
    writer.writerow(
        [
            "Cath Example",
            "",
            "Breast",
            "cancer_62",
            "-55",
            "",
            "Urgent suspected cancer",
            "",
            "GP urgent referral",
            "activity@-40; decision_to_treat@-10",
            "",
        ]
    )
    return out.getvalue().encode("utf-8")


def summarise_problems(problems: Sequence[CsvProblem], limit: int = MAX_ERRORS_SHOWN) -> list[str]:
    """At most ``limit`` lines and ``PROBLEMS_TEXT_LIMIT`` characters (each line clipped),
    then how many more there are: the reply must fit one Telegram message."""
    lines: list[str] = []
    used = 0
    for problem in problems[:limit]:
        line = str(problem)
        if used + len(line) > PROBLEMS_TEXT_LIMIT:
            break
        lines.append(line)
        used += len(line) + 1
    rest = len(problems) - len(lines)
    if rest:
        lines.append(f"…and {rest} more problem{'s' if rest != 1 else ''}.")
    return lines
