"""Quiz polls: sent as plain text whatever the tutor typed (issue 14, point 6), and answers
credited only to the linked account each poll was sent to (point 7)."""

from __future__ import annotations

import pytest

from storage.db import Database
from tests import harness
from tests.test_tutor_helpers import Class, make_class, student_email, tutor_bot

QUESTION = (
    "Is 17 < 18 & 18 > 17 <b>always</b>?\n* Yes, 17 < 18\nNo & never\n? A <i> is not a tag here"
)


@pytest.fixture
async def bot(db: Database):
    instance = await tutor_bot(db)
    yield instance
    await harness.close_bot(instance)


async def _broadcast_with_question(cls: Class) -> None:
    tutor = cls.tutor
    await tutor.send("/broadcast")
    await tutor.press(next(label for label in tutor.last.button_labels if "Year 1" in label))
    await tutor.send("Comparisons")
    await tutor.send("Answer the quiz.")
    await tutor.press("No patients »")
    await tutor.send(QUESTION)
    assert "Question 1 added" in tutor.last.text
    replies = await tutor.press("Done with questions »")
    replies += await tutor.press("No due date »")
    polls = [m for m in replies if m.kind == "poll"]
    assert len(polls) == 1, [m.text for m in replies]  # the preview has it
    assert polls[0].poll["question"] == "Is 17 < 18 & 18 > 17 <b>always</b>?"
    await tutor.press("📣 Send")
    await cls.worker.drain()


async def _start(cls: Class, index: int) -> dict:
    student = cls.students[index]
    exercise = student.last_with_buttons()
    await student.press("▶️ Start", message=exercise)
    await student.press("📝 Take the quiz", message=exercise)
    polls = [m for m in student.history if m.kind == "poll"]
    assert len(polls) == 1
    return polls[0].poll


async def _answers(cls: Class) -> dict[str, bool]:
    async with cls.bot.services.db.service() as conn:
        rows = await conn.fetch("select email, correct from ptl_bot.quiz_answers")
    return {r["email"]: r["correct"] for r in rows}


async def test_a_question_with_html_characters_reaches_students_as_typed(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    await _broadcast_with_question(cls)
    poll = await _start(cls, 0)
    assert poll["question"] == "Is 17 < 18 & 18 > 17 <b>always</b>?"
    assert [o["text"] for o in poll["options"]] == ["Yes, 17 < 18", "No & never"]
    assert poll["explanation"] == "A <i> is not a tag here"
    sent = bot.api.calls_to("sendPoll")[-1].params
    assert not sent.get("question_parse_mode") and not sent.get("explanation_parse_mode")


async def test_an_answer_from_another_account_is_not_credited(bot: harness.Bot) -> None:
    cls = await make_class(bot, 2)
    await _broadcast_with_question(cls)
    poll = await _start(cls, 0)
    ann, ben = cls.students
    stranger = bot.user(4242, "Forwarded")
    await stranger.answer_poll(poll["id"], [1])  # someone Ann forwarded the poll to
    await ben.answer_poll(poll["id"], [1])  # a linked student, but not the poll's owner
    assert await _answers(cls) == {}
    await ann.answer_poll(poll["id"], [0])  # the owner's own answer still counts
    assert await _answers(cls) == {student_email(0): True}


async def test_an_unlinked_owner_is_no_longer_credited(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    await _broadcast_with_question(cls)
    poll = await _start(cls, 0)
    await bot.services.links.unlink(cls.students[0].user_id)
    await cls.students[0].answer_poll(poll["id"], [0])
    assert await _answers(cls) == {}
