"""/settings: time (buttons or typed), days, window, mute; confirmed with the next send time
and effective the same day. Driven like a chat through the offline Bot API."""

from __future__ import annotations

import datetime as dt

from handlers.reminders import run_reminders
from tests import harness
from tests.test_reminders_delivery import MONDAY, at, digests, link, log_status, patient


async def prefs_of(bot: harness.Bot, uid: int) -> tuple[object, ...]:
    r = await bot.services.reminders.repo.recipient_for_user(uid)
    assert r is not None
    return (r.reminder_time, r.reminder_days, r.reminder_window_days, r.reminders_muted)


async def test_settings_shows_defaults_and_the_next_reminder(bot: harness.Bot) -> None:
    await link(bot, 2001)
    at(bot, MONDAY, 7, 0)
    u = bot.user(2001)
    await u.send("/settings")
    shown = u.last.text
    assert "Time: 08:30 UK time (default)" in shown and "Weekdays (Mon–Fri)" in shown
    assert "breaching within 7 days" in shown and "Status: 🔔 On" in shown
    assert "Next reminder: Mon 3 Mar 2025 at 08:30" in shown
    assert u.last.button_labels == ["⏰ Time", "📅 Days", "🔭 Window", "🔕 Mute",
                                    "↩️ Use defaults", "✅ Done"]  # fmt: skip


async def test_unlinked_users_are_told_to_link_first(bot: harness.Bot) -> None:
    u = bot.user(2002)
    await u.send("/settings")
    assert "link your platform account" in u.last.text


async def test_time_by_button_confirmed_and_effective_today(bot: harness.Bot) -> None:
    email = await link(bot, 2101)
    await patient(bot, email, "Breached", MONDAY - dt.timedelta(days=150))
    at(bot, MONDAY, 7, 0)
    u = bot.user(2101)
    await u.send("/settings")
    settings_message = u.last
    await u.press("⏰ Time")
    assert "Reminder time" in u.last.text and "✓ 08:30" in u.last.button_labels
    await u.press("17:00")
    assert u.last.message_id == settings_message.message_id  # confirmed in place
    assert "✅ Saved: reminders at 17:00." in u.last.text
    assert "Next reminder: Mon 3 Mar 2025 at 17:00" in u.last.text
    assert (await prefs_of(bot, 2101))[0] == dt.time(17, 0)

    at(bot, MONDAY, 8, 30)  # the old time: nothing now
    await run_reminders(bot.app)
    assert digests(bot.api, 2101) == []
    at(bot, MONDAY, 17, 0)
    await run_reminders(bot.app)
    assert len(digests(bot.api, 2101)) == 1


async def test_typed_time_and_a_friendly_error(bot: harness.Bot) -> None:
    await link(bot, 2201)
    at(bot, MONDAY, 7, 0)
    u = bot.user(2201)
    await u.send("/settings")
    await u.press("⏰ Time")
    picker = u.last
    await u.send("<b>tea time</b>")
    assert "couldn't read" in u.last.text and "<b>tea time</b>" in u.last.text  # escaped
    assert (await prefs_of(bot, 2201))[0] is None  # nothing changed
    (saved,) = await u.send("7.45am")
    assert saved.text.startswith("✅ Saved: reminders at 07:45.")  # the panel, below the time
    assert "Next reminder: Mon 3 Mar 2025 at 07:45" in saved.text
    assert "⏰ Time" in saved.button_labels
    assert picker.buttons == []  # only the latest message has live buttons
    assert (await prefs_of(bot, 2201))[0] == dt.time(7, 45)
    # The time form has closed: ordinary text is not taken as a time any more.
    replies = await u.send("08:00")
    assert (await prefs_of(bot, 2201))[0] == dt.time(7, 45)
    assert all("Saved" not in m.text for m in replies)


