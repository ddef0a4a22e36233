"""Bookings on the PTL and the card, through the real Application: each row's next booking,
the Undated / Booked after breach / Outcome needed filters with their counts, the card's
bookings with what the next one means for the clock, and platform rows of any shape."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.rules.bookings import new_booking
from bot.rules.records import stored_booking_columns
from storage.db import Database
from storage.models import Patient
from tests.harness import TODAY, Bot
from tests.ptl_support import EMAIL, add_patient, link

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
D = dt.date


def book(type_: str, on: D, **kw: Any) -> dict[str, Any]:
    return new_booking(type_, on, added_by=EMAIL, now=NOW, **kw)


async def booked(bot: Bot, name: str, waited: int, appointments: Any, **kw: Any) -> Patient:
    start = TODAY - dt.timedelta(days=waited)
    columns = (
        stored_booking_columns(appointments, "rtt", start, [])
        if isinstance(appointments, list)
        else {}
    )
    return await add_patient(bot, name, start, appointments=appointments, **columns, **kw)


async def platform_row(db: Database, name: str, appointments: Any, waited: int = 40) -> None:
    """A row as the web platform writes it (SQL through the student's own role, no stored
    clock or booking fields: the bot computes what it needs)."""
    async with db.student(EMAIL) as conn:
        await conn.execute(
            "insert into public.ptl_patients (patient_id, user_email, patient_name,"
            " pathway_type, clock_start_date, appointments) values ($1, $2, $3, 'rtt', $4, $5)",
            "PTLWEB" + name.replace(" ", "").upper(),
            EMAIL,
            name,
            TODAY - dt.timedelta(days=waited),
            appointments,
        )


async def _sample(bot: Bot) -> dict[str, Patient]:
    """TODAY is Mon 3 Mar 2025. 100 days waited: breach from 30 Mar (day 127)."""
    await link(bot)
    return {
        "late": await booked(bot, "Late Tci", 100, [book("admission_day_case", D(2025, 4, 2))]),
        "dated": await booked(bot, "Dated Opa", 60, [book("first_appointment", D(2025, 3, 10))]),
        "undated": await booked(bot, "No Date", 90, []),
        "outcome": await booked(bot, "Needs Outcome", 50, [book("follow_up", D(2025, 2, 24))]),
    }


async def test_rows_show_the_next_booking_and_the_header_counts(bot: Bot) -> None:
    await _sample(bot)
    reply = (await bot.user(901).send("/ptl"))[0]
    lines = {ln.split(" · ")[0].split(" ", 2)[2]: ln for ln in reply.text.splitlines()
             if ln[:1].isdigit()}  # fmt: skip
    assert lines["Late Tci"].endswith("· 🗓 TCI 2 Apr ✖")
    assert lines["Dated Opa"].endswith("· 🗓 1st OPA 10 Mar")
    assert lines["No Date"].endswith("· undated")
    assert lines["Needs Outcome"].endswith("· undated · ❗ outcome needed")
    assert "🗓 2 undated · ✖ 1 booked after breach · ❗ 1 outcome needed" in reply.text


async def test_booking_filters(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    await sam.send("/ptl")
    replies = await sam.press("Bookings: All ▾")
    assert "Undated" in replies[0].text and "Outcome needed" in replies[0].text
    replies = await sam.press("✖ Booked after breach")
    page = replies[0].text
    assert "Showing All · All · ✖ Booked after breach: 1 patient" in page
    assert "Late Tci" in page and "Dated Opa" not in page and "No Date" not in page
    await sam.press("Bookings: ✖ Booked after breach ▾")
    page = (await sam.press("🗓 Undated"))[0].text
    assert "No Date" in page and "Needs Outcome" in page and "Late Tci" not in page
    await sam.press("Bookings: 🗓 Undated ▾")
    page = (await sam.press("❗ Outcome needed"))[0].text
    assert "Needs Outcome" in page and "No Date" not in page
    # the card opened from a filtered page goes back to it
    await sam.press(next(b for b in sam.last.button_labels if "Needs Outcome" in b))
    page = (await sam.press("« PTL"))[0].text
    assert "Showing All · All · ❗ Outcome needed: 1 patient" in page
    # an old-style button (no booking part) still works
    replies = await sam.press_data("ptl:0:all:all", message=sam.last)
    assert "Late Tci" in replies[0].text and "No Date" in replies[0].text


async def test_card_shows_bookings_and_what_the_next_one_means(bot: Bot) -> None:
    patients = await _sample(bot)
    sam = bot.user(901)
    await sam.send("/ptl")
    replies = await sam.press_data(f"card:{patients['late'].patient_id}", message=sam.last)
    card = replies[-1].text
    assert "Bookings" in card
    assert "🗓 Admission (TCI), day case · Wed 2 Apr 2025" in card
    assert "TCI 2 Apr 2025: day 130, after the breach date 30 Mar 2025 ✖" in card
    assert "Book on or before 29 Mar 2025, or escalate." in card
    assert "📅 Book" in replies[-1].button_labels and "🗓 Bookings" in replies[-1].button_labels

    replies = await sam.press_data(f"card:{patients['dated'].patient_id}", message=sam.last)
    assert "1st OPA 10 Mar 2025: day 67 of 126; the clock keeps running" in replies[-1].text

    replies = await sam.press_data(f"card:{patients['outcome'].patient_id}", message=sam.last)
    card = replies[-1].text
    assert "❗ Follow-up appointment · Mon 24 Feb 2025: outcome needed" in card
    assert "Undated: nothing booked" in card

    replies = await sam.press_data(f"card:{patients['undated'].patient_id}", message=sam.last)
    assert "Undated: nothing booked. Tap 📅 Book" in replies[-1].text
    assert "🗓 Bookings" not in replies[-1].button_labels


async def test_platform_bookings_of_any_shape_never_break_a_screen(bot: Bot, db: Database) -> None:
    await link(bot)
    odd = [
        "TCI 14/03/2025 (phoned)",
        {"date": "2025-03-20", "type": "Physio", "status": "in the diary"},
        {"date": "not a date", "type": {"x": 1}},
        {"date": "2025-03-12", "type": "TCI", "notes": "<b>bold</b> " + "x" * 5000},
        7,
        None,
    ]
    for name, appointments in (
        ("Odd Row", odd),
        ("Object Row", {"date": "2025-03-12", "type": "tci"}),
        ("String Row", "TCI on Friday"),
    ):
        await platform_row(db, name, appointments)
    sam = bot.user(901)
    reply = (await sam.send("/ptl"))[0]
    assert "Odd Row" in reply.text and "Object Row" in reply.text and "String Row" in reply.text
    assert "Odd Row · 5w · breach 29 May 2025 (87d) · 🗓 TCI 12 Mar" in reply.text
    for label in [b for b in reply.button_labels if "Row" in b]:
        await sam.send("/ptl")
        card = (await sam.press(label))[0]
        assert "something went wrong" not in card.text.lower()
        assert "Bookings" in card.text
        assert len(card.text) < 4096
    await sam.send("/ptl")
    odd_card = (await sam.press(next(b for b in sam.last.button_labels if "Odd" in b)))[0].text
    assert "Physio" in odd_card and "in the diary" in odd_card
    object_card = (await sam.press("« PTL"), await sam.press(
        next(b for b in sam.last.button_labels if "Object" in b)))[1][0].text  # fmt: skip
    assert "written elsewhere" in object_card


async def test_sql_counts_agree_with_the_ptl_view(bot: Bot, db: Database) -> None:
    from bot.services.ptl_view import booking_counts as view_counts
    from bot.services.ptl_view import build_entries
    from bot.services.reminders import stored_fields
    from storage.backfill import ClockBackfill
    from storage.booking_backfill import BookingBackfill
    from storage.bookings import booking_counts as sql_counts

    await _sample(bot)
    await platform_row(db, "Web Late", [{"date": "2025-04-01", "type": "TCI"}], 120)
    await platform_row(db, "Web Past", [{"date": "2025-02-01", "type": "new"}, "x"], 20)
    await BookingBackfill(db).run(stored_booking_columns)
    await ClockBackfill(db).run(TODAY, stored_fields)  # the platform rows' clock state
    patients = await bot.services.patients.list(EMAIL)
    for today in (TODAY, D(2025, 3, 11), D(2025, 4, 1)):
        expected = view_counts(build_entries(patients, today))
        assert await sql_counts(db, EMAIL, today) == expected, today
    assert await sql_counts(db, EMAIL, TODAY) == {"und": 3, "late": 2, "out": 2}


async def test_export_and_stats_count_dated_and_undated(bot: Bot) -> None:
    from bot.services.export import build_csv, parse_csv
    from bot.services.ptl_view import build_entries

    await _sample(bot)
    patients = await bot.services.patients.list(EMAIL)
    rows = {r["Patient name"]: r for r in parse_csv(build_csv(build_entries(patients, TODAY)))}
    late = rows["Late Tci"]
    assert late["Next booking date"] == "2025-04-02"
    assert late["Next booking type"] == "Admission (TCI), day case"
    assert late["Dated"] == "Yes" and late["Next booking after breach"] == "Yes"
    assert rows["Dated Opa"]["Next booking after breach"] == "No"
    assert rows["No Date"]["Dated"] == "No" and rows["No Date"]["Next booking date"] == ""
    assert rows["Needs Outcome"]["Outcomes missing"] == "1"
    assert rows["Late Tci"]["Outcomes missing"] == "0"

    reply = await bot.user(901).send("/stats")
    assert "🗓 Dated: 2 · Undated: 2 (of 4 waiting) · ✖ Booked after breach: 1" in reply[0].text
    assert "❗ Outcomes needed: 1" in reply[0].text
