"""/stats: figures from the engine, and a chart that is a valid PNG."""

from __future__ import annotations

import struct
import zlib
from datetime import date, timedelta
from typing import Any

import pytest

from bot.rules.pathway import rtt_band, wait_band
from bot.services import charts
from bot.services.ptl_view import PtlEntry, build_entries, evaluate_patient
from bot.services.stats import StandardWaits, Summary, summarise
from storage.models import Patient
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
    assert [x.name for x in s.by_specialty] == ["101 Urology", "320 Cardiology", "Not recorded"]


async def test_stats_sends_figures_and_a_png_chart(bot: Bot) -> None:
    await _sample(bot)
    sam = bot.user(901)
    replies = await sam.send("/stats")
    figures, chart = replies[0], replies[-1]
    assert "Patients: 6 (5 waiting, 1 closed)" in figures.text
    assert "🔴 Breached: 3 · 🟠 At risk: 1 · 🟢 On track: 1" in figures.text
    assert "RTT waits of more than 52 weeks: 1\n" in figures.text  # no "(1 at 52+ weeks)"
    assert "Median wait: 17 weeks (120 days) · Longest: 57 weeks (400 days)" in figures.text
    assert "RTT within 18 weeks: 2 of 4 (50%; the standard is 92%)" in figures.text
    assert "101 Urology: 2 · 2 · 57w" in figures.text
    assert "Not recorded: 1 · 1 · 4w" in figures.text
    assert chart.kind == "photo" and "one chart per standard" in chart.text
    # Two standards are waiting (RTT and the 28-day FDS): two panels, each its own height.
    assert assert_valid_png(chart.file_bytes or b"") == (800, 840)


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
    assert_valid_png(charts.waiting_chart_png({}))
    long = StandardWaits("rtt")
    long.add(0, "on_track")
    long.add(3000, "breached")  # past the last band shown: drawn in it, and the axis says so
    figure = charts.chart_figure({"rtt": long})
    assert "this long or longer" in figure.axes[0].get_xlabel()
    assert_valid_png(charts.waiting_chart_png({"rtt": long}))


# --- The chart a PTL meeting would use (issue 12 item 14, issue 15 point 12) ----------------


def _summary_of(patients: list[tuple[str, int, str | None]]) -> Summary:
    """A summary of waiting patients given as (pathway type, days waited, specialty)."""
    entries = []
    for i, (ptype, days, specialty) in enumerate(patients):
        patient = Patient.model_validate(
            {
                "id": i + 1,
                "patient_id": f"PTL{i:010d}",
                "user_email": "sam@student.example",
                "patient_name": f"P{i}",
                "pathway_type": ptype,
                "specialty": specialty,
                "clock_start_date": TODAY - timedelta(days=days),
                "events": [],
            }
        )
        entries.append(PtlEntry(patient, evaluate_patient(patient, TODAY)))
    return summarise(entries)


def test_waits_are_binned_by_reporting_band_not_completed_weeks() -> None:
    # 126 days is 18 completed weeks but still within 18 weeks: the 17-18 band, left of the
    # line (band 0); 127 days is the first breach day: 18-19 weeks, right of it (band 1).
    s = _summary_of([("rtt", 126, None), ("rtt", 127, None), ("rtt", 0, None)])
    bands = s.by_standard["rtt"].bands
    assert bands[0].label == "17-18 weeks" and bands[0].at_risk == 1
    assert bands[1].label == "18-19 weeks" and bands[1].breached == 1
    assert bands[wait_band("rtt", 1).number].label == "0-1 weeks"  # day 0 is in 0-1 weeks
    for days in range(0, 800):
        assert wait_band("rtt", days).label == rtt_band(days)  # the engine's own bands