async def test_days_window_mute_unmute_and_defaults(bot: harness.Bot) -> None:
    await link(bot, 2301)
    at(bot, D_FRIDAY := dt.date(2025, 3, 7), 9, 0)
    u = bot.user(2301)
    await u.send("/settings")
    await u.press("📅 Days")
    await u.press("Every day")
    assert "✅ Saved: Every day." in u.last.text
    # Friday after 08:30, nothing sent today yet: today's is due now.
    assert "Today's reminder is due now" in u.last.text
    await u.press("🔭 Window")
    await u.press("14 days")
    assert "breaching within 14 days" in u.last.text
    await u.press("🔕 Mute")
    assert "Muted: no reminders until you unmute." in u.last.text
    assert "🔔 Unmute" in u.last.button_labels
    assert await prefs_of(bot, 2301) == (None, "daily", 14, True)
    await u.press("🔔 Unmute")
    assert "Reminders are back on." in u.last.text
    await u.press("↩️ Use defaults")
    assert await prefs_of(bot, 2301) == (None, None, None, False)
    assert "Time: 08:30 UK time (default)" in u.last.text
    await u.press("✅ Done")
    assert "Reminder settings saved." in u.last.text and u.last.buttons == []
    assert D_FRIDAY.weekday() == 4


async def test_a_sent_digest_is_not_sent_again_after_a_later_time(bot: harness.Bot) -> None:
    email = await link(bot, 2401)
    await patient(bot, email, "Breached", MONDAY - dt.timedelta(days=150))
    at(bot, MONDAY, 8, 30)
    await run_reminders(bot.app)
    assert len(digests(bot.api, 2401)) == 1
    at(bot, MONDAY, 9, 0)
    u = bot.user(2401)
    await u.send("/settings")
    await u.press("⏰ Time")
    await u.press("17:00")
    assert "Today's reminder has already been sent." in u.last.text
    assert "Next reminder: Tue 4 Mar 2025 at 17:00" in u.last.text
    at(bot, MONDAY, 17, 0)
    await run_reminders(bot.app)
    assert len(digests(bot.api, 2401)) == 1


async def test_a_nothing_to_say_check_is_redone_after_a_change(bot: harness.Bot) -> None:
    """At 08:30 nothing breaches within 7 days; the student widens the window to 14 days at
    09:00 and gets today's digest at once under the new window."""
    email = await link(bot, 2501)
    await patient(bot, email, "In ten days", MONDAY - dt.timedelta(days=117))
    at(bot, MONDAY, 8, 30)
    await run_reminders(bot.app)
    assert await log_status(bot, email, MONDAY) == "empty"
    at(bot, MONDAY, 9, 0)
    u = bot.user(2501)
    await u.send("/settings")
    await u.press("🔭 Window")
    await u.press("14 days")
    assert "Today's reminder is due now" in u.last.text
    await run_reminders(bot.app)
    [digest] = digests(bot.api, 2501)
    assert "In ten days" in digest


async def test_buttons_under_a_digest_and_in_the_menu_open_settings(bot: harness.Bot) -> None:
    email = await link(bot, 2601)
    await patient(bot, email, "Breached", MONDAY - dt.timedelta(days=150))
    at(bot, MONDAY, 9, 0)
    await run_reminders(bot.app)
    u = bot.user(2601)
    digest = next(m for m in u.history if m.text.startswith("⏰ Breach reminder ·"))
    await u.press("⚙️ Reminder settings", message=digest)
    assert "⏰ Breach reminders" in u.last.text and u.last.message_id != digest.message_id
    await u.send("/menu")
    await u.press("⏰ Reminders")
    assert "⏰ Breach reminders" in u.last.text


async def test_settings_survive_a_restart_mid_conversation(db: object) -> None:
    from storage.db import Database

    assert isinstance(db, Database)
    first = await harness.make_bot(db)
    await link(first, 2701)
    u = first.user(2701)
    await u.send("/settings")
    await u.press("⏰ Time")
    await harness.close_bot(first)

    second = await harness.make_bot(db, api=first.api)
    try:
        u2 = second.user(2701)
        await u2.send("06:45")
        assert "Saved: reminders at 06:45." in u2.last.text
        assert (await prefs_of(second, 2701))[0] == dt.time(6, 45)
    finally:
        await harness.close_bot(second)
