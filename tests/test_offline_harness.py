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


async def test_a_callback_query_answered_twice_is_refused(db: Database) -> None:
    """Telegram takes one answer per query; the second is a 400 the tests can see."""

    async def menu(update: Update, context: Any) -> None:
        await update.effective_message.reply_text(
            "Pick",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
        )

    refused: list[str] = []

    async def twice(update: Update, context: Any) -> None:
        await update.callback_query.answer()
        try:
            await update.callback_query.answer("again")
        except BadRequest as exc:
            refused.append(exc.message)

    def setup(app: Any) -> None:  # before start-up: ahead of the bot's catch-all for buttons
        app.add_handler(CommandHandler("pick", menu))
        app.add_handler(CallbackQueryHandler(twice))

    bot = await harness.make_bot(db, setup=setup)
    sam = bot.user(504)
    await sam.send("/pick")
    await sam.press("A")
    assert refused and "query is too old" in refused[0].lower()
    with pytest.raises(BadRequest, match=r"(?i)query id is invalid"):
        await bot.app.bot.answer_callback_query("never-delivered")
    await harness.close_bot(bot)


async def test_texts_captions_and_keyboards_follow_telegrams_limits(bot: harness.Bot) -> None:
    send = bot.app.bot.send_message
    with pytest.raises(BadRequest, match="too long"):
        await send(42, "😀" * 2049)  # 2,049 emoji are 4,098 UTF-16 units
    with pytest.raises(BadRequest, match="text is empty"):
        await send(42, "<b> </b>")
    with pytest.raises(BadRequest, match="parse entities"):
        await send(42, '<span class="x">a</span>')
    with pytest.raises(BadRequest, match="parse entities"):
        await send(42, "<a>no link</a>")
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.app.bot.send_document(42, b"data", filename="a.csv", caption="c" * 1025)
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.app.bot.send_document(42, b"data", filename="a.csv", caption="a < b")
    with pytest.raises(BadRequest, match="non-empty"):
        await bot.app.bot.send_document(42, b"", filename="a.csv")
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.app.bot.send_photo(42, b"not an image")
    for markup in (
        InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="")]]),
        InlineKeyboardMarkup([[InlineKeyboardButton("é", callback_data="é" * 33)]]),  # 66 bytes
        InlineKeyboardMarkup([[InlineKeyboardButton("b", url="not a url")]]),
    ):
        with pytest.raises(BadRequest):
            await send(42, "x", reply_markup=markup)
    document = await bot.app.bot.send_document(42, b"data", filename="a.csv")
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.app.bot.edit_message_text("x", chat_id=42, message_id=document.message_id)
    with pytest.raises(BadRequest, match=r"(?i)query is too old|invalid"):
        await bot.app.bot.answer_callback_query("x", text="t" * 201)


async def test_polls_follow_telegrams_rules(bot: harness.Bot) -> None:
    from telegram import Poll

    poll = bot.app.bot.send_poll

    async def quiz(question: str, options: list[str], **kw: Any) -> Any:
        return await poll(
            42, question, options, type=Poll.QUIZ, correct_option_ids=[0], is_anonymous=False, **kw
        )

    # The Application's default parse mode (HTML) applies to every part of a poll.
    with pytest.raises(BadRequest, match="parse entities"):
        await quiz("Is 17 < 18?", ["Yes", "No"])
    with pytest.raises(BadRequest, match="parse entities"):
        await quiz("Sure?", ["A & B", "No"])
    with pytest.raises(BadRequest, match="parse entities"):
        await quiz("Sure?", ["Yes", "No"], explanation="1 < 2")
    with pytest.raises(BadRequest, match="too long"):
        await quiz("q" * 301, ["Yes", "No"])
    with pytest.raises(BadRequest, match="too long"):
        await quiz("Sure?", ["o" * 101, "No"])
    with pytest.raises(BadRequest, match="too long"):
        await quiz("Sure?", ["Yes", "No"], explanation="e" * 201)
    with pytest.raises(BadRequest, match="line feeds"):
        await quiz("Sure?", ["Yes", "No"], explanation="a\nb\nc\nd")
    with pytest.raises(BadRequest, match="2-12 options"):
        await quiz("Sure?", ["Only one"])
    with pytest.raises(BadRequest, match="correct option"):
        await poll(42, "Sure?", ["Yes", "No"], type=Poll.QUIZ, correct_option_ids=[5])
    sent = await quiz("Is 17 &lt; 18?", ["Yes", "No"])
    assert sent.poll is not None and sent.poll.question == "Is 17 < 18?"


async def test_chat_actions_and_command_menus_are_checked(bot: harness.Bot) -> None:
    from telegram import BotCommand

    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.app.bot.send_chat_action(42, "dancing")
    assert await bot.app.bot.send_chat_action(42, "upload_photo")
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.app.bot.set_my_commands([BotCommand("Add-Patient", "Add one")])
    with pytest.raises(BadRequest, match=r"(?i)description_invalid"):
        await bot.app.bot.set_my_commands([BotCommand("add", "d" * 257)])
