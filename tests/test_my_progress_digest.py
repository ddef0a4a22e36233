"""The digest's weekly line: on Fridays, a student who had activity that week is told it
(counted as the student), even when nothing is due; a quiet week or a muted student hears
nothing. Driven through the real reminder run (`run_reminders`), as the minute tick does."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from handlers.reminders import run_reminders
from tests import harness
from tests.ptl_support import add_patient

LONDON = ZoneInfo("Europe/London")
FRIDAY = dt.date(2025, 3, 7)
THURSDAY = dt.date(2025, 3, 6)


def _at(bot: harness.Bot, day: dt.date, hh: int) -> None:
    bot.clock.set(dt.datetime(day.year, day.month, day.day, hh, 0, tzinfo=LONDON))


async def _student(bot: harness.Bot, uid: int, email: str, **prefs: object) -> None:
    await bot.services.links.link(uid, uid, email, "S")
    if prefs:
        await bot.services.reminders.repo.set_preferences(uid, prefs)


async def test_friday_digest_ends_with_the_week(bot: harness.Bot) -> None:
    email = "wen@student.example"
    await _student(bot, 801, email)
    # This week: a treatment in time (Tue) and an activity (Wed) on one patient, and a
    # patient breaching within the window so the digest has patients to list.
    await add_patient(
        bot, "Una Usher", dt.date(2025, 1, 6), email=email, today=FRIDAY,
        events=[("activity", dt.date(2025, 3, 5)), ("treatment_started", dt.date(2025, 3, 4))],
    )  # fmt: skip
    await add_patient(bot, "Vic Vale", FRIDAY - dt.timedelta(days=123), email=email, today=FRIDAY)
    _at(bot, THURSDAY, 9)
    await run_reminders(bot.app)
    thursday = [m.text for m in bot.api.sent_to(801)]
    assert thursday and "This week" not in thursday[-1]
    _at(bot, FRIDAY, 9)
    await run_reminders(bot.app)
    friday = bot.api.sent_to(801)[-1].text
    assert "Vic Vale" in friday
    assert "📈 This week: 2 events recorded, 1 clock stopped in time." in friday


async def test_activity_alone_is_worth_a_friday_digest(bot: harness.Bot) -> None:
    email = "xan@student.example"
    await _student(bot, 802, email)
    await add_patient(
        bot, "Wyn West", dt.date(2025, 2, 10), email=email, today=FRIDAY,
        events=[("activity", dt.date(2025, 3, 6))],
    )  # fmt: skip
    _at(bot, FRIDAY, 9)
    report = await run_reminders(bot.app)
    assert report.sent == 1
    (message,) = bot.api.sent_to(802)
    assert "1 event recorded, 0 clocks stopped in time" in message.text


async def test_quiet_weeks_and_muted_students_get_nothing(bot: harness.Bot) -> None:
    quiet, muted = "yas@student.example", "zed@student.example"
    await _student(bot, 803, quiet)
    await _student(bot, 804, muted, reminders_muted=True)
    # Quiet: the only event was last week. Muted: busy this week, but muted.
    await add_patient(bot, "Abe Amis", dt.date(2025, 2, 10), email=quiet, today=FRIDAY,
                      events=[("activity", dt.date(2025, 2, 27))])  # fmt: skip
    await add_patient(bot, "Bo Best", dt.date(2025, 2, 10), email=muted, today=FRIDAY,
                      events=[("activity", dt.date(2025, 3, 6))])  # fmt: skip
    _at(bot, FRIDAY, 9)
    await run_reminders(bot.app)
    assert bot.api.sent_to(803) == [] and bot.api.sent_to(804) == []
