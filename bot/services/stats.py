"""Figures for /stats, from the rules engine's clocks. No Telegram, no SQL.

Why from the engine and not from stored columns: waits change every day and the engine is
the only thing allowed to count them; the stored columns are a cache for reminders.

"Waiting" means a running clock (breached, at risk or on track): the incomplete pathways a
PTL exists to manage. Median and longest waits, long waits and the 18-week measure are
over those, as in NHS England's RTT waiting-list statistics.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import median
from typing import Final

from bot.services.ptl_view import PtlEntry

__all__ = ["RTT_STANDARD_PERCENT", "SpecialtyLine", "Summary", "summarise"]

RTT_STANDARD_PERCENT: Final = 92
"""The NHS constitution standard: 92% of incomplete RTT pathways within 18 weeks."""
NOT_RECORDED: Final = "Not recorded"


@dataclass(slots=True)
class SpecialtyLine:
    name: str
    waiting: int = 0
    breached: int = 0
    longest_days: int = 0
    total: int = 0


@dataclass(slots=True)
class Summary:
    total: int = 0
    waiting: int = 0
    breached: int = 0
    at_risk: int = 0
    on_track: int = 0
    stopped: int = 0
    nullified: int = 0
    transferred: int = 0
    no_clock: int = 0
    long_waits: dict[int, int] = field(default_factory=dict)
    """RTT waiting patients by long-wait threshold reached (52, 65, 78, 104 weeks)."""
    median_days: float | None = None
    longest_days: int | None = None
    rtt_waiting: int = 0
    rtt_within_18: int = 0
    by_specialty: list[SpecialtyLine] = field(default_factory=list)
    waits: list[tuple[int, str]] = field(default_factory=list)
    """(weeks waited, status) for every waiting patient: the chart's data."""

    @property
    def closed(self) -> int:
        return self.stopped + self.nullified + self.transferred

    @property
    def long_wait_total(self) -> int:
        return sum(self.long_waits.values())

    @property
    def rtt_percent_within_18(self) -> float | None:
        if not self.rtt_waiting:
            return None
        return 100.0 * self.rtt_within_18 / self.rtt_waiting


def summarise(entries: Iterable[PtlEntry]) -> Summary:
    s = Summary()
    specialties: dict[str, SpecialtyLine] = {}
    waiting_days: list[int] = []
    for e in entries:
        s.total += 1
        name = (e.patient.specialty or "").strip() or NOT_RECORDED
        line = specialties.get(name)
        if line is None:
            line = specialties[name] = SpecialtyLine(name)
        line.total += 1
        state = e.state
        if state is None:
            s.no_clock += 1
            continue
        status = state.status
        if status == "stopped":
            s.stopped += 1
        elif status == "nullified":
            s.nullified += 1
        elif status == "transferred":
            s.transferred += 1
        else:
            s.waiting += 1
            line.waiting += 1
            days = state.days_waited
            waiting_days.append(days)
            line.longest_days = max(line.longest_days, days)
            s.waits.append((state.weeks_waited, status))
            if status == "breached":
                s.breached += 1
                line.breached += 1
            elif status == "at_risk":
                s.at_risk += 1
            else:
                s.on_track += 1
            if state.pathway_type == "rtt":
                s.rtt_waiting += 1
                if not state.breached:
                    s.rtt_within_18 += 1
                if state.long_wait_weeks:
                    s.long_waits[state.long_wait_weeks] = (
                        s.long_waits.get(state.long_wait_weeks, 0) + 1
                    )
    if waiting_days:
        s.median_days = float(median(waiting_days))
        s.longest_days = max(waiting_days)
    s.by_specialty = sorted(
        specialties.values(), key=lambda x: (-x.waiting, -x.breached, -x.total, x.name.casefold())
    )
    return s
