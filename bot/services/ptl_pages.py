"""A page of the student's PTL, and the whole of it as a stream, without loading it all.

Why: the database orders and filters the PTL by the engine's stored results
(`storage.ptl_pages`), so a page costs the same for 40 patients or 20,000. Before asking, the
student's stored results are brought up to today (rows the platform wrote, rows a dated event
has since changed), so the database's order is the engine's; then only the rows shown are
evaluated again by the engine (`bot.services.ptl_view`), which keeps what each line says
exactly as before. No Telegram here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from bot.config import Settings
from bot.rules.clock import Clock
from bot.rules.records import stored_booking_columns
from bot.services.ptl_view import (
    STATUS_FILTERS,
    TYPE_FILTERS,
    PtlEntry,
    at_risk_days,
    entry_for,
)
from bot.services.reminders import stored_fields
from bot.services.stats import Summary, Tally
from storage.backfill import ClockBackfill
from storage.booking_backfill import BookingBackfill
from storage.db import Database
from storage.ptl_pages import PtlFilter, PtlPages

__all__ = ["PtlScreen", "PtlService"]


@dataclass(frozen=True, slots=True)
class PtlScreen:
    """What one /ptl message shows: the page's entries and the whole PTL's counts."""

    total: int
    statuses: Mapping[str, int]
    bookings: Mapping[str, int]
    shown: int
    page: int
    entries: Sequence[PtlEntry]


class PtlService:
    """/ptl pages and /export rows for one student at a time."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.pages = PtlPages(db)
        self.clocks = ClockBackfill(db)
        self.bookings = BookingBackfill(db)
        self.settings = settings
        self.clock = clock

    async def refresh(self, email: str, today: date) -> None:
        """Bring the student's stored clock results and booking summaries up to `today`."""
        await self.clocks.refresh_student(email, today, stored_fields)
        await self.bookings.refresh_student(email, stored_booking_columns)

    async def screen(
        self, email: str, *, page: int, status: str, ptype: str, booking: str, size: int
    ) -> PtlScreen:
        """Page `page` of the PTL with the given filter codes (see `bot.services.ptl_view`)."""
        today = self.clock.today()
        thresholds = at_risk_days(self.settings)
        await self.refresh(email, today)
        wanted = PtlFilter(
            statuses=STATUS_FILTERS.get(status, frozenset()),
            pathway=TYPE_FILTERS.get(ptype),
            booking=booking,
        )
        found = await self.pages.page(email, today, thresholds, wanted, page, size)
        return PtlScreen(
            total=found.total,
            statuses=found.statuses,
            bookings=found.bookings,
            shown=found.shown,
            page=found.page,
            entries=[entry_for(p, today, thresholds) for p in found.rows],
        )

    async def summary(self, email: str) -> Summary:
        """/stats and /portfolio's figures, counted as the PTL streams past (never all held)."""
        tally = Tally()
        async for entries in self.stream(email):
            tally.add_all(entries)
        return tally.result()

    async def stream(self, email: str) -> AsyncIterator[Sequence[PtlEntry]]:
        """The whole PTL in breach-risk order, a chunk of entries at a time (for /export)."""
        today = self.clock.today()
        thresholds = at_risk_days(self.settings)
        await self.refresh(email, today)
        async for rows in self.pages.stream(email, today):
            yield [entry_for(p, today, thresholds) for p in rows]
