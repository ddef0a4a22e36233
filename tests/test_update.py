"""/update end to end: record an event, edit a field, add a note; stale edits refused;
Back and Cancel from every step; bad input at every step; no pauses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.rules.records import event_entry, stored_clock_fields
from bot.runtime.offline import ChatUser, SentMessage
from storage.db import Database
from storage.models import Patient, PatientIn
from tests import harness
from tests.forms_support import EMAIL, SAM, conversation_rows, linked, no_error, stored_user_data
from tests.harness import Bot

# PTL_RULES.md worked example 4: rtt from 3 Feb 2025, treated 1 May 2025, seen on 2 Jun 2025.
TODAY = date(2025, 6, 2)
START = date(2025, 2, 3)


@pytest.fixture
async def bot(db: Database) -> AsyncIterator[Bot]:
    instance = await harness.make_bot(db, today=TODAY)
    yield instance
    await harness.close_bot(instance)


async def add_patient(
    bot: Bot,
    name: str = "Jane Doe",
    *,
    email: str = EMAIL,
    pathway: str = "rtt",
    start: date = START,
    events: list[dict[str, Any]] | None = None,
    notes: str | None = None,
) -> Patient:
    events = events or []
    return await bot.services.patients.add(
        email,
        PatientIn(
            patient_name=name,
            nhs_number="9990000018",
            specialty="Urology",
            pathway_type=pathway,
            referral_date=start,
            clock_start_date=start,
            priority="Routine",
            notes=notes,
            events=events,
            **stored_clock_fields(pathway, start, events, TODAY),
        ),
    )


async def current(bot: Bot, patient: Patient) -> Patient:
    return await bot.services.patients.get(EMAIL, patient.patient_id)


def live(user: ChatUser) -> SentMessage:
    return user.last_with_buttons()


async def open_menu(sam: ChatUser, patient: Patient) -> list[SentMessage]:
    replies = await sam.send(f"/update {patient.patient_id}")
    assert replies[-1].text.startswith("Update · "), replies[-1].text
    return replies


# -- recording events --------------------------------------------------------------------------


async def test_record_treatment_shows_before_after_and_saves(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    replies = await open_menu(sam, patient)
    menu = replies[-1]
    assert "At risk · 17 weeks waited (119 days) · breach date 10 Jun 2025" in menu.text
    assert menu.button_labels[:3] == ["📌 Record an event", "✏️ Edit a field", "📝 Add a note"]

    replies = await sam.press("📌 Record an event")
    kinds = replies[-1]
    assert kinds.text.startswith("Step 1 of 3 · What happened?")
    # Each effect is this patient's clock today, from the engine (issue 15 point 6).
    assert "Treatment started: stops the clock, within the 18-week standard (day 119) ✔" in (
        kinds.text
    )
    assert "Did not attend (DNA): nullifies the clock" in kinds.text
    assert "New clock start: no effect while a clock runs" in kinds.text
    assert not any("pause" in label.lower() for label in kinds.button_labels)
    replies = await sam.press("30 · Treatment started")
    assert replies[-1].text.startswith("Step 2 of 3 · When?")
    assert "this stops the RTT" in replies[-1].text
    replies = await sam.send("1/5/25")
    assert replies[-1].text.startswith("Step 3 of 3 · Details (optional)")
    replies = await sam.send("Left hip <replacement> & rehab")
    confirm = replies[-1]
    assert confirm.text.startswith("Check and save · Jane Doe")
    assert "Event: 30 · Treatment started on 1 May 2025" in confirm.text
    assert "Details: Left hip <replacement> & rehab" in confirm.text
    assert "Before: 🟠 At risk · 17 weeks waited (119 days)" in confirm.text
    assert "After: ⚪ Clock stopped 1 May 2025 · within the 18-week standard (day 87) ✔" in (
        confirm.text
    )
    assert "What changes: clock stopped: treated, within the 18-week standard (day 87)" in (
        confirm.text
    )
    assert await current(bot, patient) == patient  # nothing written yet

    replies = await sam.press("✅ Save")
    no_error(replies)
    assert replies[0].text.startswith(
        "✅ Recorded for Jane Doe: clock stopped: treated, within the 18-week standard (day 87)"
    )
    assert replies[-1].button_labels[0] == "✏️ Update"  # the card
    saved = await current(bot, patient)
    assert saved.version == patient.version + 1
    (entry,) = saved.events
    assert entry == {
        "date": "2025-05-01",
        "code": "30",
        "description": "Left hip <replacement> & rehab",
        "added_by": EMAIL,
        "kind": "treatment_started",
    }
    assert (saved.clock_state, saved.rtt_code, saved.clock_status) == (
        "stopped",
        "30",
        "Stopped",  # the platform's word (README: the platform's table)
    )
    assert saved.breach_date == date(2025, 6, 10)
    assert "update" not in await stored_user_data(db, SAM)
    assert await conversation_rows(db, "update") == []


async def test_event_from_the_cards_update_button(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    card = (await sam.send(f"/find {patient.patient_id}"))[-1]
    replies = await sam.press("✏️ Update", message=card)
    assert replies[-1].text.startswith("Update · Jane Doe")
    assert "« Back" not in replies[-1].button_labels  # came straight from the card
    await sam.press("📌 Record an event")
    await sam.press("33 · Did not attend (DNA)")
    await sam.press("Today · 2 Jun 2025")
    replies = await sam.press("Skip »")
    assert "clock nullified: a DNA of the first appointment after the referral" in replies[-1].text
    await sam.press("✅ Save")
    saved = await current(bot, patient)
    assert saved.clock_state == "nullified" and saved.events[0]["code"] == "33"


async def test_new_clock_after_active_monitoring_is_code_11(bot: Bot) -> None:
    sam = await linked(bot)
    monitoring = event_entry("active_monitoring_patient", date(2025, 3, 3), added_by=EMAIL)
    patient = await add_patient(bot, events=[monitoring])
    await open_menu(sam, patient)
    replies = await sam.press("📌 Record an event")
    assert "New clock start: starts a new clock (code 11)" in replies[-1].text
    # After active monitoring the decision to treat is what starts the new clock (r2).
    assert "Decision to treat: starts a new clock (code 11)" in replies[-1].text
    assert "11 · Decision to treat" in replies[-1].button_labels
    await sam.press("11 · New clock start")
    await sam.send("2 weeks ago")
    replies = await sam.press("Skip »")
    assert "new clock started 19 May 2025 (code 11)" in replies[-1].text
    await sam.press("✅ Save")
    saved = await current(bot, patient)
    assert saved.events[-1]["code"] == "11" and saved.clock_state == "running"
    assert saved.breach_date == date(2025, 9, 23)  # 19 May + 127 days


async def test_an_event_that_changes_nothing_is_explained(bot: Bot) -> None:
    sam = await linked(bot)
    treated = event_entry("treatment_started", date(2025, 5, 1), added_by=EMAIL)
    patient = await add_patient(bot, events=[treated])
    await open_menu(sam, patient)
    await sam.press("📌 Record an event")
    await sam.press("34 · Discharged")
    await sam.press("Yesterday · 1 Jun 2025")
    replies = await sam.press("Skip »")
    assert "This changes nothing: the clock had already stopped" in replies[-1].text
    assert "✅ Save anyway" in replies[-1].button_labels


async def test_event_date_rules_are_explained(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    await open_menu(sam, patient)
    await sam.press("📌 Record an event")
    await sam.press("20 · First appointment attended")
    replies = await sam.send("1 Feb 2025")
    assert "can't be before the clock start (3 Feb 2025)" in replies[-1].text
    replies = await sam.send("tomorrow")
    assert "in the future" in replies[-1].text
    assert "Record an event once it has happened" in replies[-1].text
    replies = await sam.send("next week")
    assert "covers more than one day" in replies[-1].text  # still the date step, explained
    assert "Step 2 of 3" in replies[-1].text
    assert (await current(bot, patient)).events == []


async def test_typing_pause_anywhere_explains_there_are_no_pauses(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    replies = await sam.send("/update")
    replies = await sam.send("pause the clock")
    # No patient chosen yet: every pathway's rule (RTT none, cancer two adjustments, DM01).
    assert "An RTT clock can't be paused" in replies[-1].text
    assert "exactly two adjustments" in replies[-1].text and "resets" in replies[-1].text
    await sam.send("Jane")
    await sam.press("📌 Record an event")
    replies = await sam.send("Pause")
    # Jane is on an RTT pathway: the RTT rule, not the cancer adjustments.
    assert "An RTT clock can't be paused" in replies[-1].text
    assert "two reasonable offers" in replies[-1].text
    assert "exactly two adjustments" not in replies[-1].text
    assert "Step 1 of 3" in replies[-1].text
    await sam.press("20 · First appointment attended")
    replies = await sam.send("paused until next month")
    assert "pauses were removed from the RTT rules on 1 October 2015" in replies[-1].text
    assert await current(bot, patient) == patient


# -- editing a field and adding a note -------------------------------------------------------


async def test_edit_clock_start_moves_the_breach_date(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    await open_menu(sam, patient)
    replies = await sam.press("✏️ Edit a field")
    assert replies[-1].text.startswith("Step 1 of 2 · Which detail?")
    replies = await sam.press("Clock start")
    assert replies[-1].text.startswith("Step 2 of 2 · Clock start")
    assert "Currently: 3 Feb 2025" in replies[-1].text
    replies = await sam.send("3 Feb 2025")
    assert replies[-1].text.startswith("That's what it is already")
    replies = await sam.send("1 Feb 2025")
    assert "can't start before the referral letter's date (3 Feb 2025)" in replies[-1].text
    replies = await sam.send("10/2/25")
    confirm = replies[-1]
    assert "Clock start: 3 Feb 2025 → 10 Feb 2025" in confirm.text
    assert "breach date 10 Jun 2025 → 17 Jun 2025" in confirm.text
    await sam.press("✅ Save")
    saved = await current(bot, patient)
    assert saved.clock_start_date == date(2025, 2, 10)
    assert saved.breach_date == date(2025, 6, 17)


async def test_edit_pathway_and_name(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    await open_menu(sam, patient)
    await sam.press("✏️ Edit a field")
    await sam.press("Pathway")
    replies = await sam.press("62-day cancer")
    assert "status At risk → Breached" in replies[-1].text
    await sam.press("✅ Save")
    saved = await current(bot, patient)
    assert saved.pathway_type == "cancer_62" and saved.breach_date == date(2025, 4, 7)

    await sam.send(f"/update {patient.patient_id}")
    await sam.press("✏️ Edit a field")
    await sam.press("Name")
    replies = await sam.send("<b>Bad</b>")
    assert "can contain letters" in replies[-1].text
    replies = await sam.send("Janet Doe")
    assert "Name: Jane Doe → Janet Doe" in replies[-1].text
    assert "the clock is unchanged" in replies[-1].text
    await sam.press("✅ Save")
    assert (await current(bot, patient)).patient_name == "Janet Doe"


async def test_add_a_note_appends_with_the_date(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot, notes="Prefers mornings")
    await open_menu(sam, patient)
    replies = await sam.press("📝 Add a note")
    assert replies[-1].text.startswith("Add a note · Jane Doe")
    replies = await sam.send("x" * 5000)
    assert "That's 5,000 characters" in replies[-1].text
    replies = await sam.send("Called <GP> & left message")
    assert replies[0].text.startswith("📝 Note added to Jane Doe. The clock is unchanged.")
    saved = await current(bot, patient)
    assert saved.notes == "Prefers mornings\n[2 Jun 2025] Called <GP> & left message"


# -- stale and missing rows --------------------------------------------------------------------


async def test_stale_edit_is_refused_with_the_fresh_card(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    await open_menu(sam, patient)
    await sam.press("📌 Record an event")
    await sam.press("30 · Treatment started")
    await sam.send("1/5/25")
    await sam.press("Skip »")
    # Meanwhile the web platform changes the row.
    web = await bot.services.patients.update(
        EMAIL, patient.patient_id, patient.version, {"consultant": "Mr Web"}
    )
    replies = await sam.press("✅ Save")
    assert replies[0].text.startswith(
        "This patient was changed elsewhere (perhaps on the web platform) since you opened it."
        " Nothing was overwritten. Here is the latest version:"
    )
    assert replies[0].buttons == []
    card = replies[-1]
    assert "Consultant: Mr Web" in card.text and "✏️ Update" in card.button_labels
    assert await current(bot, patient) == web  # nothing overwritten, nothing half-applied
    assert await conversation_rows(db, "update") == []


async def test_a_write_racing_the_save_is_refused_too(bot: Bot) -> None:
    """The row changes between the form's last read and its write: the optimistic write
    itself refuses (expected_version), not just the form's earlier check."""
    sam = await linked(bot)
    patient = await add_patient(bot)
    await open_menu(sam, patient)
    await sam.press("📝 Add a note")
    repo = bot.services.patients
    original_get = repo.get

    async def get_then_race(email: str, patient_id: str, **kw: Any) -> Patient:
        row = await original_get(email, patient_id, **kw)
        await repo.update(email, patient_id, row.version, {"consultant": "X"})
        return row

    repo.get = get_then_race  # type: ignore[method-assign]
    try:
        replies = await sam.send("A note")
    finally:
        repo.get = original_get  # type: ignore[method-assign]
    assert "changed elsewhere" in replies[0].text
    fresh = await current(bot, patient)
    assert fresh.consultant == "X" and fresh.notes is None


