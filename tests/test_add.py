"""/add end to end: the real Application on the offline Bot API and a migrated Postgres.

Covers the happy path (and what is stored), Back and Cancel from every step, bad input at
every step, Edit a field, the clock-start rule, old and closed-form buttons, and the entry
points. Restart, expiry and hold are in test_forms_lifecycle.py; generated input in
test_forms_fuzz.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.rules.nhs_number import is_valid
from bot.runtime.offline import ChatUser
from storage.db import Database
from tests import harness
from tests.forms_support import (
    EMAIL,
    SAM,
    STEPS,
    TITLES,
    answer,
    conversation_rows,
    fill_to,
    is_stray_reply,
    linked,
    no_error,
    patients,
    prompt,
    step_of,
    stored_user_data,
)
from tests.harness import Bot


async def test_happy_path_saves_one_row_and_shows_the_card(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    replies = await sam.send("/add")
    assert replies[-1].text.startswith("Step 1 of 9 · Patient name")
    assert replies[-1].button_labels == ["✖ Cancel"]
    await sam.send("Jane O'Neil-Smith")
    assert step_of(prompt(sam)) == "nhs"
    await sam.send("999 000 0018")  # valid, test range
    await sam.press("110 Trauma & Ortho")
    await sam.press("18-week RTT")
    await sam.send("3/2/25")
    # The clock start is the day the referral was received, not the letter's date.
    start = prompt(sam)
    assert "When did the hospital receive the referral?" in start.text
    assert "The letter is dated 3 Feb 2025: that is the referral date." in start.text
    assert not any("Same as referral" in label for label in start.button_labels)
    await sam.press("4 weeks ago · 3 Feb 2025")
    await sam.press("Urgent")
    await sam.send("Mr T. Jones")
    await sam.send("Needs <b>interpreter</b> & transport")
    summary = prompt(sam)
    assert step_of(summary) == "summary"
    text = summary.text
    for expected in (
        "Name: Jane O'Neil-Smith",
        "NHS number: 999 000 0018",
        "Specialty: Trauma and Orthopaedics",
        "Pathway: 18-week RTT",
        "Referral letter: 3 Feb 2025",
        "Clock start: 3 Feb 2025",
        "Priority: Urgent",
        "Consultant: Mr T. Jones",
        "Notes: Needs <b>interpreter</b> & transport",  # shown literally, escaped in HTML
        "4 weeks waited (28 days)",
        "breach date 10 Jun 2025",
        "On track",
    ):
        assert expected in text, expected
    assert "&lt;b&gt;interpreter&lt;/b&gt; &amp; transport" in summary.html
    assert summary.button_labels == ["✅ Save", "✏️ Edit a field", "« Back", "✖ Cancel"]
    assert await patients(bot) == []  # nothing written before Save

    replies = await sam.press("✅ Save")
    no_error(replies)
    assert replies[0].text.startswith("✅ Saved Jane O'Neil-Smith to your PTL (ID PTL")
    assert replies[0].buttons == []  # the summary keeps no live buttons
    card = replies[-1]
    assert "Jane O'Neil-Smith" in card.text and "✏️ Update" in card.button_labels

    rows = await patients(bot)
    assert len(rows) == 1
    p = rows[0]
    assert (p.patient_name, p.nhs_number, p.specialty) == (
        "Jane O'Neil-Smith",
        "9990000018",
        "Trauma and Orthopaedics",
    )
    assert (p.pathway_type, p.referral_date, p.clock_start_date) == (
        "rtt",
        date(2025, 2, 3),
        date(2025, 2, 3),
    )
    assert (p.priority, p.consultant) == ("Urgent", "Mr T. Jones")
    assert p.notes == "Needs <b>interpreter</b> & transport"
    assert p.user_email == EMAIL and p.events == []
    # The stored clock fields come from the rules engine in the same write.
    assert p.breach_date == date(2025, 6, 10)
    assert p.clock_state == "running" and p.rtt_code == "10" and p.clock_status == "Running"
    assert p.clock_computed_at is not None
    # The form is over: no draft, no conversation state left in the database.
    assert "add" not in await stored_user_data(db, SAM)
    assert await conversation_rows(db, "add") == []


async def test_generated_nhs_number_is_valid_and_in_the_test_range(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "summary")
    await sam.press("✅ Save")
    (p,) = await patients(bot)
    assert p.nhs_number is not None and p.nhs_number.startswith("999") and is_valid(p.nhs_number)


async def test_main_menu_button_starts_the_form(bot: Bot) -> None:
    sam = await linked(bot)
    menu = await sam.send("/menu")
    replies = await sam.press("➕ Add patient", message=menu[0])
    assert step_of(replies[-1]) == "name"


async def test_unlinked_user_is_told_to_link_first(bot: Bot) -> None:
    replies = await bot.user(777).send("/add")
    assert "link your platform account" in replies[0].text


async def test_back_from_every_step_keeps_the_answers(bot: Bot) -> None:
    sam = await linked(bot)
    for step in (*STEPS[1:], "summary"):
        await fill_to(sam, step)
        index = STEPS.index(step) if step != "summary" else len(STEPS)
        previous = STEPS[index - 1]
        replies = await sam.press("« Back")
        assert step_of(replies[-1]) == previous, step
        assert replies[-1].edited  # the same prompt, edited in place
        # The earlier answer is still there, shown and keepable.
        if previous != "notes":  # notes were skipped on the way
            assert "Currently:" in replies[-1].text, step
            replies = await sam.press("Keep as it is »")
        else:
            replies = await answer(sam, previous)
        assert step_of(replies[-1]) == step, step
        await sam.send("/cancel")
    assert await patients(bot) == []


async def test_back_all_the_way_then_forward_saves_the_same_patient(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "summary")
    for _ in (*STEPS[1:], "summary"):
        await sam.press("« Back")
    assert step_of(prompt(sam)) == "name"
    assert "« Back" not in prompt(sam).button_labels  # nothing before step 1
    for _ in range(len(STEPS) - 1):
        await sam.press("Keep as it is »")
    await sam.press("Skip »")  # notes were never given
    assert step_of(prompt(sam)) == "summary"
    await sam.press("✅ Save")
    (p,) = await patients(bot)
    assert p.patient_name == "Jane Doe" and p.consultant == "Ms A Patel"


async def test_cancel_button_from_every_step_saves_nothing(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    for step in (*STEPS, "summary", "edit"):
        if step == "edit":
            await fill_to(sam, "summary")
            await sam.press("✏️ Edit a field")
        else:
            await fill_to(sam, step)
        replies = await sam.press("✖ Cancel")
        assert replies[-1].text.startswith("Cancelled. Nothing was saved."), step
        assert replies[-1].buttons == [], step
        assert await patients(bot) == [], step
        assert "add" not in await stored_user_data(db, SAM), step
        assert await conversation_rows(db, "add") == [], step
        # The conversation really ended: text now goes nowhere near the form.
        assert is_stray_reply(await sam.send("Jane Doe"), "Jane Doe"), step


async def test_cancel_command_from_every_step_saves_nothing(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    for step in (*STEPS, "summary"):
        await fill_to(sam, step)
        live = prompt(sam)
        replies = await sam.send("/cancel")
        assert [m.text for m in replies if not m.edited] == [
            "Cancelled. Nothing was saved. Send /menu to see what you can do."
        ], step
        assert live.buttons == [], step  # the abandoned prompt lost its buttons
        assert await patients(bot) == [], step
        assert await conversation_rows(db, "add") == [], step


async def test_cancel_outside_any_form_answers_politely(bot: Bot) -> None:
    sam = await linked(bot)
    replies = await sam.send("/cancel")
    assert len(replies) == 1
    assert replies[0].text.startswith("Cancelled. Nothing was changed.")


# Inputs every step must refuse with a helpful reply (and no write). Steps where free text is
# an answer (name, specialty, consultant, notes) have their own refusals below.
BAD_EVERYWHERE = {
    "name": ["   ", "😀😀", "<script>alert(1)</script>", "x" * 5000, "12345", "a\x00b"],
    "nhs": ["999 000 0019", "12345", "999-000-001O", "x" * 5000, "😀", "<b>999</b>",
            "943 476 5919"],  # the last is valid but outside the test range
    "spec": ["😀", "<b>ENT</b>", "x" * 5000, "---", "a\x07b"],
    "path": ["weekly", "😀", "<i>rtt</i>", "x" * 5000],
    "ref": ["tomorrow", "31/02/2025", "13/13/2025", "x" * 5000, "😀", "<b>today</b>",
            "1/1/1999"],
    "start": ["tomorrow", "1 Feb 2025", "x" * 5000, "😀", "&amp;"],  # 1 Feb is before referral
    "prio": ["whenever", "😀", "x" * 5000, "<b>urgent</b>"],
    "cons": ["😀", "<b>Dr</b>", "x" * 5000, "...", "a\x1bb"],
    "notes": ["x" * 5000, "a\x00b"],
}  # fmt: skip

HINTS = {
    "name": ["letter", "characters", "didn't see", "control", "can contain"],
    "nhs": ["Modulus 11", "10 digits", "only digits", "test range", "characters"],
    "spec": ["can contain", "characters", "letter", "control"],
    "path": ["didn't recognise"],
    "ref": ["future", "no such", "month", "too long", "couldn't read", "before", "has "],
    "start": ["future", "can't start before", "too long", "couldn't read"],
    "prio": ["tap one of the priorities"],
    "cons": ["can contain", "characters", "letter", "control"],
    "notes": ["characters", "control"],
}


@pytest.mark.parametrize("steps", [STEPS[:5], STEPS[5:]], ids=["steps1-5", "steps6-9"])
async def test_bad_input_at_every_step_is_explained_and_writes_nothing(
    bot: Bot, steps: tuple[str, ...]
) -> None:
    sam = await linked(bot)
    for step in steps:
        await _refuses_bad_input(bot, sam, step)
        await sam.send("/cancel")


async def _refuses_bad_input(bot: Bot, sam: ChatUser, step: str) -> None:
    await fill_to(sam, step)
    for bad in BAD_EVERYWHERE[step]:
        replies = await sam.send(bad)
        no_error(replies)
        reply = replies[-1]
        assert step_of(reply) == step, (bad[:20], reply.text)
        assert len(reply.text) < 4096
        first_line = reply.text.split("\n\n")[0]
        assert any(h.lower() in first_line.lower() for h in HINTS[step]), (bad[:20], first_line)
        assert reply.button_labels[-1] == "✖ Cancel"
    assert await patients(bot) == []
    # Non-text messages are answered too.
    replies = await sam.send_document("scan.pdf", b"%PDF-1.4")
    assert replies[-1].text.startswith("I can only read typed text here")
    assert step_of(replies[-1]) == step
    # After all that, the step still takes a good answer.
    await answer(sam, step)
    assert step_of(prompt(sam)) != step


async def test_html_like_text_is_escaped_in_every_reply(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "ref")
    replies = await sam.send("<b>12/13/2025</b> & more")
    # The date parser echoes what it read; it must arrive escaped (the offline API would
    # refuse malformed HTML) and be shown to the student literally.
    assert "<b>12/13/2025</b> & more" in replies[-1].text


async def test_clock_start_before_referral_is_refused_with_the_reason(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "start")
    replies = await sam.send("2 Feb 2025")
    assert (
        "The clock can't start before the referral letter's date (3 Feb 2025)" in replies[-1].text
    )
    replies = await sam.press("Today · 3 Mar 2025")
    assert step_of(replies[-1]) == "prio"


async def test_thirty_one_day_clock_start_prompt_teaches_the_rule(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "path")
    await sam.press("31-day cancer")
    await answer(sam, "ref")
    assert "When was the decision to treat made" in prompt(sam).text
    assert "earliest clinically appropriate date" in prompt(sam).text


async def test_edit_a_field_from_the_summary(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "summary")
    replies = await sam.press("✏️ Edit a field")
    assert replies[-1].text.startswith("Edit a field")
    assert "Name" in replies[-1].button_labels and "« Back to summary" in replies[-1].button_labels
    # Back from the chooser returns to the summary unchanged.
    replies = await sam.press("« Back to summary")
    assert step_of(replies[-1]) == "summary"
    await sam.press("✏️ Edit a field")
    replies = await sam.press("Name")
    assert replies[-1].text.startswith("✏️ Patient name")
    assert "Currently: Jane Doe" in replies[-1].text
    replies = await sam.send("John Smith")
    assert step_of(replies[-1]) == "summary"
    assert "Name: John Smith" in replies[-1].text
    # Back from a field being edited goes to the chooser, not through the other steps.
    await sam.press("✏️ Edit a field")
    await sam.press("Pathway")
    replies = await sam.press("« Back")
    assert replies[-1].text.startswith("Edit a field")
    await sam.press("Pathway")
    replies = await sam.press("62-day cancer")
    assert step_of(replies[-1]) == "summary"
    assert "Pathway: Cancer 62-day referral to treatment" in replies[-1].text
    assert "breach date 7 Apr 2025" in replies[-1].text  # 3 Feb + 63 days
    await sam.press("✅ Save")
    (p,) = await patients(bot)
    assert p.patient_name == "John Smith" and p.pathway_type == "cancer_62"
    assert p.breach_date == date(2025, 4, 7)


async def test_editing_the_referral_past_the_clock_start_asks_for_the_clock_start(
    bot: Bot,
) -> None:
    sam = await linked(bot)
    await fill_to(sam, "summary")
    await sam.press("✏️ Edit a field")
    await sam.press("Referral letter")
    replies = await sam.send("10 Feb 2025")
    reply = replies[-1]
    assert "The clock start (3 Feb 2025) is now before the referral date" in reply.text
    assert "✏️ Clock start" in reply.text
    # Shortcuts before the letter's new date are no longer offered.
    assert "4 weeks ago · 3 Feb 2025" not in reply.button_labels
    replies = await sam.press("1 week ago · 24 Feb 2025")
    assert step_of(replies[-1]) == "summary"
    assert "Clock start: 24 Feb 2025" in replies[-1].text


async def test_text_at_the_summary_points_to_the_buttons(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "summary")
    replies = await sam.send("save please")
    assert replies[-1].text.startswith("Please tap one of the buttons below.")
    assert step_of(replies[-1]) == "summary"


async def test_a_button_on_an_older_prompt_is_answered_and_ignored(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "spec")
    old = prompt(sam)  # specialty prompt
    await sam.send("Urology")  # typed: a new prompt is sent, the old one loses its buttons
    assert old.buttons == []
    # Even if a client still shows the old buttons, pressing one changes nothing.
    replies = await sam.press_data("add:c:120", message=old)
    assert replies == []
    assert step_of(prompt(sam)) == "path"
    call = bot.api.calls_to("answerCallbackQuery")[-1]
    assert "earlier message" in call.params.get("text", "")


async def test_a_button_after_the_form_closed_is_answered(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "summary")
    summary = prompt(sam)
    await sam.press("✅ Save")
    replies = await sam.press_data("add:save", message=summary)  # a double tap
    assert replies == [] or all(not m.buttons for m in replies)
    assert len(await patients(bot)) == 1  # saved once only
    call = bot.api.calls_to("answerCallbackQuery")[-1]
    assert "That form has closed" in call.params.get("text", "")


async def test_any_valid_nhs_number_when_the_operator_allows_it(db: Database) -> None:
    settings = harness.test_settings(allow_any_valid_nhs_number=True)
    instance = await harness.make_bot(db, settings=settings)
    try:
        sam = await linked(instance)
        await fill_to(sam, "nhs")
        assert "10-digit NHS number" in prompt(sam).text
        await sam.send("943 476 5919")
        assert step_of(prompt(sam)) == "spec"
    finally:
        await harness.close_bot(instance)


async def test_free_text_specialty_and_typed_codes(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "spec")
    await sam.send("150")
    await sam.press("« Back")
    assert "Currently: Neurosurgery" in prompt(sam).text
    await sam.send("Sports & Exercise Medicine")
    await sam.press("« Back")
    assert "Currently: Sports & Exercise Medicine" in prompt(sam).text
    assert "Sports &amp; Exercise Medicine" in prompt(sam).html


def test_step_titles_match_the_fields() -> None:
    from bot.services.patient_form import FIELDS

    for key, title in TITLES.items():
        assert FIELDS[key].title.startswith(title)


async def test_summary_warns_about_a_duplicate_nhs_number(bot: Bot) -> None:
    sam = await linked(bot)
    await fill_to(sam, "nhs")
    await sam.send("999 000 0018")
    for step in STEPS[2:]:
        await answer(sam, step)
    assert "already has" not in prompt(sam).text
    await sam.press("✅ Save")
    (first,) = await patients(bot)
    await fill_to(sam, "nhs")
    await sam.send("9990000018")
    for step in STEPS[2:]:
        await answer(sam, step)
    assert (
        f"Your PTL already has Jane Doe (ID {first.patient_id}) with this NHS number"
        in prompt(sam).text
    )
