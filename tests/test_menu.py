"""/menu and /help."""

from __future__ import annotations

from tests.harness import Bot


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
