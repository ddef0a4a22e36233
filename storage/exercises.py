"""Exercises, the delivery outbox, quiz polls and answers, and scenario imports.

Why the outbox lives in Postgres: a broadcast to a few hundred phones takes minutes under
Telegram's limits, and a restart (a deploy, a crash) must neither lose the rest nor send
anyone a second copy. Every delivery is a row whose status changes in small transactions:
`claimed` (picked, not yet tried: safe to give back), then `sending` (committed *before* the
API call), then its outcome. Rows are picked with `for update skip locked`, so two workers
(two replicas) never pick the same row. A `sending` row whose worker died is never sent
again: Telegram offers no idempotency key, so the bot cannot know whether that message
arrived, and it chooses "never twice" (status `unconfirmed`, which a tutor can resend).

Scenario patients are written into the student's PTL through `Database.student()`, so the
row-level security that keeps students apart also decides where an import may go; the unique
index on (student, exercise, scenario patient) makes a second Start a no-op.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from storage.db import Database, normalise_email
from storage.patients import new_patient_id

# Statuses that end a delivery (the rest are still in progress).
FINAL_STATUSES = ("sent", "blocked", "not_linked", "failed", "unconfirmed")
RESENDABLE_STATUSES = ("failed", "unconfirmed", "not_linked", "blocked")


class NotYourCohortError(Exception):
    """The cohort does not exist, is archived, or belongs to another tutor."""


@dataclass(frozen=True)
class Exercise:
    id: int
    cohort_id: int
    cohort_name: str
    tutor_email: str
    title: str
    brief: str
    scenario_key: str | None
    scenario_title: str | None
    patients: list[dict[str, Any]]
    due_date: date | None
    created_at: datetime
    recipients: int
    question_count: int
    progress_chat_id: int | None
    progress_message_id: int | None


@dataclass(frozen=True)
class Question:
    position: int
    question: str
    options: list[str]
    correct_option: int
    explanation: str | None


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds, with where to send it (resolved at claim time)."""

    exercise_id: int
    email: str
    attempts: int
    chat_id: int | None
    last_link_why: str | None  # why the latest (inactive) link ended, e.g. 'blocked'


@dataclass(frozen=True)
class Delivery:
    exercise_id: int
    email: str
    status: str
    chat_id: int | None
    message_id: int | None
    opened_at: datetime | None
    started_at: datetime | None
    done_at: datetime | None
    imported: int | None


@dataclass(frozen=True)
class QuizState:
    """Where one student is with one exercise's quiz."""

    total: int
    sent: int
    answered: int
    correct: int
    key_sent: bool

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.answered >= self.total


@dataclass(frozen=True)
class Answer:
    position: int
    option_id: int
    correct: bool


@dataclass(frozen=True)
class StudentExercise:
    """An exercise as listed for a student in /exercises."""

    exercise_id: int
    title: str
    cohort_name: str
    due_date: date | None
    created_at: datetime
    started: bool
    done: bool


@dataclass
class Recovered:
    released: int = 0
    unconfirmed: int = 0
    exercise_ids: set[int] = field(default_factory=set)


_EXERCISE_SELECT = (
    "select e.id, e.cohort_id, c.name as cohort_name, e.tutor_email, e.title, e.brief,"
    " e.scenario_key, e.scenario_title, e.patients, e.due_date, e.created_at, e.recipients,"
    " e.progress_chat_id, e.progress_message_id,"
    " (select count(*) from ptl_bot.exercise_questions q where q.exercise_id = e.id)"
    "   as question_count"
    " from ptl_bot.exercises e join ptl_bot.cohorts c on c.id = e.cohort_id"
)


def _import_query(columns: Sequence[str]) -> str:
    """Insert one scenario patient unless this exercise already put it in this PTL."""
    placeholders = ", ".join(f"${i}" for i in range(5, len(columns) + 5))
    return (
        "insert into public.ptl_patients (patient_id, user_email, exercise_id,"
        f" exercise_patient_key, {', '.join(columns)}) values ($1, $2, $3, $4, {placeholders})"
        " on conflict (lower(user_email), exercise_id, exercise_patient_key)"
        " where exercise_id is not null do nothing returning 1"
    )


def _exercise(row: Mapping[str, Any]) -> Exercise:
    data = dict(row)
    data["patients"] = data.get("patients") or []
    return Exercise(**data)


class ExerciseRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- tutor: create and look up ----------------------------------------------------------
    async def create(
        self,
        *,
        tutor_email: str,
        cohort_id: int,
        title: str,
        brief: str,
        scenario_key: str | None,
        scenario_title: str | None,
        patients: Sequence[Mapping[str, Any]],
        questions: Sequence[Mapping[str, Any]],
        due_date: date | None,
        draft_token: str,
        exercise_id: int | None = None,
    ) -> tuple[Exercise, bool]:
        """Create the exercise, its questions and one pending delivery per current member,
        in one transaction. Returns (exercise, created); a repeated `draft_token` (a double
        press of Send) returns the first exercise with created=False."""
        tutor = normalise_email(tutor_email)
        async with self.db.service() as conn:
            existing = await conn.fetchval(
                "select id from ptl_bot.exercises where draft_token = $1", draft_token
            )
            if existing is not None:
                row = await conn.fetchrow(_EXERCISE_SELECT + " where e.id = $1", existing)
                return _exercise(row), False
            exercise_id = await conn.fetchval(
                "insert into ptl_bot.exercises (id, cohort_id, tutor_email, title, brief,"
                " scenario_key, scenario_title, patients, due_date, draft_token)"
                " select coalesce($10, nextval('ptl_bot.exercises_id_seq')), c.id, $2, $3, $4,"
                " $5, $6, $7, $8, $9 from ptl_bot.cohorts c"
                " where c.id = $1 and c.tutor_email = $2 and c.archived_at is null"
                " on conflict (draft_token) do nothing returning id",
                cohort_id,
                tutor,
                title,
                brief,
                scenario_key,
                scenario_title,
                list(patients),
                due_date,
                draft_token,
                exercise_id,
            )
            if exercise_id is None:
                raced = await conn.fetchval(
                    "select id from ptl_bot.exercises where draft_token = $1", draft_token
                )
                if raced is None:
                    raise NotYourCohortError(cohort_id)
                row = await conn.fetchrow(_EXERCISE_SELECT + " where e.id = $1", raced)
                return _exercise(row), False
            if questions:
                await conn.executemany(
                    "insert into ptl_bot.exercise_questions"
                    " (exercise_id, position, question, options, correct_option, explanation)"
                    " values ($1, $2, $3, $4, $5, $6)",
                    [
                        (
                            exercise_id,
                            i,
                            q["question"],
                            list(q["options"]),
                            int(q["correct"]),
                            q.get("explanation"),
                        )
                        for i, q in enumerate(questions)
                    ],
                )
            recipients = await conn.fetchval(
                "with added as ("
                "  insert into ptl_bot.exercise_deliveries (exercise_id, email)"
                "  select $1, m.email from ptl_bot.cohort_members m"
                "   where m.cohort_id = $2 and m.removed_at is null"
                "  on conflict do nothing returning 1)"
                " select count(*) from added",
                exercise_id,
                cohort_id,
            )
            await conn.execute(
                "update ptl_bot.exercises set recipients = $2 where id = $1",
                exercise_id,
                recipients,
            )
            row = await conn.fetchrow(_EXERCISE_SELECT + " where e.id = $1", exercise_id)
        return _exercise(row), True

    async def reserve_id(self) -> int:
        """An exercise id for a draft, so the preview shows exactly the tag students get."""
        async with self.db.service() as conn:
            value: int = await conn.fetchval("select nextval('ptl_bot.exercises_id_seq')")
        return value

    async def get(self, exercise_id: int) -> Exercise | None:
        async with self.db.service() as conn:
            row = await conn.fetchrow(_EXERCISE_SELECT + " where e.id = $1", exercise_id)
        return _exercise(row) if row else None

    async def questions(self, exercise_id: int) -> list[Question]:
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "select position, question, options, correct_option, explanation"
                " from ptl_bot.exercise_questions where exercise_id = $1 order by position",
                exercise_id,
            )
        return [Question(**dict(r)) for r in rows]

    async def set_progress_message(self, exercise_id: int, chat_id: int, message_id: int) -> None:
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercises set progress_chat_id = $2, progress_message_id = $3"
                " where id = $1",
                exercise_id,
                chat_id,
                message_id,
            )

    async def requeue(self, tutor_email: str, exercise_id: int, statuses: Sequence[str]) -> int:
        """A tutor's explicit resend of deliveries that did not go through (their choice:
        an `unconfirmed` student may then have two copies)."""
        wanted = [s for s in statuses if s in RESENDABLE_STATUSES]
        async with self.db.service() as conn:
            result = await conn.execute(
                "update ptl_bot.exercise_deliveries d set status = 'pending',"
                " next_attempt_at = now(), attempts = 0, last_error = null, claim_token = null"
                " where d.exercise_id = $1 and d.status = any($3::text[]) and exists ("
                "   select 1 from ptl_bot.exercises e join ptl_bot.cohorts c"
                "     on c.id = e.cohort_id where e.id = $1 and c.tutor_email = $2)",
                exercise_id,
                normalise_email(tutor_email),
                wanted,
            )
        return int(result.split()[-1])

    # -- the outbox ---------------------------------------------------------------------
    async def recover(self, claim_lease: float, sending_lease: float) -> Recovered:
        """Resolve rows left behind by a worker that stopped: lapsed claims go back to
        pending (they were never tried); lapsed sends become `unconfirmed` (never resent)."""
        out = Recovered()
        async with self.db.service() as conn:
            released = await conn.fetch(
                "update ptl_bot.exercise_deliveries set status = 'pending', claim_token = null"
                " where status = 'claimed' and claimed_at < now() - make_interval(secs => $1)"
                " returning exercise_id",
                claim_lease,
            )
            lost = await conn.fetch(
                "update ptl_bot.exercise_deliveries set status = 'unconfirmed',"
                " claim_token = null, last_error = 'the bot stopped while this message was"
                " being sent; not resent, so it is never sent twice'"
                " where status = 'sending' and claimed_at < now() - make_interval(secs => $1)"
                " returning exercise_id",
                sending_lease,
            )
        out.released, out.unconfirmed = len(released), len(lost)
        out.exercise_ids = {r["exercise_id"] for r in [*released, *lost]}
        return out

    async def claim(
        self, limit: int, token: uuid.UUID, exclude: Iterable[str] = ()
    ) -> list[Claimed]:
        """Take up to `limit` due deliveries (skipping rows other workers hold and students
        messaged in the last second), in send order."""
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "with due as ("
                "  select d.exercise_id, d.email from ptl_bot.exercise_deliveries d"
                "   where d.status = 'pending' and d.next_attempt_at <= now()"
                "     and d.email <> all($3::text[])"
                "   order by d.next_attempt_at, d.exercise_id, d.email"
                "   limit $1 for update skip locked)"
                " update ptl_bot.exercise_deliveries d"
                "    set status = 'claimed', claim_token = $2, claimed_at = now()"
                "   from due where d.exercise_id = due.exercise_id and d.email = due.email"
                " returning d.exercise_id, d.email, d.attempts, d.next_attempt_at,"
                "   (select l.chat_id from ptl_bot.telegram_links l"
                "     where l.email = d.email and l.active) as chat_id,"
                "   (select l.deactivated_why from ptl_bot.telegram_links l"
                "     where l.email = d.email order by l.active desc, l.id desc limit 1)"
                "     as last_link_why",
                limit,
                token,
                list(exclude),
            )
        rows = sorted(rows, key=lambda r: (r["next_attempt_at"], r["exercise_id"], r["email"]))
        return [
            Claimed(r["exercise_id"], r["email"], r["attempts"], r["chat_id"], r["last_link_why"])
            for r in rows
        ]

    async def release(self, token: uuid.UUID) -> int:
        """Give back claimed rows this worker will not send (it is stopping)."""
        async with self.db.service() as conn:
            result = await conn.execute(
                "update ptl_bot.exercise_deliveries set status = 'pending', claim_token = null"
                " where claim_token = $1 and status = 'claimed'",
                token,
            )
        return int(result.split()[-1])

    async def mark_sending(self, row: Claimed, token: uuid.UUID) -> bool:
        """Commit 'sending' before the API call; False if the claim was lost meanwhile."""
        async with self.db.service() as conn:
            result = await conn.execute(
                "update ptl_bot.exercise_deliveries set status = 'sending',"
                " attempts = attempts + 1, claimed_at = now(), chat_id = $4"
                " where exercise_id = $1 and email = $2 and claim_token = $3"
                "   and status = 'claimed'",
                row.exercise_id,
                row.email,
                token,
                row.chat_id,
            )
        return result == "UPDATE 1"

    async def mark_sent(self, row: Claimed, token: uuid.UUID, message_id: int) -> None:
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercise_deliveries set status = 'sent', sent_at = now(),"
                " message_id = $4, last_error = null, claim_token = null"
                " where exercise_id = $1 and email = $2 and claim_token = $3"
                "   and status in ('sending', 'unconfirmed')",
                row.exercise_id,
                row.email,
                token,
                message_id,
            )

    async def mark_retry(
        self,
        row: Claimed,
        token: uuid.UUID,
        *,
        delay: float,
        error: str,
        counts_as_attempt: bool = True,
    ) -> None:
        """Back to pending, due after `delay` seconds (429 and transient network errors).
        A 429 does not use up an attempt: the message was refused, not tried."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercise_deliveries set status = 'pending', claim_token = null,"
                " next_attempt_at = now() + make_interval(secs => $4), last_error = $5,"
                " attempts = attempts - case when $6 then 0 else 1 end"
                " where exercise_id = $1 and email = $2 and claim_token = $3"
                "   and status in ('claimed', 'sending')",
                row.exercise_id,
                row.email,
                token,
                delay,
                error[:300],
                counts_as_attempt,
            )

    async def defer(self, row: Claimed, token: uuid.UUID, delay: float) -> None:
        """Give a claimed (never tried) row back, due after `delay` seconds."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercise_deliveries set status = 'pending', claim_token = null,"
                " next_attempt_at = now() + make_interval(secs => $4)"
                " where exercise_id = $1 and email = $2 and claim_token = $3"
                "   and status = 'claimed'",
                row.exercise_id,
                row.email,
                token,
                delay,
            )

    async def mark_final(
        self, row: Claimed, token: uuid.UUID, status: str, error: str | None = None
    ) -> None:
        if status not in FINAL_STATUSES or status == "sent":
            raise ValueError(f"not a final failure status: {status}")
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercise_deliveries set status = $4, last_error = $5,"
                " claim_token = null"
                " where exercise_id = $1 and email = $2 and claim_token = $3"
                "   and status in ('claimed', 'sending')",
                row.exercise_id,
                row.email,
                token,
                status,
                (error or "")[:300] or None,
            )

    async def seconds_until_due(self) -> float | None:
        """Seconds until the next pending delivery is due (0 if one is due now), or None
        when nothing is pending."""
        async with self.db.service() as conn:
            value = await conn.fetchval(
                "select extract(epoch from min(next_attempt_at) - now())"
                " from ptl_bot.exercise_deliveries where status = 'pending'"
            )
        # (Not greatest(0, ...) in SQL: greatest() ignores NULL, which would hide "none".)
        return max(0.0, float(value)) if value is not None else None

    async def status_counts(self, exercise_ids: Iterable[int]) -> dict[int, Counter[str]]:
        ids = sorted(set(exercise_ids))
        out: dict[int, Counter[str]] = {i: Counter() for i in ids}
        if not ids:
            return out
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "select exercise_id, status, count(*) as n from ptl_bot.exercise_deliveries"
                " where exercise_id = any($1::bigint[]) group by 1, 2",
                ids,
            )
        for r in rows:
            out[r["exercise_id"]][r["status"]] = r["n"]
        return out

    async def exercises_in_flight(self) -> list[int]:
        """Exercises with deliveries not yet final (their progress messages need updates)."""
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "select distinct exercise_id from ptl_bot.exercise_deliveries"
                " where status in ('pending', 'claimed', 'sending')"
            )
        return [r["exercise_id"] for r in rows]

    # -- students -----------------------------------------------------------------------
    async def delivery(self, exercise_id: int, email: str) -> Delivery | None:
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "select exercise_id, email, status, chat_id, message_id, opened_at, started_at,"
                " done_at, imported from ptl_bot.exercise_deliveries"
                " where exercise_id = $1 and email = $2",
                exercise_id,
                normalise_email(email),
            )
        return Delivery(**dict(row)) if row else None

    async def mark_opened(self, exercise_id: int, email: str) -> None:
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercise_deliveries set opened_at = now()"
                " where exercise_id = $1 and email = $2 and opened_at is null",
                exercise_id,
                normalise_email(email),
            )

    async def import_patients(
        self, email: str, exercise_id: int, rows: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> tuple[int, int]:
        """Insert the scenario patients (key, column values) into the student's own PTL,
        as the student (RLS applies), skipping any already imported from this exercise.
        Returns (newly added, total from this exercise in their PTL)."""
        student = normalise_email(email)
        added = 0
        async with self.db.student(student) as conn:
            for key, values in rows:
                query = _import_query(list(values))
                inserted = None
                for _ in range(5):
                    try:
                        async with conn.transaction():
                            inserted = await conn.fetchval(
                                query, new_patient_id(), student, exercise_id, key,
                                *values.values(),
                            )  # fmt: skip
                        break
                    except asyncpg.UniqueViolationError:  # a patient_id collision: new id
                        continue
                added += 1 if inserted else 0
            total = await conn.fetchval(
                "select count(*) from public.ptl_patients where exercise_id = $1", exercise_id
            )
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercise_deliveries set"
                " started_at = coalesce(started_at, now()), opened_at = coalesce(opened_at, now()),"
                " imported = $3 where exercise_id = $1 and email = $2",
                exercise_id,
                student,
                total,
            )
        return added, int(total)

    async def mark_started(self, exercise_id: int, email: str) -> bool:
        """True the first time (the caller then sends the quiz, if any)."""
        async with self.db.service() as conn:
            result = await conn.execute(
                "update ptl_bot.exercise_deliveries set started_at = now(),"
                " opened_at = coalesce(opened_at, now())"
                " where exercise_id = $1 and email = $2 and started_at is null",
                exercise_id,
                normalise_email(email),
            )
        return result == "UPDATE 1"

    async def set_done(self, exercise_id: int, email: str, done: bool) -> bool:
        """Mark (or unmark) as done; True when something changed."""
        async with self.db.service() as conn:
            result = await conn.execute(
                "update ptl_bot.exercise_deliveries set"
                " done_at = case when $3 then coalesce(done_at, now()) else null end,"
                " opened_at = coalesce(opened_at, now())"
                " where exercise_id = $1 and email = $2"
                "   and (done_at is null) = $3",
                exercise_id,
                normalise_email(email),
                done,
            )
        return result == "UPDATE 1"

    async def student_exercises(self, email: str, limit: int = 20) -> list[StudentExercise]:
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "select e.id as exercise_id, e.title, c.name as cohort_name, e.due_date,"
                " e.created_at, d.started_at is not null as started,"
                " d.done_at is not null as done"
                " from ptl_bot.exercise_deliveries d"
                " join ptl_bot.exercises e on e.id = d.exercise_id"
                " join ptl_bot.cohorts c on c.id = e.cohort_id"
                " where d.email = $1 order by e.id desc limit $2",
                normalise_email(email),
                limit,
            )
        return [StudentExercise(**dict(r)) for r in rows]

    # -- quiz -----------------------------------------------------------------------------
    async def claim_poll(self, exercise_id: int, email: str, position: int) -> bool:
        """Claim a question for sending to this student; False if it was sent already."""
        async with self.db.service() as conn:
            value = await conn.fetchval(
                "insert into ptl_bot.exercise_polls (exercise_id, email, position)"
                " values ($1, $2, $3) on conflict do nothing returning 1",
                exercise_id,
                normalise_email(email),
                position,
            )
        return value is not None

    async def set_poll_id(
        self, exercise_id: int, email: str, position: int, poll_id: str, sent_to: int
    ) -> None:
        """The poll went out to the Telegram user `sent_to` (a private chat's id is its
        user's id): only that user's answers count."""
        async with self.db.service() as conn:
            await conn.execute(
                "update ptl_bot.exercise_polls set poll_id = $4, sent_to = $5, sent_at = now()"
                " where exercise_id = $1 and email = $2 and position = $3",
                exercise_id,
                normalise_email(email),
                position,
                poll_id,
                sent_to,
            )

    async def unclaim_poll(self, exercise_id: int, email: str, position: int) -> None:
        """The poll could not be sent: let the next Start try it again."""
        async with self.db.service() as conn:
            await conn.execute(
                "delete from ptl_bot.exercise_polls"
                " where exercise_id = $1 and email = $2 and position = $3 and poll_id is null",
                exercise_id,
                normalise_email(email),
                position,
            )

    async def quiz_state(self, exercise_id: int, email: str) -> QuizState:
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "select (select count(*) from ptl_bot.exercise_questions q"
                "         where q.exercise_id = $1) as total,"
                " (select count(*) from ptl_bot.exercise_polls p"
                "   where p.exercise_id = $1 and p.email = $2 and p.poll_id is not null) as sent,"
                " (select count(*) from ptl_bot.quiz_answers a"
                "   where a.exercise_id = $1 and a.email = $2) as answered,"
                " (select count(*) from ptl_bot.quiz_answers a"
                "   where a.exercise_id = $1 and a.email = $2 and a.correct) as correct,"
                " coalesce((select d.quiz_key_sent_at is not null"
                "   from ptl_bot.exercise_deliveries d"
                "   where d.exercise_id = $1 and d.email = $2), false) as key_sent",
                exercise_id,
                normalise_email(email),
            )
        assert row is not None
        return QuizState(**dict(row))

    async def poll_owner(self, poll_id: str) -> tuple[int, str] | None:
        """(exercise id, student email) of a quiz poll the bot sent, else None."""
        async with self.db.service() as conn:
            row = await conn.fetchrow(
                "select exercise_id, email from ptl_bot.exercise_polls where poll_id = $1",
                poll_id,
            )
        return (int(row["exercise_id"]), str(row["email"])) if row else None

    async def answers(self, exercise_id: int, email: str) -> list[Answer]:
        async with self.db.service() as conn:
            rows = await conn.fetch(
                "select position, option_id, correct from ptl_bot.quiz_answers"
                " where exercise_id = $1 and email = $2 order by position",
                exercise_id,
                normalise_email(email),
            )
        return [Answer(**dict(r)) for r in rows]

    async def claim_answer_key(self, exercise_id: int, email: str) -> bool:
        """True once, when every question has an answer: the caller then sends the key."""
        async with self.db.service() as conn:
            value = await conn.fetchval(
                "update ptl_bot.exercise_deliveries d set quiz_key_sent_at = now()"
                " where d.exercise_id = $1 and d.email = $2 and d.quiz_key_sent_at is null"
                "   and (select count(*) from ptl_bot.quiz_answers a"
                "         where a.exercise_id = $1 and a.email = $2)"
                "    >= (select count(*) from ptl_bot.exercise_questions q"
                "         where q.exercise_id = $1)"
                "   and exists (select 1 from ptl_bot.exercise_questions q"
                "                where q.exercise_id = $1)"
                " returning 1",
                exercise_id,
                normalise_email(email),
            )
        return value is not None

    async def deliver_open_exercises(self, cohort_id: int, email: str, today: date) -> int:
        """A student who has just joined: queue the cohort's exercises that are still open
        (no due date, or due today or later) for them. Returns how many were queued."""
        async with self.db.service() as conn, conn.transaction():
            rows = await conn.fetch(
                "insert into ptl_bot.exercise_deliveries (exercise_id, email)"
                " select e.id, $2 from ptl_bot.exercises e"
                "  where e.cohort_id = $1 and (e.due_date is null or e.due_date >= $3)"
                " on conflict do nothing returning exercise_id",
                cohort_id,
                normalise_email(email),
                today,
            )
            if rows:
                await conn.execute(
                    "update ptl_bot.exercises set recipients = recipients + 1"
                    " where id = any($1::bigint[])",
                    [r["exercise_id"] for r in rows],
                )
        return len(rows)

    async def record_answer(
        self, poll_id: str, option_ids: Sequence[int], telegram_user_id: int
    ) -> bool | None:
        """Record the first answer to a quiz poll. Returns whether it was correct, or None
        for a poll the bot did not send as part of an exercise, an empty vote, or an answer
        from anyone but the linked account the poll was sent to (a forwarded poll)."""
        if not option_ids:
            return None
        async with self.db.service() as conn:
            poll = await conn.fetchrow(
                "select p.exercise_id, p.email, p.position, q.correct_option"
                " from ptl_bot.exercise_polls p join ptl_bot.exercise_questions q"
                "   on q.exercise_id = p.exercise_id and q.position = p.position"
                " where p.poll_id = $1 and (p.sent_to is null or p.sent_to = $2)"
                " and exists (select 1 from ptl_bot.telegram_links l"
                "             where l.telegram_user_id = $2 and l.active and l.email = p.email)",
                poll_id,
                telegram_user_id,
            )
            if poll is None:
                return None
            correct = int(option_ids[0]) == poll["correct_option"]
            await conn.execute(
                "insert into ptl_bot.quiz_answers (exercise_id, email, position, option_id,"
                " correct) values ($1, $2, $3, $4, $5) on conflict do nothing",
                poll["exercise_id"],
                poll["email"],
                poll["position"],
                int(option_ids[0]),
                correct,
            )
            await conn.execute(
                "update ptl_bot.exercise_deliveries set opened_at = coalesce(opened_at, now())"
                " where exercise_id = $1 and email = $2",
                poll["exercise_id"],
                poll["email"],
            )
        return correct
