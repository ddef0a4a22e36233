"""/progress for a student: figures counted in SQL as the student, checked against the same
history counted in Python (tests/progress_support.py); every figure a button."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from bot.messages import my_progress as text
from bot.services.progress import StudentRecordService
from storage.db import Database
from storage.progress import FindingIn, ProgressRepository
from tests.harness import TODAY, Bot
from tests.progress_support import EMAIL, HISTORY, OTHER, expected, write_history
from tests.ptl_support import add_patient

LONDON = "Europe/London"


async def _record(bot: Bot):  # type: ignore[no-untyped-def]
    service = StudentRecordService(bot.services.db, bot.services.settings.tz)
    return await service.record(EMAIL, TODAY)


@pytest.mark.parametrize("recent", [True, False])
async def test_figures_match_an_independent_count(bot: Bot, recent: bool) -> None:
    await write_history(bot.services.db)
    record = await _record(bot)
    got = {k: f.count(recent) for k, f in record.figures.items() if f.count(recent)}
    assert got == expected(recent)
    # The history is varied enough that every main figure is non-zero since the start.
    if not recent:
        for key in ("added", "updated", "events", "stopped_in_time", "stopped_late",
                    "breach_let_happen"):  # fmt: skip
            assert got.get(key), key


async def test_patients_behind_figures_and_pathways(bot: Bot) -> None:
    ids = await write_history(bot.services.db)
    record = await _record(bot)
    assert record.figure("breach_let_happen").patients(False) == tuple(
        sorted([ids["Bea Bryant"], ids["Eve Evans"]])
    )
    assert record.figure("breach_let_happen").patients(True) == (ids["Eve Evans"],)
    assert record.figure("stopped_late").patients(False) == (ids["Bea Bryant"],)
    # Hal Hart came with an exercise: not "added" by the student; their own event counts.
    assert ids["Hal Hart"] not in record.figure("added").patients(False)
    assert ids["Hal Hart"] in record.figure("event:treatment_started").patients(False)
    # The platform row's code 34 "Discharged to GP" is a discharge, its code 30 a treatment.
    assert ids["Gil Grant"] in record.figure("event:discharged").patients(False)
    # Legacy "routine" is RTT; the record starts on the first patient's day.
    mine = [s for s in HISTORY if s.email == EMAIL and not s.deleted]
    assert record.pathways == {"rtt": len(mine) - 1, "cancer_62": 1}
    assert record.started_on == min(s.added for s in HISTORY if s.email == EMAIL)


async def test_rows_of_other_students_and_deleted_rows_never_count(bot: Bot) -> None:
    ids = await write_history(bot.services.db)
    record = await _record(bot)
    seen = {i for f in record.figures.values() for i in f.ids_all}
    assert ids["Jo Jones"] not in seen and ids["Ivy Ives"] not in seen
    other = await StudentRecordService(bot.services.db, bot.services.settings.tz).record(
        OTHER, TODAY
    )
    assert {i for f in other.figures.values() for i in f.ids_all} == {ids["Jo Jones"]}


async def test_findings_found_and_later_fixed(bot: Bot) -> None:
    ids = await write_history(bot.services.db)
    repo = ProgressRepository(bot.services.db)
    ada, bea = ids["Ada Ashby"], ids["Bea Bryant"]
    first = dt.datetime(2025, 1, 10, 10, tzinfo=dt.UTC)
    later = dt.datetime(2025, 2, 20, 10, tzinfo=dt.UTC)
    await repo.record_findings(
        EMAIL, [ada, bea],
        [FindingIn(ada, "event_before_start", "error"), FindingIn(bea, "no_effect", "warning")],
        at=first,
    )  # fmt: skip
    # A later check of Ada alone no longer reports hers: fixed then. Bea's is untouched.
    await repo.record_findings(EMAIL, [ada], [], at=later)
    record = await _record(bot)
    assert record.figure("finding_found").count(False) == 2
    assert record.figure("finding_found").count(True) == 0
    assert record.figure("finding_fixed").patients(True) == (ada,)
    # Another student cannot see or fix them.
    await repo.record_findings(OTHER, [bea], [], at=later)
    assert (await _record(bot)).figure("finding_fixed").count(False) == 1


async def _exercise_with_quiz(db: Database, email: str) -> int:
    async with db.service() as conn:
        cohort = await conn.fetchval(
            "insert into ptl_bot.cohorts (name, tutor_email, invite_code)"
            " values ('Y1', 'tess@uni.example', 'c0de') returning id"
        )
        exercise = await conn.fetchval(
            "insert into ptl_bot.exercises (cohort_id, tutor_email, title, brief, draft_token)"
            " values ($1, 'tess@uni.example', '18-week triage', 'Find the breaches', 't1')"
            " returning id",
            cohort,
        )
        for pos, (q, opts, right, why) in enumerate(
            [("When does the RTT clock start?", ["GP letter date", "Receipt of referral"], 1,
              "It starts when the provider receives the referral."),
             ("Day 126 of an RTT wait is?", ["Breached", "Compliant"], 1, "Day 127 breaches.")]
        ):  # fmt: skip
            await conn.execute(
                "insert into ptl_bot.exercise_questions"
                " (exercise_id, position, question, options, correct_option, explanation)"
                " values ($1, $2, $3, $4, $5, $6)",
                exercise, pos, q, opts, right, why,
            )  # fmt: skip
        await conn.execute(
            "insert into ptl_bot.exercise_deliveries (exercise_id, email, status, sent_at,"
            " started_at, done_at) values ($1, $2, 'sent', $3, $3, $4)",
            exercise, email, dt.datetime(2025, 2, 10, 9, tzinfo=dt.UTC),
            dt.datetime(2025, 2, 11, 9, tzinfo=dt.UTC),
        )  # fmt: skip
        for pos, chosen in ((0, 0), (1, 1)):
            await conn.execute(
                "insert into ptl_bot.quiz_answers (exercise_id, email, position, option_id,"
                " correct) values ($1, $2, $3, $4, $5)",
                exercise, email, pos, chosen, chosen == 1,
            )  # fmt: skip
    return int(exercise)


async def test_exercises_and_quiz_answers_are_the_students_own(bot: Bot) -> None:
    await _exercise_with_quiz(bot.services.db, EMAIL)
    record = await _record(bot)
    (exercise,) = record.exercises
    assert (exercise.title, exercise.done_on, exercise.correct, exercise.questions) == (
        "18-week triage",
        dt.date(2025, 2, 11),
        1,
        2,
    )
    wrong = exercise.results[0]
    assert not wrong.correct and wrong.chosen == "GP letter date"
    assert wrong.right_answer == "Receipt of referral" and "receives" in (wrong.explanation or "")
    other = await StudentRecordService(bot.services.db, bot.services.settings.tz).record(
        OTHER, TODAY
    )
    assert other.exercises == []


async def test_the_student_functions_refuse_anon_and_show_nothing_to_others(db: Database) -> None:
    await _exercise_with_quiz(db, EMAIL)
    async with db.student(OTHER) as conn:
        assert await conn.fetch("select * from ptl_student.my_quiz_answers()") == []
        assert await conn.fetch("select * from ptl_student.my_exercises()") == []
        assert await conn.fetch("select * from ptl_student.findings") == []
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.student(EMAIL) as conn:
            await conn.fetch("select * from ptl_bot.quiz_answers")  # the tables stay closed
    for query in ("select * from ptl_student.my_exercises()", "select * from ptl_student.findings"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with db.service() as conn, conn.transaction():
                await conn.execute("set local role anon")
                await conn.fetch(query)


async def test_progress_in_the_chat_every_figure_a_button(bot: Bot) -> None:
    ids = await write_history(bot.services.db)
    await _exercise_with_quiz(bot.services.db, EMAIL)
    await bot.services.links.link(901, 901, EMAIL, "Sam")
    sam = bot.user(901)
    (reply,) = await sam.send("/progress")
    want = expected(recent=True)
    assert "Last 4 weeks (4 Feb 2025 to 3 Mar 2025)" in reply.text
    for key in ("added", "updated", "events", "breach_let_happen"):
        assert f"{text.FIGURE_LABELS[key]}: {want.get(key, 0)}" in reply.text
        if want.get(key):
            assert f"{text.FIGURE_LABELS[key]} ({want[key]})" in reply.button_labels
    assert "Exercises done: 1 of 1" in reply.text and "18-week triage: 1 of 2 right" in reply.text
    # Since the start: Bea's old breach appears, and its button lists the patients.
    (reply,) = await sam.press(text.SHOW_ALL)
    assert "Since you started (1 Sep 2024)" in reply.text
    (reply,) = await sam.press(f"{text.FIGURE_LABELS['breach_let_happen']} (2)")
    assert "Bea Bryant" in reply.button_labels and "Eve Evans" in reply.button_labels
    (card,) = await sam.press("Eve Evans")
    assert "Eve Evans" in card.text and ids["Eve Evans"]
    # Quiz answers, with the explanation for the wrong one.
    await sam.send("/progress")
    (quiz,) = await sam.press(text.QUIZ_BUTTON)
    assert "❌ Q1. When does the RTT clock start?" in quiz.text
    assert "You answered: GP letter date" in quiz.text and "receives the referral" in quiz.text
    assert "✅ Q2." in quiz.text


async def test_tutors_keep_their_progress_and_strangers_are_told_to_link(bot: Bot) -> None:
    await bot.services.staff.add("tess@uni.example", "tutor")
    await bot.services.links.link(902, 902, "tess@uni.example", "Tess")
    (reply,) = await bot.user(902).send("/progress")
    assert "Your progress" not in reply.text  # the tutor's exercise list (or none yet)
    replies = await bot.user(903).send("/progress")
    assert len(replies) == 1 and "Your progress" not in replies[0].text


async def test_empty_record_says_how_it_builds(bot: Bot) -> None:
    await bot.services.links.link(901, 901, EMAIL, "Sam")
    (reply,) = await bot.user(901).send("/progress")
    assert reply.text.startswith("📈 Nothing to show yet")


async def test_validate_records_findings_and_a_later_clean_check_fixes_them(bot: Bot) -> None:
    await bot.services.links.link(901, 901, EMAIL, "Sam")
    patient = await add_patient(
        bot, "Kit Kaur", TODAY - dt.timedelta(days=40),
        events=[("activity", TODAY - dt.timedelta(days=50))],  # before the clock start
    )  # fmt: skip
    sam = bot.user(901)
    await sam.send("/validate")
    record = await _record(bot)
    assert record.figure("finding_found").patients(True) == (patient.patient_id,)
    assert record.figure("finding_fixed").count(False) == 0
    await bot.services.patients.update(EMAIL, patient.patient_id, patient.version, {"events": []})
    await sam.send("/validate")
    record = await _record(bot)
    assert record.figure("finding_fixed").patients(True) == (patient.patient_id,)
    (reply,) = await sam.send("/progress")
    assert f"{text.FIGURE_LABELS['finding_fixed']}: 1" in reply.text
