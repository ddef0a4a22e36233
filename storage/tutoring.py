"""What a tutor may see of their cohorts, read through the database's own boundary.

Why every read runs as the tutor: the functions in schema `ptl_tutor` (sql/040) are the only
door from a tutor to student data. They run inside `Database.student(tutor_email)` (role
`authenticated`, the tutor's email in the JWT claims) and check, in SQL, that the caller is
staff and the cohort's own tutor; they return summaries only (PTL size, breaches, last
activity), never a patient. A bug in a handler therefore cannot show a tutor another tutor's
class or a student's patients: the database refuses (`NotYourCohortError`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from storage.db import Database, normalise_email
from storage.exercises import NotYourCohortError


class NotStaffError(NotYourCohortError):
    """The caller is not listed as staff."""


@dataclass(frozen=True)
class CohortSummary:
    cohort_id: int
    name: str
    invite_code: str
    created_at: datetime
    archived_at: datetime | None
    members: int


@dataclass(frozen=True)
class Member:
    email: str
    joined_at: datetime
    linked: bool
    blocked: bool
    last_seen_at: datetime | None


@dataclass(frozen=True)
class StudentSummary:
    email: str
    linked: bool
    ptl_size: int
    breached: int
    last_ptl_change: datetime | None
    last_seen_at: datetime | None

    @property
    def last_activity(self) -> datetime | None:
        stamps = [s for s in (self.last_ptl_change, self.last_seen_at) if s is not None]
        return max(stamps) if stamps else None


@dataclass(frozen=True)
class ExerciseSummary:
    exercise_id: int
    cohort_id: int
    cohort_name: str
    title: str
    due_date: date | None
    created_at: datetime
    recipients: int
    delivered: int
    done: int


@dataclass(frozen=True)
class ProgressRow:
    email: str
    status: str
    sent_at: datetime | None
    opened_at: datetime | None
    started_at: datetime | None
    done_at: datetime | None
    imported: int | None
    quiz_answered: int
    quiz_correct: int
    quiz_total: int


@dataclass(frozen=True)
class AnswerRow:
    """One question of an exercise and one student's answer to it (None: nobody's yet)."""

    position: int
    question: str
    options: list[str]
    correct_option: int
    email: str | None
    option_id: int | None
    correct: bool | None


def _refusal(exc: asyncpg.InsufficientPrivilegeError) -> NotYourCohortError:
    if "only tutors" in str(exc):
        return NotStaffError(str(exc))
    return NotYourCohortError(str(exc))


def _json_list(value: object) -> list[str]:
    parsed = json.loads(value) if isinstance(value, str) else value
    return [str(v) for v in parsed] if isinstance(parsed, list) else []


class TutorRepository:
    """Tutor reads (and the one tutor write, removing a member) through `ptl_tutor`."""

    def __init__(
        self,
        db: Database,
        *,
        timezone: str = "Europe/London",
        at_risk_days: tuple[int, int] = (28, 7),
    ) -> None:
        self.db = db
        self.timezone = timezone
        self.at_risk_days = at_risk_days
        """(RTT, cancer and diagnostic): the operator's at-risk thresholds, in days."""
        self._zone_recorded = False
        self._thresholds_recorded = False

    async def _record_timezone(self) -> None:
        """Tell the database which zone "today" is in for tutors' breach counts (sql/052),
        once per process: the count uses the database's own date, never a caller's."""
        if self._zone_recorded:
            return
        async with self.db.service() as conn:
            await conn.execute(
                "insert into ptl_bot.clock_zone as z (id, timezone) values (1, $1)"
                " on conflict (id) do update set timezone = excluded.timezone,"
                " updated_at = now() where z.timezone is distinct from excluded.timezone",
                self.timezone,
            )
        self._zone_recorded = True

    async def _fetch(self, tutor_email: str, query: str, *args: object) -> list[asyncpg.Record]:
        try:
            async with self.db.student(normalise_email(tutor_email)) as conn:
                return list(await conn.fetch(query, *args))
        except asyncpg.InsufficientPrivilegeError as exc:
            raise _refusal(exc) from None

    async def cohorts(self, tutor_email: str) -> list[CohortSummary]:
        rows = await self._fetch(tutor_email, "select * from ptl_tutor.my_cohorts()")
        return [CohortSummary(**dict(r)) for r in rows]

    async def cohort(self, tutor_email: str, cohort_id: int) -> CohortSummary:
        for c in await self.cohorts(tutor_email):
            if c.cohort_id == cohort_id:
                return c
        raise NotYourCohortError(cohort_id)

    async def members(self, tutor_email: str, cohort_id: int) -> list[Member]:
        rows = await self._fetch(
            tutor_email, "select * from ptl_tutor.cohort_members($1)", cohort_id
        )
        return [Member(**dict(r)) for r in rows]

    async def students(self, tutor_email: str, cohort_id: int) -> list[StudentSummary]:
        """Each member's PTL in summary; "breached" as at the database's today (sql/052)."""
        await self._record_timezone()
        rows = await self._fetch(
            tutor_email, "select * from ptl_tutor.cohort_students($1)", cohort_id
        )
        return [StudentSummary(**dict(r)) for r in rows]

    async def _record_thresholds(self) -> None:
        """Tell the database the operator's at-risk thresholds for tutors' booking counts
        (sql/082), once per process: like "today", never a caller's choice."""
        if self._thresholds_recorded:
            return
        rtt_days, other_days = self.at_risk_days
        async with self.db.service() as conn:
            await conn.execute(
                "insert into ptl_bot.at_risk_days as t (id, rtt_days, other_days)"
                " values (1, $1, $2) on conflict (id) do update"
                " set rtt_days = excluded.rtt_days, other_days = excluded.other_days,"
                " updated_at = now()"
                " where (t.rtt_days, t.other_days)"
                " is distinct from (excluded.rtt_days, excluded.other_days)",
                rtt_days,
                other_days,
            )
        self._thresholds_recorded = True

    async def booking_counts(self, tutor_email: str, cohort_id: int) -> dict[str, tuple[int, int]]:
        """Per member: (undated patients at risk or breached, bookings awaiting an outcome),
        from the stored clock and booking summaries, as at the database's today with the
        operator's thresholds (sql/082). Same boundary as `students`."""
        await self._record_timezone()
        await self._record_thresholds()
        rows = await self._fetch(
            tutor_email, "select * from ptl_tutor.cohort_bookings($1)", cohort_id
        )
        return {r["email"]: (int(r["undated_at_risk"]), int(r["outcomes_missing"])) for r in rows}

    async def exercises(self, tutor_email: str, limit: int = 20) -> list[ExerciseSummary]:
        rows = await self._fetch(tutor_email, "select * from ptl_tutor.my_exercises($1)", limit)
        return [ExerciseSummary(**dict(r)) for r in rows]

    async def progress(self, tutor_email: str, exercise_id: int) -> list[ProgressRow]:
        rows = await self._fetch(
            tutor_email, "select * from ptl_tutor.exercise_progress($1)", exercise_id
        )
        return [ProgressRow(**dict(r)) for r in rows]

    async def answers(self, tutor_email: str, exercise_id: int) -> list[AnswerRow]:
        rows = await self._fetch(
            tutor_email, "select * from ptl_tutor.exercise_answers($1)", exercise_id
        )
        return [AnswerRow(**{**dict(r), "options": _json_list(r["options"])}) for r in rows]

    async def send_to_new_members(self, tutor_email: str, exercise_id: int) -> int:
        """Queue the exercise for current members who have not had it (late joiners)."""
        rows = await self._fetch(
            tutor_email, "select ptl_tutor.send_to_new_members($1) as queued", exercise_id
        )
        return int(rows[0]["queued"]) if rows else 0

    async def remove_member(self, tutor_email: str, cohort_id: int, email: str) -> bool:
        rows = await self._fetch(
            tutor_email, "select ptl_tutor.remove_member($1, $2) as removed", cohort_id, email
        )
        return bool(rows and rows[0]["removed"])
