"""Command menus: student commands for everyone, tutor commands only in tutors' chats."""

from __future__ import annotations

import json
from typing import Any

from telegram.ext import CommandHandler

from bot.messages.commands import STUDENT_COMMANDS, TUTOR_COMMANDS
from bot.runtime.offline import OfflineBotAPI
from handlers import command_menu as commands
from storage.db import Database
from tests import harness

DEFAULT = json.dumps({"type": "default"}, sort_keys=True)


def _chat_scope(chat_id: int) -> str:
    return json.dumps({"chat_id": chat_id, "type": "chat"}, sort_keys=True)


def _names(api: OfflineBotAPI, scope: str) -> list[str]:
    raw = api.commands.get(scope)
    if raw is None:
        return []
    entries = json.loads(raw) if isinstance(raw, str) else raw
    return [c["command"] for c in entries]


def _with_tutor_commands(app: Any) -> None:
    """Tutor features may not be registered in this build: answer two tutor commands."""

    async def noop(update: Any, context: Any) -> None:
        return None

    handled = commands.handled_commands(app)
    for name in ("cohorts", "broadcast"):
        if name not in handled:
            app.add_handler(CommandHandler(name, noop), group=50)


async def _start(db: Database) -> tuple[harness.Bot, OfflineBotAPI]:
    api = OfflineBotAPI()
    return await harness.make_bot(db, api=api, setup=_with_tutor_commands), api


async def test_students_get_the_student_menu_and_only_handled_commands(db: Database) -> None:
    bot, api = await _start(db)
    try:
        names = _names(api, DEFAULT)
        handled = commands.handled_commands(bot.app)
        assert names == [c for c, _ in STUDENT_COMMANDS if c in handled]
        assert {"menu", "help", "ptl", "find"} <= set(names)
        shared = {c for c, _ in STUDENT_COMMANDS}  # /progress: each their own
        assert not set(names) & ({c for c, _ in TUTOR_COMMANDS} - shared)
    finally:
        await harness.close_bot(bot)


async def test_tutors_get_their_commands_in_their_own_chat_and_lose_them_when_removed(
    db: Database,
) -> None:
    first, _ = await _start(db)
    await first.services.staff.add("tina@uni.example", "tutor")
    await first.services.links.link(901, 901, "tina@uni.example", "Tina")
    await first.services.links.link(902, 902, "sam@student.example", "Sam")
    await harness.close_bot(first)

    second, api = await _start(db)  # a restart: menus are set from the staff table
    try:
        tutor_menu = _names(api, _chat_scope(901))
        student_menu = _names(api, DEFAULT)
        assert tutor_menu[: len(student_menu)] == student_menu
        handled = commands.handled_commands(second.app)
        assert tutor_menu[len(student_menu) :] == [
            c for c, _ in TUTOR_COMMANDS if c in handled and c not in student_menu
        ]
        assert {"cohorts", "broadcast"} <= set(tutor_menu)
        assert _names(api, _chat_scope(902)) == []  # students keep the default menu
        await second.services.staff.remove("tina@uni.example")
    finally:
        await harness.close_bot(second)

    third, api = await _start(db)  # no longer staff: the tutor menu is taken back
    try:
        deleted = [c.params for c in api.calls_to("deleteMyCommands")]
        assert [p["scope"] for p in deleted] == [{"type": "chat", "chat_id": 901}]
        assert commands.TUTOR_MENU_MARK not in third.app.chat_data.get(901, {})
    finally:
        await harness.close_bot(third)


async def test_linking_as_staff_sets_the_tutor_menu_at_once(db: Database) -> None:
    bot, api = await _start(db)
    try:
        await bot.services.staff.add("tom@uni.example", "admin")
        await bot.services.links.link(903, 903, "tom@uni.example", "Tom")
        await commands.sync_chat_for_email(bot.app, 903, "tom@uni.example")
        assert "cohorts" in _names(api, _chat_scope(903))
        # Relinked to a student email: back to the default menu.
        await bot.services.links.link(903, 903, "tom@student.example", "Tom")
        await commands.sync_chat_for_email(bot.app, 903, "tom@student.example")
        assert _names(api, _chat_scope(903)) == []
        assert [c.params["scope"] for c in api.calls_to("deleteMyCommands")] == [
            {"type": "chat", "chat_id": 903}
        ]
    finally:
        await harness.close_bot(bot)


async def test_unlinking_takes_the_tutor_menu_back(db: Database) -> None:
    bot, api = await _start(db)
    try:
        await bot.services.staff.add("tia@uni.example", "tutor")
        await bot.services.links.link(904, 904, "tia@uni.example", "Tia")
        await commands.sync_chat_for_email(bot.app, 904, "tia@uni.example")
        assert "cohorts" in _names(api, _chat_scope(904))
        await bot.services.links.unlink(904)
        await commands.reset_chat(bot.app, 904)
        await commands.reset_chat(bot.app, 905)  # never had one: nothing to do
        assert [c.params["scope"] for c in api.calls_to("deleteMyCommands")] == [
            {"type": "chat", "chat_id": 904}
        ]
        async with db.service() as conn:
            stored = await conn.fetchval("select data from ptl_bot.chat_data where chat_id = 904")
        assert commands.TUTOR_MENU_MARK not in (stored or {})
    finally:
        await harness.close_bot(bot)


async def test_a_tutor_linking_through_start_gets_the_menu_and_unlink_takes_it_back(
    db: Database,
) -> None:
    """The real /start and /unlink flows keep the chat's command menu in step."""
    from tests.test_identity_flow import attach_console, console_code

    bot, api = await _start(db)
    try:
        out = attach_console(bot)
        await bot.services.staff.add("tara@uni.example", "tutor")
        tara = bot.user(906, "Tara")
        await tara.send("/start")
        await tara.send("tara@uni.example")
        await tara.send(console_code(out))
        assert "cohorts" in _names(api, _chat_scope(906))
        await tara.send("/unlink")
        await tara.press(tara.last.button_labels[0])  # the confirming button
        assert {"type": "chat", "chat_id": 906} in [
            c.params["scope"] for c in api.calls_to("deleteMyCommands")
        ]
    finally:
        await harness.close_bot(bot)
