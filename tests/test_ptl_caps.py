"""What one student's data may cost (issue 13, point 7): a row cap in /add, clipped fields.

The cap is the bot's own (MAX_PATIENTS_PER_STUDENT): /add says so before asking anything, and
a Save that meets the cap (the platform added rows meanwhile) keeps the answers and says why.
Platform rows are never refused or changed: an oversized row still shows everywhere, its text
clipped on the way out of the database, and is stored exactly as it was.
"""

from __future__ import annotations

from datetime import timedelta

from bot.messages import add as add_text
from bot.services.export import parse_csv
from storage.db import Database
from tests import harness, platform_api
from tests.forms_support import EMAIL, fill_to, linked, no_error, patients, prompt
from tests.harness import TODAY
from tests.ptl_support import add_patient


async def _capped(db: Database, limit: int) -> harness.Bot:
    settings = harness.test_settings(max_patients_per_student=limit)
    return await harness.make_bot(db, settings=settings)


async def test_add_at_the_cap_says_so_before_any_question(db: Database) -> None:
    bot = await _capped(db, 2)
    try:
        sam = await linked(bot)
        for i in range(2):
            await add_patient(bot, f"Patient {i}", TODAY - timedelta(days=i), email=EMAIL)
        replies = await sam.send("/add")
        no_error(replies)
        assert [m.text for m in replies] == [add_text.PTL_FULL.format(limit=2)]
        assert not replies[0].buttons
        assert len(await patients(bot)) == 2
        # A binned patient does not count: the form opens again.
        [first, _] = await patients(bot)
        await bot.services.patients.soft_delete(EMAIL, first.patient_id, first.version)
        replies = await sam.send("/add")
        assert add_text.PTL_FULL.format(limit=2) not in [m.text for m in replies]
        assert prompt(sam).buttons
    finally:
        await harness.close_bot(bot)


async def test_a_save_that_meets_the_cap_keeps_the_answers(db: Database) -> None:
    bot = await _capped(db, 2)
    try:
        sam = await linked(bot)
        await add_patient(bot, "Already Here", TODAY - timedelta(days=3), email=EMAIL)
        await fill_to(sam, "summary")
        # Meanwhile the web platform adds a patient: the PTL is now full.
        await platform_api.insert(bot.services.db, EMAIL, "PTLWEB00001", patient_name="Web")
        replies = await sam.press("✅ Save", message=prompt(sam))
        no_error(replies)
        full = add_text.PTL_FULL_AT_SAVE.format(limit=2)
        assert any(full.split(" Nothing")[0] in m.text for m in replies), [m.text for m in replies]
        assert len(await patients(bot)) == 2
        assert "✅ Save" in prompt(sam).button_labels  # still at the summary, answers kept
        web = next(p for p in await patients(bot) if p.patient_id == "PTLWEB00001")
        await bot.services.patients.soft_delete(EMAIL, web.patient_id, web.version)
        no_error(await sam.press("✅ Save", message=prompt(sam)))
        assert len(await patients(bot)) == 2
    finally:
        await harness.close_bot(bot)


async def test_an_oversized_platform_row_shows_clipped_and_stays_as_stored(
    bot: harness.Bot,
) -> None:
    """A 3 MB name and 6 MB of notes (a platform bug, a paste gone wrong): /ptl, the card and
    /export all work; what they read is clipped in the database; the row is untouched."""
    sam = await linked(bot)
    huge_name, huge_notes = "Huge " + "n" * 3_000_000, "=SUM(A1)" + "x" * 6_000_000
    await platform_api.insert(
        bot.services.db, EMAIL, "PTLHUGE0001", patient_name=huge_name, notes=huge_notes,
        clock_start_date=TODAY - timedelta(days=30), events=[], appointments=[],
    )  # fmt: skip
    await add_patient(bot, "Small One", TODAY - timedelta(days=200), email=EMAIL)
    page = (await sam.send("/ptl"))[0]
    no_error([page])
    assert "Small One" in page.text and "Huge nnn" in page.text and len(page.text) < 4096
    card = (await sam.press(next(b for b in page.button_labels if "Huge" in b)))[0]
    no_error([card])
    assert "Huge nnn" in card.text and len(card.text) < 4096
    doc = (await sam.send("/export"))[-1]
    rows = parse_csv(doc.file_bytes or b"")
    huge = next(r for r in rows if r["Patient ID"] == "PTLHUGE0001")
    assert huge["Notes"].startswith("'=SUM(A1)xxx") and len(huge["Notes"]) <= 8001
    assert len(huge["Patient name"]) <= 500
    async with bot.services.db.service() as conn:
        stored = await conn.fetchrow(
            "select patient_name, notes, version from public.ptl_patients"
            " where patient_id = 'PTLHUGE0001'"
        )
    assert stored["patient_name"] == huge_name and stored["notes"] == huge_notes
    assert stored["version"] == 1


async def test_events_too_large_to_read_whole_show_trimmed_and_are_never_written_back(
    bot: harness.Bot,
) -> None:
    """2 MB of events (one event's description pasted huge): the PTL line and the card read a
    trimmed copy whose dates still drive the clock; /update will not record an event over it;
    the stored list is untouched."""
    sam = await linked(bot)
    start = TODAY - timedelta(days=60)
    events = [
        {"date": (start + timedelta(days=5)).isoformat(), "code": "20", "kind": "activity",
         "description": "d" * 2_000_000},
        {"date": (start + timedelta(days=30)).isoformat(), "code": "30",
         "kind": "treatment_started", "description": "Treated"},
    ]  # fmt: skip
    await platform_api.insert(
        bot.services.db, EMAIL, "PTLBIGEVENTS", patient_name="Big Events",
        clock_start_date=start, events=events, appointments=[],
    )  # fmt: skip
    patient = await bot.services.patients.get(EMAIL, "PTLBIGEVENTS")
    assert patient.events_clipped and not patient.events_writable
    assert [e["date"] for e in patient.events] == [e["date"] for e in events]
    assert len(patient.events[0]["description"]) == 500
    page = (await sam.send("/ptl"))[0]
    no_error([page])
    assert "Big Events" in page.text and "stopped" in page.text  # the clock read the dates
    await sam.send("/update PTLBIGEVENTS")
    replies = await sam.press("📌 Record an event")
    no_error(replies)
    assert "can't add to without changing what the platform stored" in replies[0].text
    async with bot.services.db.service() as conn:
        stored = await conn.fetchval(
            "select events from public.ptl_patients where patient_id = 'PTLBIGEVENTS'"
        )
    assert stored == events
