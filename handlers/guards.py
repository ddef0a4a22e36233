"""Who may use a handler: linked students, tutors.

Why decorators: every student command starts with the same question (is this Telegram user
linked to a verified email?) and must answer an unlinked user with what to do, never with
silence or an error. The resolved identity is handed to the callback.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import ConversationHandler

from bot.messages import common as text
from bot.services.container import BotContext

R = TypeVar("R")


@dataclass(frozen=True)
class Student:
    """The caller, as proven by a verified email link."""

    telegram_user_id: int
    chat_id: int
    email: str
    first_name: str | None
    role: str | None  # None for students; 'tutor' or 'admin' for staff

    @property
    def is_tutor(self) -> bool:
        return self.role in ("tutor", "admin")


async def current_student(update: Update, context: BotContext) -> Student | None:
    user = update.effective_user
    if user is None:
        return None
    found = await context.services.links.identity(user.id)
    if found is None:
        return None
    link, role = found
    return Student(user.id, link.chat_id, link.email, link.first_name or user.first_name, role)


async def _refuse(update: Update, message: str) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()
    if update.effective_chat is not None and update.get_bot() is not None:
        await update.get_bot().send_message(update.effective_chat.id, message)


Handler = Callable[[Update, BotContext, Student], Awaitable[Any]]


Wrapped = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]


def student_only(callback: Handler) -> Wrapped:
    """Run `callback(update, context, student)` for linked users; guide everyone else."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: BotContext) -> Any:
        student = await current_student(update, context)
        if student is None:
            await _refuse(update, text.NOT_LINKED)
            return ConversationHandler.END
        return await callback(update, context, student)

    return wrapper


def tutor_only(callback: Handler) -> Wrapped:
    """Like student_only, but the linked email must be listed as tutor or admin staff."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: BotContext) -> Any:
        student = await current_student(update, context)
        if student is None:
            await _refuse(update, text.NOT_LINKED)
            return ConversationHandler.END
        if not student.is_tutor:
            await _refuse(update, text.NOT_TUTOR)
            return ConversationHandler.END
        return await callback(update, context, student)

    return wrapper
