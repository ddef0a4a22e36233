"""/broadcast end to end through the offline Bot API: preview, Send, the outbox worker under
Telegram's errors, students' Start / Mark as done / quiz, and /progress."""

from __future__ import annotations

from typing import Any

import pytest

from bot.rules.scenarios import SCENARIOS
from storage.db import Database
from tests import harness
from tests.test_tutor_helpers import (
    TUTOR_EMAIL,
    Class,
    broadcast_simple,
    make_class,
    student_email,
    tutor_bot,
)


@pytest.fixture
async def bot(db: Database):
    instance = await tutor_bot(db)
    yield instance
    await harness.close_bot(instance)


async def _deliveries(cls: Class) -> dict[str, tuple[str, int]]:
    async with cls.bot.services.db.service() as conn:
        rows = await conn.fetch("select email, status, attempts from ptl_bot.exercise_deliveries")
    return {r["email"]: (r["status"], r["attempts"]) for r in rows}


def _exercise_messages(cls: Class, student_index: int) -> list[str]:
    return [m.text for m in cls.students[student_index].history if m.text.startswith("📚")]


async def test_broadcast_end_to_end_with_blocked_and_rate_limited(bot: harness.Bot) -> None:
    cls = await make_class(bot, 5)
    tutor, api = cls.tutor, cls.api
    blocked, slowed = cls.students[1], cls.students[3]
    api.fail(blocked.chat_id, "forbidden", methods={"sendMessage"})
    api.fail(slowed.chat_id, "retry_after", times=1, retry_after=1, methods={"sendMessage"})

    await tutor.send("/broadcast")
    assert "Which cohort" in tutor.last.text
    await tutor.press("Year 1 Group A · 5")
    await tutor.send("Week 3: breach triage")
    await tutor.send("Put your PTL in breach order & book the <two> most urgent.")
    assert "scenario patients" in tutor.last.text
    await tutor.press("18-week breach triage (7)")
    assert "Answer key" in tutor.last.text and "Margaret Thornbury" in tutor.last.text
    await tutor.press("✅ Use this scenario")
    await tutor.press("📝 Use the scenario's 3 questions")
    assert "3 questions added" in tutor.last.text
    await tutor.send("Which pathway has no clock pauses?\n* RTT\nNone of them")
    assert "Question 4 added" in tutor.last.text
    await tutor.press("Done with questions »")
    replies = await tutor.send("14/03/2025")
    # The preview: the four quiz polls as students get them, then one message.
    assert [m.kind for m in replies] == ["poll"] * 4 + ["text"]
    preview = replies[-1]
    assert preview.text.startswith("👀 Preview")
    assert preview.button_labels == ["📣 Send", "« Back", "✖ Cancel"]
    assert "Send <b>" not in preview.text and "(5 students)?" in preview.text
    previewed = preview.text
    await tutor.press("📣 Send")
    assert "Sending: 0 of 5" in tutor.last.text

    report = await cls.worker.drain()
    assert report.sent == 4 and report.blocked == 1 and report.retried == 1

    for i in (0, 2, 3, 4):
        messages = _exercise_messages(cls, i)
        assert len(messages) == 1, i  # exactly once, exactly as previewed
        assert f"──────────\n{messages[0]}\n──────────" in previewed
    assert _exercise_messages(cls, 1) == []
    statuses = await _deliveries(cls)
    assert statuses[student_email(1)][0] == "blocked"
    assert statuses[student_email(3)] == ("sent", 1)  # the 429 did not use up an attempt
    tries = [c for c in api.calls_to("sendMessage") if c.params["chat_id"] == slowed.chat_id]
    assert sum(1 for c in tries if str(c.params["text"]).startswith("📚")) == 2
    assert await bot.services.links.active_for_user(blocked.user_id) is None  # 403: inactive
    progress = tutor.last
    assert progress.edited and "Delivered to 4 of 5, 1 blocked" in progress.text
    assert "they blocked the bot" in progress.text
    assert "🔁 Resend to 1" in progress.button_labels
    assert "&lt;two&gt;" in next(
        m.html for m in cls.students[0].history if m.text.startswith("📚")
    )  # the tutor's text is escaped


