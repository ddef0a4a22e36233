"""Control characters are taken out at every free-text step by one rule, and a step whose
state could not be stored is reported instead of silently moving on (issue 14, point 15)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CommandHandler

from bot.messages import common
from bot.rules.fields import strip_control_chars
from storage.db import Database
from tests import harness
from tests.ptl_support import add_patient, link
from tests.test_tutor_helpers import TUTOR_EMAIL, make_class, tutor_bot


def test_the_shared_rule_keeps_what_people_mean() -> None:
    assert strip_control_chars("Year\x00 1\x07 Group\u200bA") == "Year 1 Group\u200bA"
    typed = "line one\r\nline two\ttab\u2028three"
    assert strip_control_chars(typed, multiline=True) == "line one\nline two\ttab\nthree"
    assert strip_control_chars(typed) == "line one line two tab three"
    assert strip_control_chars("Zoë 🙂 O’Neil\u00a0Jr") == "Zoë 🙂 O’Neil\u00a0Jr"
    assert strip_control_chars("\ud800x\x9f") == "x"


async def test_find_with_a_nul_finds_the_patient(bot: harness.Bot) -> None:
    await link(bot)
    await add_patient(bot, "Ann Smith", harness.TODAY)
    sam = bot.user(901)
    replies = await sam.send("/find Sm\x00ith")
    assert any("Ann Smith" in m.text for m in replies), [m.text for m in replies]


async def test_nul_in_a_cohort_command_or_a_broadcast_step_never_reaches_postgres(
    db: Database,
) -> None:
    """A command's words are cleaned; a typed form step with a control character is refused
    (the form's shared check) and the step still takes the clean answer."""
    bot = await tutor_bot(db)
    try:
        cls = await make_class(bot, 1)
        tutor = cls.tutor
        await tutor.send("/cohort new Year\x00 2\x07 Group B")
        cohorts = await bot.services.tutoring.cohorts(TUTOR_EMAIL)
        assert sorted(c.name for c in cohorts) == ["Year 1 Group A", "Year 2 Group B"]
        await tutor.send("/broadcast")
        await tutor.press(next(label for label in tutor.last.button_labels if "Year 1" in label))
        replies = await tutor.send("Week\x00 3")
        assert "went wrong" not in replies[-1].text and "brief" not in replies[-1].text.lower()
        await tutor.send("Week 3")
        assert "brief" in tutor.last.text.lower()
        await tutor.send("Order\x00 your PTL.")
        await tutor.send("Order your PTL.\nThen book.")
        await tutor.press("No patients »")
        await tutor.press("No quiz »")
        await tutor.press("No due date »")
        await tutor.press("📣 Send")
        async with bot.services.db.service() as conn:
            row = await conn.fetchrow("select title, brief from ptl_bot.exercises")
        assert (row["title"], row["brief"]) == ("Week 3", "Order your PTL.\nThen book.")
    finally:
        await harness.close_bot(bot)


async def test_a_failed_state_write_is_reported_and_the_step_does_not_count(
    db: Database,
) -> None:
    """A handler whose state Postgres refuses (a NUL written straight into user_data, past
    the cleaning): the person is told, and the next update starts from the stored state."""

    async def remember(update: Update, context: Any) -> None:
        context.user_data["note"] = (context.args or [""])[0].replace("-", "\x00")
        await update.effective_message.reply_text("Noted.")

    def setup(app: Any) -> None:
        app.add_handler(CommandHandler("note", remember))

    bot = await harness.make_bot(db, setup=setup)
    try:
        sam = bot.user(505)
        replies = await sam.send("/note plain")
        assert [m.text for m in replies] == ["Noted."]
        replies = await sam.send("/note broken-value")
        assert [m.text for m in replies] == ["Noted.", common.NOT_SAVED]
        async with db.service() as conn:
            stored = await conn.fetchval("select data from ptl_bot.user_data where user_id = 505")
        assert stored == {"note": "plain"}
    finally:
        await harness.close_bot(bot)
