"""Platform rows of any shape (issue 13, point 6): one odd row never breaks a student's screens.

The web platform (or a script, or an older version of it) can leave `events` and
`appointments` holding an object, a string or a list with non-object entries. Every screen
still works, the odd row is listed and can be deleted, its stored JSON is never rewritten,
and nothing of the patient's text reaches the logs.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.messages import common
from storage.db import Database
from storage.models import Patient, json_objects
from tests import platform_api
from tests.harness import TODAY, Bot
from tests.ptl_support import EMAIL, add_patient, link

START = (TODAY - timedelta(days=40)).isoformat()
ODD_SHAPES = {
    "PTL-OBJ": {"date": START, "code": "20", "description": "Seen by Mr Secretname"},
    "PTL-STR": "seen in clinic by Mr Secretname",
    "PTL-MIX": [1, "x", None, {"date": START, "code": "20", "description": "Secretname clinic"}],
}
WRONG = common.SOMETHING_WENT_WRONG.split("{")[0][:40]


def test_json_objects_keeps_objects_and_nothing_else() -> None:
    assert json_objects([{"a": 1}, 1, "x", None, [2], {"b": 2}]) == [{"a": 1}, {"b": 2}]
    for odd in ({"a": 1}, "text", 3, None, True):
        assert json_objects(odd) == []


def test_a_row_with_odd_json_and_odd_columns_decodes() -> None:
    row = {
        "id": 7,
        "patient_id": "PTL7",
        "user_email": EMAIL,
        "patient_name": "Zed",
        "events": {"date": "2025-01-01"},
        "appointments": ["Tuesday clinic", 4],
        # A platform column of an unexpected type: dropped, never fatal.
        "nhs_number": 9990000018,
        "version": "seven",
    }
    patient = Patient.from_record(row)
    assert patient.events == [] and patient.stored_events == {"date": "2025-01-01"}
    # Bookings are kept as stored, for bot.rules.bookings.decode_bookings to read.
    assert patient.appointments == ["Tuesday clinic", 4]
    assert patient.nhs_number is None and patient.version == 1
    assert not patient.events_writable


async def _odd_rows(bot: Bot, db: Database) -> None:
    await link(bot)
    await add_patient(bot, "Good Gina", TODAY - timedelta(days=20))
    for n, (pid, events) in enumerate(ODD_SHAPES.items()):
        await platform_api.insert(
            db,
            EMAIL,
            pid,
            patient_name=f"Odd Olive {n}",
            clock_start_date=TODAY - timedelta(days=40),
            events=events,
            appointments=events,
            notes="Lives at 1 Secretname Road",
        )


async def test_every_screen_works_with_odd_platform_rows(
    bot: Bot, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await _odd_rows(bot, db)
    sam = bot.user(901)
    ptl = (await sam.send("/ptl"))[0].text
    assert "4 patients" in ptl and "Good Gina" in ptl and "Odd Olive 2" in ptl
    for command in ("/stats", "/export", "/validate", "/find odd", "/find PTL-STR", "/bin"):
        replies = await sam.send(command)
        assert replies, command
        assert all(WRONG not in r.text for r in replies), (command, [r.text for r in replies])
    export = (await sam.send("/export"))[-1]
    assert export.kind == "document" and b"Odd Olive 1" in (export.file_bytes or b"")
    # Every odd row opens and can be deleted from the bot.
    for n, pid in enumerate(ODD_SHAPES):
        await sam.send("/ptl")
        replies = await sam.send(f"/find {pid}")
        assert f"Odd Olive {n}" in replies[0].text
        await sam.press("🗑 Delete")
        replies = await sam.press("🗑 Yes, delete")
        assert f"Odd Olive {n} is in the bin" in replies[0].text
    assert [p.patient_name for p in await bot.services.patients.list(EMAIL)] == ["Good Gina"]
    # The stored JSON is exactly what the platform wrote.
    async with db.service() as conn:
        stored = {
            r["patient_id"]: (r["events"], r["appointments"])
            for r in await conn.fetch("select * from public.ptl_patients")
        }
    for pid, events in ODD_SHAPES.items():
        assert stored[pid] == (events, events)
    assert caplog.records  # the bot really logged (at DEBUG), so this check can fail
    assert "Secretname" not in caplog.text


async def test_events_that_cannot_be_written_back_are_never_rewritten(
    bot: Bot, db: Database
) -> None:
    await _odd_rows(bot, db)
    patients = bot.services.patients
    for pid in ODD_SHAPES:
        patient = await patients.get(EMAIL, pid)
        assert not patient.events_writable
        with pytest.raises(Exception, match="cannot be written back") as caught:
            await patients.update(
                EMAIL, pid, patient.version, {"events": [*patient.events, {"date": START}]}
            )
        assert type(caught.value).__name__ == "UnwritableJsonError"
        # Other columns still save.
        saved = await patients.update(EMAIL, pid, patient.version, {"priority": "Urgent"})
        assert saved.priority == "Urgent" and saved.stored_events == ODD_SHAPES[pid]
    # In the chat: the student is told, nothing is saved.
    sam = bot.user(901)
    await sam.send("/update PTL-MIX")
    replies = await sam.press("📌 Record an event")
    assert "can't add to without changing what the platform stored" in replies[0].text
    assert (await patients.get(EMAIL, "PTL-MIX")).stored_events == ODD_SHAPES["PTL-MIX"]
