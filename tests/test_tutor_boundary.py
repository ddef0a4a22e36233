"""The tutor boundary is enforced by the database: own cohorts only, summaries only."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from storage.db import Database
from storage.exercises import ExerciseRepository
from storage.links import StaffRepository
from storage.models import PatientIn
from storage.patients import PatientRepository
from storage.tutoring import NotStaffError, NotYourCohortError, TutorRepository

TUTOR_A = "tutor.a@college.example"
TUTOR_B = "tutor.b@college.example"
SAM = "sam@student.example"
KIM = "kim@student.example"
TODAY = dt.date(2025, 3, 3)


async def _cohort(db: Database, name: str, tutor: str, *members: str) -> int:
    async with db.service() as conn:
        cohort_id: int = await conn.fetchval(
            "insert into ptl_bot.cohorts (name, tutor_email, invite_code)"
            " values ($1, $2, md5(random()::text)) returning id",
            name,
            tutor,
        )
        for email in members:
            await conn.execute(
                "insert into ptl_bot.cohort_members (cohort_id, email) values ($1, $2)",
                cohort_id,
                email,
            )
    return cohort_id


def _patient(name: str, start: dt.date, breach: dt.date | None = None) -> PatientIn:
    return PatientIn(
        patient_name=name,
        nhs_number="9990000018",
        clock_start_date=start,
        pathway_type="rtt",
        breach_date=breach or start + dt.timedelta(days=127),
        clock_state="running",
    )


@pytest.fixture
async def world(db: Database) -> dict[str, int]:
    staff = StaffRepository(db)
    await staff.add(TUTOR_A, "tutor")
    await staff.add(TUTOR_B, "tutor")
    patients = PatientRepository(db)
    await patients.add(SAM, _patient("Secret Sam Patient", dt.date(2024, 10, 1)))  # breached
    await patients.add(SAM, _patient("Another Sam Patient", dt.date(2025, 2, 1)))
    await patients.add(KIM, _patient("Kim Patient", dt.date(2025, 2, 1)))
    return {
        "a": await _cohort(db, "Group A", TUTOR_A, SAM),
        "b": await _cohort(db, "Group B", TUTOR_B, KIM),
    }


async def test_tutor_sees_own_cohort_summaries(db: Database, world: dict[str, int]) -> None:
    repo = TutorRepository(db)
    cohorts = await repo.cohorts(TUTOR_A)
    assert [(c.name, c.members) for c in cohorts] == [("Group A", 1)]
    [sam] = await repo.students(TUTOR_A, world["a"])
    # Breached as at the database's own date (sql/052), not this test's March 2025: by now
    # both of Sam's running clocks have breached.
    assert (sam.email, sam.ptl_size, sam.breached) == (SAM, 2, 2)
    assert sam.last_ptl_change is not None
    [member] = await repo.members(TUTOR_A, world["a"])
    assert member.email == SAM and not member.linked


async def test_tutor_cannot_read_another_tutors_cohort(db: Database, world: dict[str, int]) -> None:
    repo = TutorRepository(db)
    with pytest.raises(NotYourCohortError):
        await repo.students(TUTOR_A, world["b"])
    with pytest.raises(NotYourCohortError):
        await repo.members(TUTOR_A, world["b"])
    with pytest.raises(NotYourCohortError):
        await repo.remove_member(TUTOR_A, world["b"], KIM)
    with pytest.raises(NotYourCohortError):
        await repo.cohort(TUTOR_A, world["b"])
    # Kim is still in Group B.
    assert [m.email for m in await repo.members(TUTOR_B, world["b"])] == [KIM]


async def test_tutor_cannot_see_another_tutors_exercise_progress(
    db: Database, world: dict[str, int]
) -> None:
    exercises = ExerciseRepository(db)
    exercise, _ = await exercises.create(
        tutor_email=TUTOR_B, cohort_id=world["b"], title="B's", brief="Brief",
        scenario_key=None, scenario_title=None, patients=[], questions=[], due_date=None,
        draft_token="t1",
    )  # fmt: skip
    repo = TutorRepository(db)
    assert [r.email for r in await repo.progress(TUTOR_B, exercise.id)] == [KIM]
    with pytest.raises(NotYourCohortError):
        await repo.progress(TUTOR_A, exercise.id)
    with pytest.raises(NotYourCohortError):
        await repo.progress(TUTOR_A, 999_999)
    # The question-by-question view and "send to new members" keep the same boundary.
    assert await repo.answers(TUTOR_B, exercise.id) == []
    with pytest.raises(NotYourCohortError):
        await repo.answers(TUTOR_A, exercise.id)
    with pytest.raises(NotYourCohortError):
        await repo.send_to_new_members(TUTOR_A, exercise.id)
    with pytest.raises(NotStaffError):
        await repo.send_to_new_members(KIM, exercise.id)
    assert await repo.send_to_new_members(TUTOR_B, exercise.id) == 0  # Kim has it already
    assert await repo.exercises(TUTOR_A) == []
    # Nor can a tutor create an exercise for someone else's cohort.
    with pytest.raises(NotYourCohortError):
        await exercises.create(
            tutor_email=TUTOR_A, cohort_id=world["b"], title="x", brief="x",
            scenario_key=None, scenario_title=None, patients=[], questions=[], due_date=None,
            draft_token="t2",
        )  # fmt: skip


async def test_a_student_calling_the_functions_is_refused(
    db: Database, world: dict[str, int]
) -> None:
    repo = TutorRepository(db)
    with pytest.raises(NotStaffError):
        await repo.cohorts(SAM)
    with pytest.raises(NotStaffError):
        await repo.students(SAM, world["a"])
    with pytest.raises(NotStaffError):
        await repo.remove_member(SAM, world["a"], SAM)
    # A removed staff member loses access at once.
    await StaffRepository(db).remove(TUTOR_A)
    with pytest.raises(NotStaffError):
        await repo.students(TUTOR_A, world["a"])


async def test_tutor_cannot_read_patient_rows_or_bot_tables(
    db: Database, world: dict[str, int]
) -> None:
    async with db.student(TUTOR_A) as conn:
        # RLS: the tutor's own (empty) PTL, not their students'.
        assert await conn.fetchval("select count(*) from public.ptl_patients") == 0
        assert await conn.fetchval(
            "select count(*) from public.ptl_patients where user_email = $1", SAM
        ) == 0  # fmt: skip
    for table in ("cohort_members", "cohorts", "exercise_deliveries", "staff", "telegram_links"):
        async with db.student(TUTOR_A) as conn:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"select * from ptl_bot.{table}")
    # The internal helpers are not callable directly either.
    async with db.student(TUTOR_A) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("select ptl_tutor.assert_own_cohort($1)", world["a"])
    async with db.anonymous() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetch("select * from ptl_tutor.my_cohorts()")


async def test_summaries_carry_no_patient_details(db: Database, world: dict[str, int]) -> None:
    """Every column a tutor can get back, from every function: none is patient data."""
    async with db.student(TUTOR_A) as conn:
        rows = await conn.fetch(
            "select p.proname, pg_get_function_result(p.oid) as result"
            " from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
            " where n.nspname = 'ptl_tutor'"
            "   and has_function_privilege('authenticated', p.oid, 'execute')"
        )
    results = " ".join(r["result"] for r in rows)
    assert len(rows) == 9  # 040's six, 081's PTL summary detail, 070's answers and send
    for forbidden in ("patient", "nhs", "name text, nhs", "events", "notes"):
        assert forbidden not in results.replace("cohort_name", "")


async def test_remove_member(db: Database, world: dict[str, int]) -> None:
    repo = TutorRepository(db)
    assert await repo.remove_member(TUTOR_A, world["a"], SAM)
    assert not await repo.remove_member(TUTOR_A, world["a"], SAM)
    assert await repo.members(TUTOR_A, world["a"]) == []
    assert (await repo.cohort(TUTOR_A, world["a"])).members == 0


async def test_tutor_booking_counts_undated_at_risk_and_outcomes_missing(
    db: Database, world: dict[str, int]
) -> None:
    from bot.rules.bookings import new_booking
    from bot.rules.records import stored_booking_columns

    async with db.service() as conn:
        today: dt.date = await conn.fetchval("select ptl_bot.today()")
    now = dt.datetime.now(dt.UTC)
    start = today - dt.timedelta(days=61)  # breaches in 66 days: not at risk at 28
    past = [new_booking("first_appointment", today - dt.timedelta(days=11), added_by=SAM, now=now)]
    patient = _patient("Booked Sam Patient", start)
    patient.appointments = past
    for key, value in stored_booking_columns(past, "rtt", start, []).items():
        setattr(patient, key, value)
    await PatientRepository(db).add(SAM, patient)
    # Sam, as at the database's today: the world's two patients breached long ago, undated (at
    # risk); the booked one on track, its only booking passed with no outcome (and so undated).
    assert await TutorRepository(db).booking_counts(TUTOR_A, world["a"]) == {SAM: (2, 1)}
    # The operator's thresholds are recorded by the bot, not chosen by the caller: at 70 days
    # the booked one counts too.
    wider = TutorRepository(db, at_risk_days=(70, 7))
    assert await wider.booking_counts(TUTOR_A, world["a"]) == {SAM: (3, 1)}
    async with db.service() as conn:
        assert await conn.fetchval("select rtt_days from ptl_bot.at_risk_days") == 70
    with pytest.raises(NotYourCohortError):
        await wider.booking_counts(TUTOR_A, world["b"])
    # Neither a date nor a threshold can be passed any more (sweeping either recovered when
    # each undated patient breaches).
    with pytest.raises(asyncpg.PostgresError):
        async with db.student(TUTOR_A) as conn:
            await conn.fetch(
                "select * from ptl_tutor.cohort_bookings($1, $2::date, 28, 7)", world["a"], today
            )
