"""A student's own record of learning: /progress, the weekly digest line and /portfolio.

Why one service for three screens: the figures a student sees in the chat, the line in
their digest and the PDF they show an employer must be the same numbers. They are counted
in SQL as the student (`storage.progress`, under row-level security); this module only
names them: it turns stored event kinds and codes into rules-engine kinds the same way every
reader of `events` does (`bot.rules.records.kind_of`) and pairs quiz answers with their
explanations. No Telegram, no SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from bot.rules.pathway import PATHWAY_TYPES, canonical_pathway_type
from bot.rules.records import kind_of
from storage.db import Database
from storage.progress import (
    ExerciseRow,
    FigureRow,
    FindingIn,
    ProgressRepository,
    QuizAnswerRow,
)

__all__ = [
    "MAIN_FIGURES",
    "RECENT_DAYS",
    "WEEKLY_LINE_WEEKDAY",
    "ExerciseRecord",
    "Figure",
    "QuizResult",
    "StudentRecord",
    "StudentRecordService",
]

RECENT_DAYS: Final = 28
""""The last 4 weeks": today and the 27 days before it."""
WEEK_DAYS: Final = 7
WEEKLY_LINE_WEEKDAY: Final = 4
"""Friday: the digest that day ends with the student's week (the end of a working week,
and a day both the weekday and the every-day schedules include)."""

MAIN_FIGURES: Final = (
    "added",
    "updated",
    "events",
    "stopped_in_time",
    "stopped_late",
    "breach_let_happen",
    "finding_found",
    "finding_fixed",
)
"""The figures of a record, in the order every screen shows them (each has a label in
`bot.messages.my_progress`). "events" is all events; `Figure`s keyed `event:<kind>` break
it down."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure over both periods, with the patients behind it (for its button)."""

    key: str
    recent: int = 0
    total: int = 0
    ids_recent: tuple[str, ...] = ()
    ids_all: tuple[str, ...] = ()

    def count(self, recent: bool) -> int:
        return self.recent if recent else self.total

    def patients(self, recent: bool) -> tuple[str, ...]:
        return self.ids_recent if recent else self.ids_all


@dataclass(frozen=True, slots=True)
class QuizResult:
    question_no: int
    question: str
    chosen: str
    right_answer: str
    correct: bool
    explanation: str | None


@dataclass(frozen=True, slots=True)
class ExerciseRecord:
    exercise_id: int
    title: str
    done_on: dt.date | None
    started: bool
    questions: int
    answered: int
    correct: int
    results: tuple[QuizResult, ...] = ()

    @property
    def done(self) -> bool:
        return self.done_on is not None


@dataclass(slots=True)
class StudentRecord:
    today: dt.date
    recent_from: dt.date
    started_on: dt.date | None
    figures: dict[str, Figure] = field(default_factory=dict)
    """MAIN_FIGURES and `event:<kind>` figures, by key (absent: zero)."""
    pathways: dict[str, int] = field(default_factory=dict)
    """Patients per canonical pathway type ("" for rows with an unknown type)."""
    exercises: list[ExerciseRecord] = field(default_factory=list)

    def figure(self, key: str) -> Figure:
        return self.figures.get(key) or Figure(key)

    @property
    def event_kinds(self) -> list[Figure]:
        """Events by engine kind, most recorded first (kinds the engine knows, then others)."""
        found = [f for k, f in self.figures.items() if k.startswith("event:")]
        return sorted(found, key=lambda f: (-f.total, f.key))

    @property
    def exercises_done(self) -> list[ExerciseRecord]:
        return [e for e in self.exercises if e.done]

    def exercises_done_since(self, day: dt.date) -> int:
        return sum(1 for e in self.exercises if e.done_on is not None and e.done_on >= day)

    @property
    def empty(self) -> bool:
        return not self.figures and not self.exercises


def _merge(key: str, rows: Iterable[FigureRow]) -> Figure:
    recent = total = 0
    ids_recent: set[str] = set()
    ids_all: set[str] = set()
    for r in rows:
        recent += r.n_recent
        total += r.n_all
        ids_recent.update(r.ids_recent)
        ids_all.update(r.ids_all)
    return Figure(key, recent, total, tuple(sorted(ids_recent)), tuple(sorted(ids_all)))


