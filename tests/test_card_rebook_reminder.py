"""The card reminds the student to rebook after a patient cancellation (rules contract r2,
Events: `patient_cancelled` "continues (no pauses); the card reminds the student to rebook"),
says what the cancellation did to the clock on that pathway, and stops reminding once the
patient has a date or the clock has stopped."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.rules.bookings import new_booking
from bot.rules.records import stored_booking_columns
from bot.runtime.offline import html_to_plain
from bot.services.ptl_view import evaluate_patient
from handlers.card import render_card
from tests.harness import TODAY, Bot
from tests.ptl_support import EMAIL, add_patient, link

D = dt.date
CANCELLED = D(2025, 2, 24)
NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)


async def _card(bot: Bot, pathway: str, events: list[tuple[str, D]], appointments=None) -> str:
    await link(bot)
    start = D(2025, 2, 3)
    extra = (
        stored_booking_columns(appointments, pathway, start, []) if appointments is not None else {}
    )
    p = await add_patient(
        bot,
        "Cara Cancelled",
        start,
        pathway_type=pathway,
        events=events,
        appointments=appointments or [],
        **extra,
    )
    body, _ = render_card(p, evaluate_patient(p, TODAY), TODAY)
    return html_to_plain(body)


@pytest.mark.parametrize(
    ("pathway", "why"),
    [
        ("rtt", "The RTT clock keeps running (there are no pauses)."),
        ("cancer_62", "The cancer clock keeps running (a cancellation is not an adjustment)."),
        ("diagnostic", "The 6-week clock restarted on that date (DM01 reset)"),
    ],
)
async def test_a_patient_cancellation_with_nothing_booked_says_rebook(
    bot: Bot, pathway: str, why: str
) -> None:
    card = await _card(bot, pathway, [("patient_cancelled", CANCELLED)])
    assert "The patient cancelled on 24 Feb 2025 and nothing is booked yet: rebook them." in card
    assert why in card


async def test_no_reminder_once_the_patient_has_a_date(bot: Bot) -> None:
    booking = new_booking("first_appointment", D(2025, 3, 17), added_by=EMAIL, now=NOW)
    card = await _card(bot, "rtt", [("patient_cancelled", CANCELLED)], [booking])
    assert "rebook them" not in card


async def test_no_reminder_after_a_later_event_or_on_a_stopped_clock(bot: Bot) -> None:
    seen = await _card(bot, "rtt", [("patient_cancelled", CANCELLED), ("activity", D(2025, 2, 28))])
    assert "rebook them" not in seen


async def test_no_reminder_when_the_clock_has_stopped(bot: Bot) -> None:
    events = [("patient_cancelled", D(2025, 2, 10)), ("treatment_started", CANCELLED)]
    assert "rebook them" not in await _card(bot, "rtt", events)


async def test_the_reminder_on_the_card_opened_from_the_ptl(bot: Bot) -> None:
    await _card(bot, "rtt", [("patient_cancelled", CANCELLED)])
    sam = bot.user(901)
    (ptl,) = await sam.send("/ptl")
    (card,) = await sam.press(next(b for b in ptl.button_labels if "Cara Cancelled" in b))
    assert "nothing is booked yet: rebook them" in card.text
