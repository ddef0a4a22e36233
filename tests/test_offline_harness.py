"""The offline Bot API and chat driver behave like Telegram, and drive a real Application."""

from __future__ import annotations

from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as f

from bot.runtime.offline import TelegramHTMLError, html_to_plain
from storage.db import Database
from tests import harness

ASK_NAME, CONFIRM = range(2)


def _register_demo(app: Any) -> None:
    """A two-step persistent conversation, the shape every real form in the bot has."""

    async def start(update: Update, context: Any) -> int:
        await update.effective_message.reply_text("What is the patient's name?")
        return ASK_NAME

    async def name(update: Update, context: Any) -> int:
        context.user_data["name"] = update.effective_message.text
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Save", callback_data="save"),
              InlineKeyboardButton("Cancel", callback_data="cancel")]]
        )  # fmt: skip
        await update.effective_message.reply_text(
            f"Save <b>{update.effective_message.text}</b>?", reply_markup=keyboard
        )
        return CONFIRM

    async def save(update: Update, context: Any) -> int:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"Saved {context.user_data['name']}.")
        return ConversationHandler.END

    app.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("demo", start)],
            states={
                ASK_NAME: [MessageHandler(f.TEXT & ~f.COMMAND, name)],
                CONFIRM: [CallbackQueryHandler(save, pattern="^save$")],
            },
            fallbacks=[],
            name="demo",
            persistent=True,
            per_message=False,
        )
    )


async def test_chat_driver_runs_a_real_conversation(db: Database) -> None:
    bot = await harness.make_bot(db, setup=_register_demo)
    sam = bot.user(501)
    replies = await sam.send("/demo")
    assert [r.text for r in replies] == ["What is the patient's name?"]
    replies = await sam.send("Ann Example")
    assert replies[0].text == "Save Ann Example?"  # HTML rendered as the user sees it
    assert replies[0].button_labels == ["Save", "Cancel"]
    replies = await sam.press("Save")
    assert replies[0].edited and replies[0].text == "Saved Ann Example."
    await harness.close_bot(bot)


async def test_conversation_resumes_after_restart(db: Database) -> None:
    first = await harness.make_bot(db, setup=_register_demo)
    await first.user(502).send("/demo")
    await first.user(502).send("Ben Example")
    await harness.close_bot(first)  # the process "restarts" here

    second = await harness.make_bot(db, api=first.api, setup=_register_demo)
    replies = await second.user(502).press("Save")
    assert replies[0].text == "Saved Ben Example."
    await harness.close_bot(second)


async def test_unanswered_callback_is_caught(db: Database) -> None:
    async def menu(update: Update, context: Any) -> None:
        await update.effective_message.reply_text(
            "Pick",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
        )

    async def lazy(update: Update, context: Any) -> None:
        return None  # forgets update.callback_query.answer()

    def setup(app: Any) -> None:  # before start-up: ahead of the bot's catch-all for buttons
        app.add_handler(CommandHandler("pick", menu))
        app.add_handler(CallbackQueryHandler(lazy))

    bot = await harness.make_bot(db, setup=setup)
    sam = bot.user(503)
    await sam.send("/pick")
    with pytest.raises(AssertionError, match="not answered"):
        await sam.press("A")
    await harness.close_bot(bot)


async def test_telegram_rules_are_enforced(bot: harness.Bot) -> None:
    send = bot.app.bot.send_message
    with pytest.raises(BadRequest, match="too long"):
        await send(42, "x" * 4097)
    with pytest.raises(BadRequest, match="parse entities"):
        await send(42, "<script>alert(1)</script>")
    with pytest.raises(BadRequest, match="parse entities"):
        await send(42, "Fish & chips")
    message = await send(42, "Same")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.app.bot.edit_message_text("Same", chat_id=42, message_id=message.message_id)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await send(
            42,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("b", callback_data="d" * 65)]]
            ),
        )


async def test_failure_injection(bot: harness.Bot) -> None:
    bot.api.fail(77, "forbidden")
    with pytest.raises(Forbidden):
        await bot.app.bot.send_message(77, "hello")
    bot.api.fail(78, "retry_after", times=1, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.app.bot.send_message(78, "hello")
    assert caught.value.retry_after in (3, 3.0) or caught.value.retry_after.total_seconds() == 3
    await bot.app.bot.send_message(78, "hello again")  # only one failure was asked for
    assert [m.text for m in bot.api.sent_to(78)] == ["hello again"]


def test_html_checker() -> None:
    assert html_to_plain("<b>Bold</b> &amp; <i>it</i> &lt;3") == "Bold & it <3"
    for bad in ("<b>open", "a < b", "x & y", "<div>x</div>", "</b>"):
        with pytest.raises(TelegramHTMLError):
            html_to_plain(bad)


async def test_string_conversation_states_survive_a_restart(db: Database) -> None:
    """PTB examples use string states; they must reload from Postgres unchanged."""
    from telegram.ext import BasePersistence

    from storage.persistence import PostgresPersistence

    first = PostgresPersistence(db)
    await first.update_conversation("demo", (1, 2), "asking_name")
    await first.update_conversation("demo", (3, 4), 7)
    again: BasePersistence = PostgresPersistence(db)  # type: ignore[type-arg]
    assert await again.get_conversations("demo") == {(1, 2): "asking_name", (3, 4): 7}
