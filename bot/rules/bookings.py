"""Bookings on a patient: appointments, tests and TCI dates, as `appointments` holds them.

Why a module of its own: a PTL exists to get every patient *booked* in time, and the same
booking is read by the card, the PTL list and its filters, the digest, the validator, the
export and the tutor's summaries, and written by the bot and by the web platform. Reading it,
changing it and saying what it means for the clock must therefore happen one way everywhere.

What lives here (pure: no Telegram, no database, no "today" of its own):

* the vocabulary: booking types (first outpatient appointment ... TCI), statuses and outcomes,
  and which pathway event an outcome records (attended TCI -> ``treatment_started``...);
* :func:`decode_bookings`: the stored JSON of any provenance turned into :class:`Booking`
  values. Platform rows may hold missing fields, unknown statuses, strings instead of
  objects or no list at all; every one is shown as best it can be and none breaks a screen;
* the writers (:func:`new_booking`, :func:`with_outcome`, :func:`rescheduled`): each returns
  a new list in which only the one booking concerned changed; every other item, and every
  key this bot does not know, is kept exactly as it was;
* what a booking means for the clock (:func:`meaning`): the rules engine's own clock on the
  booking date, as if the patient attends. Nothing here compares a date with a breach date:
  the engine says whether the clock will have stopped in time or breached;
* the working-day calendar of England (weekends and bank holidays, from the maintained
  ``holidays`` package) that booking dates and outcome deadlines are checked against.

The stored shape (documented for the platform's developers in the README):
``{"id", "type", "date" (ISO), "time" ("HH:MM" or null), "clinic", "with", "status",
"notes", "added_by", "added_at", "history": [...]}`` plus, once an outcome is recorded,
``outcome_at``, ``outcome_by`` and the ``event`` kind it recorded.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Final

from bot.rules.frozen import fast_builder
from bot.rules.pathway import ClockState, Event, evaluate

__all__ = [
    "BOOKING_TYPES",
    "OUTCOMES",
    "STATUS_LABELS",
    "Booking",
    "BookingMeaning",
    "BookingSummary",
    "BookingType",
    "bank_holiday",
    "booking_at",
    "bookings_on",
    "decode_bookings",
    "is_working_day",
    "meaning",
    "new_booking",
    "new_booking_id",
    "outcome_kind",
    "rescheduled",
    "summarise",
    "with_outcome",
    "working_days_after",
]


# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookingType:
    """What is booked, and which pathway event attending it records."""

    key: str
    label: str
    short: str
    """For the one-line PTL row: "TCI 14 Jan"."""
    attended: str
    """The engine event kind recorded when the patient attends."""
    admitted: bool = False
    """An admission (TCI): a declined date on a 62/31-day pathway can be a treatment adjustment."""
    first_contact: bool = False
    """Can be the first appointment after the referral (a first outpatient appointment, or a
    straight-to-test diagnostic): only a DNA of such a booking is a first-appointment DNA.
    A follow-up, pre-op, admission or treatment comes after the patient was first seen."""


BOOKING_TYPES: Final[Mapping[str, BookingType]] = {
    t.key: t
    for t in (
        BookingType(
            "first_appointment",
            "First outpatient appointment",
            "1st OPA",
            "activity",
            first_contact=True,
        ),
        BookingType("follow_up", "Follow-up appointment", "Follow-up", "activity"),
        BookingType(
            "diagnostic_test", "Diagnostic test", "Test", "test_performed", first_contact=True
        ),
        BookingType("pre_op", "Pre-operative assessment", "Pre-op", "activity"),
        BookingType(
            "admission_inpatient", "Admission (TCI), inpatient", "TCI", "treatment_started", True
        ),
        BookingType(
            "admission_day_case", "Admission (TCI), day case", "TCI", "treatment_started", True
        ),
        BookingType(
            "outpatient_treatment",
            "Treatment (outpatient procedure)",
            "OP treatment",
            "treatment_started",
        ),
    )
}

UNKNOWN_TYPE_KIND: Final = "activity"
"""A booking of a type the bot doesn't know (written elsewhere): attending it is an activity."""

STATUS_LABELS: Final[Mapping[str, str]] = {
    "booked": "Booked",
    "attended": "Attended",
    "dna": "Did not attend",
    "cancelled_patient": "Cancelled by the patient",
    "cancelled_hospital": "Cancelled by the hospital",
    "cancelled": "Cancelled",
    "unknown": "Status not recognised",
}
OUTCOMES: Final[tuple[str, ...]] = ("attended", "dna", "cancelled_patient", "cancelled_hospital")
"""What a student can record for a booking, in the order the buttons show them."""

