"""/validate: findings grouped by patient, each with its explanation and source."""

from __future__ import annotations

from datetime import date, timedelta

from tests.harness import TODAY, Bot
from tests.ptl_support import add_patient, link


async def _sample(bot: Bot) -> dict[str, str]:
    await link(bot)
    clean = await add_patient(bot, "Clean Clara", TODAY - timedelta(days=20))
    bad = await add_patient(
        bot,
        "Messy <Max>",
        date(2025, 1, 6),
        events=[("activity", date(2025, 1, 1)), ("treatment_started", date(2025, 2, 1))],
        raw_events=[{"date": "2025-02-10", "code": "99", "description": "Clock paused"}],
    )
    future = await add_patient(
        bot,
        "Future Fay",
        date(2025, 1, 6),
        raw_events=[{"date": "2025-04-01", "kind": "treatment_started", "code": "30"}],
    )
    return {"clean": clean.patient_id, "bad": bad.patient_id, "future": future.patient_id}


async def test_validate_whole_ptl_groups_findings_with_explanations(bot: Bot) -> None:
    await _sample(bot)
    replies = await bot.user(901).send("/validate")
    body = "\n".join(r.text for r in replies)
    assert "Checked 3 pathways:" in body and "in 2 patients. The other 1 follow the rules." in body
    assert "Messy <Max>" in body and "Future Fay" in body and "Clean Clara" not in body
    assert "is before the clock start" in body  # event before clock start, explained
    assert "says the clock was paused" in body  # the platform's "Clock paused" entry (99)
    assert "An RTT clock can't be paused" in body
    assert "Treatment is recorded as started on 1 Apr 2025" in body
    assert "Source: NHS England" in body
    assert all(len(r.html) < 4096 for r in replies)


async def test_validate_one_patient_from_the_card_and_by_name(bot: Bot) -> None:
    ids = await _sample(bot)
    sam = bot.user(901)
    await sam.send(f"/find {ids['clean']}")
    replies = await sam.press("✅ Validate")
    assert "Clean Clara: this pathway follows the rules" in replies[0].text
    replies = await sam.send("/validate fay")
    assert "Future Fay" in replies[0].text and "Checked" not in replies[0].text
    assert "Messy" not in replies[0].text


async def test_validate_clean_empty_and_bad_input(bot: Bot) -> None:
    await link(bot)
    sam = bot.user(901)
    assert "your PTL is empty" in (await sam.send("/validate"))[0].text
    await add_patient(bot, "Clean", TODAY - timedelta(days=3))
    clean = (await sam.send("/validate"))[0].text
    assert "Clean: this pathway follows the rules. Nothing to fix." in clean
    assert "All 1 pathways" not in clean
    assert "No patient on your PTL matches “zz”" in (await sam.send("/validate zz"))[0].text
    assert "at least 2" in (await sam.send("/validate z"))[0].text
    await sam.send("/menu")
    assert "follows the rules" in (await sam.press("✅ Validate"))[0].text


async def test_validate_many_patients_stays_within_message_limits(bot: Bot) -> None:
    await link(bot)
    for i in range(60):
        await add_patient(
            bot,
            f"Patient {i} " + "x" * 60,
            date(2025, 1, 6),
            events=[("activity", date(2025, 1, 1)), ("dna_first_appointment", date(2025, 1, 2))],
        )
    replies = await bot.user(901).send("/validate")
    assert 2 <= len(replies) <= 5
    assert all(len(r.html) <= 4096 for r in replies)
    assert "more patients with findings" in replies[-1].text
