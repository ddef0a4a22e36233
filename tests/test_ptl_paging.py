"""/ptl paged in the database (issue 13, point 7): the same pages as the engine's ordering.

The reference is the in-Python PTL the bot showed before paging moved into SQL: every live row
evaluated by the rules engine and sorted by `build_entries` (the engine's `ordering_key`, then
name, then id), filtered by `filter_entries`. A varied PTL (every status, frozen treatment
adjustments, rows with no clock, rows the platform wrote without stored results, future-dated
events, bookings, tied and accented names) is paged on several days, with every filter, and
each page must hold the same rows in the same order, saying the same thing, with the same
counts.
"""

from __future__ import annotations

import datetime as dt
import html
import random
import re
from typing import Any

from bot.rules.bookings import BOOKING_TYPES, new_booking
from bot.rules.records import stored_booking_columns, stored_clock_fields
from bot.services.export import build_csv, parse_csv
from bot.services.ptl_view import (
    BOOKING_FILTERS,
    STATUS_FILTERS,
    TYPE_FILTERS,
    at_risk_days,
    build_entries,
    filter_entries,
)
from handlers.ptl import PAGE_SIZE, View, entry_line
from tests import platform_api
from tests.harness import TODAY, Bot
from tests.ptl_support import EMAIL, add_patient, link

NOW = dt.datetime(2025, 3, 3, 9, tzinfo=dt.UTC)
NAMES = ["Alex Smith", "alex smith", "Alex Smith", "Émile Brun", "émile brun", "Zoë Hart",
         "Ben Ode", "O'Neil Ray", "bo", "Cy Dee", "Zed", "ann lee", "Ann Lee"]  # fmt: skip
KINDS = ["activity", "decision_to_treat", "treatment_started", "transfer_out",
         "active_monitoring_patient", "dna_first_appointment", "patient_cancelled",
         "admission_offer_declined", "patient_available", "discharged", "died",
         "new_clock", "test_performed", "diagnosis_communicated"]  # fmt: skip
TYPES = ["rtt", "rtt", "rtt", "cancer_62", "cancer_62", "cancer_31", "cancer_fds", "diagnostic"]


def _event(kind: str, on: dt.date) -> dict[str, Any]:
    return {"kind": kind, "date": on.isoformat(), "added_by": EMAIL, "description": kind}


async def _varied_ptl(bot: Bot, n: int = 110) -> None:
    rng = random.Random(13)
    for i in range(n):
        ptype = TYPES[i % len(TYPES)]
        # Same start for neighbours with the same name: ties broken by name, then id.
        start = TODAY - dt.timedelta(days=rng.choice([5, 40, 40, 90, 126, 127, 150, 300]))
        events = [
            _event(rng.choice(KINDS), start + dt.timedelta(days=rng.randint(1, 200)))
            for _ in range(rng.choice([0, 0, 1, 2, 3]))
        ]
        events.sort(key=lambda e: e["date"])  # some dated after today: they count later
        appointments = []
        for j in range(rng.choice([0, 0, 1, 3])):
            on = TODAY + dt.timedelta(days=rng.randint(-20, 60))
            appointments.append(new_booking(list(BOOKING_TYPES)[(i + j) % len(BOOKING_TYPES)],
                                            on, added_by=EMAIL, now=NOW))  # fmt: skip
        await add_patient(
            bot, NAMES[i % len(NAMES)] + ("" if i % 3 else f" {i % 7}"), start,
            pathway_type=ptype, raw_events=events, appointments=appointments,
            priority=rng.choice([None, "Routine", "Urgent"]),
            **stored_booking_columns(appointments, ptype, start, events),
        )  # fmt: skip
    # Frozen clocks: an open treatment adjustment, declined in time and after the breach.
    for name, start, declined in (("Frozen In Time", 40, 20), ("Frozen Late", 100, 70)):
        begun = TODAY - dt.timedelta(days=start)
        await add_patient(bot, name, begun, pathway_type="cancer_62",
                          raw_events=[_event("admission_offer_declined",
                                             begun + dt.timedelta(days=declined))])  # fmt: skip
    # No usable clock: no start, an unknown pathway type, a start after today.
    await add_patient(bot, "No Start", None)  # type: ignore[arg-type]
    await add_patient(bot, "Odd Type", TODAY - dt.timedelta(days=9), pathway_type="zz")
    await add_patient(bot, "Not Yet", TODAY + dt.timedelta(days=9))
    # Rows the web platform wrote: no stored results at all; one breached, one on track.
    for k, days in enumerate((200, 10, 126)):
        await platform_api.insert(
            bot.services.db, EMAIL, f"PTLPLAT{k}", patient_name=f"Platform {k}" if k else None,
            pathway_type="rtt", clock_start_date=TODAY - dt.timedelta(days=days),
            events=[], appointments=[],
        )  # fmt: skip


