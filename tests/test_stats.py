"""/stats: figures from the engine, and a chart that is a valid PNG."""

from __future__ import annotations

import struct
import zlib
from datetime import date, timedelta

from bot.services import charts
from bot.services.ptl_view import build_entries
from bot.services.stats import summarise
from tests.harness import TODAY, Bot
from tests.ptl_support import add_patient, link

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_valid_png(data: bytes) -> tuple[int, int]:
    """Walk every chunk and check its CRC: a truncated or corrupt PNG fails here."""
    assert data.startswith(PNG_SIGNATURE)
    pos, seen = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        seen.append(kind)
        pos += 12 + length
    assert seen[0] == b"IHDR" and seen[-1] == b"IEND" and b"IDAT" in seen
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def _sample(bot: Bot) -> None:
    await link(bot)
    await add_patient(bot, "A", TODAY - timedelta(days=10), specialty="Cardiology")
    await add_patient(bot, "B", TODAY - timedelta(days=120), specialty="Cardiology")  # at risk
    await add_patient(bot, "C", TODAY - timedelta(days=200), specialty="Urology")  # breached
    await add_patient(bot, "D", TODAY - timedelta(days=400), specialty="Urology")  # 52+ weeks
    await add_patient(bot, "E", TODAY - timedelta(days=30), pathway_type="cancer_fds")  # breached
    await add_patient(
        bot, "F", date(2024, 12, 2), events=[("treatment_started", date(2025, 2, 1))]
    )  # stopped


async def test_summary_figures(bot: Bot) -> None:
    await _sample(bot)
    s = summarise(build_entries(await bot.services.patients.list("sam@student.example"), TODAY))
    assert (s.total, s.waiting, s.closed) == (6, 5, 1)
    assert (s.breached, s.at_risk, s.on_track) == (3, 1, 1)
    assert s.long_waits == {52: 1}
    assert s.median_days == 120 and s.longest_days == 400
    assert (s.rtt_waiting, s.rtt_within_18) == (4, 2)
    assert [x.name for x in s.by_specialty] == ["Urology", "Cardiology", "Not recorded"]


async def test_stats_sends_figures_and_a_png_chart(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    replies = await sam.send("/stats")
    figures, chart = replies[0], replies[-1]
    assert "Patients: 6 (5 waiting, 1 closed)" in figures.text
    assert "🔴 Breached: 3 · 🟠 At risk: 1 · 🟢 On track: 1" in figures.text
    assert "Long waits (RTT 52+ weeks): 1 (1 at 52+ weeks)" in figures.text
    assert "Median wait: 17 weeks (120 days) · Longest: 57 weeks (400 days)" in figures.text
    assert "RTT within 18 weeks: 2 of 4 (50%; the standard is 92%)" in figures.text
    assert "Urology: 2 · 2 · 57w" in figures.text
    assert "Not recorded: 1 · 1 · 4w" in figures.text
    assert chart.kind == "photo" and "18-week" in chart.text
    assert assert_valid_png(chart.file_bytes or b"") == (800, 450)


async def test_stats_for_an_empty_ptl_and_from_the_menu(bot: Bot) -> None:
    await link(bot)
    sam = bot.user(901)
    assert "your PTL is empty" in (await sam.send("/stats"))[0].text
    await add_patient(
        bot, "<Only>", date(2024, 12, 2), events=[("treatment_started", date(2025, 2, 1))],
        specialty="<ENT>",
    )  # fmt: skip
    await sam.send("/menu")
    replies = await sam.press("📊 Stats")
    assert len(replies) == 1  # nobody waiting: figures, no chart
    assert "Nobody is waiting" in replies[0].text and "<ENT>: 0 · 0 · –" in replies[0].text


def test_chart_handles_empty_and_very_long_waits() -> None:
    assert_valid_png(charts.wait_distribution_png([]))
    assert_valid_png(charts.wait_distribution_png([(0, "on_track"), (300, "breached")]))
