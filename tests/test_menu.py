"""/menu and /help."""

from __future__ import annotations

from bot.messages.commands import STUDENT_COMMANDS, TUTOR_COMMANDS
from tests.harness import Bot
from tests.test_identity_flow import attach_console, console_code


async def test_menu_needs_a_linked_account(bot: Bot) -> None:
    replies = await bot.user(900).send("/menu")
    assert "link your platform account" in replies[0].text


async def test_menu_and_help(bot: Bot) -> None:
    await bot.services.links.link(901, 901, "sam@student.example", "Sam")
    sam = bot.user(901, "Sam")
    replies = await sam.send("/menu")
    assert replies[0].text == "What would you like to do, Sam?"
    assert "➕ Add patient" in replies[0].button_labels
    replies = await sam.press("❓ Help")
    assert "fictional patients only" in replies[0].text
    assert "/add" in (await sam.send("/help"))[0].text


async def test_students_help_lists_every_student_command_and_no_tutor_one(bot: Bot) -> None:
    await bot.services.links.link(902, 902, "sam@student.example", "Sam")
    (reply,) = await bot.user(902, "Sam").send("/help")
    for command, _ in STUDENT_COMMANDS:
        assert f"/{command}: " in reply.text, command
    students = {c for c, _ in STUDENT_COMMANDS}
    for command, _ in TUTOR_COMMANDS:
        if command not in students:
            assert f"/{command}: " not in reply.text, command
    assert "/menu: main menu" in reply.text and "/exercises: " in reply.text
    assert "/unlink: " in reply.text


async def test_a_tutor_is_told_they_are_one_when_linking_and_in_help(bot: Bot) -> None:
    out = attach_console(bot)
    await bot.services.staff.add("tess@uni.example", "tutor")
    tess = bot.user(903, "Tess")
    await tess.send("/start")
    await tess.send("tess@uni.example")
    (linked,) = await tess.send(console_code(out))
    assert linked.text.startswith("✅ Linked! You're signed in as tess@uni.example.")
    assert "🎓 You're listed as a tutor, so you have the tutor commands too" in linked.text
    assert "/cohort new NAME: create a cohort" in linked.text
    (help_,) = await tess.send("/help")
    assert "Tutor commands (you are listed as a tutor)" in help_.text
    for command, _ in (*TUTOR_COMMANDS, *STUDENT_COMMANDS):
        assert f"/{command}: " in help_.text, command
    (back,) = await tess.send("/start")
    assert back.text.startswith("👋 Welcome back, Tess! You're signed in as a tutor")


async def test_help_before_linking_says_how_to_link(bot: Bot) -> None:
    (reply,) = await bot.user(904).send("/help")
    assert "First link your platform account: send /start" in reply.text