async def _reference(bot: Bot, today: dt.date) -> list[Any]:
    patients = await bot.services.patients.list(EMAIL)
    return build_entries(patients, today, at_risk_days(bot.services.settings))


async def _pages(bot: Bot, status: str, ptype: str, booking: str) -> tuple[list[Any], Any]:
    """Every page of one filtered view, through the service the handler calls."""
    entries: list[Any] = []
    page, first = 0, None
    while True:
        screen = await bot.services.ptl.screen(EMAIL, page=page, status=status, ptype=ptype,
                                               booking=booking, size=PAGE_SIZE)  # fmt: skip
        first = first or screen
        assert screen.page == page or not screen.shown
        entries.extend(screen.entries)
        if (page + 1) * PAGE_SIZE >= screen.shown:
            return entries, first
        page += 1


def _key(entries: list[Any], today: dt.date) -> list[tuple[str, str]]:
    return [(e.patient.patient_id, entry_line(1, e, today)) for e in entries]


async def test_every_page_matches_the_engines_order_on_any_day(bot: Bot) -> None:
    await link(bot)
    await _varied_ptl(bot)
    seen_statuses: set[str] = set()
    for day in (TODAY, TODAY + dt.timedelta(days=25), TODAY + dt.timedelta(days=160)):
        bot.clock.set(day)
        # The reference reads rows before the paged path refreshes them: same rows either way.
        reference = await _reference(bot, day)
        seen_statuses |= {e.status for e in reference}
        views = [(s, "all", "all") for s in STATUS_FILTERS]
        views += [("all", t, "all") for t in TYPE_FILTERS]
        views += [("all", "all", b) for b in BOOKING_FILTERS]
        views += [("open", "c62", "und"), ("br", "rtt", "all"), ("closed", "all", "out")]
        for status, ptype, booking in views:
            wanted = filter_entries(reference, status, ptype, booking)
            got, screen = await _pages(bot, status, ptype, booking)
            assert _key(got, day) == _key(wanted, day), (day, status, ptype, booking)
            assert screen.shown == len(wanted)
            assert screen.total == len(reference)
            for code in STATUS_FILTERS["open"] | STATUS_FILTERS["closed"]:
                assert screen.statuses.get(code, 0) == sum(e.status == code for e in reference)
    assert seen_statuses >= {"breached", "at_risk", "on_track", "stopped", "none"}, seen_statuses


