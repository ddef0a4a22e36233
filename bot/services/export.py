"""The student's PTL as a CSV file that opens cleanly in Excel. No Telegram, no SQL.

Why each choice:
- UTF-8 with a byte-order mark: without it Excel on Windows reads UTF-8 as ANSI and names
  such as "Zoë O'Brien" or "é" come out garbled.
- CRLF line endings and RFC 4180 quoting (the csv module's defaults): what Excel expects.
- Dates as ISO 8601 (2025-03-03) in every date column: Excel recognises them as dates in
  any locale, and nobody can misread 03/04 as 4 March or 3 April.
- Numbers (weeks, days) as plain numbers so they can be sorted and summed.
- NHS numbers grouped 3-3-4 ("943 476 5919") so Excel keeps them as text.
- Formula injection: a cell that starts with = + - @ (or a tab or carriage return) would be
  run as a formula by Excel; such text is prefixed with an apostrophe (OWASP's advice). Only
  text is touched; numbers like -3 days to breach stay numbers.
- The clock columns come from the rules engine (`PtlEntry.state`), never re-derived; so do the
  booking columns (`PtlEntry.bookings`: the engine's clock on the next booking's date).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, Iterable, Sequence
from datetime import date
from typing import BinaryIO, Final

from bot.rules.nhs_number import format_nhs
from bot.rules.pathway import EVENT_KINDS, PATHWAY_TYPES, STATUSES
from bot.rules.records import events_from_json
from bot.services.ptl_view import PtlEntry

__all__ = [
    "COLUMNS",
    "build_csv",
    "export_filename",
    "parse_csv",
    "row_for",
    "safe_cell",
    "write_csv",
]

COLUMNS: Final[tuple[str, ...]] = (
    "Patient ID",
    "Patient name",
    "NHS number",
    "Pathway type",
    "Priority",
    "Specialty",
    "Consultant",
    "Referral source",
    "Referral date",
    "Clock start",
    "Status",
    "Days waited",
    "Weeks waited",
    "RTT band",
    "Breach date",
    "Days to breach",
    "Breached",
    "Clock stop",
    "Stopped by",
    "Long wait (weeks)",
    "Latest RTT code",
    "Events",
    "Last event date",
    "Last event",
    "Next booking date",
    "Next booking type",
    "Dated",
    "Next booking after breach",
    "Outcomes missing",
    "Notes",
)

_DANGEROUS_FIRST: Final = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | None


def safe_cell(value: Cell) -> Cell:
    """A value as written to the CSV: text that Excel would run as a formula gets a leading
    apostrophe; line breaks inside text are normalised; numbers pass through."""
    if value is None or isinstance(value, int):
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith(_DANGEROUS_FIRST) or value.startswith(_DANGEROUS_FIRST):
        return "'" + text
    return text


def _iso(d: date | None) -> str:
    return d.isoformat() if d is not None else ""


def _nhs(value: str | None) -> str:
    if not value:
        return ""
    try:
        return format_nhs(value)
    except ValueError:
        return value


def row_for(entry: PtlEntry) -> list[Cell]:
    p, s = entry.patient, entry.state
    events = events_from_json(p.events)
    last = max(events, key=lambda e: (e.date, e.recorded_order), default=None)
    ptype = entry.pathway
    pathway = PATHWAY_TYPES.get(ptype) if ptype is not None else None
    type_label = pathway.label if pathway is not None else (p.pathway_type or "")
    stopped_by = ""
    ended = EVENT_KINDS.get(s.ended_by) if s is not None and s.ended_by else None
    if ended is not None:
        stopped_by = ended.label
    last_text = ""
    if last is not None:
        label = EVENT_KINDS[last.kind].label
        desc = last.description.strip()
        last_text = label if not desc or desc == label else f"{label}: {desc}"
    return [
        p.patient_id,
        p.patient_name or "",
        _nhs(p.nhs_number),
        type_label,
        p.priority or "",
        p.specialty or "",
        p.consultant or "",
        p.referral_source or "",
        _iso(p.referral_date),
        _iso(s.clock_start if s is not None else p.clock_start_date),
        STATUSES[s.status] if s is not None else "No clock",
        s.days_waited if s is not None else None,
        s.weeks_waited if s is not None else None,
        s.rtt_band if s is not None and s.pathway_type == "rtt" else "",
        _iso(s.breach_date if s is not None else None),
        s.days_to_breach if s is not None else None,
        ("Yes" if s.breached else "No") if s is not None else "",
        _iso(s.clock_stop or s.transferred_on) if s is not None else "",
        stopped_by,
        s.long_wait_weeks if s is not None else None,
        str(s.rtt_code) if s is not None else (p.rtt_code or ""),
        len(events),
        _iso(last.date if last is not None else None),
        last_text,
        *_booking_cells(entry),
        p.notes or "",
    ]


def _booking_cells(entry: PtlEntry) -> list[Cell]:
    """Next booking date and type; Dated (Yes/No for a waiting patient, blank for a closed
    clock); whether the engine says the next booking comes after the breach; and how many
    bookings have passed with no outcome."""
    summary = entry.bookings
    nxt = summary.next
    dated = ("No" if summary.undated else "Yes") if summary.running else ""
    return [
        _iso(nxt.date if nxt is not None else None),
        nxt.label if nxt is not None else "",
        dated,
        ("Yes" if summary.after_breach else "No") if nxt is not None and summary.running else "",
        len(summary.awaiting),
    ]


def spreadsheet(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """Any CSV the bot sends, student's or tutor's: BOM, CRLF, and every cell through
    `safe_cell`, so an email such as `=cmd|'/c calc'!a0@example.org` is never a formula."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, dialect="excel", lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return buffer.getvalue().encode("utf-8-sig")


async def write_csv(chunks: AsyncIterable[Sequence[PtlEntry]], out: BinaryIO) -> int:
    """Write the CSV file to `out` as the entries arrive, a chunk at a time (BOM, header,
    one row per patient in the given order), so a PTL of any size is never held whole;
    returns how many patients were written. The same cells as `build_csv`."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, dialect="excel", lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in COLUMNS])
    written = 0
    async for chunk in chunks:
        writer.writerows([safe_cell(c) for c in row_for(entry)] for entry in chunk)
        written += len(chunk)
    text.flush()
    text.detach()  # `out` stays open for the caller
    return written


def build_csv(entries: Iterable[PtlEntry]) -> bytes:
    """The CSV file's bytes: BOM, header row, one row per patient in the given order."""
    return spreadsheet(COLUMNS, (row_for(entry) for entry in entries))


def export_filename(today: date) -> str:
    return f"ptl-{today.isoformat()}.csv"


def parse_csv(data: bytes) -> list[dict[str, str]]:
    """Read an export back (for tests and for anyone checking a file): rows as dicts."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return list(reader)
