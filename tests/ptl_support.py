"""Helpers for the PTL viewing tests: linked students and patients written the real way."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.rules.records import event_entry, stored_clock_fields
from storage.models import Patient, PatientIn
from tests.harness import TODAY, Bot

EMAIL = "sam@student.example"


async def link(bot: Bot, user_id: int = 901, email: str = EMAIL, name: str = "Sam") -> None:
    await bot.services.links.link(user_id, user_id, email, name)


async def add_patient(
    bot: Bot,
    name: str,
    start: date,
    *,
    email: str = EMAIL,
    pathway_type: str = "rtt",
    events: list[tuple[str, date]] | None = None,
    raw_events: list[dict[str, Any]] | None = None,
    today: date = TODAY,
    **fields: Any,
) -> Patient:
    """Insert a patient through the student-scoped repository, with stored clock fields."""
    entries: list[dict[str, Any]] = []
    for kind, on in events or []:
        entries.append(
            event_entry(
                kind,
                on,
                added_by=email,
                previous=entries,
                pathway_type=pathway_type,
                clock_start=start,
                today=today,
                priority=fields.get("priority"),
            )
        )
    entries.extend(raw_events or [])
    clock = stored_clock_fields(pathway_type, start, entries, today, fields.get("priority"))
    clock.pop("clock_status", None)
    patient = PatientIn(
        patient_name=name,
        clock_start_date=start,
        referral_date=fields.pop("referral_date", start),
        pathway_type=pathway_type,
        events=entries,
        **clock,
        **fields,
    )
    return await bot.services.patients.add(email, patient)
