"""Booking outcomes under revision 2 of the rules, end to end through the real Application.

What each outcome records is the rules engine's answer, said plainly before saving: a patient
cancellation resets a DM01 clock and continues RTT and cancer ones; a DNA nullifies an RTT clock
only at the first appointment after the referral and never on an Urgent suspected cancer
priority, gives the cancer first seen adjustment (the rebooking then restarts the wait), resets
DM01, and a DNA of a later appointment records nothing; a declined admission (TCI) date on a
62- or 31-day pathway offers the treatment adjustment, closed then or later by the day the
patient is available again. Every clock is computed with the row's priority.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.rules.bookings import new_booking
from bot.rules.records import event_entry, stored_booking_columns
from bot.runtime.offline import ChatUser
from storage.db import Database
from storage.models import Patient
from tests.forms_support import no_error
from tests.harness import TODAY, Bot
from tests.ptl_support import EMAIL, add_patient
from tests.test_book import NOW, _outcome, live, sam, stored

D = dt.date
USC = "Urgent suspected cancer"
# TODAY is Mon 3 Mar 2025.


async def booked(
    bot: Bot,
    type_: str,
    on: D,
    *,
    waited: int,
    pathway_type: str = "rtt",
    events: list[tuple[str, D]] | None = None,
    **kw: Any,
) -> Patient:
    """A patient with one booking and its stored summaries, as the bot would have saved it."""
    start = TODAY - dt.timedelta(days=waited)
    appointments = [new_booking(type_, on, added_by=EMAIL, now=NOW)]
    entries: list[dict[str, Any]] = []
    for kind, day in events or []:
        entries.append(event_entry(kind, day, added_by=EMAIL, previous=entries,
                                   pathway_type=pathway_type, clock_start=start))  # fmt: skip
    columns = stored_booking_columns(appointments, pathway_type, start, entries, kw.get("priority"))
    return await add_patient(
        bot, kw.pop("name", "Jane Doe"), start, pathway_type=pathway_type, events=events,
        appointments=appointments, **columns, **kw,
    )  # fmt: skip


async def save(user: ChatUser, label: str = "✅ Save outcome") -> None:
    replies = await user.press(label)
    no_error(replies)


# -- cancelled by the patient ----------------------------------------------------------------


async def test_a_patient_cancellation_resets_a_dm01_clock(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "diagnostic_test", D(2025, 3, 10), waited=30, pathway_type="diagnostic")
    shown = await _outcome(user, p, "↩️ Cancelled by the patient")
    assert "Records on the pathway: Patient cancelled an appointment on 3 Mar 2025" in shown
    assert "resets the 6-week (DM01) clock to the day they cancelled" in shown
    assert "it now counts from 3 Mar 2025, so the breach date is 14 Apr 2025" in shown
    await save(user)
    row = await stored(bot, p)
    assert [e["kind"] for e in row.events] == ["patient_cancelled"]
    assert row.breach_date == D(2025, 4, 14) and row.clock_state == "running"


async def test_a_patient_cancellation_continues_a_cancer_clock(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "follow_up", D(2025, 3, 10), waited=20, pathway_type="cancer_62")
    shown = await _outcome(user, p, "↩️ Cancelled by the patient")
    assert "doesn't stop or pause a cancer clock" in shown
    await save(user)
    row = await stored(bot, p)
    assert row.events[0]["kind"] == "patient_cancelled"
    assert row.breach_date == p.breach_date  # the same clock, the same breach date


async def test_a_hospital_cancellation_never_resets_a_dm01_clock(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "diagnostic_test", D(2025, 3, 10), waited=30, pathway_type="diagnostic")
    shown = await _outcome(user, p, "🏥 Cancelled by the hospital")
    assert "the 6-week (DM01) clock keeps running (only the patient's DNA or cancellation" in shown
    assert "resets the 6-week" not in shown
    await save(user)
    row = await stored(bot, p)
    assert row.events == [] and row.breach_date == p.breach_date
    assert row.appointments[0]["status"] == "cancelled_hospital"


async def test_a_hospital_cancellation_is_never_a_cancer_adjustment(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "admission_day_case", D(2025, 3, 10), waited=20, pathway_type="cancer_62")
    shown = await _outcome(user, p, "🏥 Cancelled by the hospital")
    assert (
        "the cancer clock keeps running (a hospital cancellation is never an adjustment)" in shown
    )
    assert "declined admission" not in shown.lower()  # no treatment adjustment offered
    await save(user)
    row = await stored(bot, p)
    assert row.events == [] and row.breach_date == p.breach_date


# -- did not attend ----------------------------------------------------------------------------


async def test_a_first_appointment_dna_never_nullifies_on_an_urgent_suspected_cancer_priority(
    bot: Bot,
) -> None:
    user = await sam(bot)
    p = await booked(bot, "first_appointment", D(2025, 2, 24), waited=30, priority=USC)
    shown = await _outcome(user, p, "🚫 Did not attend")
    assert "on an urgent suspected cancer referral a first-appointment DNA doesn't nullify" in shown
    assert "nullifies the RTT clock" not in shown
    await save(user)
    row = await stored(bot, p)
    assert row.events[0]["kind"] == "dna_first_appointment"
    assert row.clock_state == "running"  # the stored clock used the priority too


async def test_a_dna_after_the_patient_was_seen_does_not_nullify(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "diagnostic_test", D(2025, 2, 24), waited=60,
                     events=[("activity", D(2025, 1, 20))])  # fmt: skip
    shown = await _outcome(user, p, "🚫 Did not attend")
    assert "the patient has already been seen on this clock" in shown
    await save(user)
    assert (await stored(bot, p)).clock_state == "running"


async def test_a_dna_of_a_later_appointment_records_nothing_and_the_clock_runs_on(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "follow_up", D(2025, 2, 24), waited=30)  # no attendance recorded
    shown = await _outcome(user, p, "🚫 Did not attend")
    assert "Nothing is recorded on the pathway: only a DNA at the first appointment" in shown
    await save(user)
    row = await stored(bot, p)
    assert row.events == [] and row.clock_state == "running"
    assert row.appointments[0]["status"] == "dna" and row.appointments[0]["event"] is None


async def test_a_diagnostic_test_dna_resets_the_dm01_clock(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "diagnostic_test", D(2025, 2, 24), waited=30, pathway_type="diagnostic")
    shown = await _outcome(user, p, "🚫 Did not attend")
    assert "it now counts from 24 Feb 2025, so the breach date is 7 Apr 2025" in shown
    await save(user)
    assert (await stored(bot, p)).breach_date == D(2025, 4, 7)


async def test_a_31_day_dna_continues_without_an_adjustment(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "first_appointment", D(2025, 2, 24), waited=20, pathway_type="cancer_31")
    shown = await _outcome(user, p, "🚫 Did not attend")
    assert "doesn't stop or adjust a 31-day clock" in shown


async def test_cancer_first_seen_adjustment_from_dna_to_rebooking(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "first_appointment", D(2025, 2, 24), waited=20, pathway_type="cancer_62")
    shown = await _outcome(user, p, "🚫 Did not attend")
    assert "doesn't stop the 62-day clock" in shown and "first seen adjustment" in shown
    await save(user)
    # The patient rings to rebook: booking the first appointment again restarts the wait.
    await user.send("/book jane")
    await user.press("First outpatient appointment")
    assert "did not attend their first appointment (24 Feb 2025)" in live(user)
    replies = await user.send("1 Feb")  # before the DNA: refused
    assert "before the DNA (24 Feb 2025)" in replies[-1].text
    await user.press("Today (Mon 3 Mar 2025)")
    assert "Step 2 of 5 · Date" in live(user)
    await user.send("in 2 weeks")
    for _ in range(3):  # time, clinic, notes
        await user.press("Skip »")
    confirm = live(user)
    assert "Records on the pathway: New clock start on 3 Mar 2025" in confirm
    assert "the wait now counts from the rebooking on 3 Mar 2025" in confirm
    assert "breach date is 5 May 2025" in confirm
    assert "1st OPA 17 Mar 2025: day 14 of 62" in confirm  # the meaning uses the new start
    await save(user, "✅ Save booking")
    row = await stored(bot, p)
    assert [e["kind"] for e in row.events] == ["dna_first_appointment", "new_clock"]
    assert row.events[1]["booking_id"] == row.appointments[1]["id"]
    assert row.breach_date == D(2025, 5, 5)


async def test_an_rtt_rebooking_after_a_nullified_dna_can_start_a_new_clock(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "first_appointment", D(2025, 2, 24), waited=30)
    await _outcome(user, p, "🚫 Did not attend")
    await save(user)
    await user.send("/book jane")
    await user.press("First outpatient appointment")
    assert "The DNA on 24 Feb 2025 nullified the RTT clock" in live(user)
    await user.send("yesterday")
    await user.send("in 2 weeks")
    for _ in range(3):
        await user.press("Skip »")
    assert "A new clock starts on 2 Mar 2025" in live(user)
    await save(user, "✅ Save booking")
    row = await stored(bot, p)
    assert row.events[-1]["kind"] == "new_clock" and row.events[-1]["code"] == "10"
    assert row.clock_state == "running" and row.breach_date == D(2025, 7, 7)


# -- declined admission dates: the treatment adjustment ------------------------------------------


async def test_a_declined_tci_on_62_days_with_the_available_date(bot: Bot) -> None:
    user = await sam(bot)
    # Start 22 Jan 2025: breach date 26 Mar 2025.
    p = await booked(bot, "admission_day_case", D(2025, 3, 10), waited=40, pathway_type="cancer_62")
    shown = await _outcome(user, p, "↩️ Cancelled by the patient")
    assert "treatment adjustment" in shown and "from the declined date (10 Mar 2025)" in shown
    await user.press("Yes: a declined admission offer")
    assert "When is the patient available again?" in live(user)
    replies = await user.send("1 Mar")
    assert "is before the declined date (10 Mar 2025)" in replies[-1].text
    await user.send("24 Mar")
    shown = live(user)
    assert "Records on the pathway: Admission date declined on 10 Mar 2025" in shown
    assert "Patient available again on 24 Mar 2025" in shown
    assert "from 10 Mar 2025 to 24 Mar 2025 (14 days) don't count" in shown
    assert "breach date moves to 9 Apr 2025" in shown
    await save(user)
    row = await stored(bot, p)
    assert [(e["kind"], e["date"]) for e in row.events] == [
        ("admission_offer_declined", "2025-03-10"),
        ("patient_available", "2025-03-24"),
    ]
    assert row.appointments[0]["status"] == "cancelled_patient"
    assert row.appointments[0]["event"] == "admission_offer_declined"


async def test_a_declined_tci_on_31_days_then_available_later(bot: Bot) -> None:
    user = await sam(bot)
    # Start 11 Feb 2025: breach date 15 Mar 2025. The TCI on 24 Feb was declined.
    p = await booked(
        bot, "admission_inpatient", D(2025, 2, 24), waited=20, pathway_type="cancer_31"
    )
    await _outcome(user, p, "↩️ Cancelled by the patient")
    await user.press("Yes: a declined admission offer")
    await user.press("Not known yet")
    shown = live(user)
    assert "from 24 Feb 2025 the clock stops counting, and there is no breach date" in shown
    await save(user)
    row = await stored(bot, p)
    assert row.breach_date is None and row.clock_state == "running"
    # Later the patient says when they are available: from /book (or 🗓 Bookings).
    await user.send("/book jane")
    assert "A treatment adjustment is open from the declined admission date 24 Feb 2025" in (
        live(user)
    )
    await user.press("🙋 Patient available again")
    assert "Not known yet" not in user.last_with_buttons().button_labels
    await user.send("yesterday")
    confirm = live(user)
    assert "Records on the pathway: Patient available again on 2 Mar 2025" in confirm
    assert "(6 days) don't count, so the breach date moves to 21 Mar 2025" in confirm
    replies = await user.press("✅ Save")
    no_error(replies)
    assert "Patient available again recorded for Jane Doe" in replies[0].text
    row = await stored(bot, p)
    assert row.breach_date == D(2025, 3, 21)
    assert [e["kind"] for e in row.events] == ["admission_offer_declined", "patient_available"]


async def test_bad_input_at_the_available_date_changes_nothing(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "admission_day_case", D(2025, 3, 10), waited=40, pathway_type="cancer_62")
    await _outcome(user, p, "↩️ Cancelled by the patient")
    await user.press("Yes: a declined admission offer")
    for typed, said in (
        ("next blursday", "next blursday"),
        ("x" * 3000, "That's too long to be a date."),
        ("in 5 years", "3 Mar 2030 is more than two years away"),
    ):
        replies = await user.send(typed)
        no_error(replies)
        shown = live(user)
        assert said in shown and "When is the patient available again?" in shown, typed
    row = await stored(bot, p)
    assert row.events == [] and row.appointments[0]["status"] == "booked"
    assert row.version == p.version  # nothing half-saved
    await user.press("« Back")
    assert "treatment adjustment" in live(user)


async def test_a_tci_moved_at_the_patients_request_offers_the_adjustment(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "admission_day_case", D(2025, 3, 10), waited=40, pathway_type="cancer_62")
    await user.send("/ptl")
    await user.press_data(f"bkm:{p.patient_id}", message=user.last)
    await user.press(user.last_with_buttons().button_labels[0])
    await user.press("📆 Move to another date")
    await user.press("The patient")
    assert "treatment adjustment" in live(user)
    await user.press("Yes: a declined admission offer")
    await user.send("in 3 weeks")  # available from Mon 24 Mar 2025
    assert "Step 2 of 4 · Date" in live(user)
    await user.send("in 4 weeks")  # the new TCI: Mon 31 Mar 2025
    await user.press("Skip »")  # time
    confirm = live(user)
    assert "Records on the pathway: Admission date declined on 10 Mar 2025" in confirm
    assert "breach date moves to 9 Apr 2025" in confirm
    assert "TCI 31 Mar 2025: day 54 of 62, within 62 days ✔" in confirm
    await save(user, "✅ Save booking")
    row = await stored(bot, p)
    assert [e["kind"] for e in row.events] == ["admission_offer_declined", "patient_available"]
    assert row.appointments[0]["date"] == "2025-03-31"
    assert row.appointments[0]["history"][-1]["asked_by"] == "patient"


async def test_a_plain_cancellation_of_a_tci_is_not_an_adjustment(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "admission_day_case", D(2025, 3, 10), waited=40, pathway_type="cancer_62")
    await _outcome(user, p, "↩️ Cancelled by the patient")
    await user.press("No: a plain cancellation")
    await save(user)
    row = await stored(bot, p)
    assert [e["kind"] for e in row.events] == ["patient_cancelled"]


async def test_an_rtt_tci_declined_is_never_an_adjustment(bot: Bot) -> None:
    user = await sam(bot)
    p = await booked(bot, "admission_day_case", D(2025, 3, 10), waited=40)
    shown = await _outcome(user, p, "↩️ Cancelled by the patient")
    assert "never stops or pauses an RTT clock" in shown and "adjustment" not in shown


# -- the row's priority in every booking clock ----------------------------------------------------


def test_booking_summaries_use_the_rows_priority() -> None:
    start = TODAY - dt.timedelta(days=130)  # breached on 27 Feb 2025
    dna = [event_entry("dna_first_appointment", D(2024, 11, 1), added_by=EMAIL,
                       clock_start=start)]  # fmt: skip
    tci = [new_booking("admission_inpatient", D(2025, 3, 10), added_by=EMAIL, now=NOW)]
    # Routine: the DNA nullified the clock, so a TCI is late for nothing. Urgent suspected
    # cancer: the clock runs on, breached, so the TCI comes after the breach date.
    assert stored_booking_columns(tci, "rtt", start, dna)["booking_late_dates"] == []
    assert stored_booking_columns(tci, "rtt", start, dna, USC)["booking_late_dates"] == [
        D(2025, 3, 10)
    ]


async def test_the_booking_backfill_uses_the_rows_priority(bot: Bot, db: Database) -> None:
    from storage.booking_backfill import BookingBackfill

    start = TODAY - dt.timedelta(days=130)
    p = await add_patient(bot, "Usc Row", start, priority=USC,
                          events=[("dna_first_appointment", D(2024, 11, 1))])  # fmt: skip
    async with db.student(EMAIL) as conn:  # the web platform books a TCI
        await conn.execute(
            "update public.ptl_patients set appointments ="
            ' \'[{"date": "2025-03-10", "type": "TCI", "status": "booked"}]\'::jsonb'
            " where patient_id = $1",
            p.patient_id,
        )
    await BookingBackfill(db).run(stored_booking_columns)
    row = await stored(bot, p)
    assert row.booking_late_dates == [D(2025, 3, 10)]
