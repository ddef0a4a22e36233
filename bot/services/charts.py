"""Chart images, rendered in memory (matplotlib's Agg backend, no display, no files).

The /stats chart is one panel per standard with waiting patients (18-week RTT, the cancer
standards, DM01), because each is measured against its own line: a 40-day cancer wait and a
40-day RTT wait are not the same news. Each panel bins waits by the rules engine's
reporting bands (`bot.rules.pathway.wait_band`: for RTT the national ">W-1 to W weeks"
bands, so a compliant 126-day patient is left of the 18-week line and a 127-day one right
of it), stacks the bars by status so breached and at-risk patients stand out, and labels
the standard's line inside the plot. Sizes are chosen for a phone: the image is 800 px
wide and its smallest text stays readable when Telegram shows it 400 px wide.

Why the object-oriented API (`Figure` + `FigureCanvasAgg`) and not pyplot: pyplot keeps
global state and is not safe to use from several threads; each chart here is its own
Figure, so charts can be drawn in a worker thread while the bot goes on answering others.
Bars are one `PolyCollection` per status (three artists, not one rectangle per bar), which
keeps a chart of a long PTL in tens of milliseconds.

matplotlib takes about a second to import, so it is imported on first use and the
application imports it in the background at start-up (`warm_up`).
"""

from __future__ import annotations

import functools
import io
import threading
import time
from collections.abc import Mapping
from typing import Any, Final

from bot.messages import stats as text
from bot.rules.pathway import band_edge_label, wait_band
from bot.services.stats import WAITING_STATUSES, StandardWaits

__all__ = ["MAX_BANDS", "chart_figure", "waiting_chart_png", "warm_up"]

MAX_BANDS: Final = 110
"""Bands shown per panel at most (an RTT panel then reaches past 104 weeks); longer waits
are drawn in the last band, and the axis says so."""
MIN_BANDS_PAST_LINE: Final = 3
"""Room right of the standard's line, so the line and its label never sit on the edge."""
COLOURS: Final = {
    "breached": "#d5281b",  # NHS red
    "at_risk": "#ed8b00",  # NHS orange
    "on_track": "#007f3b",  # NHS green
}
INK: Final = "#212b32"  # NHS black
WIDTH_IN: Final = 8.0
DPI: Final = 100
PANEL_IN: Final = 3.7
HEAD_IN: Final = 1.0
_TICK_STEPS: Final = (1, 2, 4, 5, 10, 13, 26, 52)
_lock = threading.Lock()
_modules: dict[str, Any] = {}

Panel = tuple[str, int, int, tuple[tuple[int, int, int, int], ...], bool]
"""(pathway type, first band, last band, (band, breached, at risk, on track) bars, overflow)."""


def _mpl() -> dict[str, Any]:
    """Import matplotlib once, with the Agg backend, whichever thread gets here first."""
    with _lock:
        if not _modules:
            import matplotlib

            matplotlib.use("Agg", force=True)
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.collections import PolyCollection
            from matplotlib.figure import Figure
            from matplotlib.patches import Patch
            from matplotlib.ticker import FixedLocator, MaxNLocator

            _modules.update(
                Figure=Figure,
                Canvas=FigureCanvasAgg,
                PolyCollection=PolyCollection,
                Patch=Patch,
                FixedLocator=FixedLocator,
                MaxNLocator=MaxNLocator,
            )
    return _modules


def warm_up() -> float:
    """Import matplotlib now; return the seconds it took."""
    started = time.perf_counter()
    _mpl()
    return time.perf_counter() - started


def _panel(waits: StandardWaits) -> Panel:
    """The hashable description of one standard's panel (the render cache's key)."""
    ptype = waits.pathway_type
    first = wait_band(ptype, 1).number
    cap = first + MAX_BANDS - 1
    top = max(waits.bands, default=0)
    last = min(max(top, MIN_BANDS_PAST_LINE), cap)
    merged: dict[int, list[int]] = {}
    for number, band in waits.bands.items():
        slot = merged.setdefault(min(number, cap), [0, 0, 0])
        slot[0] += band.breached
        slot[1] += band.at_risk
        slot[2] += band.on_track
    bars = tuple((n, *counts) for n, counts in sorted(merged.items()))
    return (ptype, first, last, bars, top > cap)  # type: ignore[return-value]


def waiting_chart_png(standards: Mapping[str, StandardWaits]) -> bytes:
    """A PNG of waiting patients: one panel per standard in `standards` that has any."""
    panels = tuple(_panel(w) for w in standards.values() if w.waiting)
    return _render(panels)


