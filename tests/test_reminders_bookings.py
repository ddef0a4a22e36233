"""The daily digest's booking sections, end to end through the real candidate query:
"Undated and breaching within N days", "Booked after the breach date" (whatever the breach
date: found through the stored booking summaries) and "Outcome needed"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.messages.reminders import digest_text
from bot.rules.bookings import new_booking
from bot.rules.records import stored_booking_columns
from bot.runtime.offline import html_to_plain
from bot.services.reminders import stored_fields
from storage.models import PatientIn
from tests import harness
from tests.test_reminders_delivery import MONDAY, link

NOW = dt.datetime(2025, 3, 3, 8, tzinfo=dt.UTC)


async def booked(
    bot: harness.Bot, email: str, name: str, waited: int, bookings: list[dict[str, Any]]
) -> None:
    start = MONDAY - dt.timedelta(days=waited)
    await bot.services.patients.add(
        email,
        PatientIn(
            patient_name=name,
            pathway_type="rtt",
            clock_start_date=start,
            appointments=bookings,
            **stored_fields("rtt", start, [], MONDAY),
            **stored_booking_columns(bookings, "rtt", start, []),
        ),
    )


def book(type_: str, on: dt.date) -> dict[str, Any]:
    return new_booking(type_, on, added_by="s@x", now=NOW)


async def test_digest_sections_for_bookings(bot: harness.Bot) -> None:
    email = await link(bot, 3101)
    await booked(bot, email, "Undated Una", 122, [])  # 5 days to breach, nothing booked
    await booked(bot, email, "Dated Dan", 122, [book("admission_day_case", dt.date(2025, 3, 6))])
    # 60 days waited: the breach is 67 days away, far outside the window, but the TCI is later
    await booked(bot, email, "Late Lou", 60, [book("admission_inpatient", dt.date(2025, 5, 20))])
    await booked(bot, email, "Past Pat", 30, [book("first_appointment", dt.date(2025, 2, 27))])
    await booked(bot, email, "Fine Fay", 30, [book("first_appointment", dt.date(2025, 3, 20))])
    service = bot.services.reminders
    (recipient,) = await service.repo.recipients(email)
    digest = (await service.compose([recipient], MONDAY))[email]
    assert [i.name for i in digest.undated_soon] == ["Undated Una"]
    assert [i.name for i in digest.due_soon] == ["Dated Dan"]
    assert [i.name for i in digest.booked_late] == ["Late Lou"]
    assert [i.name for i in digest.outcome_needed] == ["Past Pat"]
    body, listed = digest_text(digest)
    plain = html_to_plain(body)
    assert "Undated and breaching within 7 days" in plain
    assert "Booked after the breach date" in plain
    assert "Late Lou · 18-week RTT · TCI Tue 20 May 2025, after the breach date 9 May 2025" in plain
    assert "Outcome needed" in plain
    assert (
        "Past Pat · 18-week RTT · First outpatient appointment on 27 Feb 2025: record the outcome"
        in plain
    )
    assert (
        "Booked after breach: 1 · breaching within 7 days: 2, 1 undated · outcome needed: 1"
        in plain
    )
    assert "Fine Fay" not in plain
    assert {i.name for i in listed} == {"Undated Una", "Dated Dan", "Late Lou", "Past Pat"}


async def test_tutor_summary_counts_undated_at_risk_and_outcomes(bot: harness.Bot) -> None:
    from tests.test_tutor_helpers import make_class, student_email

    cls = await make_class(bot, 1)
    email = student_email(0)
    # The counts are as at the database's own today (sql/082), not the bot's test clock (3 Mar
    # 2025): each patient is placed around the database's date.
    async with bot.services.db.service() as conn:
        today: dt.date = await conn.fetchval("select ptl_bot.today()")
    for name, waited, bookings in (
        ("Undated Una", 110, []),  # breaches in 17 days, nothing booked
        ("Dated Dan", 110, [book("admission_day_case", today + dt.timedelta(days=5))]),
        ("Past Pat", 30, [book("first_appointment", today - dt.timedelta(days=3))]),
    ):
        start = today - dt.timedelta(days=waited)
        await bot.services.patients.add(
            email,
            PatientIn(
                patient_name=name,
                pathway_type="rtt",
                clock_start_date=start,
                appointments=bookings,
                **stored_fields("rtt", start, [], today),
                **stored_booking_columns(bookings, "rtt", start, []),
            ),
        )
    tutor = cls.tutor
    replies = await tutor.press_data(f"st:c:{cls.cohort_id}:0", message=tutor.last)
    assert "🗓 undated at risk 1 · ❗ outcomes missing 1" in replies[-1].text


async def test_booking_in_turn_exercise_imports_its_bookings(bot: harness.Bot) -> None:
    from tests.test_tutor_helpers import broadcast_simple, make_class, student_email

    cls = await make_class(bot, 1)
    await broadcast_simple(cls, scenario="Booking in turn")
    await cls.worker.drain()
    (student,) = cls.students
    await student.press("▶️ Start", message=student.last)
    patients = {p.patient_name: p for p in await bot.services.patients.list(student_email(0))}
    assert len(patients) == 6
    tobias = patients["Tobias Hartnell"]
    assert tobias.appointments[0]["type"] == "admission_day_case"
    assert tobias.booking_late_dates == [MONDAY + dt.timedelta(days=30)]
    reply = (await student.send("/ptl"))[-1].text
    # undated: Winifred, Owen, and Maeve (her only booking has passed)
    assert "🗓 3 undated · ✖ 1 booked after breach · ❗ 1 outcome needed" in reply
    replies = await student.send("/validate")
    body = "\n".join(m.text for m in replies)
    assert "Not booked in turn: Winifred Ashcombe" in body


async def test_stored_summaries_and_the_bookings_give_the_same_digest(bot: harness.Bot) -> None:
    """The digest the stored summaries give (the candidate query's booking dates for the day,
    and only the bookings on those dates read) is the digest reading every booking gives, for
    bookings written by the platform in any shape, on three days."""
    import json

    from bot.services.reminders import build_digest
    from storage.reminders import CandidateRow

    def on(day: dt.date, **extra: Any) -> dict[str, Any]:
        return {**book("follow_up", day), **extra}

    cases: list[tuple[str, int, Any]] = [
        ("A", 122, []),
        ("B", 122, [book("admission_day_case", dt.date(2025, 3, 6))]),
        ("N", 122, [book("admission_day_case", MONDAY)]),  # (booked for the day itself)
        ("C", 60, [book("admission_inpatient", dt.date(2025, 5, 20))]),
        ("D", 30, [book("first_appointment", dt.date(2025, 2, 27))]),
        ("E", 30, [book("first_appointment", dt.date(2025, 3, 20))]),
        ("F", 150, [book("follow_up", dt.date(2025, 2, 1))]),
        # Several bookings on the day named: the earliest open one by time, whatever the
        # stored order; a cancelled one that day is never named.
        ("G", 60, [{**book("admission_inpatient", dt.date(2025, 5, 20)), "time": "14:00"},
                   {**book("pre_op", dt.date(2025, 5, 20)), "status": "cancelled_hospital"},
                   {**book("admission_day_case", dt.date(2025, 5, 20)), "time": "08:30"}]),
        ("H", 30, [book("follow_up", dt.date(2025, 2, 20)),
                   {**book("first_appointment", dt.date(2025, 2, 20)), "time": "09:00"},
                   book("first_appointment", dt.date(2025, 2, 25))]),
        # Not a list of objects: read whole, as every screen reads it.
        ("I", 30, ["Outpatient appointment 2025-02-21", book("follow_up", dt.date(2025, 2, 24))]),
        ("J", 30, [book("follow_up", dt.date(2025, 2, 24)), 7]),
        ("K", 60, book("admission_inpatient", dt.date(2025, 5, 21))),
        # Dates not written as plain ISO dates, and one booking nobody will name next to the
        # one named (its place in the list kept).
        ("L", 30, [on(dt.date(2025, 1, 5)) | {"date": " 2025-02-18 "},
                   on(dt.date(2025, 4, 1)), on(dt.date(2025, 1, 5)) | {"date": "18/02/2025"}]),
        ("M", 60, [on(dt.date(2025, 3, 30)),
                   on(dt.date(2025, 5, 22)) | {"date": "2025-05-22T10:00"},
                   on(dt.date(2025, 2, 14)) | {"status": "attended"}, {"date": None},
                   {"type": "follow_up", "status": "booked", "date": 20250522}]),
    ]  # fmt: skip
    email = await link(bot, 3104)
    for name, waited, _ in cases:
        await booked(bot, email, name, waited, [])
    async with bot.services.db.service() as conn:
        for name, _, bookings in cases:  # written as the platform writes them
            await conn.execute(
                "update public.ptl_patients set appointments = $1 where patient_name = $2",
                bookings,
                name,
            )
    service = bot.services.reminders
    await service.refresh_clocks()  # the booking backfill works out the stored summaries
    async with bot.services.db.service() as conn:
        rows = await conn.fetch(
            "select id, patient_id, patient_name, clock_start_date, events::text,"
            " appointments::text, booking_computed_at is not null as known"
            " from public.ptl_patients where lower(user_email) = $1",
            email,
        )
    assert all(r["known"] for r in rows)
    full = [
        CandidateRow(r["id"], email, r["patient_id"], r["patient_name"], None, "rtt",
                     r["clock_start_date"], json.loads(r["events"]),
                     json.loads(r["appointments"]))
        for r in rows
    ]  # fmt: skip
    (recipient,) = await service.repo.recipients(email)
    sent: dict[str, CandidateRow] = {}  # what the candidate query sent, by patient name
    fetch = service.repo.candidates

    async def recorded(*args: Any) -> list[CandidateRow]:
        rows = await fetch(*args)
        sent.update((r.patient_name or "", r) for r in rows)
        return rows

    service.repo.candidates = recorded  # type: ignore[method-assign]

    async def same_digest(day: dt.date) -> tuple[Any, Any]:
        """The digest from every booking and the one the service composes: the same lines."""
        a = build_digest(email, full, day, 7)
        b = (await service.compose([recipient], day))[email]
        assert [(s, [(i.name, i.booking) for i in items]) for s, items in a.sections()] == [
            (s, [(i.name, i.booking) for i in items]) for s, items in b.sections()
        ], day
        return a, b

    days = (MONDAY, MONDAY + dt.timedelta(days=10), MONDAY + dt.timedelta(days=70))
    for day in days:
        a, b = await same_digest(day)
        assert a.count >= 3
        if day == MONDAY:
            # Only the element a line may name was sent (sql/084's places), not the list;
            # the list only for one object (no places).
            assert sent["G"].appointments is None and sent["G"].next_place == 2
            assert sent["L"].appointments is None and sent["L"].passed_place == 0
            assert isinstance(sent["L"].passed_item, dict)
            assert sent["K"].appointments is not None and sent["K"].next_place is None
            named = {i.name: i.booking for _, items in b.sections() for i in items}
            assert named["G"] is not None and named["G"].time == "08:30"
            # (an untimed booking comes first on its day, as on the card)
            assert named["H"] is not None and named["H"].type == "follow_up"
            # (read from a date not written as an ISO date, at its place in the list)
            assert named["L"] is not None and named["L"].index == 0
            assert {"D", "H", "I", "J", "L"} <= {i.name for i in b.outcome_needed}
            # (one object, not a list: a booking too, read-only, as the card shows it)
            assert {"C", "G", "K"} == {i.name for i in b.booked_late}
    # Summarised before sql/084 (no places): the list is sent, and the digest is the same.
    async with bot.services.db.service() as conn:
        await conn.execute(
            "update public.ptl_patients set booking_open_places = '{}',"
            " booking_computed_at = now() + interval '1 second' where lower(user_email) = $1",
            email,
        )
    for day in days:
        sent.clear()
        await same_digest(day)
        assert all(r.booking_known and r.next_place is None for r in sent.values())
    assert sent["G"].appointments is not None


@pytest.mark.parametrize("summarised", [False, True])
async def test_json_orjson_refuses_is_still_read(bot: harness.Bot, summarised: bool) -> None:
    """A platform row holding a number no double can hold (jsonb allows 1e400): the chunk's
    JSON is read the slow way instead, and the digest still names the booking (read from the
    whole list, or once summarised from the one element sent)."""
    email = await link(bot, 3102)
    await booked(bot, email, "Past Pat", 30, [book("first_appointment", dt.date(2025, 2, 27))])
    async with bot.services.db.service() as conn:
        await conn.execute(
            "update public.ptl_patients set appointments = jsonb_set(appointments, '{0,ref}',"
            ' \'1e400\'::jsonb), events = \'[{"kind": "activity", "date": "2025-02-27",'
            ' "weight": 1e400}]\'::jsonb'
        )
    service = bot.services.reminders
    if summarised:
        await service.refresh_clocks()
    (recipient,) = await service.repo.recipients(email)
    digest = (await service.compose([recipient], MONDAY))[email]
    (item,) = digest.outcome_needed
    assert item.booking is not None and item.booking.date == dt.date(2025, 2, 27)


async def test_a_days_digests_leave_the_cycle_collector_on(bot: harness.Bot) -> None:
    import gc

    email = await link(bot, 3103)
    await booked(bot, email, "Past Pat", 30, [book("first_appointment", dt.date(2025, 2, 27))])
    service = bot.services.reminders
    (recipient,) = await service.repo.recipients(email)
    assert gc.isenabled()
    assert (await service.compose([recipient], MONDAY))[email].outcome_needed
    assert gc.isenabled()


async def test_composing_a_day_lets_other_updates_in(
    bot: harness.Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk's digests are built without a database wait in between, so without pauses a
    student's reply would wait for the whole chunk: another task gets to run between them."""
    import asyncio

    import bot.services.reminders as reminders

    emails = [await link(bot, 3110 + i) for i in range(3)]
    for email in emails:
        await booked(bot, email, "Past Pat", 30, [book("first_appointment", dt.date(2025, 2, 27))])
    service = bot.services.reminders
    recipients = [r for e in emails for r in await service.repo.recipients(e)]
    seen: list[str] = []
    build = reminders.build_digest

    def building(*args: Any, **kwargs: Any) -> Any:
        seen.append("digest")
        return build(*args, **kwargs)

    monkeypatch.setattr(reminders, "build_digest", building)
    monkeypatch.setattr(type(service), "YIELD_EVERY", 1)
    done = False

    async def other_updates() -> None:
        while not done:
            seen.append("other")
            await asyncio.sleep(0)

    other = asyncio.create_task(other_updates())
    try:
        digests = await service.compose(recipients, MONDAY)
    finally:
        done = True
        await other
    assert all(digests[e].outcome_needed for e in emails)
    first, last = seen.index("digest"), len(seen) - 1 - seen[::-1].index("digest")
    assert "other" in seen[first:last]
