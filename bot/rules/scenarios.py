"""Scenario patients for exercises: the built-in teaching scenarios and the shared data shape.

Why dates are relative: an exercise is sent today and started by one student today and by
another next week. A patient written as "clock started 131 days before the import" is in
breach for both, so the lesson is the same whoever starts it whenever. Every date in a
scenario is therefore a day offset from the day the student presses Start (0 = that day,
-131 = 131 days before); tutors' CSV uploads may use offsets or fixed calendar dates.

Each built-in patient states the status the rules engine must give it on the import day
(``expect``): tests hold every scenario to its own answer key, so a change to the engine or
to a scenario that would teach the wrong thing fails loudly. Names are invented; NHS numbers
are valid numbers in the 999 test range, derived deterministically so an answer key can
quote them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bot.rules.bookings import BOOKING_TYPES, decode_bookings, new_booking, platform_status
from bot.rules.nhs_number import generate_test_number
from bot.rules.pathway import EVENT_KINDS, PATHWAY_TYPES
from bot.rules.records import (
    evaluate_row,
    event_entry,
    events_from_json,
    stored_booking_columns,
    stored_clock_fields,
)

__all__ = [
    "MAX_QUESTIONS",
    "SCENARIOS",
    "DaySpec",
    "QuizQuestion",
    "Scenario",
    "ScenarioBooking",
    "ScenarioEvent",
    "ScenarioPatient",
    "parse_question",
    "resolve_day",
]

DaySpec = int | dt.date
"""A day offset from the import day (``0`` today, ``-7`` a week before) or a fixed date."""

MAX_QUESTIONS: Final = 10
# Telegram's quiz poll limits (Bot API sendPoll): a question of up to 300 characters, options
# of up to 100, an explanation of up to 200. Telegram allows up to 12 options; we keep 10 so a
# quiz stays readable on a phone. Plain numbers, so the rules import nothing from Telegram;
# tests/test_architecture.py checks them against python-telegram-bot's PollLimit.
MAX_QUESTION_LENGTH: Final = 300
MAX_OPTION_LENGTH: Final = 100
MAX_OPTIONS: Final = 10
MAX_EXPLANATION_LENGTH: Final = 200


def resolve_day(spec: DaySpec, today: dt.date) -> dt.date:
    """The calendar date a day spec stands for when imported on ``today``."""
    if isinstance(spec, dt.date):
        return spec
    return today + dt.timedelta(days=spec)


def _spec_to_json(spec: DaySpec | None) -> int | str | None:
    if spec is None or isinstance(spec, int):
        return spec
    return spec.isoformat()


def _spec_from_json(value: Any) -> DaySpec | None:
    if value is None or isinstance(value, int):
        return value
    return dt.date.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class ScenarioEvent:
    kind: str
    day: DaySpec
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ScenarioBooking:
    """A booking a scenario patient arrives with (see bot.rules.bookings): its type, its day
    (an offset or a fixed date, like every scenario date), and notes (a documented reason)."""

    type: str
    day: DaySpec
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class ScenarioPatient:
    """One fictional patient as an exercise carries it (built-in or from a tutor's CSV)."""

    key: str
    name: str
    nhs_number: str
    pathway_type: str
    clock_start: DaySpec
    specialty: str | None = None
    referral_date: DaySpec | None = None
    priority: str | None = None
    consultant: str | None = None
    referral_source: str | None = None
    events: tuple[ScenarioEvent, ...] = ()
    notes: str | None = None
    expect: str | None = None
    """The engine's status on the import day (built-ins only: the answer key)."""
    bookings: tuple[ScenarioBooking, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (conversation state and the `exercises.patients` column)."""
        return {
            "key": self.key,
            "name": self.name,
            "nhs_number": self.nhs_number,
            "pathway_type": self.pathway_type,
            "clock_start": _spec_to_json(self.clock_start),
            "specialty": self.specialty,
            "referral_date": _spec_to_json(self.referral_date),
            "priority": self.priority,
            "consultant": self.consultant,
            "referral_source": self.referral_source,
            "events": [
                {"kind": e.kind, "day": _spec_to_json(e.day), "description": e.description}
                for e in self.events
            ],
            "notes": self.notes,
            "bookings": [
                {"type": b.type, "day": _spec_to_json(b.day), "notes": b.notes}
                for b in self.bookings
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScenarioPatient:
        start = _spec_from_json(data["clock_start"])
        assert start is not None
        return cls(
            key=str(data["key"]),
            name=str(data["name"]),
            nhs_number=str(data["nhs_number"]),
            pathway_type=str(data["pathway_type"]),
            clock_start=start,
            specialty=data.get("specialty"),
            referral_date=_spec_from_json(data.get("referral_date")),
            priority=data.get("priority"),
            consultant=data.get("consultant"),
            referral_source=data.get("referral_source"),
            events=tuple(
                ScenarioEvent(str(e["kind"]), _spec_from_json(e["day"]) or 0, e.get("description"))
                for e in data.get("events") or ()
            ),
            notes=data.get("notes"),
            bookings=tuple(
                ScenarioBooking(str(b["type"]), _spec_from_json(b["day"]) or 0, b.get("notes"))
                for b in data.get("bookings") or ()
            ),
        )

    def row(self, today: dt.date, *, added_by: str, tag: str) -> dict[str, Any]:
        """The `ptl_patients` column values for an import on ``today``: dates resolved,
        events in the platform's JSON shape, and the stored clock fields from the engine."""
        start = resolve_day(self.clock_start, today)
        entries: list[dict[str, Any]] = []
        for event in self.events:
            entries.append(
                event_entry(
                    event.kind,
                    resolve_day(event.day, today),
                    added_by=added_by,
                    description=event.description,
                    previous=list(entries),
                    pathway_type=self.pathway_type,
                    clock_start=start,
                    today=today,
                )
            )
        notes = f"{tag} {self.notes}" if self.notes else tag
        booked_at = dt.datetime.combine(today, dt.time(9), tzinfo=dt.UTC)
        appointments = [
            new_booking(b.type, resolve_day(b.day, today), added_by=added_by, now=booked_at,
                        notes=b.notes)
            for b in self.bookings
        ]  # fmt: skip
        status = platform_status(
            evaluate_row(self.pathway_type, start, entries, today, priority=self.priority),
            events_from_json(entries),
            decode_bookings(appointments),
        )
        return {
            "patient_name": self.name,
            "nhs_number": self.nhs_number,
            "specialty": self.specialty,
            "referral_date": (
                resolve_day(self.referral_date, today) if self.referral_date is not None else start
            ),
            "clock_start_date": start,
            "referral_source": self.referral_source,
            "pathway_type": self.pathway_type,
            "priority": self.priority,
            "consultant": self.consultant,
            "notes": notes[:4000],
            "events": entries,
            "appointments": appointments,
            **({"current_status": status} if status else {}),
            **stored_clock_fields(self.pathway_type, start, entries, today, self.priority),
            **stored_booking_columns(
                appointments, self.pathway_type, start, entries, self.priority
            ),
        }


@dataclass(frozen=True, slots=True)
class QuizQuestion:
    """A quiz question as sent to students as a Telegram quiz poll."""

    question: str
    options: tuple[str, ...]
    correct: int
    explanation: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "options": list(self.options),
            "correct": self.correct,
            "explanation": self.explanation,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuizQuestion:
        return cls(
            str(data["question"]),
            tuple(str(o) for o in data["options"]),
            int(data["correct"]),
            data.get("explanation"),
        )


class QuestionError(ValueError):
    """A typed quiz question Telegram would refuse; the message says how to fix it."""


def parse_question(text: str) -> QuizQuestion:
    """Read a question typed as lines: the question, then one option per line with the right
    answer marked ``*``, then optionally a line starting ``?`` with an explanation.

        Which patient has breached?
        Ann Example
        * Bill Example
        Cath Example
        ? Bill's clock passed day 126 last week.
    """
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    explanation = None
    body: list[str] = []
    for line in lines:
        if line.startswith("?"):
            explanation = line[1:].strip() or None
        else:
            body.append(line)
    if len(body) < 3:
        raise QuestionError(
            "I need the question on the first line and at least two answers, one per line, "
            "with the right one marked *."
        )
    question, raw_options = body[0], body[1:]
    options: list[str] = []
    correct: list[int] = []
    for i, raw in enumerate(raw_options):
        option = raw
        if option[0] in "*✅":
            correct.append(i)
            option = option[1:].strip()
        option = option.lstrip("-•").strip()
        if not option:
            raise QuestionError(f"Answer {i + 1} is empty.")
        if len(option) > MAX_OPTION_LENGTH:
            raise QuestionError(
                f"Answer {i + 1} is {len(option)} characters; Telegram allows "
                f"{MAX_OPTION_LENGTH} per answer."
            )
        options.append(option)
    if len(question) > MAX_QUESTION_LENGTH:
        raise QuestionError(
            f"The question is {len(question)} characters; Telegram allows {MAX_QUESTION_LENGTH}."
        )
    if len(options) > MAX_OPTIONS:
        raise QuestionError(f"That is {len(options)} answers; at most {MAX_OPTIONS}, please.")
    if len(correct) != 1:
        raise QuestionError(
            "Mark exactly one answer as the right one by starting its line with *"
            + (f" (I found {len(correct)})." if correct else ".")
        )
    if len(set(o.casefold() for o in options)) != len(options):
        raise QuestionError("Two answers are the same; make each one different.")
    if explanation is not None and len(explanation) > MAX_EXPLANATION_LENGTH:
        raise QuestionError(
            f"The explanation is {len(explanation)} characters; Telegram allows "
            f"{MAX_EXPLANATION_LENGTH}."
        )
    return QuizQuestion(question, tuple(options), correct[0], explanation)


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    title: str
    teaches: str
    """For the tutor: what the scenario practises."""
    answer_key: str
    """For the tutor only: what students should find."""
    patients: tuple[ScenarioPatient, ...]
    questions: tuple[QuizQuestion, ...] = field(default=())


def _nhs(scenario: str, key: str) -> str:
    """A stable, valid test-range NHS number for a built-in patient."""
    return generate_test_number(random.Random(f"ptl-scenario:{scenario}:{key}"))


def _patient(scenario: str, key: str, name: str, **kw: Any) -> ScenarioPatient:
    events = tuple(ScenarioEvent(kind, day, desc) for kind, day, desc in kw.pop("events", ()))
    bookings = tuple(ScenarioBooking(*b) for b in kw.pop("bookings", ()))
    return ScenarioPatient(key=key, name=name, nhs_number=_nhs(scenario, key), events=events,
                           bookings=bookings, **kw)  # fmt: skip


def _rtt_breach_triage() -> Scenario:
    s = "rtt_breach_triage"
    return Scenario(
        s,
        "18-week breach triage",
        "Ordering an RTT PTL by breach risk: who has breached, whose last compliant day is "
        "today, who is at risk, and a clock that stopped after the 18-week standard.",
        "Breached and still waiting: Margaret Thornbury (day 131). Last compliant day today: "
        "Oliver Bramwell (day 126). At risk: Priya Castleton (day 124, 3 days to breach) and "
        "Hamish Lowther (day 110). On track: Nkechi Arden (day 98, 29 days to breach) and "
        "Tomasz Fenwick (day 60). Stopped after the standard: Gwen Ashdown, treated on day 140 "
        "(a fact about her pathway; she is no longer waiting, so she is not one of the PTL's "
        "breaches).",
        (
            _patient(
                s,
                "A",
                "Margaret Thornbury",
                pathway_type="rtt",
                clock_start=-131,
                specialty="Trauma and Orthopaedics",
                priority="Routine",
                consultant="Mr K Adeyemi",
                referral_source="GP referral",
                events=(("activity", -100, "First outpatient appointment"),),
                expect="breached",
            ),
            _patient(
                s,
                "B",
                "Priya Castleton",
                pathway_type="rtt",
                clock_start=-124,
                specialty="Ear, Nose and Throat",
                priority="Routine",
                consultant="Ms R Osei",
                referral_source="GP referral",
                events=(
                    ("activity", -90, "First outpatient appointment"),
                    ("decision_to_treat", -20, "Listed for tonsillectomy"),
                ),
                expect="at_risk",
            ),
            _patient(
                s,
                "C",
                "Hamish Lowther",
                pathway_type="rtt",
                clock_start=-110,
                specialty="Ophthalmology",
                priority="Routine",
                consultant="Mr D Farrant",
                referral_source="Optometrist",
                expect="at_risk",
            ),
            _patient(
                s,
                "D",
                "Nkechi Arden",
                pathway_type="rtt",
                clock_start=-98,
                specialty="Dermatology",
                priority="Routine",
                consultant="Dr L Marsh",
                referral_source="GP referral",
                expect="on_track",
            ),
            _patient(
                s,
                "E",
                "Tomasz Fenwick",
                pathway_type="rtt",
                clock_start=-60,
                specialty="Gastroenterology",
                priority="Urgent",
                consultant="Dr S Iqbal",
                referral_source="GP referral",
                events=(("activity", -30, "Colonoscopy"),),
                expect="on_track",
            ),
            _patient(
                s,
                "F",
                "Gwen Ashdown",
                pathway_type="rtt",
                clock_start=-150,
                specialty="Urology",
                priority="Routine",
                consultant="Mr P Haldane",
                referral_source="GP referral",
                events=(
                    ("activity", -120, "First outpatient appointment"),
                    ("treatment_started", -10, "Admitted for TURP"),
                ),
                expect="stopped",
            ),
            _patient(
                s,
                "G",
                "Oliver Bramwell",
                pathway_type="rtt",
                clock_start=-126,
                specialty="General Surgery",
                priority="Routine",
                consultant="Ms J Pike",
                referral_source="GP referral",
                events=(("activity", -95, "First outpatient appointment"),),
                expect="at_risk",
            ),
        ),
        (
            QuizQuestion(
                "Which patient has breached 18 weeks and is still waiting?",
                ("Priya Castleton", "Margaret Thornbury", "Oliver Bramwell", "Gwen Ashdown"),
                1,
                "Margaret is on day 131: past day 126 with her clock still running.",
            ),
            QuizQuestion(
                "Whose last compliant day is today?",
                ("Oliver Bramwell", "Hamish Lowther", "Nkechi Arden"),
                0,
                "Oliver is on day 126: tomorrow (day 127) is his first breach day.",
            ),
            QuizQuestion(
                "Gwen Ashdown was treated on day 140. What does her PTL row show?",
                (
                    "Stopped within 18 weeks",
                    "Stopped after the 18-week standard",
                    "Still waiting and breached",
                ),
                1,
                "Her clock stopped on day 140, after day 126: a fact about her pathway. "
                "National RTT performance is measured on patients still waiting, so she no "
                "longer counts among the PTL's breaches.",
            ),
        ),
    )


def _dna_nullification() -> Scenario:
    s = "dna_nullification"
    return Scenario(
        s,
        "First-appointment DNA and nullification",
        "Which DNAs nullify a clock (on RTT only: the first appointment after a referral, "
        "not on an Urgent suspected cancer priority), rebooking with a new clock (code 10), "
        "a later DNA that does not nullify, and the cancer first seen adjustment.",
        "Nullified: Elsie Marchbank (DNA at first appointment). New clock after rebooking: "
        "Rhys Penhallow (day 30 of a clock started with code 10). Not nullified: Fatima "
        "Okonjo (the DNA came after an attended first appointment: the validator flags it), "
        "Dilys Fairweather (RTT with an Urgent suspected cancer priority: the clock carries "
        "on unless a clinician discharges her) and Callum Dunmore (a 28-day FDS pathway: a "
        "cancer clock is never nullified; when he rebooks, his 28 days count from the "
        "rebooking date). First seen adjustment: Maisie Tregarthen, who missed her first "
        "62-day appointment and rebooked 25 days ago (day 25). Stopped: Bryony Tate, "
        "discharged to her GP after missing a follow-up, a clinician having judged that it "
        "was not against her interests, under the trust's access policy.",
        (
            _patient(
                s,
                "A",
                "Elsie Marchbank",
                pathway_type="rtt",
                clock_start=-40,
                specialty="Cardiology",
                priority="Routine",
                consultant="Dr A Whitlock",
                referral_source="GP referral",
                events=(("dna_first_appointment", -20, "Did not attend first appointment"),),
                expect="nullified",
            ),
            _patient(
                s,
                "B",
                "Rhys Penhallow",
                pathway_type="rtt",
                clock_start=-70,
                specialty="Rheumatology",
                priority="Routine",
                consultant="Dr M Rourke",
                referral_source="GP referral",
                events=(
                    ("dna_first_appointment", -50, "Did not attend first appointment"),
                    ("new_clock", -30, "Patient contacted us to rebook"),
                ),
                expect="on_track",
            ),
            _patient(
                s,
                "C",
                "Fatima Okonjo",
                pathway_type="rtt",
                clock_start=-60,
                specialty="Neurology",
                priority="Routine",
                consultant="Dr H Sandhu",
                referral_source="GP referral",
                events=(
                    ("activity", -40, "First outpatient appointment (attended)"),
                    ("dna_first_appointment", -10, "Recorded as DNA at follow-up"),
                ),
                expect="on_track",
            ),
            _patient(
                s,
                "D",
                "Callum Dunmore",
                pathway_type="cancer_fds",
                clock_start=-20,
                specialty="Colorectal Surgery",
                priority="Urgent suspected cancer",
                consultant="Mr T Okafor",
                referral_source="GP urgent referral",
                events=(("dna_first_appointment", -10, "Did not attend first appointment"),),
                expect="on_track",
            ),
            _patient(
                s,
                "E",
                "Bryony Tate",
                pathway_type="rtt",
                clock_start=-90,
                specialty="Ear, Nose and Throat",
                priority="Routine",
                consultant="Ms R Osei",
                referral_source="GP referral",
                events=(
                    ("activity", -70, "First outpatient appointment (attended)"),
                    ("activity", -30, "Did not attend follow-up"),
                    ("discharged", -25, "Discharged to GP after clinical review (access policy)"),
                ),
                expect="stopped",
            ),
            _patient(
                s,
                "F",
                "Maisie Tregarthen",
                pathway_type="cancer_62",
                clock_start=-40,
                specialty="Gynaecology",
                priority="Urgent suspected cancer",
                consultant="Miss E Carrow",
                referral_source="GP urgent referral",
                events=(
                    ("dna_first_appointment", -30, "Did not attend first appointment"),
                    ("new_clock", -25, "Patient phoned to rebook"),
                ),
                expect="on_track",
            ),
            _patient(
                s,
                "G",
                "Dilys Fairweather",
                pathway_type="rtt",
                clock_start=-40,
                specialty="Dermatology",
                priority="Urgent suspected cancer",
                consultant="Dr L Marsh",
                referral_source="GP two-week-wait referral",
                events=(("dna_first_appointment", -20, "Did not attend first appointment"),),
                expect="on_track",
            ),
        ),
        (
            QuizQuestion(
                "Which patient's clock is nullified?",
                ("Elsie Marchbank", "Fatima Okonjo", "Callum Dunmore", "Bryony Tate"),
                0,
                "Only a DNA of the first appointment after the referral nullifies an RTT "
                "clock. Fatima's was at a follow-up, Callum is on a cancer pathway, Dilys "
                "has an Urgent suspected cancer priority.",
            ),
            QuizQuestion(
                "A patient rebooks after a nullified DNA. Which RTT code starts the new clock?",
                ("10", "11", "20", "33"),
                0,
                "Code 10 starts a new clock after a nullified first-appointment DNA.",
            ),
            QuizQuestion(
                "An urgent suspected cancer patient misses their first appointment. "
                "What happens to the 28-day clock?",
                (
                    "It is nullified",
                    "It stops",
                    "It carries on, and restarts from the date they rebook",
                ),
                2,
                "A cancer clock is never nullified by a DNA. Under the first seen adjustment "
                "the wait counts again from the date the patient contacts us to rebook.",
            ),
        ),
    )


def _active_monitoring() -> Scenario:
    s = "active_monitoring"
    return Scenario(
        s,
        "Active monitoring and a new clock",
        "Active monitoring stops an RTT clock (codes 31/32); a decision to treat later starts "
        "a new clock (code 11) from that date; a decision to treat alone does not stop a "
        "clock; on a cancer pathway active monitoring is a first treatment.",
        "Stopped by active monitoring: Leonard Quill (clinician, code 32). New clocks started "
        "by a decision to treat after active monitoring (code 11): Sunita Ravel (day 14) and "
        "Archie Pendle (day 100, at risk). Still running despite a decision to treat: Mabel "
        "Forsyth (day 50). Stopped by active monitoring as a first cancer treatment: Ffion "
        "Castell (62-day pathway, day 30, within the standard).",
        (
            _patient(
                s,
                "A",
                "Leonard Quill",
                pathway_type="rtt",
                clock_start=-80,
                specialty="Urology",
                priority="Routine",
                consultant="Mr P Haldane",
                referral_source="GP referral",
                events=(
                    ("activity", -60, "First outpatient appointment"),
                    (
                        "active_monitoring_clinician",
                        -40,
                        "Watchful waiting agreed; PSA review in 6 months",
                    ),
                ),
                expect="stopped",
            ),
            _patient(
                s,
                "B",
                "Sunita Ravel",
                pathway_type="rtt",
                clock_start=-200,
                specialty="Gynaecology",
                priority="Routine",
                consultant="Miss E Carrow",
                referral_source="GP referral",
                events=(
                    ("active_monitoring_patient", -150, "Patient chose to monitor symptoms"),
                    ("decision_to_treat", -14, "Chose treatment after active monitoring"),
                ),
                expect="on_track",
            ),
            _patient(
                s,
                "C",
                "Archie Pendle",
                pathway_type="rtt",
                clock_start=-300,
                specialty="Vascular Surgery",
                priority="Routine",
                consultant="Mr G Ibbotson",
                referral_source="GP referral",
                events=(
                    ("active_monitoring_clinician", -250, "Surveillance scans agreed"),
                    ("decision_to_treat", -100, "Aneurysm grew: decision to repair"),
                ),
                expect="at_risk",
            ),
            _patient(
                s,
                "D",
                "Mabel Forsyth",
                pathway_type="rtt",
                clock_start=-50,
                specialty="Trauma and Orthopaedics",
                priority="Routine",
                consultant="Mr K Adeyemi",
                referral_source="GP referral",
                events=(
                    ("activity", -30, "First outpatient appointment"),
                    ("decision_to_treat", -7, "Listed for knee replacement"),
                ),
                expect="on_track",
            ),
            _patient(
                s,
                "E",
                "Ffion Castell",
                pathway_type="cancer_62",
                clock_start=-50,
                specialty="Urology",
                priority="Urgent suspected cancer",
                consultant="Mr P Haldane",
                referral_source="GP urgent referral",
                events=(
                    ("activity", -40, "Biopsy"),
                    ("active_monitoring_clinician", -20, "MDT: active surveillance agreed"),
                ),
                expect="stopped",
            ),
        ),
        (
            QuizQuestion(
                "Which RTT code starts a new clock after active monitoring?",
                ("10", "11", "12", "31"),
                1,
                "Code 11 is the first activity of a new RTT period after active monitoring: "
                "here the decision to treat, which starts the new clock.",
            ),
            QuizQuestion(
                "Does a decision to treat stop an 18-week RTT clock?",
                ("Yes", "No: it carries on to treatment (30) or another clock stop"),
                1,
                "A decision to treat continues the clock (code 20) until first definitive "
                "treatment (30) or another stop, such as active monitoring (31/32). After "
                "active monitoring it starts the new clock (11).",
            ),
            QuizQuestion(
                "Archie Pendle's new clock started 100 days ago. What is his status?",
                ("On track", "At risk", "Breached"),
                1,
                "Day 100 of 126: 27 days to the first breach day, inside the 28-day window.",
            ),
            QuizQuestion(
                "Ffion Castell's 62-day cancer pathway moved to active monitoring on day 30. "
                "What happens to her 62-day clock?",
                (
                    "It carries on until treatment",
                    "It stops: active monitoring is a first treatment",
                    "It is nullified",
                ),
                1,
                "On cancer pathways active monitoring is a first treatment modality: the "
                "62-day clock stops on the date it is agreed, and is reported.",
            ),
        ),
    )


def _cancer_62_upgrade() -> Scenario:
    s = "cancer_62_upgrade"
    return Scenario(
        s,
        "62-day cancer pathway with an upgrade",
        "The 62-day standard: urgent referral to first treatment; a consultant upgrade "
        "starts the 62-day clock on the upgrade date; the 28-day Faster Diagnosis Standard "
        "runs alongside; cancer ruled out ends the 62-day pathway without it being "
        "reported; a declined admission date is a treatment adjustment.",
        "Breached: Dorothy Kilbride (day 70). At risk: Samuel Achterberg (day 57, 6 days to "
        "breach) and Winifred Sallow (FDS day 25). Upgrade: Ioan Beddoe, referred 90 days ago "
        "as routine, upgraded 20 days ago: his 62-day clock is on day 20. Treated in time: "
        "Zara Whitcombe (day 60). Ended, not reported against 62 days: Peter Lindqvist (cancer "
        "ruled out on day 30). Treatment adjustment: Gideon Marlowe, day 60 of his wait but "
        "14 days don't count (he declined an admission date), so day 46 and on track.",
        (
            _patient(
                s,
                "A",
                "Samuel Achterberg",
                pathway_type="cancer_62",
                clock_start=-57,
                specialty="Lung",
                priority="Urgent suspected cancer",
                consultant="Dr F Mallory",
                referral_source="GP urgent referral",
                events=(
                    ("activity", -50, "CT chest"),
                    ("diagnosis_communicated", -30, "Diagnosis given in clinic"),
                    ("decision_to_treat", -10, "MDT: surgery"),
                ),
                expect="at_risk",
            ),
            _patient(
                s,
                "B",
                "Ioan Beddoe",
                pathway_type="cancer_62",
                clock_start=-20,
                referral_date=-90,
                specialty="Head and Neck",
                priority="Urgent",
                consultant="Mr O Ferris",
                referral_source="GP routine referral",
                events=(("activity", -20, "Consultant upgrade after clinic findings"),),
                notes="Referred as routine; upgraded by the consultant.",
                expect="on_track",
            ),
            _patient(
                s,
                "C",
                "Dorothy Kilbride",
                pathway_type="cancer_62",
                clock_start=-70,
                specialty="Breast",
                priority="Urgent suspected cancer",
                consultant="Miss C Harrow",
                referral_source="GP urgent referral",
                events=(
                    ("activity", -60, "Triple assessment"),
                    ("decision_to_treat", -5, "MDT: surgery"),
                ),
                expect="breached",
            ),
            _patient(
                s,
                "D",
                "Zara Whitcombe",
                pathway_type="cancer_62",
                clock_start=-80,
                specialty="Skin",
                priority="Urgent suspected cancer",
                consultant="Dr L Marsh",
                referral_source="GP urgent referral",
                events=(
                    ("activity", -70, "Biopsy"),
                    ("treatment_started", -20, "Wide local excision"),
                ),
                expect="stopped",
            ),
            _patient(
                s,
                "E",
                "Winifred Sallow",
                pathway_type="cancer_fds",
                clock_start=-25,
                specialty="Upper GI",
                priority="Urgent suspected cancer",
                consultant="Dr S Iqbal",
                referral_source="GP urgent referral",
                events=(("activity", -15, "Endoscopy"),),
                expect="at_risk",
            ),
            _patient(
                s,
                "F",
                "Peter Lindqvist",
                pathway_type="cancer_62",
                clock_start=-40,
                specialty="Urology",
                priority="Urgent suspected cancer",
                consultant="Mr P Haldane",
                referral_source="GP urgent referral",
                events=(
                    ("activity", -30, "Cystoscopy"),
                    ("cancer_ruled_out", -10, "Benign: patient told in clinic"),
                ),
                expect="ended",
            ),
            _patient(
                s,
                "G",
                "Gideon Marlowe",
                pathway_type="cancer_62",
                clock_start=-60,
                specialty="Colorectal Surgery",
                priority="Urgent suspected cancer",
                consultant="Mr T Okafor",
                referral_source="GP urgent referral",
                events=(
                    ("activity", -50, "Colonoscopy"),
                    ("decision_to_treat", -30, "MDT: surgery"),
                    ("admission_offer_declined", -20, "Declined admission date: on holiday"),
                    ("patient_available", -6, "Back from holiday: available"),
                ),
                expect="on_track",
            ),
        ),
        (
            QuizQuestion(
                "Ioan Beddoe was referred 90 days ago and upgraded 20 days ago. "
                "Which day of his 62-day clock is it?",
                ("Day 90", "Day 20", "Day 62"),
                1,
                "After a consultant upgrade the 62-day clock starts on the upgrade date.",
            ),
            QuizQuestion(
                "Which patient has breached the 62-day standard?",
                ("Samuel Achterberg", "Dorothy Kilbride", "Zara Whitcombe"),
                1,
                "Dorothy is on day 70 with no treatment: past day 62.",
            ),
            QuizQuestion(
                "What stops the 28-day Faster Diagnosis Standard clock?",
                (
                    "Telling the patient their diagnosis or that cancer is ruled out",
                    "The first outpatient appointment",
                    "The decision to treat",
                ),
                0,
            ),
            QuizQuestion(
                "Gideon Marlowe declined an admission date 20 days ago and said 6 days ago "
                "that he is available again. How many days of his 62-day wait don't count?",
                ("None: cancer waits have no adjustments", "14", "20"),
                1,
                "The treatment adjustment: the days from the declined admission date to the "
                "date he is available again (14) don't count, and his breach date moves on "
                "by 14 days.",
            ),
        ),
    )


def _long_waiters() -> Scenario:
    s = "long_waiters"
    return Scenario(
        s,
        "Long waiters",
        "RTT long waits: waits of more than 52, 65, 78 and 104 weeks (from 365, 456, 547 and "
        "729 days: 546 days is exactly 78 weeks), and a long wait that has now been treated.",
        "More than 104 weeks: Harriet Voss (day 735). More than 78: Edmund Caird (day 550). "
        "More than 65: Lowri Prothero (day 460). More than 52: Gareth Mellor (day 370). "
        "Breached but not past 52 weeks: Ada Rushworth (day 300). Treated after more than 52 "
        "weeks: Kwame Asante (stopped on day 395).",
        (
            _patient(
                s,
                "A",
                "Gareth Mellor",
                pathway_type="rtt",
                clock_start=-370,
                specialty="Trauma and Orthopaedics",
                priority="Routine",
                consultant="Mr K Adeyemi",
                referral_source="GP referral",
                events=(
                    ("activity", -300, "First outpatient appointment"),
                    ("decision_to_treat", -200, "Listed for hip replacement"),
                ),
                expect="breached",
            ),
            _patient(
                s,
                "B",
                "Lowri Prothero",
                pathway_type="rtt",
                clock_start=-460,
                specialty="Plastic Surgery",
                priority="Routine",
                consultant="Ms N Varga",
                referral_source="GP referral",
                expect="breached",
            ),
            _patient(
                s,
                "C",
                "Edmund Caird",
                pathway_type="rtt",
                clock_start=-550,
                specialty="Spinal Surgery",
                priority="Routine",
                consultant="Mr B Tolland",
                referral_source="Consultant referral",
                expect="breached",
            ),
            _patient(
                s,
                "D",
                "Harriet Voss",
                pathway_type="rtt",
                clock_start=-735,
                specialty="Bariatric Surgery",
                priority="Routine",
                consultant="Mr Y Aziz",
                referral_source="GP referral",
                expect="breached",
            ),
            _patient(
                s,
                "E",
                "Ada Rushworth",
                pathway_type="rtt",
                clock_start=-300,
                specialty="Oral Surgery",
                priority="Routine",
                consultant="Mr W Lang",
                referral_source="Dentist",
                expect="breached",
            ),
            _patient(
                s,
                "F",
                "Kwame Asante",
                pathway_type="rtt",
                clock_start=-400,
                specialty="Ophthalmology",
                priority="Routine",
                consultant="Mr D Farrant",
                referral_source="Optometrist",
                events=(("treatment_started", -5, "Cataract surgery"),),
                expect="stopped",
            ),
        ),
        (
            QuizQuestion(
                "Gareth Mellor has waited 370 days. How many completed weeks is that?",
                ("52", "53", "370"),
                0,
                "Weeks waited are completed weeks: 370 // 7 = 52.",
            ),
            QuizQuestion(
                "From how many days has an RTT patient waited more than 78 weeks?",
                ("546", "547", "548"),
                1,
                "546 days is exactly 78 weeks; more than 78 weeks starts at 547 days.",
            ),
            QuizQuestion(
                "Who is the longest waiter?",
                ("Edmund Caird", "Harriet Voss", "Lowri Prothero"),
                1,
            ),
        ),
    )


def _diagnostic_six_weeks() -> Scenario:
    s = "diagnostic_six_weeks"
    return Scenario(
        s,
        "6-week diagnostic waits (DM01)",
        "The diagnostic standard: a test within 6 weeks of the request; waiting 42 days or "
        "more fails; the test being done stops the clock; a DNA or a cancellation by the "
        "patient resets the clock to that date.",
        "Breached: Nora Blackett (day 45). At risk: Felix Amadi (day 38, 4 days to breach). "
        "On track: Iris Cheng (day 12). Stopped: Dominic Yelland (MRI done on day 15). Reset "
        "by a DNA: Olwen Pryce, requested 50 days ago but on day 10 of a clock restarted on "
        "her missed appointment.",
        (
            _patient(
                s,
                "A",
                "Nora Blackett",
                pathway_type="diagnostic",
                clock_start=-45,
                specialty="Radiology (MRI)",
                priority="Routine",
                referral_source="Consultant request",
                expect="breached",
            ),
            _patient(
                s,
                "B",
                "Felix Amadi",
                pathway_type="diagnostic",
                clock_start=-38,
                specialty="Endoscopy",
                priority="Routine",
                referral_source="GP direct access",
                expect="at_risk",
            ),
            _patient(
                s,
                "C",
                "Iris Cheng",
                pathway_type="diagnostic",
                clock_start=-12,
                specialty="Audiology",
                priority="Routine",
                referral_source="GP direct access",
                expect="on_track",
            ),
            _patient(
                s,
                "D",
                "Dominic Yelland",
                pathway_type="diagnostic",
                clock_start=-30,
                specialty="Radiology (MRI)",
                priority="Urgent",
                referral_source="Consultant request",
                events=(("test_performed", -15, "MRI lumbar spine"),),
                expect="stopped",
            ),
            _patient(
                s,
                "E",
                "Olwen Pryce",
                pathway_type="diagnostic",
                clock_start=-50,
                specialty="Radiology (CT)",
                priority="Routine",
                referral_source="Consultant request",
                events=(("dna_first_appointment", -10, "Did not attend CT appointment"),),
                expect="on_track",
            ),
        ),
        (
            QuizQuestion(
                "A diagnostic test was requested 42 days ago and is not done. Has it failed "
                "the standard?",
                ("Yes: 6 weeks or more fails", "No: it fails from day 43"),
                0,
            ),
            QuizQuestion(
                "Olwen Pryce's CT was requested 50 days ago; she did not attend her "
                "appointment 10 days ago. Which day of the 6-week clock is she on?",
                ("Day 50: breached", "Day 10: the DNA reset the clock", "None: it is nullified"),
                1,
                "On DM01 a DNA, or a cancellation by the patient, resets the clock to start "
                "again from that date.",
            ),
        ),
    )


def _booking_in_turn() -> Scenario:
    s = "booking_in_turn"
    return Scenario(
        s,
        "Booking in turn",
        "Running a booking PTL: who is undated and close to breach, booking in turn (clinical "
        "priority first, then the longest wait), a date after the breach date, and an "
        "appointment with no outcome recorded.",
        "Out of turn: Winifred Ashcombe (Urology, routine, day 110) has no date while Lionel "
        "Fairweather (Urology, routine, day 40) is booked next week: book Winifred first. In "
        "turn: Ruby Kettering (Urology, urgent) is booked first on clinical priority, and "
        "Owen Pritchard (day 20, undated) is the shortest routine wait. Booked after breach: "
        "Tobias Hartnell's TCI is 3 days after his breach date: bring it forward or escalate "
        "(and note it). Outcome needed: Maeve Donnelly's follow-up 8 days ago has no outcome.",
        (
            _patient(
                s,
                "A",
                "Winifred Ashcombe",
                pathway_type="rtt",
                clock_start=-110,
                specialty="Urology",
                priority="Routine",
                consultant="Mr R Okafor",
                referral_source="GP referral",
                expect="at_risk",
            ),
            _patient(
                s,
                "B",
                "Lionel Fairweather",
                pathway_type="rtt",
                clock_start=-40,
                specialty="Urology",
                priority="Routine",
                consultant="Mr R Okafor",
                referral_source="GP referral",
                bookings=(("first_appointment", 7),),
                expect="on_track",
            ),
            _patient(
                s,
                "C",
                "Ruby Kettering",
                pathway_type="rtt",
                clock_start=-30,
                specialty="Urology",
                priority="Urgent",
                consultant="Mr R Okafor",
                referral_source="GP referral",
                bookings=(("first_appointment", 3),),
                expect="on_track",
            ),
            _patient(
                s,
                "D",
                "Owen Pritchard",
                pathway_type="rtt",
                clock_start=-20,
                specialty="Urology",
                priority="Routine",
                consultant="Mr R Okafor",
                referral_source="GP referral",
                expect="on_track",
            ),
            _patient(
                s,
                "E",
                "Tobias Hartnell",
                pathway_type="rtt",
                clock_start=-100,
                specialty="Trauma and Orthopaedics",
                priority="Routine",
                consultant="Ms J Lindqvist",
                referral_source="GP referral",
                events=(
                    ("activity", -80, "Orthopaedic clinic"),
                    ("decision_to_treat", -60, "Listed for knee arthroscopy"),
                ),
                bookings=(("admission_day_case", 30),),
                expect="at_risk",
            ),
            _patient(
                s,
                "F",
                "Maeve Donnelly",
                pathway_type="rtt",
                clock_start=-60,
                specialty="Ear, Nose and Throat",
                priority="Routine",
                consultant="Dr S Mahmood",
                referral_source="GP referral",
                events=(("activity", -30, "ENT clinic: hearing test ordered"),),
                bookings=(("follow_up", -8),),
                expect="on_track",
            ),
        ),
        (
            QuizQuestion(
                "Urology, routine: Winifred (day 110, no date), Lionel (day 40, booked next "
                "week) and Owen (day 20, no date). Who should have been booked first?",
                ("Winifred", "Lionel", "Owen"),
                0,
                "Book in turn: clinical priority first, then the longest wait. Winifred has "
                "waited longest at the same priority.",
            ),
            QuizQuestion(
                "Tobias's TCI is 3 days after his breach date. What should you do?",
                (
                    "Bring it forward, or escalate and note it",
                    "Nothing: he has a date",
                    "Pause his clock until the TCI",
                ),
                0,
                "A date after the breach date means the patient will breach. There are no "
                "pauses: bring the date forward or escalate, and record that you did.",
            ),
            QuizQuestion(
                "Maeve's follow-up was 8 days ago and no outcome is recorded. Why chase it?",
                (
                    "Until it is, the PTL can't show a DNA, a treatment or a rebooking",
                    "Outcomes only matter for cancer pathways",
                    "It stops her clock automatically",
                ),
                0,
            ),
        ),
    )


SCENARIOS: Final[Mapping[str, Scenario]] = {
    sc.key: sc
    for sc in (
        _rtt_breach_triage(),
        _dna_nullification(),
        _active_monitoring(),
        _cancer_62_upgrade(),
        _long_waiters(),
        _diagnostic_six_weeks(),
        _booking_in_turn(),
    )
}


def validate_scenario_data(patients: Sequence[ScenarioPatient]) -> None:
    """Raise ValueError for a patient the engine could not read (used by tests and imports)."""
    for p in patients:
        if p.pathway_type not in PATHWAY_TYPES:
            raise ValueError(f"{p.key}: unknown pathway type {p.pathway_type!r}")
        for e in p.events:
            if e.kind not in EVENT_KINDS:
                raise ValueError(f"{p.key}: unknown event kind {e.kind!r}")
        for b in p.bookings:
            if b.type not in BOOKING_TYPES:
                raise ValueError(f"{p.key}: unknown booking type {b.type!r}")
