"""The exercise loop as a student and a tutor live it: Start, the quiz when ready, the answer
key, Mark as done that says what was recorded, the tutor's question-by-question view and
CSV, and students who join the cohort after the exercise went out."""

from __future__ import annotations

import csv
import io

import pytest

from storage.db import Database
from tests import harness
from tests.test_tutor_helpers import TUTOR_EMAIL, Class, make_class, student_email, tutor_bot


@pytest.fixture
async def bot(db: Database):
    instance = await tutor_bot(db)
    yield instance
    await harness.close_bot(instance)


async def _send(cls: Class, title: str, *, quiz: bool = True, due: str = "") -> None:
    tutor = cls.tutor
    await tutor.send("/broadcast")
    await tutor.press(next(label for label in tutor.last.button_labels if "Year 1" in label))
    await tutor.send(title)
    await tutor.send("Work through the patients, then take the quiz.")
    await tutor.press("No patients »")
    if quiz:
        await tutor.send(
            "Which code stops an RTT clock?\n10\n* 30\n20\n? 30: first definitive treatment."
        )
        await tutor.send("Is there a clock pause on RTT?\nYes\n* No")
        await tutor.press("Done with questions »")
    else:
        await tutor.press("No quiz »")
    if due:
        await tutor.send(due)
    else:
        await tutor.press("No due date »")
    await tutor.press("📣 Send")
    await cls.worker.drain()


async def test_the_quiz_waits_until_the_student_is_ready(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    await _send(cls, "Week 2")
    sam = cls.students[0]
    exercise = sam.last
    assert "📝 Quiz: 2 questions, when you are ready (after ▶️ Start)." in exercise.text
    await sam.press("▶️ Start", message=exercise)
    assert [m for m in sam.history if m.kind == "poll"] == []
    assert "▶️ Started." in exercise.text
    assert "Tap 📝 Take the quiz when you have worked through the exercise." in exercise.text
    # Marking it done before the quiz says so, and offers the quiz.
    (feedback,) = [m for m in await sam.press("✅ Mark as done", message=exercise)
                   if "marked as done" in m.text]  # fmt: skip
    assert "You haven't taken the quiz yet" in feedback.text
    assert feedback.button_labels == ["📝 Take the quiz"]
    assert exercise.button_labels == ["↩️ Not done yet"]
    replies = await sam.press("📝 Take the quiz", message=feedback)
    assert replies[0].text.startswith("📝 Week 2: 2 questions. Tap an answer in each")
    polls = [m for m in replies if m.kind == "poll"]
    assert [p.poll["question"] for p in polls] == [
        "Which code stops an RTT clock?",
        "Is there a clock pause on RTT?",
    ]
    await sam.answer_poll(polls[0].poll["id"], [1])
    replies = await sam.answer_poll(polls[1].poll["id"], [1])
    (key,) = [m for m in replies if m.text.startswith("📝 Week 2: answer key")]
    assert key.text == (
        "📝 Week 2: answer key\nYou got 2 of 2 right. All right: well done.\n\n"
        "1. Which code stops an RTT clock?\n✔ 30\n💡 30: first definitive treatment.\n\n"
        "2. Is there a clock pause on RTT?\n✔ No\n\n"
        "Mark the exercise as done when you have finished it."
    )
    assert "📝 Quiz: 2 of 2 right. The answer key is below." in exercise.text
    assert exercise.edited


async def test_an_exercise_without_a_quiz_never_offers_one(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    await _send(cls, "Week 3", quiz=False)
    sam = cls.students[0]
    await sam.press("▶️ Start", message=sam.last)
    assert sam.last_with_buttons().button_labels == ["✅ Mark as done", "📋 My PTL"]
    replies = await sam.press("✅ Mark as done")
    assert any(m.text == "✅ Week 3 marked as done. Your tutor sees it in their progress."
               for m in replies)  # fmt: skip


async def test_the_tutor_sees_every_question_and_the_csv_has_every_answer(
    bot: harness.Bot,
) -> None:
    cls = await make_class(bot, 2)
    await _send(cls, "Week 4")
    for i, picks in enumerate(([1, 1], [0, 1])):
        student = cls.students[i]
        await student.press("▶️ Start", message=student.last)
        await student.press("📝 Take the quiz")
        polls = [m for m in student.history if m.kind == "poll"]
        for poll, pick in zip(polls, picks, strict=True):
            await student.answer_poll(poll.poll["id"], [pick])
    tutor = cls.tutor
    await tutor.send("/progress")
    await tutor.press(tutor.last.button_labels[0])
    text = tutor.last.text
    assert "Quiz (2 questions): 2 students answered all, average 1.5/2 (75%)" in text
    assert (
        "📝 Question by question\n"
        "1. Which code stops an RTT clock?\n"
        "    ✔ 30 · 1 of 2 right (50%); most chosen wrong answer: “10” (1 student)\n"
        "2. Is there a clock pause on RTT?\n"
        "    ✔ No · 2 of 2 right (100%)"
    ) in text
    await tutor.press("⬇️ CSV")
    rows = list(csv.DictReader(io.StringIO(tutor.last.file_bytes.decode("utf-8-sig"))))
    by_email = {r["email"]: r for r in rows}
    assert by_email[student_email(0)]["q1_answer"] == "30"
    assert by_email[student_email(0)]["q1_correct"] == "yes"
    assert by_email[student_email(1)]["q1_answer"] == "10"
    assert by_email[student_email(1)]["q1_correct"] == "no"
    assert by_email[student_email(1)]["q2_correct"] == "yes"


async def test_late_joiners_get_open_exercises_and_the_tutor_can_send_the_rest(
    bot: harness.Bot,
) -> None:
    cls = await make_class(bot, 1)
    await _send(cls, "Due soon", quiz=False, due="4 Mar 2025")  # today is Mon 3 Mar 2025
    await _send(cls, "Open ended", quiz=False)
    bot.clock.advance(days=2)  # "Due soon" is now past its due date
    await bot.services.links.link(2000, 2000, "late@student.example", "Lee")
    late = bot.user(2000, "Lee")
    (joined,) = await late.send(f"/start {cls.invite}")
    assert "joined" in joined.text
    await cls.worker.drain()
    received = [m.text for m in late.history if "Exercise from your tutor" in m.text]
    assert len(received) == 1 and "Open ended" in received[0]  # the open one only
    (mine,) = await late.send("/exercises")
    assert [label.split(" · ")[0] for label in mine.button_labels] == ["🆕 Open ended"]

    # The tutor sees the late joiner on the past-due exercise, and can send it anyway.
    tutor = cls.tutor
    await tutor.send("/progress")
    await tutor.press(next(label for label in tutor.last.button_labels if "Due soon" in label))
    text = tutor.last.text
    assert "🆕 late@student.example" in text and "Delivered 1 of 2" in text
    assert "📨 Send to 1 new member" in tutor.last.button_labels
    await tutor.press("📨 Send to 1 new member")
    assert "🆕 late@student.example" not in tutor.last.text
    assert "📨 Send to 1 new member" not in tutor.last.button_labels
    await cls.worker.drain()
    assert len([m for m in late.history if "Exercise from your tutor" in m.text]) == 2
    exercises = await bot.services.tutoring.exercises(TUTOR_EMAIL)
    assert {e.title: e.recipients for e in exercises} == {"Due soon": 2, "Open ended": 2}