def _event_kind(detail: str) -> str:
    stored_kind, code, discharge = ([*detail.split("|"), "", "", ""])[:3]
    kind = kind_of(
        {"kind": stored_kind, "code": code, "description": "discharged" if discharge else ""}
    )
    return kind or "other"


def _results(answers: Iterable[QuizAnswerRow]) -> tuple[QuizResult, ...]:
    def option(options: tuple[str, ...], i: int) -> str:
        return options[i] if 0 <= i < len(options) else "?"

    return tuple(
        QuizResult(
            a.question_no + 1,
            a.question,
            option(a.options, a.chosen_option),
            option(a.options, a.correct_option),
            a.correct,
            a.explanation,
        )
        for a in answers
    )


def build_record(
    today: dt.date,
    rows: Iterable[FigureRow],
    started_on: dt.date | None,
    exercises: Iterable[ExerciseRow],
    answers: Iterable[QuizAnswerRow],
    tz: dt.tzinfo,
) -> StudentRecord:
    """Name the stored figures: pure, so tests can feed it rows too."""
    record = StudentRecord(today, today - dt.timedelta(days=RECENT_DAYS - 1), started_on)
    groups: dict[str, list[FigureRow]] = {}
    for r in rows:
        if r.figure == "pathway":
            try:
                ptype = canonical_pathway_type(r.detail)
            except ValueError:
                ptype = ""
            record.pathways[ptype] = record.pathways.get(ptype, 0) + r.n_all
            continue
        if r.figure == "event":
            groups.setdefault(f"event:{_event_kind(r.detail)}", []).append(r)
            groups.setdefault("events", []).append(r)
        else:
            groups.setdefault(r.figure, []).append(r)
    record.figures = {key: _merge(key, group) for key, group in groups.items()}
    record.pathways = {k: record.pathways[k] for k in (*PATHWAY_TYPES, "") if k in record.pathways}
    by_exercise: dict[int, list[QuizAnswerRow]] = {}
    for a in answers:
        by_exercise.setdefault(a.exercise_id, []).append(a)
    for e in exercises:
        record.exercises.append(
            ExerciseRecord(
                e.exercise_id,
                e.title,
                e.done_at.astimezone(tz).date() if e.done_at is not None else None,
                e.started_at is not None,
                e.questions,
                e.answered,
                e.correct,
                _results(by_exercise.get(e.exercise_id, ())),
            )
        )
    return record


class StudentRecordService:
    """Loads a student's record as the student (three queries in two round trips each)."""

    def __init__(self, db: Database, tz: dt.tzinfo) -> None:
        self.repo = ProgressRepository(db)
        self.tz = tz

    async def record(self, email: str, today: dt.date) -> StudentRecord:
        recent_from = today - dt.timedelta(days=RECENT_DAYS - 1)
        rows, started, exercises, answers = await self.repo.snapshot(
            email, today=today, recent_from=recent_from, tz=str(self.tz)
        )
        return build_record(today, rows, started, exercises, answers, self.tz)

    async def week(self, email: str, today: dt.date) -> tuple[int, int]:
        """(events recorded, patients treated within the standard) in the 7 days to today:
        the digest's weekly line."""
        rows, _ = await self.repo.figures(
            email, today=today, recent_from=today - dt.timedelta(days=WEEK_DAYS - 1),
            tz=str(self.tz),
        )  # fmt: skip
        events = sum(r.n_recent for r in rows if r.figure == "event")
        in_time = sum(r.n_recent for r in rows if r.figure == "stopped_in_time")
        return events, in_time

    async def remember_findings(
        self,
        email: str,
        checked: Iterable[tuple[str, Iterable[tuple[str, str]]]],
        at: dt.datetime,
    ) -> None:
        """Record what the validator reported just now, per patient (id, [(code, severity)]):
        new findings are kept with the time they were first shown, and a patient's earlier
        findings not reported again are marked fixed. `at` is the bot's clock (now)."""
        ids: list[str] = []
        found: list[FindingIn] = []
        for patient_id, findings in checked:
            ids.append(patient_id)
            found.extend(FindingIn(patient_id, code, severity) for code, severity in set(findings))
        await self.repo.record_findings(email, ids, found, at=at)

    async def patient_names(self, email: str, ids: Iterable[str]) -> dict[str, str]:
        return await self.repo.patient_names(email, list(ids))
