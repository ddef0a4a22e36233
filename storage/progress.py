"""A student's own record of learning, computed in SQL as the student (sql/090).

Everything runs inside `Database.student(email)`: the row-level security on `ptl_patients`
and `ptl_student.findings`, and the caller-scoped `ptl_student` functions, decide whose data
it is. No query here filters by email to keep students apart; there is no service path.

What is counted comes from what is already stored: patients (when added, when last
changed), the dated events in each row's `events` JSON, the rules engine's stored results
(`breach_date`, `clock_state`, `clock_stopped_on`, `clock_breached`), validator findings
and exercise deliveries with quiz answers. Each figure comes back for two periods (since the
student started, and from `recent_from`), with the patients behind it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from storage.db import Database

__all__ = [
    "BREACH_QUIET_DAYS",
    "ExerciseRow",
    "FigureRow",
    "FindingIn",
    "ProgressRepository",
    "QuizAnswerRow",
]

BREACH_QUIET_DAYS = 14
"""A breach "let happen": the clock crossed its breach day with no event in this many days
before it, while the patient was on the student's PTL."""

# A stored event's date, or NULL when it is not a real ISO date (platform rows hold anything).
# The nested CASE makes sure the day check only runs on text that looks like a date.
_EVENT_DATE = r"""
case when r.raw ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' and r.raw >= '0001'
     then case when substr(r.raw, 9, 2) <= '28' then r.raw::date
               when substr(r.raw, 9, 2)::int <= extract(day from
                        make_date(substr(r.raw, 1, 4)::int, substr(r.raw, 6, 2)::int, 1)
                        + interval '1 month' - interval '1 day')::int
               then r.raw::date end
end"""

