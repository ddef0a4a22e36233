"""/ptl: breach-risk order, compact lines, paging in place, filters, tapping into the card."""

from __future__ import annotations

from datetime import date, timedelta

from tests.harness import TODAY, Bot
from tests.ptl_support import add_patient, link


async def _sample(bot: Bot) -> None:
    await link(bot)
    # 2025-03-03 is "today". RTT breach day is start + 127.
    await add_patient(bot, "On Track", TODAY - timedelta(days=10))  # 117 days to breach
    await add_patient(bot, "Long Breach", TODAY - timedelta(days=200))  # breached 73 days ago
    await add_patient(bot, "Just Breached", TODAY - timedelta(days=128))  # breached yesterday
    await add_patient(bot, "Nearly", TODAY - timedelta(days=120))  # at risk, 7 days
    await add_patient(
        bot, "Done", date(2024, 12, 2), events=[("treatment_started", date(2025, 2, 1))]
    )
    await add_patient(bot, "Fds Soon", TODAY - timedelta(days=25), pathway_type="cancer_fds")


async def test_ptl_orders_by_breach_risk_with_compact_lines(bot: Bot) -> None:
    await _sample(bot)
    reply = (await bot.user(901).send("/ptl"))[0]
    lines = [ln for ln in reply.text.splitlines() if ln[:1].isdigit()]
    names = [ln.split(" · ")[0].split(" ", 2)[2] for ln in lines]
    assert names == ["Long Breach", "Just Breached", "Fds Soon", "Nearly", "On Track", "Done"]
    assert lines[0] == "1. 🔴 Long Breach · 28w · breached 20 Dec 2024 · undated"
    assert lines[3] == "4. 🟠 Nearly · 17w · breach 10 Mar 2025 (7d) · undated"
    assert lines[5].startswith("6. ⚪ Done · 8w · stopped 1 Feb 2025")
    assert "undated" not in lines[5]  # a stopped clock is never "undated"
    assert "🗓 5 undated · ✖ 0 booked after breach · ❗ 0 outcome needed" in reply.text
    assert "🔴 2 breached · 🟠 2 at risk · 🟢 1 on track · ⚪ 1 closed" in reply.text
    assert reply.button_labels[:2] == ["1. 🔴 Long Breach", "2. 🔴 Just Breached"]


async def test_ptl_pages_in_place_and_opens_card_with_back(bot: Bot) -> None:
    await link(bot)
    for i in range(19):
        await add_patient(bot, f"Patient {i:02d}", TODAY - timedelta(days=i))
    sam = bot.user(901)
    first = (await sam.send("/ptl"))[0]
    assert "Page 1 of 3" in first.text
    assert "‹ Prev" not in first.button_labels
    replies = await sam.press("Next ›")
    assert replies[0].message_id == first.message_id and replies[0].edited
    assert "Page 2 of 3" in replies[0].text
    assert "9. " in replies[0].text and "16. " in replies[0].text
    # Pressing the page button again changes nothing: no error, no new message.
    assert await sam.press("2/3 ↻") == []
    replies = await sam.press(next(b for b in sam.last.button_labels if b.startswith("10.")))
    card = replies[0]
    assert card.message_id == first.message_id
    assert "✏️ Update" in card.button_labels
    replies = await sam.press("« PTL")
    assert "Page 2 of 3" in replies[0].text


async def test_ptl_filters_by_status_and_type(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    await sam.send("/ptl")
    replies = await sam.press("Status: All ▾")
    assert replies[0].text == "Show which patients?"
    replies = await sam.press("🔴 Breached")
    assert "Showing <b>" not in replies[0].text  # the HTML tags are not shown as text
    assert "Showing 🔴 Breached · All: 2 patients" in replies[0].text
    assert "Long Breach" in replies[0].text and "Nearly" not in replies[0].text
    await sam.press("Type: All ▾")
    replies = await sam.press("Cancer 28-day FDS")
    assert "No patients match these filters." in replies[0].text
    await sam.press("Status: 🔴 Breached ▾")
    replies = await sam.press("All")
    assert "Fds Soon" in replies[0].text and "Long Breach" not in replies[0].text
    replies = await sam.press("✖ Clear filters")
    assert "Long Breach" in replies[0].text


async def test_ptl_empty_and_unlinked(bot: Bot) -> None:
    assert "link your platform account" in (await bot.user(999).send("/ptl"))[0].text
    await link(bot)
    assert "Your PTL is empty" in (await bot.user(901).send("/ptl"))[0].text


async def test_ptl_escapes_names_and_isolates_students(bot: Bot) -> None:
    await link(bot)
    await link(bot, 902, "kim@student.example", "Kim")
    await add_patient(bot, "<i>Evil</i> & Co", TODAY - timedelta(days=3))
    await add_patient(bot, "Kim's patient", TODAY, email="kim@student.example")
    reply = (await bot.user(901).send("/ptl"))[0]
    assert "<i>Evil</i> & Co" in reply.text
    assert "Kim's patient" not in reply.text


async def test_stale_or_forged_ptl_callbacks_are_answered(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    msg = (await sam.send("/ptl"))[0]
    # Unknown filter codes mean "all" and a page past the end clamps to the last page, so
    # this is the very same view: answered, nothing re-sent.
    assert await sam.press_data("ptl:99:zz:qq", message=msg) == []
    replies = await sam.press_data("ptl:99:br:qq", message=msg)
    assert "Page 1 of 1" in replies[0].text and "Nearly" not in replies[0].text
    await sam.press_data("ptlf:x:0:all:all", message=msg)