_TYPE_ALIASES: Final[Mapping[str, str]] = {
    **{key.replace("_", " "): key for key in BOOKING_TYPES},
    **{t.label.lower(): t.key for t in BOOKING_TYPES.values()},
    "first": "first_appointment",
    "new": "first_appointment",
    "new appointment": "first_appointment",
    "first appointment": "first_appointment",
    "first outpatient": "first_appointment",
    "opa": "first_appointment",
    "1st opa": "first_appointment",
    "outpatient": "first_appointment",
    "outpatient appointment": "first_appointment",
    "follow up": "follow_up",
    "followup": "follow_up",
    "fu": "follow_up",
    "review": "follow_up",
    "diagnostic": "diagnostic_test",
    "diagnostics": "diagnostic_test",
    "test": "diagnostic_test",
    "scan": "diagnostic_test",
    "investigation": "diagnostic_test",
    "pre op": "pre_op",
    "preop": "pre_op",
    "poa": "pre_op",
    "pre operative assessment": "pre_op",
    "pre op assessment": "pre_op",
    "tci": "admission_inpatient",
    "admission": "admission_inpatient",
    "inpatient": "admission_inpatient",
    "elective admission": "admission_inpatient",
    "day case": "admission_day_case",
    "daycase": "admission_day_case",
    "tci day case": "admission_day_case",
    "treatment": "outpatient_treatment",
    "procedure": "outpatient_treatment",
    "outpatient procedure": "outpatient_treatment",
}
_ALIASES_LONGEST_FIRST: Final = tuple(sorted(_TYPE_ALIASES, key=len, reverse=True))
_STATUS_ALIASES: Final[Mapping[str, str]] = {
    "booked": "booked",
    "scheduled": "booked",
    "confirmed": "booked",
    "planned": "booked",
    "pending": "booked",
    "rebooked": "booked",
    "rescheduled": "booked",
    "attended": "attended",
    "seen": "attended",
    "completed": "attended",
    "complete": "attended",
    "done": "attended",
    "dna": "dna",
    "did not attend": "dna",
    "no show": "dna",
    "was not brought": "dna",
    "cancelled patient": "cancelled_patient",
    "cancelled by patient": "cancelled_patient",
    "cancelled by the patient": "cancelled_patient",
    "patient cancelled": "cancelled_patient",
    "cancelled hospital": "cancelled_hospital",
    "cancelled by hospital": "cancelled_hospital",
    "cancelled by the hospital": "cancelled_hospital",
    "hospital cancelled": "cancelled_hospital",
    "cancelled by provider": "cancelled_hospital",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}

_ID_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_LENGTH: Final = 9
MAX_TEXT: Final = 300
"""Free text longer than this (a clinic, a note written elsewhere) is cut when shown."""
_WORDS: Final = re.compile(r"[^a-z0-9]+")
_TIME: Final = re.compile(r"^\s*(\d{1,2})[:.h]?(\d{2})\s*$")
_ISO_IN_TEXT: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_UK_IN_TEXT: Final = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


def new_booking_id() -> str:
    """A stable id for a new booking ("APT" + 9 unambiguous characters, 45 bits)."""
    return "APT" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def _key(text: object) -> str:
    return " ".join(_WORDS.sub(" ", str(text).lower()).split())


def type_key(value: object) -> str | None:
    """The booking type a stored value means (platform rows use their own words), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    if value in BOOKING_TYPES:
        return value
    return _TYPE_ALIASES.get(_key(value))


def status_key(value: object) -> str:
    """The status a stored value means; "unknown" for words this bot doesn't know."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "booked"  # a dated entry with no status is most plausibly a booking
    if not isinstance(value, str):
        return "unknown"
    if value in STATUS_LABELS:
        return value
    return _STATUS_ALIASES.get(_key(value), "unknown")