def _ticks(ptype: str, first: int, last: int) -> list[tuple[int, str]]:
    """Band edges to label (edge e is the upper end of band e): the standard's own edge
    (0) always, then round values about every `step` bands (at most about eight labels),
    leaving out any that would crowd the standard's label."""
    span = last - first + 1
    step = next((s for s in _TICK_STEPS if span / s <= 8), _TICK_STEPS[-1])
    ticks = [(0, band_edge_label(ptype, 0))]
    for e in range(first - 1, last + 1):
        label = band_edge_label(ptype, e)
        weeks = ptype in ("rtt", "diagnostic")
        if (int(label) if weeks else e) % step == 0 and abs(e) * 2 > step:
            ticks.append((e, label))
    return sorted(ticks)


@functools.lru_cache(maxsize=128)
def _render(panels: tuple[Panel, ...]) -> bytes:
    """Draw the panels to a PNG. Cached: a student who asks for /stats twice without any
    change gets the same image back at once."""
    out = io.BytesIO()
    _figure(panels).savefig(out, format="png", pil_kwargs={"compress_level": 3})
    return out.getvalue()


def chart_figure(standards: Mapping[str, StandardWaits]) -> Any:
    """The matplotlib Figure behind `waiting_chart_png` (tests check what it draws)."""
    return _figure(tuple(_panel(w) for w in standards.values() if w.waiting))


def _figure(panels: tuple[Panel, ...]) -> Any:
    mpl = _mpl()
    n = max(len(panels), 1)
    height = HEAD_IN + PANEL_IN * n
    fig = mpl["Figure"](figsize=(WIDTH_IN, height), dpi=DPI)
    mpl["Canvas"](fig)
    total = sum(sum(sum(b[1:]) for b in p[3]) for p in panels)
    fig.text(
        0.03, 1 - 0.3 / height, text.CHART_TITLE.format(n=total),
        fontsize=20, weight="bold", va="top", color=INK,
    )  # fmt: skip
    fig.legend(
        handles=[mpl["Patch"](color=COLOURS[s], label=text.CHART_LEGEND[s]) for s in COLOURS],
        loc="upper left",
        bbox_to_anchor=(0.02, 1 - 0.58 / height),
        ncol=3,
        frameon=False,
        fontsize=16,
        handlelength=1.2,
        columnspacing=1.4,
    )
    for i, (ptype, first, last, bars, overflow) in enumerate(panels):
        name, line_label, axis_label = text.CHART_STANDARD[ptype]
        bottom = 1 - (HEAD_IN + PANEL_IN * (i + 1)) / height
        ax = fig.add_axes((0.09, bottom + 0.95 / height, 0.88, (PANEL_IN - 1.6) / height))
        stacked = {b[0]: 0 for b in bars}
        ymax = 1
        counts = dict.fromkeys(WAITING_STATUSES, 0)
        for column, status in enumerate(WAITING_STATUSES, start=1):
            polys = []
            for bar in bars:
                h = bar[column]
                if not h:
                    continue
                y0 = stacked[bar[0]]
                x0, x1 = bar[0] - 0.9, bar[0] - 0.1  # a gap between bands
                polys.append([(x0, y0), (x1, y0), (x1, y0 + h), (x0, y0 + h)])
                stacked[bar[0]] = y0 + h
                ymax = max(ymax, y0 + h)
                counts[status] += h
            if polys:
                ax.add_collection(
                    mpl["PolyCollection"](polys, facecolors=COLOURS[status], edgecolors="none")
                )
        ax.set_xlim(first - 1, last)
        ax.set_ylim(0, ymax * 1.3 + 0.3)
        ax.axvline(0, color=INK, linestyle="--", linewidth=2)
        # The line's label inside the plot, on whichever side has more room.
        left_room, right_room = 1 - first, last
        ax.text(
            -0.35 if left_room >= right_room else 0.35, 0.96, line_label,
            transform=ax.get_xaxis_transform(), ha="right" if left_room >= right_room else "left",
            va="top", fontsize=16, weight="bold", color=INK, gid=f"line:{ptype}",
        )  # fmt: skip
        ticks = _ticks(ptype, first, last)
        ax.xaxis.set_major_locator(mpl["FixedLocator"]([e for e, _ in ticks]))
        ax.set_xticklabels([label for _, label in ticks], fontsize=14)
        ax.yaxis.set_major_locator(mpl["MaxNLocator"](integer=True, nbins=4))
        ax.tick_params(axis="y", labelsize=14)
        ax.set_xlabel(axis_label + (text.CHART_OVERFLOW if overflow else ""), fontsize=14)
        detail = "".join(
            text.CHART_PANEL_PART[status].format(n=counts[status])
            for status in ("breached", "at_risk")
            if counts[status]
        )
        waiting = sum(counts.values())
        ax.set_title(
            text.CHART_PANEL_TITLE.format(standard=name, waiting=waiting) + detail,
            loc="left", fontsize=16, color=INK, pad=10,
        )  # fmt: skip
        ax.spines[["top", "right"]].set_visible(False)
    return fig
