"""What tutors receive stays safe and fits Telegram: scenario CSV problems are clipped and
capped (issue 14, point 16), and the /students and /progress CSVs are formula-neutralised
like the student export (point 17)."""

from __future__ import annotations

import csv
import io

import pytest

from bot.rules.scenario_csv import PROBLEMS_TEXT_LIMIT, parse_exercise_csv, summarise_problems
from storage.db import Database
from tests import harness
from tests.harness import TODAY
from tests.test_tutor_helpers import broadcast_simple, make_class, tutor_bot

FORMULA_EMAIL = "=cmd|'/c-calc'!a0@example.org"


@pytest.fixture
async def bot(db: Database):
    instance = await tutor_bot(db)
    yield instance
    await harness.close_bot(instance)


def _bad_csv(lines: int, cell: str) -> bytes:
    rows = ["patient_name,pathway_type,clock_start,events"]
    rows += [f"P{i},{cell},{cell},{cell}@x" for i in range(lines)]
    return "\n".join(rows).encode()


def test_problems_quote_clipped_cells_and_say_how_many_more() -> None:
    result = parse_exercise_csv(_bad_csv(40, "w" * 1500), today=TODAY)
    assert not result.ok and len(result.errors) == 120
    lines = summarise_problems(result.errors)
    assert sum(len(line) + 1 for line in lines[:-1]) <= PROBLEMS_TEXT_LIMIT
    assert all(len(line) <= 240 for line in lines)
    assert "w" * 41 not in "\n".join(lines)
    shown = len(lines) - 1
    assert lines[-1] == f"…and {120 - shown} more problems."


async def test_a_csv_with_huge_cells_gets_the_list_not_an_error(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    tutor = cls.tutor
    await tutor.send("/broadcast")
    await tutor.press("Year 1 Group A · 1")
    await tutor.send("Own scenario")
    await tutor.send("Work through these.")
    await tutor.press("⬆️ Upload a CSV")
    replies = await tutor.send_document("n" * 200 + ".csv", _bad_csv(50, "<&>" * 400))
    reply = replies[-1].text
    assert "has 150 problems, so nothing from it was used" in reply, reply
    assert "more problems." in reply and "went wrong" not in reply


async def test_fifty_long_patient_names_fit_the_next_step(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    tutor = cls.tutor
    await tutor.send("/broadcast")
    await tutor.press("Year 1 Group A · 1")
    await tutor.send("Own scenario")
    await tutor.send("Work through these.")
    await tutor.press("⬆️ Upload a CSV")
    rows = ["patient_name,pathway_type,clock_start"]
    rows += [f"{'Longname ' * 22}{i},rtt,-30" for i in range(50)]
    replies = await tutor.send_document("class.csv", "\n".join(rows).encode())
    reply = replies[-1].text
    assert "50 patients ready" in reply and "…and 30 more." in reply, reply
    assert "went wrong" not in reply


async def test_tutor_csvs_neutralise_formulas(bot: harness.Bot) -> None:
    cls = await make_class(bot, 1)
    await bot.services.links.link(5000, 5000, FORMULA_EMAIL, "Eve")
    await bot.user(5000, "Eve").send(f"/start {cls.invite}")
    await broadcast_simple(cls)
    await cls.worker.drain()
    tutor = cls.tutor

    await tutor.send("/students")
    await tutor.press("Year 1 Group A · 2")
    await tutor.press("⬇️ CSV")
    students = list(csv.reader(io.StringIO(tutor.last.file_bytes.decode("utf-8-sig"))))
    await tutor.send("/progress")
    await tutor.press(tutor.last.button_labels[0])
    await tutor.press("⬇️ CSV")
    progress = list(csv.reader(io.StringIO(tutor.last.file_bytes.decode("utf-8-sig"))))
    for table in (students, progress):
        emails = [row[0] for row in table[1:]]
        assert "'" + FORMULA_EMAIL in emails, emails
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in table for cell in row)