def outcome_kind(booking: Booking, outcome: str) -> str | None:
    """The pathway event an outcome records, or None when nothing is recorded.

    Attended: what the booking's type records (an activity, ``test_performed`` or
    ``treatment_started``). Did not attend a booking that can be the first appointment after
    the referral (a first outpatient appointment, a diagnostic test, or a type this bot
    doesn't know): ``dna_first_appointment``, whose effect the engine decides (nullify,
    continue, first seen adjustment, DM01 reset). Did not attend a later appointment (a
    follow-up, pre-op, admission or treatment): nothing, because national code 33 is the
    first appointment's DNA only, and a later DNA stops, nullifies, adjusts or resets no
    clock; the booking keeps the DNA. Cancelled by the patient: ``patient_cancelled``.
    Cancelled by the hospital: nothing, because no clock stops or resets when the hospital
    cancels.
    """
    if outcome == "attended":
        return booking.attended_kind
    if outcome == "dna":
        return "dna_first_appointment" if booking.first_contact else None
    if outcome == "cancelled_patient":
        return "patient_cancelled"
    if outcome == "cancelled_hospital":
        return None
    raise ValueError(f"unknown outcome {outcome!r}")


# ---------------------------------------------------------------------------
# Reading: the stored JSON, whatever its shape
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Booking:
    """One booking as the bot reads it. ``index`` is its position in the stored list."""

    index: int
    id: str | None
    type: str | None
    """A key of BOOKING_TYPES, or None for a type this bot doesn't know."""
    type_text: str
    """What to call it when the type is unknown (the stored words, cut short)."""
    date: dt.date | None
    time: str | None
    clinic: str | None
    with_: str | None
    status: str
    status_text: str
    notes: str | None
    added_by: str | None
    history: tuple[Mapping[str, Any], ...] = ()
    editable: bool = True
    """False for an entry that isn't an object (a bare string): shown, never changed."""

    @property
    def open(self) -> bool:
        """Booked and dated: still to happen, or happened with no outcome recorded yet."""
        return self.status == "booked" and self.date is not None

    @property
    def ref(self) -> str:
        """How buttons name this booking: its id, or its position when it has none."""
        return self.id if self.id else f"#{self.index}"

    @property
    def label(self) -> str:
        return BOOKING_TYPES[self.type].label if self.type else (self.type_text or "Booking")

    @property
    def short(self) -> str:
        return BOOKING_TYPES[self.type].short if self.type else (self.type_text or "Booking")[:20]

    @property
    def attended_kind(self) -> str:
        return BOOKING_TYPES[self.type].attended if self.type else UNKNOWN_TYPE_KIND

    @property
    def admitted(self) -> bool:
        return bool(self.type and BOOKING_TYPES[self.type].admitted)

    @property
    def first_contact(self) -> bool:
        """Can this be the first appointment after the referral? (unknown types: maybe)"""
        return BOOKING_TYPES[self.type].first_contact if self.type else True

    @property
    def reschedules(self) -> int:
        return sum(1 for h in self.history if h.get("action") == "rescheduled")


def _text(value: object, limit: int = MAX_TEXT) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if (
        type(value) is str
        and len(value) <= limit
        and value.isprintable()
        and (value and value[0] != " " and value[-1] != " " and "  " not in value)
    ):
        return value  # already tidy: the usual case, and the cheap one
    text = " ".join(str(value).split())
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    if len(value) == 10 and value[4] == "-":  # the stored ISO shape: the usual case
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raw = value.strip()[:40]
    match = _ISO_IN_TEXT.search(raw) or None
    try:
        if match:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        match = _UK_IN_TEXT.search(raw)
        if match:  # day first, as the UK writes it
            return dt.date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


def normalise_time(value: object) -> str | None:
    """A time of day as "HH:MM" ("9:30", "0930" or "09.30" -> "09:30"), or None."""
    if not isinstance(value, str):
        return None
    match = _TIME.match(value)
    if match is None:
        return None
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


_new_booking: Final = fast_builder(Booking)  # read by the thousand: see bot.rules.frozen


def _from_object(index: int, item: Mapping[str, Any]) -> Booking:
    raw_type = item.get("type")
    key = type_key(raw_type)
    raw_status = item.get("status")
    stored_time = item.get("time")
    history = item.get("history")
    # (by position, in Booking's field order: a call by keyword costs twice as much, and the
    # daily digest reads tens of thousands)
    return _new_booking(
        index,
        _text(item.get("id"), 40),  # id
        key,  # type
        "" if key else (_text(raw_type, 40) or ""),  # type_text
        _date(item.get("date")),
        normalise_time(stored_time) or _text(stored_time, 10),  # time
        _text(item.get("clinic") or item.get("location"), 100),  # clinic
        _text(item.get("with") or item.get("clinician"), 100),  # with_
        status_key(raw_status),  # status
        _text(raw_status, 40) or "",  # status_text
        _text(item.get("notes")),  # notes
        _text(item.get("added_by"), 120),  # added_by
        _history(history),
    )


