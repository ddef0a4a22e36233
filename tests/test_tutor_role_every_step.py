"""A removed or unlinked tutor can take /broadcast no further, at any step (issue 14,
point 9): the role is checked at every step, not only at the start and at Send."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.messages import common
from bot.runtime.offline import ChatUser
from storage.db import Database
from tests import harness
from tests.test_tutor_helpers import TUTOR_EMAIL, make_class, tutor_bot

Step = Callable[[ChatUser], Awaitable[object]]

# The way to each step, and the answer each step takes next (typed or pressed).
WAY: list[tuple[str, Step]] = [
    ("cohort", lambda t: t.press("Year 1 Group A · 1")),
    ("title", lambda t: t.send("Week 1 triage")),
    ("brief", lambda t: t.send("Order your PTL.")),
    ("scenario", lambda t: t.press("No patients »")),
    ("quiz", lambda t: t.press("No quiz »")),
    ("due", lambda t: t.press("No due date »")),
    ("confirm", lambda t: t.press("📣 Send")),
]


async def _exercises(bot: harness.Bot) -> int:
    async with bot.services.db.service() as conn:
        return int(await conn.fetchval("select count(*) from ptl_bot.exercises"))


@pytest.mark.parametrize("how", ["removed", "unlinked"])
@pytest.mark.parametrize("at", range(len(WAY)), ids=[name for name, _ in WAY])
async def test_a_tutor_who_lost_the_role_goes_no_further(db: Database, at: int, how: str) -> None:
    bot = await tutor_bot(db)
    try:
        cls = await make_class(bot, 1)
        tutor = cls.tutor
        await tutor.send("/broadcast")
        for _, step in WAY[:at]:
            await step(tutor)
        if how == "removed":
            await bot.services.staff.remove(TUTOR_EMAIL)
        else:
            await bot.services.links.unlink(tutor.user_id)
        replies = await WAY[at][1](tutor)
        texts = [m.text for m in replies]  # type: ignore[attr-defined]
        assert common.NOT_TUTOR in texts, texts
        assert not any("Preview" in t or "Sending" in t for t in texts), texts
        assert await _exercises(bot) == 0
    finally:
        await harness.close_bot(bot)
