"""Helpers for the /add and /update conversation tests: a linked student, the valid answer
for each /add step, and a look at what was (or wasn't) written."""

from __future__ import annotations

import re
from typing import Any

from bot.runtime.offline import ChatUser, SentMessage
from storage.db import Database
from tests.harness import Bot

EMAIL = "sam@student.example"
SAM = 501

STEPS = ("name", "nhs", "spec", "path", "ref", "start", "prio", "cons", "notes")
VALID: dict[str, tuple[str, str]] = {
    "name": ("send", "Jane Doe"),
    "nhs": ("press", "🎲 Use a test number"),
    "spec": ("press", "110 Trauma & Ortho"),
    "path": ("press", "18-week RTT"),
    "ref": ("send", "3 Feb 2025"),
    "start": ("press", "4 weeks ago · 3 Feb 2025"),
    "prio": ("press", "Routine"),
    "cons": ("send", "Ms A Patel"),
    "notes": ("press", "Skip »"),
}
TITLES = {
    "name": "Patient name",
    "nhs": "NHS number",
    "spec": "Specialty",
    "path": "Pathway",
    "ref": "Referral letter date",
    "start": "Clock start",
    "prio": "Priority",
    "cons": "Consultant",
    "notes": "Notes",
}
_STEP = re.compile(r"Step (\d) of 9 · ")


async def linked(bot: Bot, user_id: int = SAM, email: str = EMAIL) -> ChatUser:
    await bot.services.links.link(user_id, user_id, email, "Sam")
    return bot.user(user_id, "Sam")


def step_of(message: SentMessage) -> str | None:
    """Which /add step a prompt shows ("summary" for the last one)."""
    m = _STEP.search(message.text)
    if m:
        return STEPS[int(m.group(1)) - 1]
    if "Last step · Check and save" in message.text:
        return "summary"
    return None


def prompt(user: ChatUser) -> SentMessage:
    """The live form prompt: the latest message with buttons."""
    return user.last_with_buttons()


async def answer(user: ChatUser, step: str) -> list[SentMessage]:
    how, value = VALID[step]
    if how == "send":
        return await user.send(value)
    return await user.press(value)


async def fill_to(user: ChatUser, step: str) -> None:
    """Start /add and answer every step before `step` ("summary": all of them)."""
    await user.send("/add")
    for s in STEPS:
        if s == step:
            break
        await answer(user, s)
    assert step_of(prompt(user)) == step, prompt(user).text


async def patients(bot: Bot, email: str = EMAIL) -> list[Any]:
    return await bot.services.patients.list(email)


async def conversation_rows(db: Database, name: str) -> list[Any]:
    async with db.service() as conn:
        return list(
            await conn.fetch("select key, state from ptl_bot.conversations where name = $1", name)
        )


async def stored_user_data(db: Database, user_id: int) -> dict[str, Any]:
    from storage.persistence import loads

    async with db.service() as conn:
        data = await conn.fetchval("select data from ptl_bot.user_data where user_id = $1", user_id)
    return loads(data) if data is not None else {}  # type: ignore[no-any-return]


def no_error(messages: list[SentMessage]) -> None:
    for m in messages:
        assert "something went wrong" not in m.text, m.text


NOT_WAITING = "I wasn't waiting for an answer just then."


def is_stray_reply(replies: list[SentMessage], typed: str) -> bool:
    """The bot took `typed` for no form: it answered only with the offer to search for it."""
    return (
        len(replies) == 1
        and replies[0].text.startswith(NOT_WAITING)
        and f"🔎 Find “{typed}”" in replies[0].button_labels
    )
