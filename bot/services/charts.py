"""Chart images, rendered in memory (matplotlib's Agg backend, no display, no files).

Why the object-oriented API (`Figure` + `FigureCanvasAgg`) and not pyplot: pyplot keeps
global state and is not safe to use from several threads; each chart here is its own
Figure, so charts can be drawn in a worker thread while the bot goes on answering others.

matplotlib takes about a second to import, so it is imported on first use and the
application imports it in the background at start-up (`warm_up`).
"""

from __future__ import annotations

import functools
import io
import threading
import time
from collections.abc import Sequence
from typing import Any, Final

__all__ = ["RTT_WEEKS", "wait_distribution_png", "warm_up"]

RTT_WEEKS: Final = 18
MAX_BANDS: Final = 78
"""Bands beyond this many weeks are gathered into one "78+" bar so the chart stays readable."""

_COLOURS: Final = {
    "breached": "#d5281b",  # NHS red
    "at_risk": "#ed8b00",  # NHS orange
    "on_track": "#007f3b",  # NHS green
}
_LABELS: Final = {"breached": "Breached", "at_risk": "At risk", "on_track": "On track"}
_lock = threading.Lock()
_modules: dict[str, Any] = {}


def _mpl() -> dict[str, Any]:
    """Import matplotlib once, with the Agg backend, whichever thread gets here first."""
    with _lock:
        if not _modules:
            import matplotlib

            matplotlib.use("Agg", force=True)
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            from matplotlib.patches import StepPatch
            from matplotlib.ticker import MaxNLocator

            _modules.update(
                Figure=Figure, Canvas=FigureCanvasAgg, MaxNLocator=MaxNLocator, StepPatch=StepPatch
            )
    return _modules


def warm_up() -> float:
    """Import matplotlib now; return the seconds it took."""
    started = time.perf_counter()
    _mpl()
    return time.perf_counter() - started


def wait_distribution_png(
    waits: Sequence[tuple[int, str]], *, title: str = "Waiting times of patients still waiting"
) -> bytes:
    """A PNG bar chart of waiting patients in weekly bands, stacked by status, with the
    18-week RTT standard marked.

    `waits` holds (completed weeks waited, engine status) for each waiting patient. Band
    `w` is "w to w+1 weeks"; the x axis always reaches past 18 weeks so the line shows.
    """
    top = max((w for w, _ in waits), default=0)
    bands = min(max(top + 1, RTT_WEEKS + 3), MAX_BANDS + 1)
    counts: dict[str, list[int]] = {s: [0] * bands for s in _COLOURS}
    for weeks, status in waits:
        if status in counts:
            counts[status][min(max(weeks, 0), bands - 1)] += 1
    key = tuple(tuple(counts[s]) for s in ("breached", "at_risk", "on_track"))
    return _render(key, top >= MAX_BANDS, len(waits), title)


@functools.lru_cache(maxsize=128)
def _render(key: tuple[tuple[int, ...], ...], overflowing: bool, total: int, title: str) -> bytes:
    """Draw the chart for per-band counts (breached, at risk, on track). Cached: a student
    who asks for /stats twice without any change gets the same image back at once."""
    mpl = _mpl()
    counts = dict(zip(("breached", "at_risk", "on_track"), key, strict=True))
    bands = len(key[0])

    fig = mpl["Figure"](figsize=(8, 4.5), dpi=100)
    mpl["Canvas"](fig)
    # Fixed margins instead of tight_layout(), which costs a whole extra draw.
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.12, top=0.84)
    ax = fig.add_subplot()
    edges = list(range(bands + 1))
    bottom = [0] * bands
    handles: list[Any] = []
    # One filled step outline per status (a stacked histogram): three artists instead of a
    # rectangle per bar, which is most of the difference between ~40 ms and ~300 ms. They
    # are added with add_artist, not stairs()/add_patch(), because the limits are set by
    # hand below and add_patch's data-limit walk over every step costs more than drawing.
    for status in ("breached", "at_risk", "on_track"):
        heights = counts[status]
        if any(heights):
            top_edge = [b + h for b, h in zip(bottom, heights, strict=True)]
            patch = mpl["StepPatch"](
                top_edge,
                edges,
                baseline=bottom,
                fill=True,
                facecolor=_COLOURS[status],
                edgecolor="none",  # an outline would draw empty bands as a thin line
                linewidth=0,
                label=_LABELS[status],
            )
            ax.add_artist(patch)
            handles.append(patch)
            bottom = top_edge
    ymax = max(bottom, default=0) or 1
    ax.axvline(RTT_WEEKS, color="#212b32", linestyle="--", linewidth=1.5)
    ax.text(
        RTT_WEEKS + 0.3,
        ymax * 1.05,
        "18 weeks (RTT standard)",
        color="#212b32",
        fontsize=9,
        va="top",
    )
    ax.set_xlim(0, bands)
    ax.set_ylim(0, ymax * 1.1)
    overflow = "; the last band is 78 weeks or more" if overflowing else ""
    ax.set_xlabel(f"Weeks waited (weekly bands){overflow}")
    ax.set_ylabel("Patients")
    fig.suptitle(f"{title} ({total})", x=0.08, ha="left", fontsize=12)
    ax.yaxis.set_major_locator(mpl["MaxNLocator"](integer=True))
    ax.xaxis.set_major_locator(mpl["MaxNLocator"](integer=True, steps=[1, 2, 5, 10]))
    ax.spines[["top", "right"]].set_visible(False)
    if handles:
        fig.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(0.075, 0.935),
            ncol=3,
            frameon=False,
            fontsize=9,
        )
    out = io.BytesIO()
    fig.savefig(out, format="png", pil_kwargs={"compress_level": 3})
    return out.getvalue()
