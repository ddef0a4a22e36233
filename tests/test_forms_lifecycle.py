"""A form's life beyond one sitting: restart mid-form, expiry (live, lazy and across a
restart), putting a form on hold when the student starts something else, and resuming."""

from __future__ import annotations

from datetime import date, timedelta

from bot.runtime.offline import OfflineBotAPI
from handlers.forms import sweep
from storage.db import Database
from tests import harness
from tests.forms_support import (
    SAM,
    answer,
    conversation_rows,
    fill_to,
    is_stray_reply,
    linked,
    patients,
    prompt,
    step_of,
    stored_user_data,
)
from tests.harness import TODAY, Bot


async def test_restart_mid_add_resumes_at_the_same_step(db: Database) -> None:
    api = OfflineBotAPI()  # Telegram keeps the chat across the restart; so does this
    first = await harness.make_bot(db, api=api)
    sam = await linked(first)
    await fill_to(sam, "start")
    live = prompt(sam)
    await harness.close_bot(first)

    second = await harness.make_bot(db, api=api)
    try:
        sam = second.user(SAM)
        # The prompt sent before the restart still works: same step, same answers.
        replies = await sam.press("4 weeks ago · 3 Feb 2025", message=live)
        assert step_of(replies[-1]) == "prio"
        await answer(sam, "prio")
        await answer(sam, "cons")
        await sam.send("Restarted mid-form")
        assert "Name: Jane Doe" in prompt(sam).text
        await sam.press("✅ Save")
        (p,) = await patients(second)
        assert p.patient_name == "Jane Doe" and p.notes == "Restarted mid-form"
        assert p.clock_start_date == date(2025, 2, 3)
    finally:
        await harness.close_bot(second)