def _history(value: object) -> tuple[Mapping[str, Any], ...]:
    """A booking's stored history entries (objects only; anything else is no history)."""
    if not value or not isinstance(value, list):
        return ()
    return tuple([h for h in value if h.__class__ is dict or isinstance(h, Mapping)])


def _type_in_words(text: str) -> str | None:
    """The booking type a free-text entry names ("TCI on 14/01/2026" -> admission)."""
    words = f" {_key(text)} "
    for alias in _ALIASES_LONGEST_FIRST:
        if f" {alias} " in words:
            return _TYPE_ALIASES[alias]
    return None


def _from_string(index: int, item: str) -> Booking:
    text = _text(item, 60) or ""
    return Booking(
        index=index,
        id=None,
        type=_type_in_words(item[:200]),
        type_text=text,
        date=_date(item),
        time=None,
        clinic=None,
        with_=None,
        status="unknown",
        status_text="",
        notes=None,
        added_by=None,
        editable=False,
    )


def decode_bookings(raw: object) -> tuple[Booking, ...]:
    """Every booking a stored `appointments` value holds, in stored order.

    A list is read item by item: objects as bookings, strings as read-only notes of a
    booking (their date read if one is written in them), anything else skipped. A single
    object (not in a list) is shown, read-only, as one booking. Anything else is no booking.
    Never raises: one odd row must not break a screen.
    """
    if isinstance(raw, Mapping):
        return (replace(_from_object(0, raw), editable=False),)
    if not isinstance(raw, list):
        return ()
    out: list[Booking] = []
    for index, item in enumerate(raw):
        if isinstance(item, Mapping):
            out.append(_from_object(index, item))
        elif isinstance(item, str) and item.strip():
            out.append(_from_string(index, item))
    return tuple(out)


def writable(raw: object) -> bool:
    """Can the bot add to this stored value without changing its shape? (a list, or nothing)"""
    return raw is None or isinstance(raw, list)


def find(bookings: Iterable[Booking], ref: str) -> Booking | None:
    """The booking a button names (see :attr:`Booking.ref`)."""
    for booking in bookings:
        if booking.ref == ref:
            return booking
    return None


# ---------------------------------------------------------------------------
# Writing: one booking changes, everything else is kept as it was
# ---------------------------------------------------------------------------


def _now(now: dt.datetime) -> str:
    return now.isoformat(timespec="seconds")


def new_booking(
    type_: str,
    on: dt.date,
    *,
    added_by: str,
    now: dt.datetime,
    time: str | None = None,
    clinic: str | None = None,
    with_: str | None = None,
    notes: str | None = None,
    booking_id: str | None = None,
) -> dict[str, Any]:
    """A new `appointments` entry in the documented shape."""
    if type_ not in BOOKING_TYPES:
        raise ValueError(f"unknown booking type {type_!r}")
    return {
        "id": booking_id or new_booking_id(),
        "type": type_,
        "date": on.isoformat(),
        "time": time,
        "clinic": clinic,
        "with": with_,
        "status": "booked",
        "notes": notes,
        "added_by": added_by,
        "added_at": _now(now),
        "history": [{"action": "booked", "date": on.isoformat(), "at": _now(now), "by": added_by}],
    }


def appended(stored: object, entry: Mapping[str, Any]) -> list[Any]:
    """The stored list with `entry` added at the end (the stored value must be `writable`)."""
    if not writable(stored):
        raise ValueError("the stored appointments are not a list")
    return [*(stored if isinstance(stored, list) else []), dict(entry)]


def _changed(stored: object, booking: Booking, changes: Mapping[str, Any]) -> list[Any]:
    if not isinstance(stored, list) or not booking.editable:
        raise ValueError("this booking can't be changed by the bot")
    if not (0 <= booking.index < len(stored)) or not isinstance(stored[booking.index], Mapping):
        raise ValueError("the booking is no longer where it was")
    item = dict(stored[booking.index])
    history = item.get("history")
    history = list(history) if isinstance(history, list) else []
    history.append(dict(changes["history"]))
    item.update({k: v for k, v in changes.items() if k != "history"})
    item["history"] = history
    if not item.get("id"):
        item["id"] = new_booking_id()  # from now on it can be named stably
    out = list(stored)
    out[booking.index] = item
    return out


