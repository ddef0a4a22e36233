"""/find: by name fragment, patient ID or NHS number; bad input is answered helpfully."""

from __future__ import annotations

from datetime import timedelta

from tests.forms_support import is_stray_reply
from tests.harness import TODAY, Bot
from tests.ptl_support import add_patient, link


async def _sample(bot: Bot) -> list[str]:
    await link(bot)
    await link(bot, 902, "kim@student.example", "Kim")
    a = await add_patient(bot, "Ann Smith", TODAY - timedelta(days=20), nhs_number="9990000018")
    b = await add_patient(bot, "Bob Smithers", TODAY - timedelta(days=130))
    c = await add_patient(bot, "Cy 100%_done", TODAY - timedelta(days=1))
    await add_patient(bot, "Kim Smith", TODAY, email="kim@student.example")
    return [a.patient_id, b.patient_id, c.patient_id]


async def test_find_by_name_lists_matches_most_at_risk_first(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    reply = (await sam.send("/find smi"))[0]
    assert "2 patients match “smi”" in reply.text
    assert reply.text.index("Bob Smithers") < reply.text.index("Ann Smith")
    assert "Kim Smith" not in reply.text  # another student's patient
    replies = await sam.press("1. 🔴 Bob Smithers")
    assert "Bob Smithers" in replies[0].text and "✏️ Update" in replies[0].button_labels


async def test_find_by_id_and_nhs_number_opens_the_card(bot: Bot) -> None:
    ids = await _sample(bot)
    sam = bot.user(901)
    reply = (await sam.send(f"/find {ids[1].lower()}"))[0]
    assert "Bob Smithers" in reply.text and "🗑 Delete" in reply.button_labels
    reply = (await sam.send("/find 999 000 0018"))[0]
    assert "Ann Smith" in reply.text and "NHS 999 000 0018" in reply.text


async def test_find_asks_then_searches_the_next_message(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    assert "Type part of a patient's name" in (await sam.send("/find"))[0].text
    assert "at least 2" in (await sam.send("a"))[0].text  # still waiting
    reply = (await sam.send("100%_"))[0]  # LIKE wildcards are matched literally
    assert "Cy 100%_done" in reply.text
    # The search is over: more text is only offered back as a search.
    assert is_stray_reply(await sam.send("smith"), "smith")


async def test_find_from_menu_and_a_command_ends_the_wait(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    await sam.send("/menu")
    replies = await sam.press("🔎 Find")
    assert "Type part of a patient's name" in replies[0].text
    replies = await sam.send("/ptl")  # handled as usual, and the search stops waiting
    assert "Your PTL" in replies[0].text
    assert is_stray_reply(await sam.send("smith"), "smith")


async def test_find_bad_input_is_answered(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    reply = (await sam.send("/find zzzz"))[0]
    assert "No patient on your PTL matches “zzzz”" in reply.text
    assert reply.button_labels == ["🔎 Search again", "📋 PTL"]
    reply = (await sam.send("/find 99900001"))[0]
    assert "An NHS number has 10 digits; you typed 8." in reply.text
    reply = (await sam.send("/find " + "x" * 150))[0]
    assert "longer than any name" in reply.text
    reply = (await sam.send("/find <b>"))[0]
    assert "matches “<b>”" in reply.text  # escaped, shown as typed


async def test_find_and_a_form_never_both_answer_one_message(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    # Mid-/add, /find puts the form on hold; the next text is the search, not a form answer.
    await sam.send("/add")
    await sam.send("/find")
    replies = await sam.send("smithers")
    assert [r.text for r in replies if "Step " in r.text] == []
    assert any("Bob Smithers" in r.text for r in replies)
    # Waiting for a search, /add starts the form; the next text answers the form only.
    await sam.send("/find")
    await sam.send("/add")
    replies = await sam.send("Ann Other")
    assert not any("match" in r.text for r in replies)
    assert any("Step 2 of 9" in r.text for r in replies)