async def test_idle_form_expires_with_a_message(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    await fill_to(sam, "path")
    live = prompt(sam)
    bot.clock.advance(minutes=59)
    assert await sweep(bot.app) == 0  # not idle long enough yet
    bot.clock.advance(minutes=1)
    sent_before = len(sam.history)
    assert await sweep(bot.app) == 1
    new = sam.history[sent_before:]
    assert [m.text for m in new] == [
        "⌛ Your unfinished /add form was closed after 60 minutes without activity. "
        "Nothing was saved. Send /add to start again."
    ]
    assert live.buttons == []
    assert "add" not in await stored_user_data(db, SAM)
    assert await conversation_rows(db, "add") == []
    assert await sweep(bot.app) == 0  # closed once only
    # The conversation is over: text is not taken as an answer, /add starts afresh.
    assert is_stray_reply(await sam.send("Jane Doe"), "Jane Doe")
    replies = await sam.send("/add")
    assert step_of(replies[-1]) == "name"


async def test_a_form_touched_recently_is_not_expired(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "path")
    bot.clock.advance(minutes=50)
    await answer(sam, "path")  # touching the form resets its idle time
    bot.clock.advance(minutes=50)
    assert await sweep(bot.app) == 0
    assert step_of(prompt(sam)) == "ref"


async def test_expiry_is_noticed_on_the_next_update_too(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    await fill_to(sam, "spec")
    bot.clock.advance(hours=2)  # no sweep ran (say the job queue was busy)
    replies = await sam.press("110 Trauma & Ortho")
    assert "closed after 60 minutes without activity" in replies[-1].text
    assert "add" not in await stored_user_data(db, SAM)
    assert await conversation_rows(db, "add") == []


async def test_form_abandoned_before_a_restart_expires_at_start_up(db: Database) -> None:
    api = OfflineBotAPI()
    first = await harness.make_bot(db, api=api)
    sam = await linked(first)
    await fill_to(sam, "ref")
    await harness.close_bot(first)
    assert await conversation_rows(db, "add") != []

    # Back the next day: start-up closes the form and says so.
    second = await harness.make_bot(db, api=api, today=TODAY + timedelta(days=1))
    try:
        sam = second.user(SAM)
        assert "closed after 60 minutes without activity" in sam.last.text
        assert await conversation_rows(db, "add") == []
        assert "add" not in await stored_user_data(db, SAM)
        # Not taken as the referral date: only offered back as a search.
        assert is_stray_reply(await sam.send("3 Feb 2025"), "3 Feb 2025")
    finally:
        await harness.close_bot(second)


async def test_form_survives_a_restart_within_the_idle_time(db: Database) -> None:
    api = OfflineBotAPI()
    first = await harness.make_bot(db, api=api)
    sam = await linked(first)
    await fill_to(sam, "ref")
    await harness.close_bot(first)
    second = await harness.make_bot(db, api=api)
    try:
        sam = second.user(SAM)
        assert "closed after" not in sam.last.text
        replies = await sam.send("3 Feb 2025")
        assert step_of(replies[-1]) == "start"
    finally:
        await harness.close_bot(second)


async def test_another_command_puts_the_form_on_hold_and_add_resumes_it(
    bot: Bot, db: Database
) -> None:
    sam = await linked(bot)
    await fill_to(sam, "path")
    live = prompt(sam)
    replies = await sam.send("/help")
    assert (
        replies[0].text == "⏸ Your /add form is on hold (Step 4 of 9 · Pathway): nothing is lost."
    )
    assert replies[0].button_labels == ["▶️ Carry on", "✖ Cancel"]
    assert "/add: add a patient" in replies[-1].text  # /help still answered
    assert live.buttons == []
    assert await conversation_rows(db, "add") == []  # no step waits for text any more
    # So text goes nowhere near the form: the bot says the form is on hold.
    (held,) = await sam.send("18 weeks")
    assert held.text.startswith("⏸ Your /add form is on hold (Step 4 of 9 · Pathway), so I")
    assert held.button_labels == ["▶️ Carry on", "✖ Cancel"]
    assert "add" in await stored_user_data(db, SAM)  # but the answers are kept

    replies = await sam.send("/add")
    assert replies[-1].text.startswith(
        "You have an unfinished /add form (Step 4 of 9 · Pathway), last touched just now."
    )
    assert replies[-1].button_labels == ["▶️ Carry on", "🔄 Start again", "✖ Cancel"]
    replies = await sam.press("▶️ Carry on")
    assert step_of(replies[-1]) == "path"
    await sam.press("« Back")
    assert "Currently: Trauma and Orthopaedics" in prompt(sam).text


async def test_a_menu_button_puts_the_form_on_hold(bot: Bot) -> None:
    sam = await linked(bot)
    menu = await sam.send("/menu")
    await sam.press("➕ Add patient", message=menu[0])
    await sam.send("Jane Doe")
    replies = await sam.press("❓ Help", message=menu[0])
    assert replies[0].text.startswith("⏸ Your /add form is on hold (Step 2 of 9 · NHS number)")
    replies = await sam.press("➕ Add patient", message=menu[0])
    replies = await sam.press("🔄 Start again")
    assert step_of(replies[-1]) == "name"
    assert "Currently" not in replies[-1].text


async def test_cancel_discards_a_form_on_hold(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    await fill_to(sam, "ref")
    await sam.send("/menu")
    replies = await sam.send("/cancel")
    assert replies[-1].text == "Discarded your unfinished /add form. Nothing was saved."
    assert "add" not in await stored_user_data(db, SAM)
    replies = await sam.send("/add")
    assert step_of(replies[-1]) == "name"


async def test_a_form_on_hold_still_expires(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    await fill_to(sam, "ref")
    await sam.send("/help")
    bot.clock.advance(hours=1)
    assert await sweep(bot.app) == 1
    assert "closed after 60 minutes" in sam.last.text
    assert "add" not in await stored_user_data(db, SAM)


async def test_idle_time_is_an_operator_setting(db: Database) -> None:
    settings = harness.test_settings(form_idle_minutes=15)
    instance = await harness.make_bot(db, settings=settings)
    try:
        sam = await linked(instance)
        await fill_to(sam, "nhs")
        instance.clock.advance(minutes=15)
        assert await sweep(instance.app) == 1
        assert "after 15 minutes without activity" in sam.last.text
    finally:
        await harness.close_bot(instance)


async def test_a_form_with_nothing_entered_is_dropped_quietly(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    await sam.send("/add")
    replies = await sam.send("/help")
    assert len(replies) == 1 and "/add: add a patient" in replies[0].text
    assert "add" not in await stored_user_data(db, SAM)
    replies = await sam.send("/add")
    assert step_of(replies[-1]) == "name"  # no "carry on?" question for an empty form


async def test_update_form_expires_and_holds_like_add(bot: Bot, db: Database) -> None:
    from tests.test_update import add_patient

    sam = await linked(bot)
    patient = await add_patient(bot)
    await sam.send(f"/update {patient.patient_id}")
    await sam.press("📝 Add a note")
    replies = await sam.send("/menu")
    assert replies[0].text == "⏸ Your /update form is on hold (updating Jane Doe): nothing is lost."
    replies = await sam.send("/update")
    assert replies[-1].text.startswith("You have an unfinished /update form (updating Jane Doe)")
    replies = await sam.press("▶️ Carry on")
    assert replies[-1].text.startswith("Add a note · Jane Doe")
    bot.clock.advance(hours=1)
    assert await sweep(bot.app) == 1
    assert sam.last.text.startswith("⌛ Your unfinished /update form was closed after 60 minutes")
    assert await conversation_rows(db, "update") == []
    assert (await bot.services.patients.get(patient.user_email, patient.patient_id)).notes is None


async def test_two_replicas_share_a_form_and_the_sweep_reads_the_database(
    db: Database,
) -> None:
    """Webhook replicas behind a load balancer: steps of one form land on either replica,
    and a replica whose memory is stale never expires a form the other one just served."""
    from bot.runtime.offline import ChatUser

    api = OfflineBotAPI()
    a = await harness.make_bot(db, api=api)
    b = await harness.make_bot(db, api=api)
    try:
        await linked(a)
        on_a, on_b = ChatUser(a.app, api, SAM), ChatUser(b.app, api, SAM)
        await on_a.send("/add")
        await on_b.send("Jane Doe")  # step 1 answered on replica B
        assert step_of(prompt(on_a)) == "nhs"
        await on_a.press("🎲 Use a test number")  # step 2 on replica A
        for clock in (a.clock, b.clock):
            clock.advance(minutes=50)
        await on_a.press("110 Trauma & Ortho")  # touched at +50 min, on A only
        for clock in (a.clock, b.clock):
            clock.advance(minutes=20)
        # B last saw the form at +0 min; the database says +50: not idle.
        assert await sweep(b.app) == 0
        replies = await on_b.press("18-week RTT")
        assert step_of(replies[-1]) == "ref"
        for clock in (a.clock, b.clock):
            clock.advance(minutes=61)
        assert await sweep(b.app) == 1
        assert await sweep(a.app) == 0  # closed once, whichever replica swept
        assert "closed after 60 minutes" in on_a.last.text
        assert await conversation_rows(db, "add") == []
    finally:
        await harness.close_bot(a)
        await harness.close_bot(b)
