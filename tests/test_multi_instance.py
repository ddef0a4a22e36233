"""Two replicas on one database: conversations and data are shared, chats are serialised.

Each test builds two real Applications (A and B), each with its own connection pool, on the
same database, the way two webhook replicas behind a load balancer run. Updates for one chat
land on either replica at random in production; here the test chooses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.runtime.offline import ChatUser, OfflineBotAPI
from storage.db import Database
from tests import harness

NAME, AGE = range(2)


async def _start(update: Update, context: Any) -> int:
    context.user_data["form"] = {}
    await update.effective_message.reply_text("What is the patient's name?")
    return NAME


async def _name(update: Update, context: Any) -> int:
    context.user_data["form"]["name"] = update.effective_message.text
    await update.effective_message.reply_text("And their age?")
    return AGE


async def _age(update: Update, context: Any) -> int:
    form = context.user_data.pop("form")
    await update.effective_message.reply_text(
        f"Saved {form['name']}, aged {update.effective_message.text}."
    )
    return ConversationHandler.END


async def _cancel(update: Update, context: Any) -> int:
    context.user_data.pop("form", None)
    await update.effective_message.reply_text("Cancelled.")
    return ConversationHandler.END


async def _slow(update: Update, context: Any) -> None:
    await asyncio.sleep(0.6)
    context.chat_data.setdefault("log", []).append("slow")
    await update.effective_message.reply_text("slow done")


async def _fast(update: Update, context: Any) -> None:
    context.chat_data.setdefault("log", []).append("fast")
    await update.effective_message.reply_text("fast done")


def _setup(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("form", _start)],
            states={
                NAME: [MessageHandler(filters.TEXT & ~filters.COMMAND, _name)],
                AGE: [MessageHandler(filters.TEXT & ~filters.COMMAND, _age)],
            },
            fallbacks=[CommandHandler("formcancel", _cancel)],
            name="test_form",
            persistent=True,
        ),
    )
    app.add_handler(CommandHandler("slow", _slow))
    app.add_handler(CommandHandler("fast", _fast))


@pytest.fixture
async def replicas(
    db: Database, db_dsn: str
) -> AsyncIterator[tuple[harness.Bot, harness.Bot, OfflineBotAPI]]:
    api = OfflineBotAPI()
    other_db = await Database.connect(db_dsn, min_size=1, max_size=5)
    a = await harness.make_bot(db, api=api, setup=_setup)
    b = await harness.make_bot(other_db, api=api, setup=_setup)
    yield a, b, api
    await harness.close_bot(a)
    await harness.close_bot(b)
    await other_db.close()


def _from_the_form(replies: list[Any]) -> list[str]:
    """Replies the test form gave (the bot's own catch-all answers anything else)."""
    return [m.text for m in replies if m.text.startswith(("Saved", "And their age"))]


def _users(a: harness.Bot, b: harness.Bot, user_id: int) -> tuple[ChatUser, ChatUser]:
    return a.user(user_id, "Sam"), b.user(user_id, "Sam")


async def test_a_form_started_on_one_replica_continues_on_the_other(replicas: Any) -> None:
    a, b, _ = replicas
    on_a, on_b = _users(a, b, 601)

    assert (await on_a.send("/form"))[0].text == "What is the patient's name?"
    # B never saw /form: it must read the conversation state A stored.
    assert (await on_b.send("Alice Example"))[0].text == "And their age?"
    # Back on A, whose memory still says "name": it must re-read "age" and B's user_data.
    assert (await on_a.send("42"))[0].text == "Saved Alice Example, aged 42."
    # The form ended on A; B still remembers it at "age" in memory, and must not answer.
    assert _from_the_form(await on_b.send("43")) == []
    assert _from_the_form(on_a.history)[-1] == "Saved Alice Example, aged 42."


async def test_a_form_cancelled_elsewhere_is_not_resumed(replicas: Any) -> None:
    a, b, _ = replicas
    on_a, on_b = _users(a, b, 602)
    await on_a.send("/form")
    await on_a.send("Bob Example")  # A: state AGE, user_data form={name: Bob}
    assert (await on_b.send("/formcancel"))[0].text == "Cancelled."
    # A must see that the form was cancelled on B (only the bot's catch-all answers).
    assert _from_the_form(await on_a.send("50")) == []
    # A fresh form on B starts clean: no stale name from A's memory.
    await on_b.send("/form")
    await on_a.send("Carol Example")
    assert (await on_b.send("61"))[0].text == "Saved Carol Example, aged 61."


async def test_one_chat_is_handled_by_one_replica_at_a_time(replicas: Any) -> None:
    a, b, _ = replicas
    on_a, on_b = _users(a, b, 603)
    finished: dict[str, float] = {}

    async def run(user: ChatUser, text: str) -> None:
        await user.send(text)
        finished[text] = time.monotonic()

    slow = asyncio.create_task(run(on_a, "/slow"))
    await asyncio.sleep(0.15)  # A holds the chat's turn now
    await run(on_b, "/fast")
    await slow
    # B waited for A's update to finish, then read A's chat_data before adding its own.
    assert finished["/fast"] >= finished["/slow"]
    assert b.app.chat_data[603]["log"] == ["slow", "fast"]
    # And A sees B's addition on its next update.
    await on_a.send("/fast")
    assert a.app.chat_data[603]["log"] == ["slow", "fast", "fast"]


async def test_other_chats_are_not_held_up(replicas: Any) -> None:
    a, b, _ = replicas
    slow_user, _ = _users(a, b, 604)
    _, other = _users(a, b, 605)
    slow = asyncio.create_task(slow_user.send("/slow"))
    await asyncio.sleep(0.15)
    started = time.monotonic()
    await other.send("/fast")
    assert not slow.done(), "the other chat waited for the slow one"
    assert time.monotonic() - started < 0.5
    await slow


async def test_user_data_written_on_one_replica_is_read_by_the_other(replicas: Any) -> None:
    a, b, _ = replicas
    on_a, on_b = _users(a, b, 606)
    await on_a.send("/form")
    await on_b.send("Dee Example")
    assert a.app.user_data[606] == {"form": {}}  # A has not handled anything since...
    await on_a.send("/fast")  # ...until its next update for this user
    assert a.app.user_data[606] == {"form": {"name": "Dee Example"}}


@pytest.mark.error_reference
async def test_database_unreachable_during_an_update_is_reported_not_fatal(
    db_dsn: str,
) -> None:
    broken = await Database.connect(db_dsn, min_size=1, max_size=3)
    bot = await harness.make_bot(broken, setup=_setup)
    try:
        user = bot.user(607)
        await broken.pool.close()  # the database goes away mid-flight
        replies = await user.send("/fast")  # must not raise out of process_update
        assert len(replies) == 1 and "went wrong" in replies[0].text
    finally:
        await bot.app.shutdown()


async def test_two_outbox_workers_on_one_database_send_each_exercise_once(
    db: Database, db_dsn: str
) -> None:
    """Two replicas drain the broadcast outbox at the same moment: every student gets the
    exercise exactly once (the reminders' equivalent lives in test_reminders_delivery.py)."""
    from bot.services.outbox import worker_of
    from tests.test_tutor_helpers import broadcast_simple, make_class, register_tutoring

    api_a, api_b = OfflineBotAPI(latency=0.005), OfflineBotAPI(latency=0.005)
    other_db = await Database.connect(db_dsn, min_size=1, max_size=5)
    # A small claim batch (the per-second rate) so both replicas take part.
    settings = harness.test_settings(broadcast_messages_per_second=8)
    a = await harness.make_bot(db, api=api_a, setup=register_tutoring, settings=settings)
    b = await harness.make_bot(other_db, api=api_b, setup=register_tutoring, settings=settings)
    try:
        cls = await make_class(a, 24)
        await broadcast_simple(cls)  # queued in the outbox; neither replica is draining yet
        first, second = await asyncio.gather(worker_of(a.app).drain(), worker_of(b.app).drain())
        assert first.sent + second.sent == 24
        assert first.sent and second.sent, "both replicas should have sent some"

        def exercises(api: OfflineBotAPI, chat_id: int) -> int:
            return sum(1 for m in api.sent_to(chat_id) if m.text.startswith("📚"))

        for student in cls.students:
            assert exercises(api_a, student.chat_id) + exercises(api_b, student.chat_id) == 1
        async with db.service() as conn:
            statuses = await conn.fetch("select status from ptl_bot.exercise_deliveries")
        assert {r["status"] for r in statuses} == {"sent"} and len(statuses) == 24
    finally:
        await harness.close_bot(a)
        await harness.close_bot(b)
        await other_db.close()


async def test_a_timeout_on_one_replica_does_not_end_a_form_continued_on_another(
    db: Database, db_dsn: str
) -> None:
    """PTB's conversation timeout is an in-memory job on the replica that scheduled it. When
    the student has moved on through another replica, that job's stale "ended" must not
    delete the newer state."""
    one, two = range(2)

    async def begin(update: Update, context: Any) -> int:
        await update.effective_message.reply_text("first?")
        return one

    async def step(update: Update, context: Any) -> int:
        await update.effective_message.reply_text("second?")
        return two

    async def finish(update: Update, context: Any) -> int:
        await update.effective_message.reply_text("done")
        return ConversationHandler.END

    def timed(timeout: float | None) -> Any:
        def setup(app: Application) -> None:  # type: ignore[type-arg]
            app.add_handler(
                ConversationHandler(
                    entry_points=[CommandHandler("timed", begin)],
                    states={
                        one: [MessageHandler(filters.TEXT & ~filters.COMMAND, step)],
                        two: [MessageHandler(filters.TEXT & ~filters.COMMAND, finish)],
                    },
                    fallbacks=[],
                    name="test_timed",
                    persistent=True,
                    conversation_timeout=timeout,
                ),
            )

        return setup

    api = OfflineBotAPI()
    other_db = await Database.connect(db_dsn, min_size=1, max_size=5)
    a = await harness.make_bot(db, api=api, setup=timed(1.0), start=True)
    b = await harness.make_bot(other_db, api=api, setup=timed(None))
    try:
        on_a, on_b = _users(a, b, 610)
        await on_a.send("/timed")  # A schedules its timeout job
        assert (await on_b.send("x"))[0].text == "second?"  # the student moves to B
        states = a.app._conversation_handler_conversations["test_timed"]
        deadline = time.monotonic() + 10
        while (610, 610) in states:  # A's timeout fires and ends the form in A's memory
            assert time.monotonic() < deadline, "the timeout never fired"
            await asyncio.sleep(0.05)
        await a.app.update_persistence()  # A writes what it believes
        assert (await on_b.send("y"))[0].text == "done"
    finally:
        await harness.close_bot(a)
        await harness.close_bot(b)
        await other_db.close()
