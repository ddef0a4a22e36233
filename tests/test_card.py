"""The patient card: what it shows, that it escapes what students typed, and its callback."""

from __future__ import annotations

from datetime import date

from bot.runtime.offline import html_to_plain
from bot.services.ptl_view import evaluate_patient
from handlers.card import render_card
from tests.harness import TODAY, Bot
from tests.ptl_support import add_patient, link


async def test_card_shows_clock_events_and_actions(bot: Bot) -> None:
    await link(bot)
    p = await add_patient(
        bot,
        "Ann <b>Lee</b> & co",
        date(2025, 1, 6),
        nhs_number="9990000018",
        specialty="Cardiology",
        events=[("activity", date(2025, 1, 20))],
        notes="Prefers <mornings>",
    )
    state = evaluate_patient(p, TODAY)
    body, keyboard = render_card(p, state, TODAY)
    plain = html_to_plain(body)  # raises if a student's text broke the HTML
    assert "Ann <b>Lee</b> & co" in plain
    assert "🟢" in plain and "On track" in plain
    # The letter's date and the receipt date are different facts (issue 12 item 13).
    assert "Referral letter 6 Jan 2025 · Clock start 6 Jan 2025 (referral received)" in plain
    assert "Referral received 6 Jan" not in plain
    assert "8 weeks waited (56 days)" in plain
    assert "13 May 2025" in plain and "71 days to breach" in plain
    assert "20 Jan 2025 · 20 · Appointment or test attended" in plain
    assert "Prefers <mornings>" in plain
    data = [b.callback_data for row in keyboard.inline_keyboard for b in row]
    assert data == [f"upd:{p.patient_id}", f"bk:{p.patient_id}", f"del:{p.patient_id}",
                    f"val:{p.patient_id}", "ptl:0:all:all"]  # fmt: skip


async def test_card_for_a_stopped_breached_cancer_clock(bot: Bot) -> None:
    await link(bot)
    p = await add_patient(
        bot,
        "Bo",
        date(2025, 1, 6),
        pathway_type="cancer_62",
        events=[("treatment_started", date(2025, 3, 10))],
        today=date(2025, 3, 20),
    )
    body, _ = render_card(p, evaluate_patient(p, date(2025, 3, 20)), date(2025, 3, 20))
    plain = html_to_plain(body)
    assert "Clock stopped" in plain
    # Cancer rows don't use RTT codes: the effect in words, no "(code 30)" (issue 12 item 9).
    assert "10 Mar 2025: Treatment started, after the 62-day standard (day 63) ✖" in plain
    assert "code 30" not in plain and "· 30 ·" not in plain
    assert "• 10 Mar 2025 · Treatment started" in plain


async def test_card_without_a_clock_and_with_huge_notes_fits(bot: Bot) -> None:
    await link(bot)
    p = await add_patient(bot, "X" * 200, date(2025, 1, 6), notes="n" * 4000)
    p = p.model_copy(update={"clock_start_date": None})
    body, _ = render_card(p, None, TODAY)
    assert "No clock" in body
    assert len(body) < 4096


async def test_card_callback_opens_the_card_and_refuses_others_patients(bot: Bot) -> None:
    await link(bot)
    await link(bot, 902, "kim@student.example", "Kim")
    p = await add_patient(bot, "Cy Doe", date(2025, 1, 6))
    sam, kim = bot.user(901), bot.user(902, "Kim")
    menu = (await sam.send("/menu"))[0]
    replies = await sam.press_data(f"card:{p.patient_id}", message=menu)
    assert "Cy Doe" in replies[-1].text
    assert "✏️ Update" in replies[-1].button_labels
    kim_menu = (await kim.send("/menu"))[0]
    replies = await kim.press_data(f"card:{p.patient_id}", message=kim_menu)
    assert replies == []  # only an alert: RLS hides Sam's patient from Kim
    alerts = [c for c in bot.api.calls_to("answerCallbackQuery") if c.params.get("show_alert")]
    assert "isn't on your PTL" in alerts[-1].params["text"]
