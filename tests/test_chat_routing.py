"""One form owns the chat at a time, and every message gets an answer.

The heart of it is `test_every_form_with_every_command`: for every form a person can have
open (/add, /update, /broadcast, /find, the reminder time in /settings, /cohort new) and
every command the bot answers, it opens the form, sends the command, types a probe line and
asserts where the probe went: into the command's own form when the command opened one,
otherwise nowhere near the first form (which is on hold with ▶️ Carry on when it had
something worth keeping, and is carried on afterwards with nothing lost).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from bot.messages.commands import STUDENT_COMMANDS, TUTOR_COMMANDS
from bot.runtime.offline import ChatUser, SentMessage
from storage.db import Database
from tests import harness
from tests.forms_support import is_stray_reply
from tests.ptl_support import add_patient
from tests.test_tutor_helpers import TUTOR_EMAIL, make_class, tutor_bot

PROBE = "Zebra Crossing"
FORM_KEYS = ("add", "update", "broadcast", "find", "settings", "cohort", "portfolio", "book")


@pytest.fixture
async def bot(db: Database):
    instance = await tutor_bot(db)
    yield instance
    await harness.close_bot(instance)


@dataclass(frozen=True)
class OpenForm:
    """How to get a form to a step that waits for typed text, and how to tell that its
    prompt is back after ▶️ Carry on."""

    key: str
    command: str
    open: Callable[[ChatUser], Awaitable[None]]
    step_text: str
    keeps: bool
    """Has it something worth holding by then (else another command closes it quietly)."""


async def _open_add(tess: ChatUser) -> None:
    await tess.send("/add")
    await tess.send("Jane Doe")  # now at the NHS number


async def _open_update(tess: ChatUser) -> None:
    await tess.send("/update Ann")
    await tess.press("📝 Add a note")


async def _open_broadcast(tess: ChatUser) -> None:
    await tess.send("/broadcast")
    await tess.press("Year 1 Group A · 1")
    await tess.send("Week 3 triage")  # now at the brief


async def _open_find(tess: ChatUser) -> None:
    await tess.send("/find")


async def _open_settings(tess: ChatUser) -> None:
    await tess.send("/settings")
    await tess.press("⏰ Time")


async def _open_cohort(tess: ChatUser) -> None:
    await tess.send("/cohort new")


async def _open_book(tess: ChatUser) -> None:
    await tess.send("/book Ann")
    await tess.press("First outpatient appointment")  # now at the date, typed


async def _open_portfolio(tess: ChatUser) -> None:
    await tess.send("/portfolio")
    await tess.press("✏️ Name")


FORMS = {
    "add": OpenForm("add", "/add", _open_add, "Step 2 of 9 · NHS number", keeps=True),
    "update": OpenForm("update", "/update", _open_update, "Add a note · Ann Example", keeps=True),
    "broadcast": OpenForm("broadcast", "/broadcast", _open_broadcast, "Send the brief", True),
    "find": OpenForm("find", "/find", _open_find, "Type part of a patient's name", keeps=False),
    "settings": OpenForm("settings", "/settings", _open_settings, "Reminder time", keeps=False),
    "cohort": OpenForm("cohort", "/cohort new", _open_cohort, "What should it be", keeps=False),
    "portfolio": OpenForm("portfolio", "/portfolio", _open_portfolio, "Type the name", False),
    "book": OpenForm("book", "/book", _open_book, "Step 2 of 5 · Date", keeps=True),
}

COMMANDS = sorted({c for c, _ in STUDENT_COMMANDS} | {c for c, _ in TUTOR_COMMANDS} | {"start"})


def expected_owner(form: OpenForm, command: str) -> str:
    """Where the probe typed after `command` should land, with `form` open before it."""
    if command == "cancel":
        return "nobody"  # the form ended: stray text, offered back as a search
    if form.key == "add" and command == "add":
        return "resume:add"  # carry on / start again?
    if form.key == "update" and command == "update":
        return "resume:update"
    if form.key == "broadcast" and command == "broadcast":
        return "resume:broadcast"
    if form.key == "book" and command == "book":
        return "resume:book"
    if command in ("add", "update", "find", "book"):
        return command  # a form that takes typed text right away
    if command in ("broadcast", "portfolio"):
        return command  # its first step is buttons: "please tap one"
    return "held" if form.keeps else "nobody"


def landed(replies: list[SentMessage], owner: str, form: OpenForm) -> bool:
    texts = [m.text for m in replies]
    joined = "\n".join(texts)
    if owner == "nobody":
        return is_stray_reply(replies, PROBE)
    if owner == "held":
        return (
            len(replies) == 1
            and texts[0].startswith(f"⏸ Your {form.command} form is on hold")
            and replies[0].button_labels == ["▶️ Carry on", "✖ Cancel"]
        )
    if owner.startswith("resume:"):
        return "Please tap one of the buttons" in joined and "unfinished" in joined
    if owner == "add":
        return "Step 2 of 9 · NHS number" in joined  # the probe became the patient's name
    if owner == "update":
        return f"No patient on your PTL matches “{PROBE}”" in joined
    if owner == "book":
        return f"No patient on your PTL matches “{PROBE}”" in joined
    if owner == "find":
        return f"No patient on your PTL matches “{PROBE}”" in joined
    if owner == "broadcast":
        return "Please tap one of the buttons below" in joined and "Which cohort" in joined
    if owner == "portfolio":
        return "Please tap one of the buttons below" in joined and "Your portfolio" in joined
    raise AssertionError(owner)


def drafts(bot: harness.Bot, user_id: int) -> dict[str, Any]:
    data = bot.app.user_data.get(user_id) or {}
    return {k: data[k] for k in FORM_KEYS if k in data}


async def clean_up(bot: harness.Bot, tess: ChatUser) -> None:
    for _ in range(4):
        if not drafts(bot, tess.user_id):
            break
        await tess.send("/cancel")
    assert drafts(bot, tess.user_id) == {}


@pytest.mark.parametrize("form_key", list(FORMS))
async def test_every_form_with_every_command(bot: harness.Bot, form_key: str) -> None:
    cls = await make_class(bot, 1)
    tess = cls.tutor
    await add_patient(bot, "Ann Example", date(2025, 1, 6), email=TUTOR_EMAIL)
    form = FORMS[form_key]
    for command in COMMANDS:
        await form.open(tess)
        before = json.dumps(drafts(bot, tess.user_id).get(form.key), default=str)
        await tess.send(f"/{command}")
        replies = await tess.send(PROBE)
        owner = expected_owner(form, command)
        assert landed(replies, owner, form), (command, owner, [m.text for m in replies])
        # Whatever happened, the probe never reached the first form's draft.
        after = json.dumps(drafts(bot, tess.user_id).get(form.key), default=str)
        assert PROBE not in after, command
        if owner == "held":
            # Nothing was lost: ▶️ Carry on brings the same step back, answers intact.
            back = await tess.press("▶️ Carry on", message=replies[0])
            assert form.step_text in back[-1].text, command
            assert _answers(after) == _answers(before), command
        await clean_up(bot, tess)


def _answers(serialised: str) -> Any:
    draft = json.loads(serialised) if serialised != "null" else {}
    return {
        k: v for k, v in (draft or {}).items() if k not in ("touched", "prompt", "held", "open")
    }


async def test_broadcast_text_after_another_command_is_not_the_title(bot: harness.Bot) -> None:
    """The reported case: /find then smith at step 2 got two replies and became the title."""
    cls = await make_class(bot, 1)
    tess = cls.tutor
    await tess.send("/broadcast")
    await tess.press("Year 1 Group A · 1")
    await tess.send("/find")
    replies = await tess.send("smith")
    assert [m.text for m in replies] == ["No patient on your PTL matches “smith”.\n"
        "Try part of the first or last name, the patient ID (PTL…) or all 10 digits of the "
        "NHS number. Deleted patients are in /bin."]  # fmt: skip
    assert "title" not in (bot.app.user_data[tess.user_id].get("broadcast") or {})
    # /add then /cancel, then text: not the title either; the bot says /broadcast is on hold.
    await tess.send("/add")
    await tess.send("/cancel")
    (reply,) = await tess.send("hello there")
    assert reply.text.startswith("⏸ Your /broadcast form is on hold (step 2 of 6 · Title)")
    assert "title" not in (bot.app.user_data[tess.user_id].get("broadcast") or {})


async def test_a_typed_brief_survives_switching_away(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    tess = cls.tutor
    await tess.send("/broadcast")
    await tess.press("Year 1 Group A · 1")
    await tess.send("Week 5")
    await tess.send("Put the PTL in breach order.")
    (held, *_rest) = await tess.send("/ptl")
    assert held.text == "⏸ Your /broadcast form is on hold (step 4 of 6 · Scenario patients): " \
        "nothing is lost."  # fmt: skip
    (again,) = await tess.send("more text")
    assert again.text.startswith("⏸ Your /broadcast form is on hold (step 4 of 6")
    await tess.press("▶️ Carry on", message=again)
    await tess.press("« Back")
    assert "Currently: Put the PTL in breach order." in tess.last.text


async def test_unknown_command_answers_and_leaves_the_form_open(bot: harness.Bot) -> None:
    cls = await make_class(bot, 0)
    tess = cls.tutor
    (reply,) = await tess.send("/frobnicate")
    assert reply.text.startswith("🤔 I don't know /frobnicate. Here is what I can do:")
    assert "/broadcast: send an exercise" in reply.text  # a tutor's /help
    await tess.send("/add")
    (reply,) = await tess.send("/cancle")  # a typo of /cancel loses nothing
    assert reply.text.startswith("🤔 I don't know /cancle. Your /add form is still open (Step")
    replies = await tess.send("Jane Doe")
    assert "Step 2 of 9 · NHS number" in replies[-1].text  # the form took the name


async def test_commands_owned_by_a_conversation_are_not_unknown(bot: harness.Bot) -> None:
    sam = bot.user(77, "Sam")
    await sam.send("/start")
    (reply,) = await sam.send("/cancel")  # the linking conversation owns /cancel
    assert reply.text.startswith("Cancelled: nothing was linked.")


async def test_a_stranger_gets_an_answer_to_everything(bot: harness.Bot) -> None:
    sam = bot.user(78, "Sam")
    (reply,) = await sam.send("/frobnicate")
    assert "I don't know /frobnicate" in reply.text and "send /start" in reply.text
    (reply,) = await sam.send("hello")
    assert reply.text.startswith("You need to link your platform account first.")
    (reply,) = await sam.send_document("notes.txt", b"x")
    assert reply.text.startswith("You need to link your platform account first.")
    (reply,) = await sam.send("/start")
    assert "send me the email address you use on the platform" in reply.text


async def test_stray_text_offers_a_search_and_the_menu(bot: harness.Bot) -> None:
    cls = await make_class(bot, 0)
    tess = cls.tutor
    await add_patient(bot, "Ann Smith", date(2025, 1, 6), email=TUTOR_EMAIL)
    (offer,) = await tess.send("smith")
    assert offer.button_labels == ["🔎 Find “smith”", "📋 Menu"]
    replies = await tess.press("🔎 Find “smith”")
    assert "Ann Smith" in replies[-1].text  # one match: the card
    replies = await tess.press("📋 Menu", message=offer)
    assert replies[-1].text.startswith("What would you like to do")
    (reply,) = await tess.send("x")  # too short to search
    assert reply.text.startswith("I wasn't waiting for an answer") and reply.button_labels == [
        "📋 Menu"
    ]


async def test_text_while_two_forms_are_on_hold(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    tess = cls.tutor
    await tess.send("/add")
    await tess.send("Jane Doe")
    await tess.send("/broadcast")
    await tess.press("Year 1 Group A · 1")
    await tess.send("Week 6")
    await tess.send("/stats")
    (reply,) = await tess.send("what now")
    assert reply.text.startswith("⏸ You have forms on hold (/broadcast, /add)")
    assert reply.button_labels == [
        "▶️ Carry on /broadcast", "✖ Cancel /broadcast", "▶️ Carry on /add", "✖ Cancel /add",
    ]  # fmt: skip
    await tess.press("✖ Cancel /broadcast", message=reply)
    assert "broadcast" not in bot.app.user_data[tess.user_id]
    replies = await tess.press("▶️ Carry on /add", message=reply)
    assert "Step 2 of 9 · NHS number" in replies[-1].text


async def test_a_button_nothing_claims_is_answered(bot: harness.Bot) -> None:
    cls = await make_class(bot, 0)
    tess = cls.tutor
    (menu,) = await tess.send("/menu")
    replies = await tess.press_data("zz:from-an-old-deploy", message=menu)  # answered, or it raises
    assert replies == []
    answer = bot.api.calls_to("answerCallbackQuery")[-1].params
    assert answer["text"] == "That button no longer works. Send /menu to carry on."


async def test_find_stays_in_the_search_after_a_too_short_query(bot: harness.Bot) -> None:
    cls = await make_class(bot, 0)
    tess = cls.tutor
    await add_patient(bot, "Bob Example", date(2025, 1, 6), email=TUTOR_EMAIL)
    (reply,) = await tess.send("/find o")
    assert reply.text.startswith("Type at least 2 letters")
    assert "Type part of a patient's name" in reply.text  # still asking
    replies = await tess.send("bo")
    assert "Bob Example" in replies[-1].text


async def test_pasted_invite_link_joins_like_the_deep_link(bot: harness.Bot) -> None:
    cls = await make_class(bot, 0)
    link = f"https://t.me/{bot.app.bot.username}?start={cls.invite}"  # invite: join_…
    # A linked student, mid-/add: the form goes on hold and the link joins.
    await bot.services.links.link(88, 88, "pat@student.example", "Pat")
    pat = bot.user(88, "Pat")
    await pat.send("/add")
    await pat.send("Jane Doe")
    replies = await pat.send(f"Here it is: {link}")
    assert replies[0].text.startswith("⏸ Your /add form is on hold")
    assert "joined" in replies[-1].text and "Year 1 Group A" in replies[-1].text
    assert (await bot.services.tutoring.cohort(TUTOR_EMAIL, cls.cohort_id)).members == 1
    # Someone not linked yet: the invite is remembered through linking, as /start join_ does.
    new = bot.user(89, "Nia")
    (reply,) = await new.send(link)
    assert "Year 1 Group A" in reply.text and "email address" in reply.text
    # A link to another bot is just text.
    (reply,) = await pat.send(f"https://t.me/some_other_bot?start={cls.invite}")
    assert "joined" not in reply.text


async def test_group_chats_get_one_short_pointer_and_nothing_else(bot: harness.Bot) -> None:
    cls = await make_class(bot, 0)
    await add_patient(bot, "Ann Example", date(2025, 1, 6), email=TUTOR_EMAIL)
    group = bot.user(cls.tutor.user_id, "Tess", group_chat_id=-100500)
    for line in ("/update Ann", "/add", "/cohorts", "/start", "/whoami", "/frobnicate"):
        replies = await group.send(line)
        assert [m.text for m in replies] == [
            f"I only work in a private chat (patients and emails stay out of groups): open "
            f"https://t.me/{bot.app.bot.username} and send /start there."
        ], line
    assert await group.send("chatter between students") == []  # not addressed to the bot
    assert "add" not in (bot.app.user_data.get(cls.tutor.user_id) or {})
    # A button pressed in a group (say a forwarded card) is answered, and does nothing.
    (menu,) = await cls.tutor.send("/menu")
    assert await group.press_data("menu:ptl", message=menu) == []
    assert "private chat" in bot.api.calls_to("answerCallbackQuery")[-1].params["text"]


async def test_a_hidden_control_character_is_refused_at_any_typed_step(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    tess = cls.tutor
    await tess.send("/broadcast")
    await tess.press("Year 1 Group A · 1")
    (reply,) = await tess.send("Week\x001")
    assert reply.text.startswith("That contains hidden control characters. Please type it again.")
    assert "Send the exercise's title" in reply.text  # the same step, asked again
    assert "title" not in bot.app.user_data[tess.user_id]["broadcast"]
    (reply,) = await tess.send("Week 1")  # and the form carries on
    assert "Send the brief" in reply.text


async def test_photos_outside_a_form_and_edits_are_answered(bot: harness.Bot) -> None:
    from telegram import Update

    cls = await make_class(bot, 0)
    tess = cls.tutor
    (reply,) = await tess.send_document("notes.pdf", b"%PDF")
    assert reply.text.startswith("I can only read typed messages and commands here.")
    assert reply.button_labels == ["📋 Menu"]
    edit = Update.de_json(
        {
            "update_id": bot.api.next_update_id(),
            "edited_message": {
                "message_id": 1, "date": 1, "edit_date": 2, "text": "Jane Doe",
                "chat": {"id": tess.chat_id, "type": "private", "first_name": "Tess"},
                "from": {"id": tess.user_id, "is_bot": False, "first_name": "Tess"},
            },
        },
        bot.app.bot,
    )  # fmt: skip
    await bot.app.process_update(edit)
    assert tess.last.text.startswith("I only read new messages, not edits")
