"""Pydantic models for what goes into and comes out of `ptl_patients`.

Why pydantic here: rows written by the web platform can be incomplete or carry legacy values;
validating at the storage boundary means the rest of the bot works with one well-typed shape.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Columns a student (through the bot) may set directly. Ownership (`user_email`), identity
# (`id`, `patient_id`) and bookkeeping (`version`, timestamps) are never taken from input.
EDITABLE_FIELDS: tuple[str, ...] = (
    "patient_name",
    "nhs_number",
    "specialty",
    "referral_date",
    "clock_start_date",
    "referral_source",
    "pathway_type",
    "priority",
    "current_status",
    "consultant",
    "contact_number",
    "rtt_code",
    "clock_status",
    "notes",
    "appointments",
    "events",
    "breach_date",
    "clock_state",
    "clock_stopped_on",
    "clock_breached",
    "clock_computed_at",
    "booking_open_dates",
    "booking_late_dates",
    "booking_open_places",
    "booking_computed_at",
    "clock_as_of",
    "clock_rank",
    "clock_pathway",
    "clock_order_on",
    "clock_order_days",
)


class PathwayEventRecord(BaseModel):
    """One entry of the `events` JSON array, in the shape the web platform writes.

    `kind` is the bot's rules-engine event kind; platform rows may lack it (they carry the
    RTT `code` and a free-text `description`), so it is optional here.
    """

    model_config = ConfigDict(extra="allow")

    date: date
    code: str | None = None
    description: str | None = None
    added_by: str | None = None
    kind: str | None = None


class PatientIn(BaseModel):
    """A new patient as the student entered it (plus clock fields from the rules engine)."""

    model_config = ConfigDict(extra="forbid")

    patient_name: str = Field(min_length=1, max_length=200)
    nhs_number: str | None = Field(default=None, max_length=10)
    specialty: str | None = Field(default=None, max_length=100)
    referral_date: date | None = None
    clock_start_date: date | None = None
    referral_source: str | None = Field(default=None, max_length=100)
    pathway_type: str = Field(default="rtt", max_length=30)
    priority: str | None = Field(default=None, max_length=40)
    current_status: str | None = Field(default=None, max_length=100)
    consultant: str | None = Field(default=None, max_length=100)
    contact_number: str | None = Field(default=None, max_length=40)
    rtt_code: str | None = Field(default=None, max_length=4)
    clock_status: str | None = Field(default=None, max_length=40)
    notes: str | None = Field(default=None, max_length=4000)
    appointments: list[dict[str, Any]] = Field(default_factory=list)
    events: list[dict[str, Any]] = Field(default_factory=list)
    breach_date: date | None = None
    clock_state: str | None = None
    clock_stopped_on: date | None = None
    clock_breached: bool | None = None
    clock_computed_at: datetime | None = None
    booking_open_dates: list[date] = Field(default_factory=list)
    booking_late_dates: list[date] = Field(default_factory=list)
    booking_open_places: list[int] = Field(default_factory=list)
    booking_computed_at: datetime | None = None
    clock_as_of: date | None = None
    clock_rank: int | None = None
    clock_pathway: str | None = None
    clock_order_on: date | None = None
    clock_order_days: int | None = None


class Patient(BaseModel):
    """A row of `ptl_patients` as the bot reads it."""

    model_config = ConfigDict(extra="ignore")

    id: int
    patient_id: str
    user_email: str
    patient_name: str | None = None
    nhs_number: str | None = None
    specialty: str | None = None
    referral_date: date | None = None
    clock_start_date: date | None = None
    referral_source: str | None = None
    pathway_type: str | None = None
    priority: str | None = None
    current_status: str | None = None
    consultant: str | None = None
    contact_number: str | None = None
    rtt_code: str | None = None
    clock_status: str | None = None
    notes: str | None = None
    appointments: Any = Field(default_factory=list)
    """Exactly as stored (the platform may write any JSON here): read it only through
    `bot.rules.bookings.decode_bookings`, which never fails on an odd shape."""
    events: list[dict[str, Any]] = Field(default_factory=list)
    added_date: datetime | None = None
    last_updated: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1
    deleted_at: datetime | None = None
    breach_date: date | None = None
    clock_state: str | None = None
    clock_stopped_on: date | None = None
    clock_breached: bool | None = None
    clock_computed_at: datetime | None = None
    booking_open_dates: list[date] = Field(default_factory=list)
    booking_late_dates: list[date] = Field(default_factory=list)
    booking_open_places: list[int] = Field(default_factory=list)
    booking_computed_at: datetime | None = None
    clock_as_of: date | None = None
    clock_rank: int | None = None
    clock_pathway: str | None = None
    clock_order_on: date | None = None
    clock_order_days: int | None = None
    bin_version: int | None = None

    # The `events` value exactly as stored (any JSON, or None), for writers that must
    # keep a platform value's shape: `events` above holds only its object entries (see
    # `json_objects`). `appointments` is kept as stored already (see above).
    stored_events: Any = None
    events_clipped: bool = False
    """`events` was too large to read whole and holds a trimmed copy (storage/columns.py)."""
    appointments_clipped: bool = False
    """Likewise `appointments`: neither is ever written back when clipped."""

    @property
    def events_writable(self) -> bool:
        """May the bot write `events` back? Only when nothing in the stored value would be
        lost by writing the object entries: it is absent, or a list of objects only, read
        whole."""
        return not self.events_clipped and _only_objects(self.stored_events)

    @classmethod
    def from_record(cls, record: Any) -> Patient:
        """A row of any provenance. The JSON lists are decoded by `json_objects`; a field
        this model cannot read (a platform column of an unexpected type) is left at its
        default so the rest of the row still shows. Raises RowDecodeError (naming fields,
        never values) only when what identifies the row is unreadable."""
        data = dict(record)
        data["stored_events"] = data.get("events")
        data["events"] = json_objects(data["stored_events"])
        # Platform rows may hold NULL where the bot expects a list.
        data["appointments"] = data.get("appointments") or []
        data["booking_open_dates"] = data.get("booking_open_dates") or []
        data["booking_late_dates"] = data.get("booking_late_dates") or []
        data["booking_open_places"] = data.get("booking_open_places") or []
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors(include_input=False) if e["loc"]}
        unreadable = sorted(bad & set(_IDENTITY))
        if unreadable:
            where = "" if "id" in unreadable else f" id {data.get('id')}"
            raise RowDecodeError(f"ptl_patients row{where}: unreadable {', '.join(unreadable)}")
        for name in bad:
            data.pop(name, None)
        return cls.model_validate(data)


_IDENTITY = frozenset({"id", "patient_id", "user_email"})


class RowDecodeError(Exception):
    """A row lacks what identifies it (id, patient_id, user_email). The message names the
    row's id and the fields only: never a value, which could be a patient's details."""


def json_objects(value: Any) -> list[dict[str, Any]]:
    """The object entries of a stored JSON list; anything else (an object, a string, a
    number, null, the non-objects in `[1, "x", null]`) counts as no entries.

    The one place a row's `events` of any shape are read: `Patient.from_record` uses it, and
    services use it for raw JSON they select, so one odd platform row never fails a whole
    screen. (`appointments` are read by `bot.rules.bookings.decode_bookings`.)"""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _only_objects(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(i, dict) for i in value))


class PatientStats(BaseModel):
    """Counts the database can give cheaply; waits are computed by the rules engine."""

    total: int
    running: int
    breached: int
    by_specialty: dict[str, int]
    by_clock_state: dict[str, int]