def test_each_standard_is_charted_on_its_own_line() -> None:
    s = _summary_of([("rtt", 40, None), ("cancer_62", 62, None), ("cancer_62", 63, None),
                     ("diagnostic", 41, None), ("diagnostic", 42, None)])  # fmt: skip
    assert list(s.by_standard) == ["rtt", "cancer_62", "diagnostic"]
    assert s.by_standard["rtt"].waiting == 1  # cancer and DM01 waits are not on the RTT chart
    c62, dm01 = s.by_standard["cancer_62"].bands, s.by_standard["diagnostic"].bands
    assert c62[0].on_track + c62[0].at_risk == 1 and c62[1].breached == 1  # 62 in, 63 out
    assert dm01[0].label == "5 weeks" and dm01[1].label == "6 weeks" and dm01[1].breached == 1
    figure = charts.chart_figure(s.by_standard)
    titles = [ax.get_title(loc="left") for ax in figure.axes]
    assert titles == [
        "18-week RTT: 1 waiting",
        "Cancer 62-day: 2 waiting, 1 breached, 1 at risk",
        "6-week diagnostic (DM01): 2 waiting, 1 breached, 1 at risk",
    ]
    lines = {t.get_gid(): t.get_text() for ax in figure.axes for t in ax.texts}
    assert lines == {"line:rtt": "18 weeks", "line:cancer_62": "62 days",
                     "line:diagnostic": "6 weeks"}  # fmt: skip
    # Each panel's dashed line sits on its own standard's band edge, labelled on the axis.
    for ax, edge in zip(figure.axes, ("18", "62", "6"), strict=True):
        ticks = dict(zip(ax.get_xticks(), (t.get_text() for t in ax.get_xticklabels()),
                         strict=True))  # fmt: skip
        assert ticks[0] == edge and ax.lines[0].get_xdata()[0] == 0


def _inside(inner: Any, outer: Any) -> bool:
    return (
        inner.x0 >= outer.x0 - 0.5 and inner.x1 <= outer.x1 + 0.5
        and inner.y0 >= outer.y0 - 0.5 and inner.y1 <= outer.y1 + 0.5
    )  # fmt: skip


@pytest.mark.parametrize("days", [[3], [126, 127], [5, 40, 90, 300, 729], [200] * 30])
def test_the_line_label_sits_inside_the_plot_and_text_is_phone_sized(days: list[int]) -> None:
    s = _summary_of([("rtt", d, None) for d in days] + [("cancer_fds", 20, None)])
    figure = charts.chart_figure(s.by_standard)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    page = figure.bbox
    for ax in figure.axes:
        (label,) = ax.texts
        assert _inside(label.get_window_extent(renderer), ax.bbox)  # not cut off at the edge
        for text_artist in [*ax.texts, ax.title, ax.xaxis.label, *ax.get_xticklabels()]:
            if text_artist.get_text():
                assert _inside(text_artist.get_window_extent(renderer), page)
                # 800 px wide, shown about 400 px wide on a phone: 14 pt here is 9.7 px there.
                assert text_artist.get_fontsize() >= 14
        # Bars have gaps between bands: each is 0.8 of its band wide.
        for collection in ax.collections:
            for path in collection.get_paths():
                xs = [x for x, _ in path.vertices]
                assert max(xs) - min(xs) == pytest.approx(0.8)
    width, _ = assert_valid_png(charts.waiting_chart_png(s.by_standard))
    assert width == 800


def test_specialties_are_grouped_by_treatment_function_code() -> None:
    s = _summary_of([("rtt", 10, "ENT"), ("rtt", 20, "Ear, Nose and Throat"),
                     ("rtt", 30, " 120 "), ("rtt", 40, "urology"), ("rtt", 50, "Urology"),
                     ("rtt", 60, "Sleep clinic"), ("rtt", 70, "sleep  CLINIC")])  # fmt: skip
    assert [(x.name, x.waiting) for x in s.by_specialty] == [
        ("120 Ear, Nose and Throat", 3),
        ("101 Urology", 2),
        ("Sleep clinic", 2),
    ]


async def test_stats_long_waits_say_each_threshold_once(bot: Bot) -> None:
    await link(bot)
    for days in (365, 400, 456, 547, 729):
        await add_patient(bot, f"L{days}", TODAY - timedelta(days=days))
    replies = await bot.user(901).send("/stats")
    assert (
        "RTT waits of more than 52 weeks: 5 (of them, 3 more than 65 weeks, "
        "2 more than 78 weeks, 1 more than 104 weeks)"
    ) in replies[0].text
