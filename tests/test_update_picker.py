"""/update's event picker and date buttons, as a coordinator would use them.

Issue 15 point 6: the picker is grouped (appointments, decisions, treatment, ending), names
events as a coordinator would ("First appointment attended", "Seen in clinic, tests
ordered"), and shows what each would do to *this* patient's clock today, from the rules
engine, so a stopped clock never offers "Treatment started: stops the clock".
Issue 12 item 9: RTT codes appear only on RTT rows; cancer and DM01 rows get the effect in
words. Issue 15 point 11: date steps offer Today, Yesterday and 1/4/8/12/18 weeks ago with
the date on each button, and /update with no name offers the PTL's most urgent patients.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.rules.records import event_entry
from tests.forms_support import EMAIL, linked, no_error
from tests.harness import Bot
from tests.test_update import START, TODAY, add_patient, bot, current, live, open_menu

__all__ = ["bot"]  # the fixture, imported for pytest

GROUPS = ("Appointments", "Decisions", "Treatment", "Ending, or a new clock")


def _entry(kind: str, on: date, pathway: str = "rtt") -> dict[str, object]:
    return event_entry(kind, on, added_by=EMAIL, pathway_type=pathway, clock_start=START)


async def test_the_picker_is_grouped_and_named_as_a_coordinator_would(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    await open_menu(sam, patient)
    picker = (await sam.press("📌 Record an event"))[-1]
    lines = picker.text.splitlines()
    grouped = [line for line in lines if line.split(":")[0] in GROUPS]
    assert [line.split(":")[0] for line in grouped] == list(GROUPS)  # one line a group
    assert len(lines) <= 10, picker.text  # was 15 lines of one event each
    assert "First appointment attended" in picker.text
    assert "Seen in clinic, tests ordered" in picker.text
    assert "Activity (clock continues): clock continues" not in picker.text
    assert "20 · First appointment attended" in picker.button_labels
    assert "20 · Seen in clinic, tests ordered" in picker.button_labels
    assert len(picker.buttons) <= 9  # rows of two (r1: one row an event, 17 in all)
    # Each effect is this patient's clock if it happened today (day 119 of 126).
    assert "Treatment started: stops the clock, within the 18-week standard (day 119) ✔" in (
        picker.text
    )


async def test_on_a_stopped_clock_the_picker_says_what_still_means_something(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot, events=[_entry("treatment_started", date(2025, 5, 1))])
    await open_menu(sam, patient)
    picker = (await sam.press("📌 Record an event"))[-1].text
    # The old picker read the pathway type alone: "30 Treatment started: stops the clock".
    assert "stops the clock" not in picker
    assert "no effect: the clock has stopped" in picker
    assert "New clock start: starts a new clock (code 10)" in picker


async def test_cancer_rows_show_no_rtt_codes_only_the_effect_in_words(bot: Bot) -> None:
    sam = await linked(bot)
    start = TODAY - timedelta(days=20)
    patient = await add_patient(bot, pathway="cancer_62", start=start)
    await open_menu(sam, patient)
    picker = (await sam.press("📌 Record an event"))[-1]
    # The old line: "20 · Diagnosis communicated: stops the clock" on a 62-day pathway.
    assert not any(label[:2].isdigit() for label in picker.button_labels), picker.button_labels
    assert "(code" not in picker.text and "<b>20</b>" not in picker.text
    assert "Diagnosis given to the patient" in picker.button_labels
    assert "Treatment started: stops the clock, within the 62-day standard (day 20) ✔" in (
        picker.text
    )
    await sam.press("Treatment started")
    await sam.press(f"Yesterday · {(TODAY - timedelta(days=1)).strftime('%-d %b %Y')}")
    confirm = (await sam.press("Skip »"))[-1].text
    assert f"Event: Treatment started on {(TODAY - timedelta(days=1)).strftime('%-d %b %Y')}" in (
        confirm
    )
    assert "· 30 ·" not in confirm and "code 30" not in confirm


async def test_diagnostic_rows_name_the_appointment_without_codes(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot, pathway="diagnostic", start=TODAY - timedelta(days=10))
    await open_menu(sam, patient)
    picker = (await sam.press("📌 Record an event"))[-1]
    assert "Test done" in picker.button_labels
    assert "Test done: stops the clock, within the 6-week diagnostic standard (day 10) ✔" in (
        picker.text
    )
    # Events with the same effect share it: a DNA and a patient cancellation reset DM01.
    assert "Did not attend (DNA), Patient cancelled: restarts the clock from that date" in (
        picker.text
    )
    assert not any(label[:2].isdigit() for label in picker.button_labels)


async def test_the_coordinators_name_is_saved_as_the_description(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)
    await open_menu(sam, patient)
    await sam.press("📌 Record an event")
    replies = await sam.press("20 · Seen in clinic, tests ordered")
    assert "Step 2 of 3" in replies[-1].text
    await sam.press("4 weeks ago · 5 May 2025")  # the date is on the button
    detail = live(sam).text
    assert "record it as “Seen in clinic, tests ordered”" in detail
    await sam.press("Skip »")
    no_error(await sam.press("✅ Save"))
    saved = await current(bot, patient)
    assert saved.events[-1]["description"] == "Seen in clinic, tests ordered"
    assert saved.events[-1]["date"] == "2025-05-05" and saved.events[-1]["code"] == "20"


async def test_event_date_buttons_carry_dates_and_stop_at_the_clock_start(bot: Bot) -> None:
    sam = await linked(bot)
    patient = await add_patient(bot)  # clock start 3 Feb 2025, today 2 Jun 2025 (day 119)
    await open_menu(sam, patient)
    await sam.press("📌 Record an event")
    labels = (await sam.press("20 · First appointment attended"))[-1].button_labels
    assert "Today · 2 Jun 2025" in labels and "Yesterday · 1 Jun 2025" in labels
    assert "1 week ago · 26 May 2025" in labels and "12 weeks ago · 10 Mar 2025" in labels
    # 18 weeks ago (27 Jan 2025) is before the clock start: not offered, then refused.
    assert not any(label.startswith("18 weeks ago") for label in labels)


async def test_update_with_no_name_offers_the_most_urgent_patients(bot: Bot) -> None:
    sam = await linked(bot)
    await add_patient(bot, "Calm Carl", start=TODAY - timedelta(days=10))
    urgent = await add_patient(bot, "Urgent Una", start=TODAY - timedelta(days=130))
    await add_patient(bot, "Risky Rita", start=TODAY - timedelta(days=120))
    replies = await sam.send("/update")
    prompt = replies[-1]
    assert "Or tap one of the most urgent on your PTL:" in prompt.text
    names = [label for label in prompt.button_labels if label[0] in "🔴🟠🟢"]
    assert names == ["🔴 Urgent Una", "🟠 Risky Rita", "🟢 Calm Carl"]  # breach-risk order
    replies = await sam.press("🔴 Urgent Una")
    assert replies[-1].text.startswith("Update · Urgent Una"), replies[-1].text
    assert urgent.patient_id in replies[-1].text or "Urgent Una" in replies[-1].text


async def test_update_with_no_name_on_an_empty_ptl_just_asks(bot: Bot) -> None:
    sam = await linked(bot)
    replies = await sam.send("/update")
    assert "Which patient?" in replies[-1].text
    assert "most urgent" not in replies[-1].text
