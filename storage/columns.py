"""Which columns of `ptl_patients` each screen reads, with platform text clipped in the database.

Why: the platform's table has no size limits, and one row with megabytes of notes or name (a
paste gone wrong, a script) would otherwise be shipped, decoded and held for every screen that
lists it. Each screen reads only what it shows, and text is cut to a size no screen shows more
of (`left()` in the select): the stored row is never changed, so the platform keeps what it
wrote. The cuts are longer than anything the bot itself lets a student type (storage.models
PatientIn), so a row the bot wrote is never clipped; and longer than the notes limit a note is
appended under (handlers/update.py), so appending to clipped notes is refused, never saved
over the part not read. `events` and `appointments` over a megabyte are read trimmed and
marked (`events_clipped`, `appointments_clipped`), and the bot then refuses to write them back.
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


JSON_CAP: Final = 1_048_576
"""Bytes of `events` or `appointments` (as JSON text) above which they are read trimmed (below)."""

JSON_ITEMS: Final = 2000
JSON_TEXT: Final = 500


def _json(column: str) -> str:
    """The column as stored, or, above JSON_CAP, trimmed: its first JSON_ITEMS entries, each
    object's text values cut to JSON_TEXT characters and any other value over 4 kB dropped.
    Dates, codes and kinds survive, so the clock still reads; a trimmed column is never
    written back (JSON_WRITABLE)."""
    return f"""(case when octet_length({column}::text) <= {JSON_CAP} then {column}
        when jsonb_typeof({column}) <> 'array' then 'null'::jsonb
        else (select coalesce(jsonb_agg(case when jsonb_typeof(x.e) = 'object' then (
                  select coalesce(jsonb_object_agg(k, case
                      when jsonb_typeof(v) = 'string' then to_jsonb(left(v #>> '{{}}', {JSON_TEXT}))
                      when octet_length(v::text) > 4096 then 'null'::jsonb else v end), '{{}}')
                    from jsonb_each(x.e) as o(k, v))
                  else 'null'::jsonb end order by x.n), '[]'::jsonb)
                from jsonb_array_elements({column}) with ordinality as x(e, n)
               where x.n <= {JSON_ITEMS}) end) as {column},
        coalesce(octet_length({column}::text) > {JSON_CAP}, false) as {column}_clipped"""


JSON_WRITABLE: Final = {
    "events": f"octet_length(events::text) <= {JSON_CAP}",
    "appointments": f"octet_length(appointments::text) <= {JSON_CAP}",
}
"""Conditions under which the bot may write the column back: it was read whole."""


def _read(columns: str) -> str:
    names = [c.strip() for c in columns.split(",")]
    return ", ".join(
        f"left({c}, {TEXT_CAPS[c]}) as {c}"
        if c in TEXT_CAPS
        else _json(c)
        if c in JSON_WRITABLE
        else c
        for c in names
    )


ROW_COLUMNS: Final = _read(
    "id, patient_id, user_email, patient_name, nhs_number, specialty, referral_date,"
    " clock_start_date, referral_source, pathway_type, priority, current_status, consultant,"
    " contact_number, rtt_code, clock_status, notes, appointments, events, added_date,"
    " last_updated, created_at, updated_at, version, deleted_at, breach_date, clock_state,"
    " clock_stopped_on, clock_breached, clock_computed_at, booking_open_dates,"
    " booking_late_dates, booking_open_places, booking_computed_at, clock_as_of, clock_rank,"
    " clock_pathway, clock_order_on, clock_order_days, bin_version"
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