def with_outcome(
    stored: object,
    booking: Booking,
    outcome: str,
    *,
    by: str,
    now: dt.datetime,
    event: str | None,
    on: dt.date | None = None,
) -> list[Any]:
    """The stored list with `booking`'s outcome recorded (status, who, when, the event)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    change: dict[str, Any] = {
        "status": outcome,
        "outcome_at": _now(now),
        "outcome_by": by,
        "event": event,
        "history": {"action": outcome, "at": _now(now), "by": by},
    }
    if outcome in ("cancelled_patient", "cancelled_hospital"):
        change["cancelled_by"] = "patient" if outcome == "cancelled_patient" else "hospital"
        if on is not None:
            change["cancelled_on"] = on.isoformat()
            change["history"]["on"] = on.isoformat()
    return _changed(stored, booking, change)


def rescheduled(
    stored: object,
    booking: Booking,
    new_date: dt.date,
    *,
    asked_by: str,
    by: str,
    now: dt.datetime,
    time: str | None = None,
    event: str | None = None,
) -> list[Any]:
    """The stored list with `booking` moved to `new_date`; the move, and who asked for it
    (``patient`` or ``hospital``), kept in its history."""
    if asked_by not in ("patient", "hospital"):
        raise ValueError(f"asked_by must be patient or hospital, not {asked_by!r}")
    old = booking.date.isoformat() if booking.date else None
    return _changed(
        stored,
        booking,
        {
            "date": new_date.isoformat(),
            "time": time,
            "status": "booked",
            "history": {
                "action": "rescheduled",
                "from": old,
                "to": new_date.isoformat(),
                "asked_by": asked_by,
                "event": event,
                "at": _now(now),
                "by": by,
            },
        },
    )


def bookings_on(items: Iterable[Sequence[Any]], day: dt.date) -> tuple[Booking, ...]:
    """The bookings dated `day` among (place in the stored list, stored item) pairs, each read
    as `decode_bookings` reads a list's objects (with that place as its index). Anything but
    an object is skipped: it can never be an open booking (a string is a read-only note).

    Why: a daily digest names at most one open booking of a patient, and the row's stored
    summaries already give its date; reading every booking of thousands of rows to find it was
    most of the run's cost. Give it a list as `enumerate(stored)`.
    """
    found: list[Booking] = []
    iso = day.isoformat()
    for index, item in items:
        if item.__class__ is not dict and not isinstance(item, Mapping):
            continue
        raw = item.get("date")
        if raw == iso or (not _is_other_iso_date(raw) and _date(raw) == day):
            found.append(_from_object(index, item))
    return tuple(found)


def _is_other_iso_date(raw: object) -> bool:
    """A stored date written exactly as an ISO date ("2025-03-03", ASCII digits only): it
    names that day or none, so one that differs from the day asked for is not parsed."""
    return (
        isinstance(raw, str)
        and len(raw) == 10
        and raw.isascii()
        and raw[4] == "-"
        and raw[7] == "-"
        and (raw[:4] + raw[5:7] + raw[8:]).isdigit()
    )


# ---------------------------------------------------------------------------
# Which bookings matter today
# ---------------------------------------------------------------------------


def _order(b: Booking) -> tuple[dt.date, str, int]:
    assert b.date is not None
    return (b.date, b.time or "", b.index)


def upcoming(bookings: Iterable[Booking], today: dt.date) -> list[Booking]:
    """Open bookings on or after today, soonest first."""
    return sorted((b for b in bookings if b.open and b.date >= today), key=_order)  # type: ignore[operator]


def awaiting_outcome(bookings: Iterable[Booking], today: dt.date) -> list[Booking]:
    """Open bookings whose day has passed: their outcome is needed, oldest first."""
    return sorted((b for b in bookings if b.open and b.date < today), key=_order)  # type: ignore[operator]


# ---------------------------------------------------------------------------
# What a booking means for the clock: the engine's answer, as if the patient attends
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookingMeaning:
    """The rules engine's clock on a booking's date, as if the patient attends it.

    ``then`` is that clock. ``stops`` says attending stops the clock on that day (a TCI on an
    RTT pathway, a test on a diagnostic one); ``late`` says the patient will have breached
    by then (a stop after the breach date, or a clock still running and breached that day).
    """

    booking: Booking
    kind: str
    then: ClockState
    stops: bool
    late: bool


def meaning(
    booking: Booking,
    pathway_type: str | None,
    clock_start: dt.date | None,
    events: Sequence[Event],
    **engine: Any,
) -> BookingMeaning | None:
    """What `booking` means for the clock (None: no usable clock, or an undated booking).

    ``events`` are the row's engine events (bot.rules.records.events_from_json); ``engine``
    passes on the engine's keyword arguments (at-risk thresholds, priority).
    """
    on = booking.date
    if on is None or clock_start is None:
        return None
    kind = booking.attended_kind
    hypothetical = [*events, Event(on, kind, 1_000_000_000, "booking")]
    try:
        then = evaluate(pathway_type or "rtt", clock_start, hypothetical, max(on, clock_start),
                        **engine)  # fmt: skip
    except ValueError:
        return None
    stops = then.clock_stop == on and then.ended_by == kind and then.status == "stopped"
    late = (stops and then.breached) or (then.running and then.status == "breached")
    return BookingMeaning(booking, kind, then, stops, late)


@dataclass(frozen=True, slots=True)
class BookingSummary:
    """A patient's bookings as a PTL row needs them, as at today."""

    bookings: tuple[Booking, ...]
    next: Booking | None
    next_meaning: BookingMeaning | None
    awaiting: tuple[Booking, ...]
    running: bool
    """The clock is running today (only then can a patient be "undated")."""

    @property
    def undated(self) -> bool:
        return self.running and self.next is None

    @property
    def after_breach(self) -> bool:
        return self.running and self.next_meaning is not None and self.next_meaning.late

    @property
    def outcome_needed(self) -> bool:
        return bool(self.awaiting)


