"""Which columns of `ptl_patients` each screen reads, with platform text clipped in the database.

Why: the platform's table has no size limits, and one row with megabytes of notes or name (a
paste gone wrong, a script) would otherwise be shipped, decoded and held for every screen that
lists it. Each screen reads only what it shows, and text is cut to a size no screen shows more
of (`left()` in the select): the stored row is never changed, so the platform keeps what it
wrote. The cuts are longer than anything the bot itself lets a student type (storage.models
PatientIn), so a row the bot wrote is never clipped; and longer than the notes limit a note is
appended under (handlers/update.py), so appending to clipped notes is refused, never saved
over the part not read.
"""

from __future__ import annotations

from typing import Final

TEXT_CAPS: Final = {
    "patient_name": 500,
    "nhs_number": 40,
    "specialty": 500,
    "referral_source": 500,
    "pathway_type": 100,
    "priority": 100,
    "current_status": 500,
    "consultant": 500,
    "contact_number": 100,
    "rtt_code": 20,
    "clock_status": 100,
    "clock_pathway": 100,
    "clock_state": 100,
    "notes": 8000,
}
"""Characters of each text column read back at most."""


def _read(columns: str) -> str:
    names = [c.strip() for c in columns.split(",")]
    return ", ".join(f"left({c}, {TEXT_CAPS[c]}) as {c}" if c in TEXT_CAPS else c for c in names)


ROW_COLUMNS: Final = _read(
    "id, patient_id, user_email, patient_name, nhs_number, specialty, referral_date,"
    " clock_start_date, referral_source, pathway_type, priority, current_status, consultant,"
    " contact_number, rtt_code, clock_status, notes, appointments, events, added_date,"
    " last_updated, created_at, updated_at, version, deleted_at, breach_date, clock_state,"
    " clock_stopped_on, clock_breached, clock_computed_at, booking_open_dates,"
    " booking_late_dates, booking_computed_at, clock_as_of, clock_rank, clock_pathway,"
    " clock_order_on, clock_order_days, bin_version"
)
"""A whole patient as `storage.models.Patient` holds it: the card, /update, /book."""

LIST_COLUMNS: Final = _read(
    "id, patient_id, user_email, patient_name, pathway_type, clock_start_date, priority,"
    " events, appointments"
)
"""One PTL line: the name, and the engine's inputs for its clock and bookings."""

EXPORT_COLUMNS: Final = _read(
    "id, patient_id, user_email, patient_name, nhs_number, specialty, referral_date,"
    " clock_start_date, referral_source, pathway_type, priority, consultant, rtt_code, notes,"
    " events, appointments"
)
"""One CSV row (bot.services.export.COLUMNS)."""
