"""Figures for /stats, from the rules engine's clocks. No Telegram, no SQL.

Why from the engine and not from stored columns: waits change every day and the engine is
the only thing allowed to count them; the stored columns are a cache for reminders.

"Waiting" means a running clock (breached, at risk or on track): the incomplete pathways a
PTL exists to manage. Median and longest waits, long waits and the 18-week measure are
over those, as in NHS England's RTT waiting-list statistics.

Each standard is charted on its own (`StandardWaits`): an RTT wait and a 62-day cancer wait
are measured against different lines, so one axis for both would put a compliant cancer
patient next to an RTT breach. Waits are binned by the engine's reporting bands
(`bot.rules.pathway.wait_band`); nothing here counts weeks.

Specialties are grouped by treatment function code (`bot.rules.specialties.lookup`), so
"ENT", "Ear, Nose and Throat" and "120" are one line, named as the Data Dictionary names it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import median
from typing import Final

from bot.rules.pathway import PATHWAY_TYPES, wait_band
from bot.rules.specialties import lookup
from bot.services.ptl_view import PtlEntry

__all__ = [
    "RTT_STANDARD_PERCENT",
    "BandCount",
    "SpecialtyLine",
    "StandardWaits",
    "Summary",
    "Tally",
    "specialty_key",
    "summarise",
]

RTT_STANDARD_PERCENT: Final = 92
"""The NHS constitution standard: 92% of incomplete RTT pathways within 18 weeks."""
NOT_RECORDED: Final = "Not recorded"
WAITING_STATUSES: Final = ("breached", "at_risk", "on_track")


@dataclass(slots=True)
class SpecialtyLine:
    name: str
    waiting: int = 0
    breached: int = 0
    longest_days: int = 0
    total: int = 0


@dataclass(slots=True)
class BandCount:
    """Waiting patients of one standard in one reporting band, by status."""

    number: int
    label: str
    breached: int = 0
    at_risk: int = 0
    on_track: int = 0

    @property
    def total(self) -> int:
        return self.breached + self.at_risk + self.on_track


@dataclass(slots=True)
class StandardWaits:
    """One standard's waiting patients, binned by the engine's reporting bands."""

    pathway_type: str
    bands: dict[int, BandCount] = field(default_factory=dict)
    breached: int = 0
    at_risk: int = 0
    on_track: int = 0

    @property
    def waiting(self) -> int:
        return self.breached + self.at_risk + self.on_track

    def add(self, days: int, status: str) -> None:
        band = wait_band(self.pathway_type, days)
        count = self.bands.get(band.number)
        if count is None:
            count = self.bands[band.number] = BandCount(band.number, band.label)
        setattr(count, status, getattr(count, status) + 1)
        setattr(self, status, getattr(self, status) + 1)


@dataclass(slots=True)
class Summary:
    total: int = 0
    waiting: int = 0
    breached: int = 0
    at_risk: int = 0
    on_track: int = 0
    closed_by_status: dict[str, int] = field(default_factory=dict)
    """Patients whose latest clock is not running, by engine status (stopped, ...)."""
    no_clock: int = 0
    dated: int = 0
    """Waiting patients with a booking ahead (the rest of `waiting` are undated)."""
    booked_after_breach: int = 0
    outcomes_needed: int = 0
    """Patients (waiting or not) with a booking passed and no outcome recorded."""
    long_waits: dict[int, int] = field(default_factory=dict)
    """RTT waiting patients by the highest long-wait threshold reached (52, 65, 78, 104)."""
    median_days: float | None = None
    longest_days: int | None = None
    rtt_waiting: int = 0
    rtt_within_18: int = 0
    by_specialty: list[SpecialtyLine] = field(default_factory=list)
    by_standard: dict[str, StandardWaits] = field(default_factory=dict)
    """Waiting patients per standard, in the engine's order of pathway types: the chart."""

    @property
    def closed(self) -> int:
        return sum(self.closed_by_status.values())

    @property
    def undated(self) -> int:
        return self.waiting - self.dated

    @property
    def long_wait_total(self) -> int:
        return sum(self.long_waits.values())

    def long_waits_over(self, weeks: int) -> int:
        """RTT waiting patients past the `weeks` threshold (52, 65, 78 or 104), cumulative."""
        return sum(n for w, n in self.long_waits.items() if w >= weeks)

    @property
    def rtt_percent_within_18(self) -> float | None:
        if not self.rtt_waiting:
            return None
        return 100.0 * self.rtt_within_18 / self.rtt_waiting


def specialty_key(typed: str | None) -> tuple[str, str]:
    """(grouping key, name shown) for a stored specialty: the treatment function when it is
    one we know ("120 Ear, Nose and Throat" for "ENT"), else the text as typed, grouped
    regardless of case and spacing."""
    cleaned = " ".join((typed or "").split())
    if not cleaned:
        return ("", NOT_RECORDED)
    function = lookup(cleaned)
    if function is not None:
        return (f"tfc:{function.code}", function.display)
    return (f"text:{cleaned.casefold()}", cleaned)


class Tally:
    """A `Summary` counted one entry at a time, so a PTL of any size can be summarised as it
    streams past (`PtlService.stream`, 500 rows at a time) without holding it all."""

    def __init__(self) -> None:
        self.s = Summary()
        self.specialties: dict[str, SpecialtyLine] = {}
        self.standards: dict[str, StandardWaits] = {}
        self.waiting_days: list[int] = []

    def add_all(self, entries: Iterable[PtlEntry]) -> None:
        for e in entries:
            self.add(e)

    def add(self, e: PtlEntry) -> None:
        s = self.s
        s.total += 1
        key, name = specialty_key(e.patient.specialty)
        line = self.specialties.get(key)
        if line is None:
            line = self.specialties[key] = SpecialtyLine(name)
        line.total += 1
        if e.bookings.outcome_needed:
            s.outcomes_needed += 1
        state = e.state
        if state is None:
            s.no_clock += 1
            return
        status = state.status
        if not state.running:
            s.closed_by_status[status] = s.closed_by_status.get(status, 0) + 1
            return
        s.waiting += 1
        line.waiting += 1
        if e.bookings.next is not None:
            s.dated += 1
        if e.bookings.after_breach:
            s.booked_after_breach += 1
        days = state.days_waited
        self.waiting_days.append(days)
        line.longest_days = max(line.longest_days, days)
        standard = self.standards.get(state.pathway_type)
        if standard is None:
            standard = self.standards[state.pathway_type] = StandardWaits(state.pathway_type)
        standard.add(days, status)
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
                s.long_waits[state.long_wait_weeks] = s.long_waits.get(state.long_wait_weeks, 0) + 1

    def result(self) -> Summary:
        s = self.s
        if self.waiting_days:
            s.median_days = float(median(self.waiting_days))
            s.longest_days = max(self.waiting_days)
        s.by_specialty = sorted(
            self.specialties.values(),
            key=lambda x: (-x.waiting, -x.breached, -x.total, x.name.casefold()),
        )
        s.by_standard = {k: self.standards[k] for k in PATHWAY_TYPES if k in self.standards}
        return s


def summarise(entries: Iterable[PtlEntry]) -> Summary:
    tally = Tally()
    tally.add_all(entries)
    return tally.result()