async def test_patient_deleted_meanwhile(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    await open_menu(sam, patient)
    await bot.services.patients.soft_delete(EMAIL, patient.patient_id, patient.version)
    replies = await sam.press("📌 Record an event")
    assert replies[-1].text.startswith("This patient is no longer on your PTL")


async def test_another_students_patient_cannot_be_opened(bot: Bot) -> None:
    sam = await linked(bot)
    theirs = await add_patient(bot, "Other Person", email="kim@student.example")
    replies = await sam.send(f"/update {theirs.patient_id}")
    assert f"No patient on your PTL matches “{theirs.patient_id}”" in replies[-1].text
    replies = await sam.send("Other")
    assert "No patient on your PTL matches" in replies[-1].text


# -- choosing the patient ------------------------------------------------------------------------


async def test_search_lists_several_matches_as_buttons(bot: Bot) -> None:
    sam = await linked(bot)
    jane = await add_patient(bot, "Jane Doe")
    await add_patient(bot, "John Doe")
    replies = await sam.send("/update doe")
    pick = replies[-1]
    assert pick.text.startswith("2 patients match “doe”")
    assert f"Jane Doe · {jane.patient_id}" in pick.button_labels
    replies = await sam.press(f"Jane Doe · {jane.patient_id}")
    assert replies[-1].text.startswith("Update · Jane Doe")
    replies = await sam.press("« Back")
    assert replies[-1].text.startswith("2 patients match")
    replies = await sam.send("x")
    assert "at least 2 characters" in replies[-1].text
    replies = await sam.send("nobody")
    assert "No patient on your PTL matches “nobody”" in replies[-1].text


# -- Back, Cancel and bad input at every step ----------------------------------------------------

# (step name, how to get there from the menu, a check that we are there)
PATHS: dict[str, tuple[list[str], str]] = {
    "kind": (["📌 Record an event"], "Step 1 of 3"),
    "date": (["📌 Record an event", "20 · First appointment attended"], "Step 2 of 3"),
    "detail": (
        ["📌 Record an event", "20 · First appointment attended", "Today · 2 Jun 2025"],
        "Step 3 of 3",
    ),
    "confirm": (
        ["📌 Record an event", "20 · First appointment attended", "Today · 2 Jun 2025", "Skip »"],
        "Check and save",
    ),
    "field": (["✏️ Edit a field"], "Step 1 of 2"),
    "value": (["✏️ Edit a field", "Consultant"], "Step 2 of 2"),
    "note": (["📝 Add a note"], "Add a note"),
}
BACK_TO = {
    "kind": "Update · ",
    "date": "Step 1 of 3",
    "detail": "Step 2 of 3",
    "confirm": "Step 3 of 3",
    "field": "Update · ",
    "value": "Step 1 of 2",
    "note": "Update · ",
}


async def goto(sam: ChatUser, patient: Patient, step: str) -> None:
    await open_menu(sam, patient)
    presses, marker = PATHS[step]
    for label in presses:
        await sam.press(label)
    assert marker in live(sam).text, (step, live(sam).text)


async def test_back_and_cancel_from_every_step(bot: Bot, db: Database) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    for step in PATHS:
        await goto(sam, patient, step)
        replies = await sam.press("« Back")
        assert BACK_TO[step] in replies[-1].text, step
        await goto(sam, patient, step)
        replies = await sam.press("✖ Cancel")
        assert replies[-1].text.startswith("Cancelled. Nothing was saved."), step
        assert await conversation_rows(db, "update") == [], step
        await goto(sam, patient, step)
        replies = await sam.send("/cancel")
        assert replies[-1].text.startswith("Cancelled. Nothing was saved."), step
    assert await current(bot, patient) == patient


BAD = ["😀", "x" * 5000, "<b>bold</b> & <i>", "a\x00b", "   "]
# Free text is an answer at these steps (and shown escaped), so only what no answer may be.
BAD_FREE_TEXT = ["x" * 5000, "a\x00b", "   "]


async def test_bad_input_at_every_step_is_answered_and_writes_nothing(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    for step in PATHS:
        await goto(sam, patient, step)
        marker = PATHS[step][1]
        for bad in BAD_FREE_TEXT if step in ("detail", "note") else BAD:
            replies = await sam.send(bad)
            no_error(replies)
            assert marker in replies[-1].text, (step, bad[:10], replies[-1].text[:200])
            assert replies[-1].text.split("\n\n")[0] != replies[-1].text  # an explanation
        await sam.send("/cancel")
    assert await current(bot, patient) == patient
    # At the find step too.
    await sam.send("/update")
    for bad in BAD:
        replies = await sam.send(bad)
        no_error(replies)
        assert "Which patient?" in replies[-1].text
    await sam.send("/cancel")


async def test_restart_mid_update_resumes(db: Database) -> None:
    from bot.runtime.offline import OfflineBotAPI

    api = OfflineBotAPI()
    first = await harness.make_bot(db, today=TODAY, api=api)
    sam = await linked(first)
    patient = await add_patient(first)
    await open_menu(sam, patient)
    await sam.press("📌 Record an event")
    await sam.press("30 · Treatment started")
    await harness.close_bot(first)
    second = await harness.make_bot(db, today=TODAY, api=api)
    try:
        sam = second.user(SAM)
        replies = await sam.send("1 May 2025")
        assert replies[-1].text.startswith("Step 3 of 3")
        await sam.press("Skip »")
        await sam.press("✅ Save")
        saved = await second.services.patients.get(EMAIL, patient.patient_id)
        assert saved.clock_state == "stopped"
    finally:
        await harness.close_bot(second)
