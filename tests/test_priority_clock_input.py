"""A platform write that changes only a row's priority is a change to the clock's inputs
(PTL_RULES.md r2: a first-appointment DNA never nullifies an Urgent suspected cancer row),
so the stored clock is recomputed, not left as it was."""

from __future__ import annotations

import datetime as dt

from bot.rules.records import event_entry
from bot.services.reminders import stored_fields
from storage.backfill import ClockBackfill
from storage.db import Database
from tests import harness, platform_api
from tests.ptl_support import EMAIL

TODAY = harness.TODAY


async def _stored(db: Database) -> tuple[str | None, object]:
    async with db.service() as conn:
        row = await conn.fetchrow(
            "select clock_state, clock_computed_at from public.ptl_patients"
            " where patient_id = 'P-1'"
        )
    assert row is not None
    return row["clock_state"], row["clock_computed_at"]


async def test_a_priority_only_platform_edit_recomputes_the_clock(db: Database) -> None:
    dna = event_entry("dna_first_appointment", TODAY - dt.timedelta(days=20), added_by=EMAIL)
    await platform_api.insert(
        db, EMAIL, "P-1", clock_start_date=TODAY - dt.timedelta(days=40), events=[dna],
        priority="Routine",
    )  # fmt: skip
    await ClockBackfill(db).run(TODAY, stored_fields)
    state, computed = await _stored(db)
    assert state == "nullified" and computed is not None

    assert await platform_api.update(db, EMAIL, "P-1", priority="Urgent suspected cancer") == 1
    state, computed = await _stored(db)
    assert computed is None  # marked for the engine

    await ClockBackfill(db).run(TODAY, stored_fields)
    state, computed = await _stored(db)
    assert state == "running" and computed is not None
