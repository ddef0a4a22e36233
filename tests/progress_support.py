"""A student with a varied history, written the way the bot and the platform write rows, and
the figures a test expects, computed here in Python from the same data (not by the SQL).

The history covers both periods of the record (the last 4 weeks from TODAY, and before),
every figure, and the rows a careless count would get wrong: a platform row with codes only
and junk entries, a legacy pathway type, an exercise's imported patient, a deleted patient,
another student's patient, a patient added after its breach day.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from bot.rules.records import evaluate_row, event_entry, kind_of, stored_clock_fields
from storage.db import Database
from tests.harness import TODAY

EMAIL = "sam@student.example"
OTHER = "olu@student.example"
LONDON = dt.UTC  # TODAY's dates are in winter: London is on UTC
RECENT_FROM = TODAY - dt.timedelta(days=27)
D = dt.date


@dataclass
class Spec:
    name: str
    start: dt.date
    added: dt.date
    events: list[tuple[str, dt.date]] = field(default_factory=list)
    raw_events: list[Any] = field(default_factory=list)
    updated: dt.date | None = None
    pathway_type: str = "rtt"
    exercise_id: int | None = None
    added_by: str = EMAIL
    deleted: bool = False
    email: str = EMAIL


HISTORY: list[Spec] = [
    # treated in time, recently (breach day 24 Feb; treated 20 Feb); updated recently
    Spec("Ada Ashby", D(2024, 10, 20), D(2024, 11, 1),
         [("activity", D(2024, 11, 10)), ("treatment_started", D(2025, 2, 20))],
         updated=D(2025, 2, 20)),
    # treated late, long ago; its breach (6 Dec) was let happen: no event from 22 Nov
    Spec("Bea Bryant", D(2024, 8, 1), D(2024, 9, 1),
         [("activity", D(2024, 9, 15)), ("treatment_started", D(2025, 1, 10))],
         updated=D(2025, 1, 10)),
    # added recently, already breached before it came onto this PTL: not let happen
    Spec("Cai Cole", D(2024, 10, 1), D(2025, 2, 10)),
    # breached 5 Feb, with an activity 30 Jan (in the 14 days before): not let happen
    Spec("Dev Dutta", D(2024, 10, 1), D(2024, 10, 1), [("activity", D(2025, 1, 30))],
         updated=D(2025, 1, 30)),
    # breached 9 Feb with nothing since 1 Dec: let happen, recently
    Spec("Eve Evans", D(2024, 10, 5), D(2024, 10, 5), [("activity", D(2024, 12, 1))],
         updated=D(2024, 12, 1)),
    # cancer 62-day, a first-appointment DNA (the clock carries on), never updated
    Spec("Fay Fox", D(2025, 2, 1), D(2025, 2, 15), [("dna_first_appointment", D(2025, 2, 10))],
         pathway_type="cancer_62"),
    # a platform row: legacy type, RTT codes only, junk entries; treated in time on 25 Feb
    Spec("Gil Grant", D(2024, 12, 1), D(2024, 12, 2),
         raw_events=[{"date": "2025-01-06", "code": "20", "description": "Clinic"},
                     {"date": "2025-02-25", "code": "30", "description": "Treated"},
                     {"date": "2025-02-31", "code": "20"}, 5, "x", {"code": "20"},
                     {"date": "2025-01-20", "code": "34", "description": "Discharged to GP"}],
         updated=D(2025, 2, 25), pathway_type="routine"),
    # an exercise's patient: its imported history is not the student's, the later event is
    Spec("Hal Hart", D(2025, 1, 1), D(2025, 2, 12),
         [("activity", D(2025, 1, 20))], exercise_id=1, added_by="[Exercise 1]",
         updated=D(2025, 2, 27)),
    # deleted: not counted anywhere
    Spec("Ivy Ives", D(2025, 1, 1), D(2025, 2, 1), [("activity", D(2025, 2, 2))], deleted=True),
    # another student's patient: row-level security keeps it out
    Spec("Jo Jones", D(2025, 1, 1), D(2025, 2, 1), [("treatment_started", D(2025, 2, 2))],
         email=OTHER),
]  # fmt: skip
HAL_OWN_EVENT = ("treatment_started", D(2025, 2, 27))


def _stamp(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def entries_of(spec: Spec) -> list[Any]:
    entries: list[Any] = []
    for kind, on in spec.events:
        entries.append(
            event_entry(kind, on, added_by=spec.added_by, previous=entries,
                        pathway_type=spec.pathway_type, clock_start=spec.start, today=TODAY)
        )  # fmt: skip
    if spec.name == "Hal Hart":
        kind, on = HAL_OWN_EVENT
        entries.append(
            event_entry(
                kind, on, added_by=EMAIL, previous=entries, clock_start=spec.start, today=TODAY
            )
        )
    return entries + spec.raw_events


async def write_history(db: Database) -> dict[str, str]:
    """Insert HISTORY as the students themselves (row-level security on); return name -> id."""
    ids: dict[str, str] = {}
    for i, spec in enumerate(HISTORY):
        entries = entries_of(spec)
        clock = stored_clock_fields(spec.pathway_type, spec.start, entries, TODAY)
        added = _stamp(spec.added, 9)
        updated = _stamp(spec.updated, 15) if spec.updated else added
        patient_id = f"PTLTEST{i:04d}"
        async with db.student(spec.email) as conn:
            await conn.execute(
                "insert into public.ptl_patients (patient_id, user_email, patient_name,"
                " clock_start_date, pathway_type, events, added_date, created_at, last_updated,"
                " exercise_id, deleted_at, breach_date, clock_state, clock_stopped_on,"
                " clock_breached, clock_computed_at)"
                " values ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                patient_id, spec.email, spec.name, spec.start, spec.pathway_type,
                json.loads(json.dumps(entries)), added, updated, spec.exercise_id,
                _stamp(TODAY, 8) if spec.deleted else None, clock["breach_date"],
                clock["clock_state"], clock["clock_stopped_on"], clock["clock_breached"],
                clock["clock_computed_at"],
            )  # fmt: skip
        ids[spec.name] = patient_id
    return ids


# --- the expected figures, counted in Python ------------------------------------------------


def _own_events(spec: Spec) -> list[tuple[str, dt.date]]:
    out = []
    for entry in entries_of(spec):
        if not isinstance(entry, dict):
            continue
        if spec.exercise_id is not None and entry.get("added_by") != EMAIL:
            continue
        try:
            on = dt.date.fromisoformat(str(entry.get("date")))
        except ValueError:
            continue
        kind = kind_of(entry)
        out.append((kind or "other", on))
    return out


def expected(recent: bool) -> dict[str, int]:
    """Each figure for the last 4 weeks (`recent`) or since the start, as a person counts."""

    def counts(day: dt.date | None) -> bool:
        return day is not None and day <= TODAY and (not recent or day >= RECENT_FROM)

    mine = [s for s in HISTORY if s.email == EMAIL and not s.deleted]
    figures: dict[str, int] = {}

    def bump(key: str, n: int = 1) -> None:
        figures[key] = figures.get(key, 0) + n

    for spec in mine:
        if spec.exercise_id is None and counts(spec.added):
            bump("added")
        if spec.updated and counts(spec.updated):
            bump("updated")
        for kind, on in _own_events(spec):
            if counts(on):
                bump("events")
                bump(f"event:{kind}")
        state = evaluate_row(spec.pathway_type, spec.start, entries_of(spec), TODAY)
        assert state is not None
        if state.status == "stopped" and counts(state.clock_stop):
            bump("stopped_late" if state.breached else "stopped_in_time")
        crossed = state.running or (state.status == "stopped" and state.breached)
        if crossed and state.breach_date <= TODAY and spec.added < state.breach_date:
            quiet = not any(
                state.breach_date - dt.timedelta(days=14) <= on < state.breach_date
                for _, on in _own_events(spec) + [(k, d) for k, d in spec.events]
            )
            if quiet and counts(state.breach_date):
                bump("breach_let_happen")
    return figures
