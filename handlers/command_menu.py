"""The command menus: student commands for everyone, tutor commands in tutors' own chats.

Why chat-scoped menus: Telegram shows one command list per scope, and a chat's own scope
replaces the default there. Students get the default list; each tutor's private chat gets
the student list plus the tutor commands, so students never see commands they cannot use.

Menus are set at start-up (every replica; the calls are idempotent) and when a tutor links
or unlinks (`sync_chat_for_email` after a link, `reset_chat` after an unlink). A chat that
received the tutor menu is marked in its chat_data, so a later start-up can take the menu
back from someone who is no longer staff.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import Application, BaseHandler, CommandHandler, ConversationHandler

from bot.hooks import add_startup_hook
from bot.messages.commands import STUDENT_COMMANDS, TUTOR_COMMANDS
from bot.services.container import SERVICES_KEY

log = logging.getLogger(__name__)

TUTOR_MENU_MARK = "ptl:tutor_menu"

App = Application[Any, Any, Any, Any, Any, Any]


def handled_commands(app: App) -> set[str]:
    """Every command some handler answers, conversations included (entry points, states,
    fallbacks): a menu must never offer a command that nothing answers."""
    found: set[str] = set()
    for handler in _walk(h for group in app.handlers.values() for h in group):
        if isinstance(handler, CommandHandler):
            found.update(handler.commands)
    return found


def _walk(handlers: Iterable[BaseHandler[Any, Any, Any]]) -> Iterator[BaseHandler[Any, Any, Any]]:
    for handler in handlers:
        yield handler
        if isinstance(handler, ConversationHandler):
            yield from _walk(handler.entry_points)
            for state_handlers in handler.states.values():
                yield from _walk(state_handlers)
            yield from _walk(handler.fallbacks)


def menu(app: App, *, tutor: bool) -> list[BotCommand]:
    available = handled_commands(app)
    # A command in both lists (/progress) keeps its student place; in a tutor's chat it is
    # the tutor's command and says so.
    tutor_words = dict(TUTOR_COMMANDS) if tutor else {}
    student_names = {name for name, _ in STUDENT_COMMANDS}
    wanted = [(name, tutor_words.get(name, words)) for name, words in STUDENT_COMMANDS]
    wanted += [(n, w) for n, w in tutor_words.items() if n not in student_names]
    return [BotCommand(name, words) for name, words in wanted if name in available]


async def sync_default(app: App) -> None:
    await app.bot.set_my_commands(menu(app, tutor=False), scope=BotCommandScopeDefault())


async def set_tutor_menu(app: App, chat_id: int) -> None:
    await app.bot.set_my_commands(menu(app, tutor=True), scope=BotCommandScopeChat(chat_id))
    app.chat_data[chat_id][TUTOR_MENU_MARK] = True
    app.mark_data_for_update_persistence(chat_ids=chat_id)


async def clear_chat(app: App, chat_id: int) -> None:
    """Back to the default (student) menu in this chat."""
    await app.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
    app.chat_data[chat_id].pop(TUTOR_MENU_MARK, None)
    app.mark_data_for_update_persistence(chat_ids=chat_id)


async def sync_chat_for_email(app: App, chat_id: int, email: str) -> None:
    """After a link: tutor menu if the email is staff, default menu otherwise."""
    services = app.bot_data[SERVICES_KEY]
    role = await services.staff.role_of(email)
    try:
        if role is not None:
            await set_tutor_menu(app, chat_id)
        elif TUTOR_MENU_MARK in app.chat_data.get(chat_id, {}):
            await clear_chat(app, chat_id)
    except TelegramError as exc:
        log.warning("Could not update the command menu of chat %s: %s", chat_id, exc)
        return
    await app.update_persistence()


async def reset_chat(app: App, chat_id: int) -> None:
    """After an unlink (or a link moved to another account): no tutor menu in this chat."""
    if TUTOR_MENU_MARK not in app.chat_data.get(chat_id, {}):
        return
    try:
        await clear_chat(app, chat_id)
    except TelegramError as exc:
        log.warning("Could not reset the command menu of chat %s: %s", chat_id, exc)
        return
    await app.update_persistence()


async def sync_all(app: App) -> None:
    """Start-up: default menu, tutor menus for staff chats, and tutor menus taken back."""
    services = app.bot_data[SERVICES_KEY]
    try:
        await sync_default(app)
        tutor_chats: set[int] = set()
        for email, _role in await services.staff.list():
            link = await services.links.active_for_email(email)
            if link is not None:
                tutor_chats.add(link.chat_id)
        for chat_id in sorted(tutor_chats):
            await set_tutor_menu(app, chat_id)
        stale = [
            chat_id
            for chat_id, data in app.chat_data.items()
            if data.get(TUTOR_MENU_MARK) and chat_id not in tutor_chats
        ]
        for chat_id in stale:
            await clear_chat(app, chat_id)
    except Exception as exc:  # menus are a nicety: Telegram down, a Bot API server without
        # setMyCommands, an answer in an odd shape... start anyway and say so.
        log.warning("Could not set the command menus (%s): %s", type(exc).__name__, exc)
        return
    await app.update_persistence()
    log.info("Command menus set (%d tutor chat(s), %d taken back)", len(tutor_chats), len(stale))


def register(app: App) -> None:
    add_startup_hook(app, sync_all)
