"""Cohorts from the tutor's side: create, join through the link, list, members, remove,
rotate the invite (old links stop working), and tutors kept to their own cohorts."""

from __future__ import annotations

import pytest

from storage.db import Database
from tests import harness
from tests.test_tutor_helpers import (
    INVITE,
    TUTOR_EMAIL,
    make_class,
    make_tutor,
    student_email,
    tutor_bot,
)


@pytest.fixture
async def bot(db: Database):
    instance = await tutor_bot(db)
    yield instance
    await harness.close_bot(instance)


async def test_create_join_list_and_members(bot: harness.Bot) -> None:
    cls = await make_class(bot, 3)
    tutor = cls.tutor
    # The student is told they joined.
    assert any("joined" in m.text and "Year 1 Group A" in m.text for m in cls.students[0].history)
    await tutor.send("/cohorts")
    assert tutor.last.text.startswith("👥 Your cohorts")
    assert tutor.last.button_labels == ["Year 1 Group A · 3", "➕ New cohort"]
    await tutor.press("Year 1 Group A · 3")
    assert "3 members" in tutor.last.text
    assert cls.invite in tutor.last.text
    await tutor.press("👤 Members")
    text = tutor.last.text
    assert "3 members" in text
    assert all(student_email(i) in text for i in range(3))
    assert "🟢 linked" in text and "last active" in text


async def test_cohort_command_needs_a_tutor_and_a_name(bot: harness.Bot) -> None:
    await bot.services.links.link(1, 1, "sam@student.example", "Sam")
    sam = bot.user(1)
    await sam.send("/cohort new Sneaky")
    assert "for tutors" in sam.last.text
    async with bot.services.db.service() as conn:
        assert await conn.fetchval("select count(*) from ptl_bot.cohorts") == 0
    tutor = await make_tutor(bot)
    # /cohort new with no name asks for it, and keeps asking until the name will do.
    await tutor.send("/cohort new")
    assert "What should it be called?" in tutor.last.text
    await tutor.send("x" * 81)
    assert "80 characters" in tutor.last.text and "What should it be called?" in tutor.last.text
    (created,) = await tutor.send("Year 2 <b>Group</b> & Co")
    assert "Cohort <b>Year 2 <b>Group</b> & Co</b> created" not in created.text
    assert "Year 2 <b>Group</b> & Co" in created.text  # escaped, shown literally
    await tutor.send("/cohort new " + "x" * 81)
    assert "80 characters" in tutor.last.text
    await tutor.send("/cohort new <b>Group</b> & Co")
    assert "<b>Group</b> & Co" in tutor.last.text  # escaped, shown literally
    async with bot.services.db.service() as conn:
        assert await conn.fetchval("select count(*) from ptl_bot.cohorts") == 2


async def test_rotate_invite_old_link_stops_working(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    tutor = cls.tutor
    await tutor.send("/cohorts")
    await tutor.press("Year 1 Group A · 1")
    await tutor.press("🔄 New invite link")
    assert "stops working" in tutor.last.text
    await tutor.press("🔄 Yes, replace it")
    new = INVITE.search(tutor.last.text)
    assert new and new.group(1) != cls.invite
    # A newcomer with the old link is told it was replaced; with the new one they join.
    await bot.services.links.link(77, 77, "late@student.example", "Late")
    late = bot.user(77, "Late")
    await late.send(f"/start {cls.invite}")
    assert "doesn't work any more" in "\n".join(m.text for m in late.history)
    assert (await bot.services.tutoring.cohort(TUTOR_EMAIL, cls.cohort_id)).members == 1
    await late.send(f"/start {new.group(1)}")
    assert (await bot.services.tutoring.cohort(TUTOR_EMAIL, cls.cohort_id)).members == 2


async def test_remove_member(bot: harness.Bot) -> None:
    cls = await make_class(bot, 2)
    tutor = cls.tutor
    await tutor.send("/cohorts")
    await tutor.press("Year 1 Group A · 2")
    await tutor.press("👤 Members")
    # Each removal button names the member it removes.
    assert [b for b in tutor.last.button_labels if b.startswith("✖")] == [
        f"✖ Remove 1. {student_email(0)}",
        f"✖ Remove 2. {student_email(1)}",
    ]
    await tutor.press(f"✖ Remove 1. {student_email(0)}")
    assert "Remove" in tutor.last.text and student_email(0) in tutor.last.text
    await tutor.press("✖ Yes, remove")
    assert any("removed" in m.text for m in tutor.history[-3:])
    members = await bot.services.tutoring.members(TUTOR_EMAIL, cls.cohort_id)
    assert [m.email for m in members] == [student_email(1)]


async def test_another_tutor_cannot_open_my_cohort(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    other = await make_tutor(bot, 901, "other.tutor@college.example")
    await other.send("/cohorts")
    assert "no cohorts" in other.last.text
    # Even with a hand-made button press for my cohort, the database refuses.
    card = cls.tutor.last
    for data in (f"co:v:{cls.cohort_id}", f"co:m:{cls.cohort_id}:0", f"co:ry:{cls.cohort_id}",
                 f"st:c:{cls.cohort_id}:0"):  # fmt: skip
        await other.press_data(data, message=card)
    cohort = await bot.services.tutoring.cohort(TUTOR_EMAIL, cls.cohort_id)
    assert INVITE.search(f"https://t.me/ptl_trainer_bot?start=join_{cohort.invite_code}")
    assert f"join_{cohort.invite_code}" == cls.invite  # not rotated by the other tutor
    assert not any(student_email(0) in m.text for m in other.history)