def summarise(
    stored: object,
    state: ClockState | None,
    today: dt.date,
    pathway_type: str | None,
    clock_start: dt.date | None,
    events: Sequence[Event],
    **engine: Any,
) -> BookingSummary:
    """Next booking, what it means for the clock, and the bookings awaiting an outcome."""
    bookings = decode_bookings(stored)
    running = state is not None and state.running
    if not bookings:
        return BookingSummary((), None, None, (), running)
    ahead = upcoming(bookings, today)
    nxt = ahead[0] if ahead else None
    found = (
        meaning(nxt, pathway_type, clock_start, events, **engine)
        if nxt is not None and running
        else None
    )
    return BookingSummary(bookings, nxt, found, tuple(awaiting_outcome(bookings, today)), running)


def stored_booking_fields(
    stored: object,
    pathway_type: str | None,
    clock_start: dt.date | None,
    events: Sequence[Event],
    **engine: Any,
) -> dict[str, list[Any]]:
    """Bot-owned columns that let SQL page, filter, count and remind by bookings.

    ``booking_open_dates``: every open booking's date, ascending (the next booking on day D
    is the first one on or after D; any before D is awaiting an outcome).
    ``booking_late_dates``: those whose booking the engine says comes too late (the patient
    will have breached by then). Neither depends on today, so neither goes stale with time.
    ``booking_open_places``: for each open date, at the same position, the place in the
    stored list of that day's first open booking by time (the one a digest line names, see
    `upcoming` and `awaiting_outcome`), so a reader can take that one element alone.
    """
    bookings = [b for b in decode_bookings(stored) if b.open]
    first: dict[dt.date, Booking] = {}
    for b in sorted(bookings, key=_order):
        first.setdefault(b.date, b)  # type: ignore[arg-type]
    open_dates = sorted(first)
    late: set[dt.date] = set()
    for b in bookings:
        found = meaning(b, pathway_type, clock_start, events, **engine)
        if found is not None and found.late and b.date is not None:
            late.add(b.date)
    return {
        "booking_open_dates": open_dates,
        "booking_late_dates": sorted(late),
        "booking_open_places": [first[d].index for d in open_dates],
    }


def booking_at(place: int, item: object, day: dt.date) -> Booking | None:
    """The open booking `item` (stored at `place` in the list) if it is dated `day`, read as
    `decode_bookings` reads it; else None (the list changed since it was summarised).

    Why: the stored summaries say where the booking a digest line names sits
    (``booking_open_places``), so only that element is sent and read."""
    if item.__class__ is not dict and not isinstance(item, Mapping):
        return None
    booking = _from_object(place, item)
    return booking if booking.open and booking.date == day else None