async def test_students_start_twice_quiz_and_progress(bot: harness.Bot) -> None:
    cls = await make_class(bot, 3)
    tutor = cls.tutor
    await tutor.send("/broadcast")
    await tutor.press("Year 1 Group A · 3")
    await tutor.send("Week 4: DNAs")
    await tutor.send("Find the nullified clocks.")
    dna = SCENARIOS["dna_nullification"]
    await tutor.press(f"{dna.title} ({len(dna.patients)})")
    await tutor.press("✅ Use this scenario")
    await tutor.press("📝 Use the scenario's 3 questions")
    await tutor.press("Done with questions »")
    await tutor.press("No due date »")
    await tutor.press("📣 Send")
    await cls.worker.drain()

    ann, ben, _cat = cls.students
    exercise_message = ann.last
    assert exercise_message.button_labels == ["▶️ Start", "✅ Mark as done"]
    first = await ann.press("▶️ Start", message=exercise_message)
    n = len(SCENARIOS["dna_nullification"].patients)
    assert any(f"{n} patients added to your PTL" in m.text for m in first)
    assert [m for m in ann.history if m.kind == "poll"] == []  # the quiz waits
    # The exercise message now says it has started, and offers the quiz.
    assert "press ▶️ Start" not in exercise_message.text
    assert f"▶️ Started: {n} scenario patients on your PTL" in exercise_message.text
    assert exercise_message.button_labels == ["📝 Take the quiz", "✅ Mark as done", "📋 My PTL"]
    # Pressing Start again (an old copy of the buttons) imports nothing.
    again = await ann.press_data(f"ex:s:{_exercise_id(exercise_message)}", message=exercise_message)
    assert any("already started" in m.text for m in again)
    await ann.press("📝 Take the quiz", message=exercise_message)
    polls = [m for m in ann.history if m.kind == "poll"]
    assert len(polls) == 3 and polls[0].poll["type"] == "quiz"
    assert polls[0].poll["is_anonymous"] is False
    assert exercise_message.button_labels == ["✅ Mark as done", "📋 My PTL"]
    # A second press of an old Take the quiz sends nothing twice.
    await ann.press_data(f"ex:q:{_exercise_id(exercise_message)}", message=exercise_message)
    assert len([m for m in ann.history if m.kind == "poll"]) == 3
    patients = await bot.services.patients.list(student_email(0))
    assert len(patients) == len(SCENARIOS["dna_nullification"].patients)
    assert all(p.notes and p.notes.startswith("[Exercise ") for p in patients)
    elsie = next(p for p in patients if p.patient_name == "Elsie Marchbank")
    assert elsie.clock_state == "nullified"
    assert (bot.clock.today() - elsie.clock_start_date).days == 40  # relative to import day
    # Ben's PTL is untouched: the import went to Ann only.
    assert await bot.services.patients.list(student_email(1)) == []

    # Quiz answers: Ann gets 2 of 3 right.
    questions = SCENARIOS["dna_nullification"].questions
    await ann.answer_poll(polls[0].poll["id"], [questions[0].correct])
    await ann.answer_poll(polls[1].poll["id"], [questions[1].correct])
    last = await ann.answer_poll(polls[2].poll["id"], [(questions[2].correct + 1) % 3])
    key = next(m for m in last if "answer key" in m.text)
    assert "You got 2 of 3 right." in key.text
    assert "✖ You chose:" in key.text and "💡" in key.text  # the tutor's explanation
    assert await ann.answer_poll(polls[2].poll["id"], [questions[2].correct]) == []  # no 2nd go
    assert "📝 Quiz: 2 of 3 right. The answer key is below." in exercise_message.text
    done = await ann.press("✅ Mark as done", message=exercise_message)
    assert any("marked as done. Quiz: 2 of 3 right." in m.text for m in done)
    assert "You marked this as done" in exercise_message.text
    # Ben opens it (Mark as done without Start); Cat does nothing.
    await ben.press("✅ Mark as done", message=ben.last_with_buttons())

    await tutor.send("/progress")
    await tutor.press(tutor.last.button_labels[0])
    text = tutor.last.text
    assert "Delivered 3 of 3 · opened 2 · started 1 · done 2" in text
    assert "Quiz (3 questions): 1 student answered all, average 2.0/3 (67%)" in text
    n = len(SCENARIOS["dna_nullification"].patients)
    assert f"✅ {student_email(0)} · quiz 2/3 · {n} patients imported" in text
    assert f"Not opened yet (1): {student_email(2)}" in text
    assert "Question by question" in text and "1 of 1 right (100%)" in text
    assert "0 of 1 right (0%); most chosen wrong answer:" in text
    # Summaries only: no patient of any student reaches the tutor.
    await tutor.send("/students")
    await tutor.press("Year 1 Group A · 3")
    n = len(SCENARIOS["dna_nullification"].patients)
    # "Breached" is counted as at the database's own date (sql/052), which the test's fixed
    # clock (March 2025) does not move: by then every running scenario clock has breached.
    breached = sum(p.clock_state == "running" and p.breach_date is not None for p in patients)
    assert f"{student_email(0)}\n    PTL {n} · breached {breached}" in tutor.last.text
    for m in tutor.history:
        if m.kind == "text" and not m.text.startswith("🧑‍⚕️"):  # the tutor's own answer key
            # (the quiz's own questions and answers are the tutor's words, not a PTL's)
            shown = m.text.split("📝 Question by question")[0]
            assert "Elsie" not in shown and "999" not in m.text
    await tutor.press("⬇️ CSV")
    assert tutor.last.kind == "document" and tutor.last.file_bytes
    assert b"Elsie" not in tutor.last.file_bytes


