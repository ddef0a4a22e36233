"""The console's own commands, driven line by line as a person types them (in process, on the
real Application and the offline Bot API): numbered messages, a number pressing only the latest
message, `:press` for an earlier one, `:vote` in a quiz poll, `:multi` for a message of several
lines, a pasted invite link, and `:time`, which moves the clock so a reminder arrives."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest

from bot.runtime.console import BANNER, Console, user_id_for
from storage.db import Database
from tests import harness
from tests.test_reminders_delivery import MONDAY, at, patient

ROOT = Path(__file__).resolve().parent.parent


class Terminal:
    """A console on a test bot: `type` a line, read what was printed since."""

    def __init__(self, bot: harness.Bot, tmp_path: Path) -> None:
        self.bot = bot
        self.out = io.StringIO()
        self.console = Console(bot.api, self.out, tmp_path, bot.clock)
        self.seen = 0

    async def type(self, line: str) -> str:
        await self.console.handle(self.bot.app, line)
        printed = self.out.getvalue()[self.seen :]
        self.seen = len(self.out.getvalue())
        return printed


@pytest.fixture
async def bot(db: Database):
    instance = await harness.make_bot(db)
    yield instance
    await harness.close_bot(instance)


@pytest.fixture
async def running(db: Database):
    """A started bot: its jobs are scheduled, as in the console."""
    instance = await harness.make_bot(db, start=True)
    yield instance
    await harness.close_bot(instance)


async def _linked(bot: harness.Bot, name: str, email: str) -> int:
    uid = user_id_for(name)
    await bot.services.links.link(uid, uid, email, name.capitalize())
    return uid


async def test_messages_are_numbered_and_a_number_presses_only_the_latest(
    bot: harness.Bot, tmp_path: Path
) -> None:
    term = Terminal(bot, tmp_path)
    await _linked(bot, "you", "you@student.example")
    await patient(bot, "you@student.example", "Ann Lee", MONDAY - dt.timedelta(days=20))
    printed = await term.type("/ptl")
    listing = int(re.search(r"^bot: #(\d+)$", printed, re.M).group(1))  # type: ignore[union-attr]
    assert "[1] 1. 🟢 Ann Lee" in printed
    printed = await term.type("/cancel")
    assert "Nothing was changed" in printed
    # The latest message has no buttons now: "1" is text, not a tap on the old list.
    printed = await term.type("1")
    assert "I wasn't waiting for an answer" in printed and "Ann Lee" not in printed
    # An earlier message's button is pressed by its number.
    printed = await term.type(f":press {listing} 1")
    assert "Ann Lee" in printed and "(edited)" in printed  # the card, in place of the list
    printed = await term.type(f":press {listing} 9")
    assert f"message #{listing} has no button '9'" in printed


async def test_vote_multi_line_and_a_pasted_invite_link(bot: harness.Bot, tmp_path: Path) -> None:
    term = Terminal(bot, tmp_path)
    await _linked(bot, "tess", "tess@uni.example")
    await bot.services.staff.add("tess@uni.example", "tutor")
    await _linked(bot, "sam", "sam@student.example")
    printed = await term.type("@tess: /cohort new Year 1")
    link = re.search(r"https://t\.me/\S+", printed).group(0)  # type: ignore[union-attr]
    printed = await term.type(f"@sam: {link}")  # pasted, not tapped
    assert "joined" in printed and "Year 1" in printed
    await term.type("@tess: /broadcast")
    await term.type("@tess: 1")  # the cohort button on the latest message
    await term.type("@tess: Week 1")
    await term.type("@tess: Read the PTL.")
    await term.type("@tess: No patients »")
    # A quiz question is one message of several lines.
    assert "multi-line message" in await term.type("@tess: :multi")
    for line in ("Which code stops an RTT clock?", "10", "* 30", "? 30: treatment."):
        assert await term.type(line) == ""
    printed = await term.type(":end")
    assert "Question 1 added (30 is the right answer)" in printed
    await term.type("@tess: Done with questions »")
    await term.type("@tess: No due date »")
    await term.type("@tess: 📣 Send")
    from bot.services.outbox import worker_of

    await worker_of(bot.app).drain()
    await term.type("@sam: ▶️ Start")
    printed = await term.type("@sam: 📝 Take the quiz")
    assert "[quiz] Which code stops an RTT clock?" in printed and "(2) 30" in printed
    printed = await term.type("@sam: :vote 2")
    assert "you answered (2) 30" in printed
    assert "answer key" in printed and "You got 1 of 1 right." in printed
    assert "poll #" in await term.type("@sam: :vote 7")  # out of range: says which


async def test_time_moves_the_clock_and_a_reminder_arrives(
    running: harness.Bot, tmp_path: Path
) -> None:
    bot = running
    term = Terminal(bot, tmp_path)
    await _linked(bot, "you", "you@student.example")
    await patient(bot, "you@student.example", "Ann Lee", MONDAY - dt.timedelta(days=150))
    at(bot, MONDAY, 7, 0)
    printed = await term.type(":time")
    assert "clock: Mon 3 Mar 2025 07:00 (Europe/London" in printed
    printed = await term.type(":time 08:29")
    assert "Breach reminder" not in printed
    printed = await term.type(":time 08:31")
    assert "clock: Mon 3 Mar 2025 08:31" in printed and "⏰ Breach reminder" in printed
    assert "Ann Lee" in printed
    printed = await term.type(":time 25:00")
    assert "not a date and time" in printed


def test_the_banner_and_the_readme_list_the_same_console_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The console", 1)[1].split("\n## ", 1)[0]
    in_banner = set(re.findall(r"(?<![\w/]):([a-z]+)\b", BANNER))
    in_readme = set(re.findall(r"`:([a-z]+)", section))
    assert in_banner == {"press", "vote", "multi", "end", "upload", "time", "help"}
    assert in_readme == in_banner
