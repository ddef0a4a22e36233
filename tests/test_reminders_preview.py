"""`python -m bot reminders preview`: who would receive what on a date, without sending or
recording anything."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from bot.runtime.reminders_cli import preview_lines
from tests import harness
from tests.test_reminders_delivery import MONDAY, email_for, link, patient

ROOT = Path(__file__).resolve().parent.parent


async def test_preview_lists_every_student_and_sends_nothing(bot: harness.Bot) -> None:
    busy = await link(bot, 3001)
    await patient(bot, busy, "Ada Breached", MONDAY - dt.timedelta(days=150))
    await patient(bot, busy, "Ben Later", MONDAY - dt.timedelta(days=117))  # 10 days to go
    await link(bot, 3002)  # nothing on their PTL
    muted = await link(bot, 3003, reminders_muted=True)
    await patient(bot, muted, "Muted Patient", MONDAY - dt.timedelta(days=150))
    service = bot.services.reminders

    lines = await preview_lines(service, MONDAY)
    output = "\n".join(lines)
    assert f"== {busy} · 08:30, weekdays (mon–fri), window 7 days · would receive" in output
    assert "Ada Breached" in output and "Ben Later" not in output
    assert "[🔴 1. Ada Breached] [📋 My PTL] [⚙️ Reminder settings]" in output
    assert f"== {email_for(3002)}" in output and "nothing to say: no message" in output
    assert f"== {muted}" in output and "muted: no message" in output
    assert "Muted Patient" not in output
    assert lines[-1] == (
        "Reminders for Mon 3 Mar 2025: 3 linked students: 1 would receive, "
        "1 nothing to say: no message, 1 muted: no message."
    )
    assert bot.api.calls_to("sendMessage") == []
    assert await service.repo.entries(MONDAY) == []

    # A Saturday is not a weekday reminder day; by Friday Ben is within the 7-day window.
    saturday = "\n".join(await preview_lines(service, MONDAY + dt.timedelta(days=5)))
    assert "Ben Later" not in saturday and "not a reminder day" in saturday
    friday = "\n".join(await preview_lines(service, MONDAY + dt.timedelta(days=4), busy))
    assert "Ben Later" in friday and "breaches Thu 13 Mar 2025 (in 6 days)" in friday
    assert email_for(3002) not in friday

    # One student, even muted: a tutor sees what they would get.
    one = "\n".join(await preview_lines(service, MONDAY, muted.upper()))
    assert "Muted Patient" in one and "muted: no message" in one
    assert (await preview_lines(service, MONDAY, "nobody@uni.example"))[0].startswith("No ")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM", "DATABASE"))}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", "reminders", "preview", *args],
        cwd=ROOT, env=full, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_preview_command_line(db_dsn: str) -> None:
    from storage.db import Database

    db = await Database.connect(db_dsn)
    try:
        bot = await harness.make_bot(db)
        email = await link(bot, 3101)
        await patient(bot, email, "Cli Breached", dt.date(2024, 1, 8))
        await harness.close_bot(bot)
    finally:
        await db.close()
    done = _cli("--date", "2025-03-03", "--email", email, env={"DATABASE_URL": db_dsn})
    assert done.returncode == 0, done.stderr
    assert "Cli Breached" in done.stdout and "Waiting more than 52 weeks" in done.stdout
    assert "Reminders for Mon 3 Mar 2025" in done.stdout
    bad = _cli("--date", "03/03/2025", env={"DATABASE_URL": db_dsn})
    assert bad.returncode == 2 and "use YYYY-MM-DD" in bad.stderr
