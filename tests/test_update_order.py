"""Updates run concurrently across chats, strictly in order within a chat
(bot/runtime/updates.py)."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.runtime.updates import ChatOrderedUpdateProcessor, concurrency_for, ordering_keys
from storage.db import Database
from tests import harness
from tests.fake_bot_api import private_message
from tests.test_multi_instance import _setup as form_setup

_ids = itertools.count(1)


def _update(app: Application, chat_id: int, text: str) -> Update:  # type: ignore[type-arg]
    payload = private_message(chat_id, text, message_id=next(_ids))
    return Update.de_json({"update_id": next(_ids), **payload}, app.bot)


async def _replies(bot: harness.Bot, expected: int, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while sum(len(bot.api.sent_to(c)) for c in list(bot.api.by_chat)) < expected:
        assert time.monotonic() < deadline, "the bot did not answer everything"
        await asyncio.sleep(0.02)


def test_concurrency_follows_the_pool() -> None:
    assert concurrency_for(0, 10) == 3
    assert concurrency_for(0, 2) == 1
    assert concurrency_for(0, 200) == 8
    assert concurrency_for(5, 2) == 5


async def test_chats_run_side_by_side_and_each_chat_in_order(db: Database) -> None:
    log: list[tuple[str, int, str, float]] = []

    async def work(update: Update, context: Any) -> None:
        label = update.effective_message.text.split()[1]
        log.append(("start", update.effective_chat.id, label, time.monotonic()))
        await asyncio.sleep(0.3)
        log.append(("end", update.effective_chat.id, label, time.monotonic()))
        await update.effective_message.reply_text(f"done {label}")

    def setup(app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(CommandHandler("work", work))

    settings = harness.test_settings(concurrent_updates=4)
    bot = await harness.make_bot(db, settings=settings, setup=setup, start=True)
    try:
        assert isinstance(bot.app.update_processor, ChatOrderedUpdateProcessor)
        started = time.monotonic()
        for update in (
            _update(bot.app, 701, "/work a"),
            _update(bot.app, 701, "/work b"),
            _update(bot.app, 702, "/work x"),
            _update(bot.app, 703, "/work y"),
            _update(bot.app, 701, "/work c"),
            _update(bot.app, 704, "/work z"),
        ):
            await bot.app.update_queue.put(update)
        await _replies(bot, 6)
        elapsed = time.monotonic() - started
    finally:
        await harness.close_bot(bot)
    # Chat 701 ran a, b, c one after the other, in the order they arrived...
    mine = [(kind, label) for kind, chat, label, _ in log if chat == 701]
    assert mine == [("start", "a"), ("end", "a"), ("start", "b"), ("end", "b"),
                    ("start", "c"), ("end", "c")]  # fmt: skip
    # ...while the other chats did not wait for it: 3 x 0.3 s in all, not 6 x 0.3 s.
    assert elapsed < 1.5, elapsed
    first_other = min(t for kind, chat, _, t in log if kind == "start" and chat != 701)
    first_701_end = min(t for kind, chat, _, t in log if kind == "end" and chat == 701)
    assert first_other < first_701_end


async def test_a_form_sent_in_one_burst_is_followed_step_by_step(db: Database) -> None:
    # Three messages queued at once: without per-chat order the answers could overtake /form.
    settings = harness.test_settings(concurrent_updates=8)
    bot = await harness.make_bot(db, settings=settings, setup=form_setup, start=True)
    try:
        for chat in (711, 712, 713):
            for text in ("/form", f"Patient {chat}", "42"):
                await bot.app.update_queue.put(_update(bot.app, chat, text))
        await _replies(bot, 9)
        for chat in (711, 712, 713):
            assert [m.text for m in bot.api.sent_to(chat)] == [
                "What is the patient's name?",
                "And their age?",
                f"Saved Patient {chat}, aged 42.",
            ]
    finally:
        await harness.close_bot(bot)


def test_ordering_keys() -> None:
    user = {"id": 5, "is_bot": False, "first_name": "Sam"}

    def update(**payload: Any) -> Update:
        return Update.de_json({"update_id": 1, **payload}, None)  # type: ignore[arg-type]

    private = update(**private_message(5, "hi", message_id=1))
    group = update(
        message={
            "message_id": 1,
            "date": 0,
            "chat": {"id": -100, "type": "group", "title": "G"},
            "from": user,
            "text": "hi",
        }
    )
    answer = update(
        poll_answer={
            "poll_id": "1",
            "user": user,
            "option_ids": [0],
            "option_persistent_ids": ["a"],
        }
    )
    assert ordering_keys(private) == (("chat", 5),)
    assert ordering_keys(group) == (("chat", -100), ("user", 5))
    assert ordering_keys(answer) == (("user", 5),)
    assert ordering_keys(object()) == ()