# ---------------------------------------------------------------------------
# England's working days
# ---------------------------------------------------------------------------

_HOLIDAY_NAMES: Final[Mapping[str, str]] = {
    # The package's names, as GOV.UK writes them.
    "May Day": "Early May bank holiday",
    "Spring Bank Holiday": "Spring bank holiday",
    "Late Summer Bank Holiday": "Summer bank holiday",
}


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> Mapping[dt.date, str]:
    """England's bank holidays in `year` (substitute days included), from `holidays`."""
    from holidays.countries import UnitedKingdom

    found = UnitedKingdom(subdiv="ENG", years=year)
    return {day: _HOLIDAY_NAMES.get(name, name) for day, name in found.items()}


def bank_holiday(day: dt.date) -> str | None:
    """The bank holiday in England on `day` ("Christmas Day"), or None."""
    return _bank_holidays(day.year).get(day)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and bank_holiday(day) is None


def working_days_after(start: dt.date, end: dt.date, *, stop_after: int | None = None) -> int:
    """Working days d with start < d <= end (0 when end is not after start).

    ``stop_after`` stops counting once the count exceeds it, for callers that only ask
    "more than N?" about a date that may be years back."""
    count = 0
    day = start + dt.timedelta(days=1)
    while day <= end:
        if is_working_day(day):
            count += 1
            if stop_after is not None and count > stop_after:
                break
        day += dt.timedelta(days=1)
    return count


# ---------------------------------------------------------------------------
# `current_status` in the platform's own words
# ---------------------------------------------------------------------------

PLATFORM_STATUSES: Final[tuple[str, ...]] = (
    "Awaiting First Appointment",
    "First Appointment Booked",
    "Seen - Diagnostics Pending",
    "Diagnostics Complete - Awaiting Decision",
    "Decision Made - Awaiting Treatment",
    "On Waiting List for Treatment",
    "Treatment Complete",
    "Discharged",
)
"""The web platform's `current_status` vocabulary: the bot writes only these words."""

_SEEN: Final = frozenset(
    {
        "activity",
        "test_performed",
        "diagnosis_communicated",
        "cancer_ruled_out",
        "decision_to_treat",
    }
)
_TREATMENT_BOOKINGS: Final = frozenset(
    {"admission_inpatient", "admission_day_case", "outpatient_treatment", "pre_op"}
)


def platform_status(
    state: ClockState | None, events: Sequence[Event], bookings: Sequence[Booking]
) -> str | None:
    """Where the patient is on the pathway, in the platform's words, or None to leave the
    stored value alone (no usable clock, or an ending the platform has no word for, such as
    active monitoring or a transfer).

    Read from the engine's clock (which events applied to the latest clock) and the open
    bookings: a decision to treat with an admission booked is "On Waiting List for
    Treatment", without one "Decision Made - Awaiting Treatment"; a test done, "Diagnostics
    Complete - Awaiting Decision"; seen in clinic, "Seen - Diagnostics Pending"; a first
    appointment booked, "First Appointment Booked"; nothing yet, "Awaiting First Appointment".
    """
    if state is None:
        return None
    if not state.running:
        if state.ended_by == "treatment_started" and state.status == "stopped":
            return "Treatment Complete"
        if state.ended_by == "discharged":
            return "Discharged"
        if state.ended_by == "test_performed" and state.pathway_type == "diagnostic":
            return "Diagnostics Complete - Awaiting Decision"
        return None
    kinds = {events[i].kind for i in state.applied if events[i].date >= state.clock_start}
    booked = {b.type for b in bookings if b.open}
    if "decision_to_treat" in kinds:
        if booked & _TREATMENT_BOOKINGS:
            return "On Waiting List for Treatment"
        return "Decision Made - Awaiting Treatment"
    if "test_performed" in kinds and "diagnostic_test" not in booked:
        return "Diagnostics Complete - Awaiting Decision"
    if kinds & _SEEN or ("diagnostic_test" in booked and "first_appointment" not in booked):
        return "Seen - Diagnostics Pending"
    if "first_appointment" in booked:
        return "First Appointment Booked"
    return "Awaiting First Appointment"


NO_BOOKINGS: Final = BookingSummary((), None, None, (), False)
"""The summary of a row with no bookings and no running clock (a default for callers)."""