async def test_ptl_pages_in_the_chat_are_the_engines_order(bot: Bot) -> None:
    await link(bot)
    await _varied_ptl(bot, n=30)
    reference = await _reference(bot, TODAY)
    sam = bot.user(901)
    reply = (await sam.send("/ptl"))[0]
    lines: list[str] = []
    pages = -(-len(reference) // PAGE_SIZE)
    for page in range(pages):
        lines += [ln for ln in reply.text.splitlines() if ln[:1].isdigit() and ". " in ln[:6]]
        assert f"Page {page + 1} of {pages}" in reply.text
        if page + 1 < pages:
            reply = (await sam.press("Next ›"))[0]
    shown = [entry_line(n, e, TODAY) for n, e in enumerate(reference, start=1)]
    assert lines == [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in shown]
    # A page past the end (an old button) shows the last page.
    first = (await sam.send("/ptl"))[0]
    last = (await sam.press_data(View(99).data(), message=first))[0]
    assert f"Page {pages} of {pages}" in last.text


async def test_a_platform_edit_to_events_moves_the_row_at_once(bot: Bot) -> None:
    """The platform changes a row's events (its stored results are cleared by the trigger):
    the next page re-evaluates it before ordering, so it moves where the engine puts it."""
    await link(bot)
    for i in range(12):
        await add_patient(bot, f"Patient {i:02d}", TODAY - dt.timedelta(days=10 + i))
    target = await add_patient(bot, "Moves Up", TODAY - dt.timedelta(days=5))
    async with platform_api.platform(bot.services.db, EMAIL) as conn:
        await conn.execute(
            "update public.ptl_patients set clock_start_date = $2 where patient_id = $1",
            target.patient_id,
            TODAY - dt.timedelta(days=300),
        )
    screen = await bot.services.ptl.screen(EMAIL, page=0, status="all", ptype="all",
                                           booking="all", size=PAGE_SIZE)  # fmt: skip
    assert screen.entries[0].patient.patient_id == target.patient_id
    assert screen.statuses["breached"] == 1


async def _bulk(bot: Bot, n: int) -> None:
    """`n` patients written the bot's way (stored results from the engine), in one statement."""
    rows = []
    for i in range(n):
        start = TODAY - dt.timedelta(days=(i * 37) % 400)
        events = [_event("treatment_started", start + dt.timedelta(days=90))] if i % 5 == 0 else []
        name = ["=1+1 Formula", "+44 Plus", "-Minus", "@At", "Plain"][i % 5] + f" {i}"
        fields = stored_clock_fields("rtt", start, events, TODAY)
        rows.append((f"PTLBULK{i:05d}", name, start, events, *(fields[c] for c in _BULK)))
    marks = ", ".join(f"${i}" for i in range(5, 5 + len(_BULK)))
    async with bot.services.db.student(EMAIL) as conn:
        await conn.executemany(
            "insert into public.ptl_patients (patient_id, patient_name, clock_start_date,"
            f" events, user_email, pathway_type, {', '.join(_BULK)})"
            f" values ($1, $2, $3, $4, '{EMAIL}', 'rtt', {marks})",
            rows,
        )


_BULK = (
    "breach_date",
    "clock_state",
    "clock_stopped_on",
    "clock_breached",
    "clock_computed_at",
    "clock_as_of",
    "clock_rank",
    "clock_pathway",
    "clock_order_on",
    "clock_order_days",
)


async def test_export_of_many_rows_is_complete_ordered_and_formula_safe(bot: Bot) -> None:
    """1,234 rows (three chunks of the stream): the file is byte for byte what the in-Python
    export built from every row, and no cell can start a formula."""
    await link(bot)
    await _bulk(bot, 1234)
    reference = await _reference(bot, TODAY)
    doc = (await bot.user(901).send("/export"))[-1]
    assert doc.kind == "document" and "1234 patients" in doc.text.replace(",", "")
    assert doc.file_bytes == build_csv(reference)
    rows = parse_csv(doc.file_bytes or b"")
    assert len(rows) == 1234
    assert all(not r["Patient name"].startswith(("=", "+", "-", "@")) for r in rows)
    assert {r["Patient name"][:2] for r in rows} >= {"'=", "'+", "'-", "'@"}


async def test_stats_counted_as_the_ptl_streams_equal_the_whole_ptls(bot: Bot) -> None:
    """/stats and /portfolio count the PTL 500 rows at a time (PtlService.summary); the figures
    must be those of the whole PTL read at once, on any day."""
    from bot.services.stats import summarise

    await link(bot)
    await _varied_ptl(bot, n=60)
    thresholds = at_risk_days(bot.services.settings)
    for day in (TODAY, TODAY + dt.timedelta(days=45)):
        bot.clock.set(day)
        patients = await bot.services.patients.list(EMAIL)
        whole = summarise(build_entries(patients, day, thresholds))
        streamed = await bot.services.ptl.summary(EMAIL)
        assert streamed == whole, day
        assert streamed.total == len(patients) > 60 and streamed.waiting > 0
