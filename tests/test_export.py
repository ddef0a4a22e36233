"""/export: a CSV that parses back, opens in Excel and cannot run formulas."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from bot.services.export import COLUMNS, build_csv, parse_csv, safe_cell
from tests.harness import TODAY, Bot
from tests.ptl_support import add_patient, link


def test_safe_cell_neutralises_formulas_but_not_numbers() -> None:
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+44 123") == "'+44 123"
    assert safe_cell("-cmd") == "'-cmd"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("Zoë O'Brien") == "Zoë O'Brien"
    assert safe_cell(-3) == -3
    assert safe_cell("a\r\nb") == "a\nb"


async def test_export_sends_an_excel_friendly_csv(bot: Bot) -> None:
    await link(bot)
    await add_patient(
        bot,
        "=cmd|' /C calc'!A0",
        TODAY - timedelta(days=200),
        nhs_number="9990000018",
        notes='line one\nline two, with "quotes"',
        specialty="@Cardiology",
    )
    await add_patient(
        bot,
        "Zoë Stopped",
        date(2024, 12, 2),
        events=[("treatment_started", date(2025, 2, 1))],
    )
    sam = bot.user(901)
    replies = await sam.send("/export")
    doc = replies[-1]
    assert doc.kind == "document" and doc.file_name == "ptl-2025-03-03.csv"
    assert "2 patients" in doc.text
    data = doc.file_bytes or b""
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    body = data[3:]
    # CRLF ends every record (header + 2 rows); the only bare LF is inside the quoted note.
    assert body.count(b"\r\n") == 3
    assert body.replace(b"\r\n", b"").count(b"\n") == 1
    rows = parse_csv(data)
    assert list(rows[0]) == list(COLUMNS)
    first, second = rows
    assert first["Patient name"] == "'=cmd|' /C calc'!A0"
    assert first["Specialty"] == "'@Cardiology"
    assert first["NHS number"] == "999 000 0018"
    assert first["Status"] == "Breached"
    assert first["Clock start"] == (TODAY - timedelta(days=200)).isoformat()
    assert first["Breach date"] == "2024-12-20"
    assert first["Days to breach"] == "-73" and first["Weeks waited"] == "28"
    assert first["Notes"] == 'line one\nline two, with "quotes"'
    assert second["Patient name"] == "Zoë Stopped"
    assert second["Status"] == "Clock stopped"
    assert second["Clock stop"] == "2025-02-01"
    assert second["Stopped by"] == "Treatment started"
    assert second["Days to breach"] == ""
    # Every date column is ISO or empty: one format throughout.
    for row in rows:
        for col in ("Referral date", "Clock start", "Breach date", "Clock stop",
                    "Last event date"):  # fmt: skip
            value = row[col]
            assert value == "" or date.fromisoformat(value)
    # The standard library reads it as Excel's dialect too.
    sniffed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(sniffed) == 3


async def test_export_of_an_empty_ptl_and_from_the_menu(bot: Bot) -> None:
    await link(bot)
    sam = bot.user(901)
    assert "Nothing to export yet" in (await sam.send("/export"))[-1].text
    await add_patient(bot, "Ann", TODAY)
    await sam.send("/menu")
    replies = await sam.press("⬇️ Export CSV")
    assert replies[-1].kind == "document"


def test_build_csv_with_no_rows_is_just_the_header() -> None:
    data = build_csv([])
    assert data == ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode()