def _exercise_id(message: Any) -> str:
    data = next(b.callback_data for row in message.buttons for b in row if b.callback_data)
    return str(data).rsplit(":", 1)[1]


async def test_csv_upload_refused_line_by_line_then_accepted(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    tutor = cls.tutor
    await tutor.send("/broadcast")
    await tutor.press("Year 1 Group A · 1")
    await tutor.send("Own scenario")
    await tutor.send("Work through these.")
    await tutor.press("⬆️ Upload a CSV")
    template, layout = tutor.history[-2:]
    assert template.kind == "document" and "patient_name" in layout.text
    assert template.file_name == "exercise_patients_template.csv"
    bad = (
        b"patient_name,nhs_number,pathway_type,clock_start,events\n"
        b"Ann Example,,rtt,-30,\n"
        b"Bob Example,9434765919,rtt,-30,\n"
        b"Cy Example,,weekly,-30,activity@-10\n"
    )
    await tutor.send_document("week5.csv", bad)
    assert "3 problem" not in tutor.last.text
    assert "has 2 problems, so nothing from it was used" in tutor.last.text
    assert "Line 3, nhs_number" in tutor.last.text and "Line 4, pathway_type" in tutor.last.text
    await tutor.send("oops, text")
    assert "as a file" in tutor.last.text
    good = b"patient_name,pathway_type,clock_start,events\nAnn Example,rtt,-30,activity@-10\n"
    await tutor.send_document("week5.csv", good)
    # The same summary as a built-in scenario: each patient, their pathway and clock start.
    ready = tutor.last.text
    assert "week5.csv: 1 patient ready.\n• Ann Example: 18-week RTT, clock started" in ready
    assert "quiz questions" in ready  # the next step follows in the same message
    await tutor.press("No quiz »")
    await tutor.press("No due date »")
    await tutor.press("📣 Send")
    await cls.worker.drain()
    student = cls.students[0]
    await student.press("▶️ Start")
    [patient] = await bot.services.patients.list(student_email(0))
    assert patient.patient_name == "Ann Example" and patient.nhs_number.startswith("999")
    assert (bot.clock.today() - patient.clock_start_date).days == 30


async def test_back_cancel_and_validation_in_the_form(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    tutor = cls.tutor
    await tutor.send("/broadcast")
    await tutor.press("Year 1 Group A · 1")
    await tutor.send("x" * 121)
    assert "keep it to 120" in tutor.last.text
    await tutor.send("Title")
    await tutor.press("« Back")
    assert "Currently: <b>Title</b>" in tutor.last.html
    await tutor.send("Better title")
    await tutor.send("Brief")
    await tutor.press("No patients »")
    await tutor.send("Not a question")
    assert "at least two answers" in tutor.last.text
    await tutor.press("No quiz »")
    await tutor.send("01/01/2025")
    assert "in the past" in tutor.last.text
    replies = await tutor.press("✖ Cancel")
    assert "Nothing was sent" in replies[-1].text
    async with bot.services.db.service() as conn:
        assert await conn.fetchval("select count(*) from ptl_bot.exercises") == 0
    # A stale button from the closed form is answered, not ignored.
    await tutor.press_data("bcf:nd", message=tutor.last)


async def test_double_send_creates_one_exercise(bot: harness.Bot) -> None:
    cls = await make_class(bot, 2)
    await broadcast_simple(cls)
    confirm = cls.tutor.last
    await cls.tutor.press_data("bcf:send", message=confirm)  # a second press
    await cls.worker.drain()
    async with bot.services.db.service() as conn:
        assert await conn.fetchval("select count(*) from ptl_bot.exercises") == 1
    for i in range(2):
        assert len(_exercise_messages(cls, i)) == 1


async def test_non_tutor_cannot_broadcast(bot: harness.Bot) -> None:
    await bot.services.links.link(5, 5, "sam@student.example", "Sam")
    sam = bot.user(5)
    await sam.send("/broadcast")
    assert "for tutors" in sam.last.text
    await sam.send("/progress")  # a student's /progress is their own record (issue 17)
    assert "Nothing to show yet" in sam.last.text


async def test_student_cannot_start_an_exercise_not_sent_to_them(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    await broadcast_simple(cls, scenario="Long waiters")
    await cls.worker.drain()
    await bot.services.links.link(66, 66, "outsider@student.example", "Out")
    outsider = bot.user(66)
    message = cls.students[0].last
    await outsider.press_data(message.buttons[0][0].callback_data or "", message=message)
    assert await bot.services.patients.list("outsider@student.example") == []
    exercises = await bot.services.tutoring.exercises(TUTOR_EMAIL)
    assert exercises[0].done == 0