_FIGURES = f"""
with p as (
    select x.patient_id, x.exercise_id, x.events, x.pathway_type, x.breach_date, x.clock_state,
           x.clock_stopped_on, x.clock_breached,
           -- Stamped by the database's now(): a stamp after "today" (a pinned console
           -- date, a clock a few seconds apart) is today.
           least((coalesce(x.added_date, x.created_at) at time zone $2)::date, $1) as added_on,
           case when x.last_updated > coalesce(x.added_date, x.created_at) + interval '1 minute'
                then least((x.last_updated at time zone $2)::date, $1) end as updated_on
      from public.ptl_patients x
     where x.deleted_at is null
),
ev as (
    select p.patient_id, p.exercise_id, p.breach_date, e.value as item,
           ({_EVENT_DATE}) as on_date
      from p
     cross join lateral jsonb_array_elements(
               case jsonb_typeof(p.events) when 'array' then p.events else '[]'::jsonb end) e
     cross join lateral (select left(e.value ->> 'date', 10) as raw) r
     where jsonb_typeof(e.value) = 'object'
),
-- patients with an event in the quiet days before their breach day (one pass over events)
acted as (
    select distinct patient_id from ev
     where on_date >= breach_date - {BREACH_QUIET_DAYS} and on_date < breach_date
),
facts (figure, detail, patient_id, on_date) as (
    -- patients the student added themselves (an exercise's patients are counted there)
    select 'added', '', patient_id, added_on from p where exercise_id is null
    union all
    select 'updated', '', patient_id, updated_on from p where updated_on is not null
    union all
    -- every patient on the PTL, by pathway type (the standards the student worked on)
    select 'pathway', coalesce(pathway_type, ''), patient_id, added_on from p
    union all
    -- events the student recorded: not the history an exercise imported with its patients
    select 'event',
           coalesce(item ->> 'kind', '') || '|' || coalesce(item ->> 'code', '') || '|'
               || case when item ->> 'description' ilike '%discharg%' then 'd' else '' end,
           patient_id, on_date
      from ev
     where on_date is not null and on_date <= $1
       and (exercise_id is null or lower(btrim(coalesce(item ->> 'added_by', ''))) = $4)
    union all
    select case when clock_breached then 'stopped_late' else 'stopped_in_time' end, '',
           patient_id, clock_stopped_on
      from p
     where clock_state = 'stopped' and clock_stopped_on is not null
       and clock_breached is not null
    union all
    select 'breach_let_happen', '', p.patient_id, p.breach_date
      from p
     where p.breach_date <= $1
       and (p.clock_state = 'running' or (p.clock_state = 'stopped' and p.clock_breached))
       and p.added_on < p.breach_date
       and p.patient_id not in (select patient_id from acted)
    union all
    select 'started', '', null, min(added_on) from p
    union all
    select 'finding_found', f.severity, f.patient_id, (f.first_seen_at at time zone $2)::date
      from ptl_student.findings f
    union all
    select 'finding_fixed', f.severity, f.patient_id, (f.fixed_at at time zone $2)::date
      from ptl_student.findings f
     where f.fixed_at is not null
)
select figure, detail,
       count(*) as n_all,
       count(*) filter (where on_date >= $3) as n_recent,
       min(on_date) as first_day,
       coalesce(array_agg(distinct patient_id) filter (where patient_id is not null), '{{}}')
           as ids_all,
       coalesce(array_agg(distinct patient_id) filter (where on_date >= $3), '{{}}') as ids_recent
  from facts
 where on_date is not null and on_date <= $1
 group by figure, detail
 order by figure, detail
"""


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One counted thing over the two periods, with the patients behind it.

    `detail` is the event's stored kind, code and a discharge mark ("kind|code|d") for
    `event` rows, so the caller maps it to a rules-engine kind the way every other reader
    of `events` does (`bot.rules.records.kind_of`); the severity for findings; else "".
    """

    figure: str
    detail: str
    n_all: int
    n_recent: int
    ids_all: tuple[str, ...]
    ids_recent: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ExerciseRow:
    exercise_id: int
    title: str
    scenario_title: str | None
    sent_at: dt.datetime | None
    started_at: dt.datetime | None
    done_at: dt.datetime | None
    questions: int
    answered: int
    correct: int


@dataclass(frozen=True, slots=True)
class QuizAnswerRow:
    exercise_id: int
    question_no: int
    question: str
    options: tuple[str, ...]
    correct_option: int
    explanation: str | None
    chosen_option: int
    correct: bool


@dataclass(frozen=True, slots=True)
class FindingIn:
    """A validator finding as shown to the student (code and severity only: the patient
    is named by id, nothing the student typed is stored here)."""

    patient_id: str
    code: str
    severity: str


class ProgressRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def figures(
        self, email: str, *, today: dt.date, recent_from: dt.date, tz: str
    ) -> tuple[list[FigureRow], dt.date | None]:
        """Every figure of the student's record as at `today` (dates in `tz`), and the day
        they started (their first patient on this PTL; None for an empty PTL)."""
        async with self.db.student(email) as conn:
            return await _figures(conn, email, today, recent_from, tz)

    async def snapshot(
        self, email: str, *, today: dt.date, recent_from: dt.date, tz: str
    ) -> tuple[list[FigureRow], dt.date | None, list[ExerciseRow], list[QuizAnswerRow]]:
        """The whole record in one transaction: figures, start day, exercises, answers."""
        async with self.db.student(email) as conn:
            figures, started = await _figures(conn, email, today, recent_from, tz)
            exercises = [
                ExerciseRow(**dict(r))
                for r in await conn.fetch("select * from ptl_student.my_exercises()")
            ]
            answers = await _answers(conn) if exercises else []
        return figures, started, exercises, answers

    async def exercises(self, email: str) -> list[ExerciseRow]:
        async with self.db.student(email) as conn:
            rows = await conn.fetch("select * from ptl_student.my_exercises()")
        return [ExerciseRow(**dict(r)) for r in rows]

    async def quiz_answers(self, email: str) -> list[QuizAnswerRow]:
        async with self.db.student(email) as conn:
            return await _answers(conn)

    async def patient_names(self, email: str, patient_ids: Sequence[str]) -> dict[str, str]:
        """Names of the student's live patients among `patient_ids` (RLS hides the rest)."""
        async with self.db.student(email) as conn:
            rows = await conn.fetch(
                "select patient_id, coalesce(patient_name, patient_id) as name"
                "  from public.ptl_patients"
                " where patient_id = any($1::text[]) and deleted_at is null"
                " order by patient_name, patient_id",
                list(patient_ids),
            )
        return {r["patient_id"]: r["name"] for r in rows}

    async def record_findings(
        self,
        email: str,
        patient_ids: Sequence[str],
        findings: Sequence[FindingIn],
        *,
        at: dt.datetime | None = None,
    ) -> None:
        """Remember what the validator reported for `patient_ids` just now: new findings are
        added, findings seen again are reopened if they had been fixed, and findings of those
        patients no longer reported are marked fixed (`at`, default now())."""
        if not patient_ids:
            return
        async with self.db.student(email) as conn:
            await conn.execute(
                "update ptl_student.findings f set fixed_at = coalesce($3, now())"
                " where f.patient_id = any($1::text[]) and f.fixed_at is null"
                "   and not (f.patient_id || '|' || f.code = any($2::text[]))",
                list(patient_ids),
                [f"{f.patient_id}|{f.code}" for f in findings],
                at,
            )
            if findings:
                await conn.execute(
                    "insert into ptl_student.findings"
                    "       (patient_id, code, severity, first_seen_at)"
                    " select v.patient_id, v.code, v.severity, coalesce($4, now())"
                    "   from unnest($1::text[], $2::text[], $3::text[])"
                    "        as v(patient_id, code, severity)"
                    " on conflict (email, patient_id, code) do update"
                    "   set fixed_at = null, severity = excluded.severity"
                    "   where ptl_student.findings.fixed_at is not null",
                    [f.patient_id for f in findings],
                    [f.code for f in findings],
                    [f.severity for f in findings],
                    at,
                )


async def _figures(
    conn: asyncpg.Connection, email: str, today: dt.date, recent_from: dt.date, tz: str
) -> tuple[list[FigureRow], dt.date | None]:
    rows = await conn.fetch(_FIGURES, today, tz, recent_from, email.strip().lower())
    started = next((r["first_day"] for r in rows if r["figure"] == "started"), None)
    figures = [
        FigureRow(
            r["figure"],
            r["detail"],
            r["n_all"],
            r["n_recent"],
            tuple(r["ids_all"] or ()),
            tuple(r["ids_recent"] or ()),
        )
        for r in rows
        if r["figure"] != "started"
    ]
    return figures, started


async def _answers(conn: asyncpg.Connection) -> list[QuizAnswerRow]:
    rows = await conn.fetch("select * from ptl_student.my_quiz_answers()")
    return [
        QuizAnswerRow(
            r["exercise_id"],
            r["question_no"],
            r["question"],
            tuple(str(o) for o in _options(r["options"])),
            r["correct_option"],
            r["explanation"],
            r["chosen_option"],
            r["correct"],
        )
        for r in rows
    ]


def _options(raw: Any) -> Sequence[Any]:
    if isinstance(raw, str):
        raw = json.loads(raw)
    if isinstance(raw, Mapping):
        return list(raw.values())
    return list(raw or ())
