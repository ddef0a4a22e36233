"""Helpers shared by the tutoring tests (no tests here): a bot with the tutoring handlers,
a linked tutor, linked students, a cohort they joined through the real invite link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.runtime.offline import ChatUser, OfflineBotAPI
from bot.services.outbox import WORKER_KEY, OutboxWorker, worker_of
from storage.db import Database
from tests import harness

TUTOR_EMAIL = "tess.tutor@college.example"
TUTOR_ID = 900
INVITE = re.compile(r"https://t\.me/ptl_trainer_bot\?start=(join_[A-Za-z0-9_-]+)")


def register_tutoring(app: Application) -> None:  # type: ignore[type-arg]
    """Until handlers/__init__.py lists them: add the tutoring handlers to a test bot."""
    if WORKER_KEY in app.bot_data:
        return
    from handlers import broadcast, cohorts, exercises, progress

    cohorts.register(app)
    broadcast.register(app)
    exercises.register(app)
    progress.register(app)


async def tutor_bot(db: Database, **kw: Any) -> harness.Bot:
    return await harness.make_bot(db, setup=register_tutoring, **kw)


def student_email(i: int) -> str:
    return f"student{i:04d}@student.example"


@dataclass
class Class:
    bot: harness.Bot
    tutor: ChatUser
    students: list[ChatUser]
    cohort_id: int
    invite: str

    @property
    def worker(self) -> OutboxWorker:
        return worker_of(self.bot.app)

    @property
    def api(self) -> OfflineBotAPI:
        return self.bot.api


async def make_tutor(
    bot: harness.Bot, user_id: int = TUTOR_ID, email: str = TUTOR_EMAIL
) -> ChatUser:
    await bot.services.links.link(user_id, user_id, email, "Tess")
    await bot.services.staff.add(email, "tutor")
    return bot.user(user_id, "Tess")


async def make_class(bot: harness.Bot, n: int, name: str = "Year 1 Group A") -> Class:
    tutor = await make_tutor(bot)
    replies = await tutor.send(f"/cohort new {name}")
    match = INVITE.search(replies[-1].text)
    assert match, replies[-1].text
    students = []
    for i in range(n):
        user_id = 1000 + i
        await bot.services.links.link(user_id, user_id, student_email(i), f"S{i}")
        student = bot.user(user_id, f"S{i}")
        await student.send(f"/start {match.group(1)}")
        students.append(student)
    cohorts = await bot.services.tutoring.cohorts(TUTOR_EMAIL)
    cohort = next(c for c in cohorts if c.name == name)
    assert cohort.members == n
    return Class(bot, tutor, students, cohort.cohort_id, match.group(1))


async def broadcast_simple(
    cls: Class, title: str = "Week 1 triage", brief: str = "Order your PTL.", scenario: str = ""
) -> None:
    """Drive /broadcast to the Send press (no quiz, no due date unless a scenario is given)."""
    tutor = cls.tutor
    await tutor.send("/broadcast")
    await tutor.press(next(label for label in tutor.last.button_labels if "Year 1" in label))
    await tutor.send(title)
    await tutor.send(brief)
    if scenario:
        await tutor.press(next(lb for lb in tutor.last.button_labels if lb.startswith(scenario)))
        await tutor.press("✅ Use this scenario")
    else:
        await tutor.press("No patients »")
    await tutor.press("No quiz »")
    await tutor.press("No due date »")
    await tutor.press("📣 Send")
