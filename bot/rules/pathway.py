"""The PTL rules engine: one pure function that turns a pathway into a clock.

Everything in the bot that shows, stores, sorts or reminds about a wait calls
:func:`evaluate` and never re-derives a clock itself. A training tool that computes
the wrong clock teaches the wrong job, so the rules live in exactly one place and follow
``shared/domain/PTL_RULES.md`` (the contract, revision 2) to the letter:

* five pathway types (``rtt``, ``cancer_fds``, ``cancer_62``, ``cancer_31``,
  ``diagnostic``), plus legacy values that map on read (``2ww`` -> ``cancer_fds``...);
* days are calendar days, never "+1"; the first breach day is start + target + 1;
* RTT has no pauses (removed on 1 Oct 2015); cancer waits have exactly two adjustments
  (first seen after a DNA, and a declined admitted treatment date); a DM01 clock resets
  after a DNA or a patient cancellation;
* an RTT first-appointment DNA nullifies only the first appointment after a referral;
* cancer clocks can *end* without being reported (cancer ruled out on 62 days, no
  treatment, discharge, death): status ``ended``, never a breach;
* events are applied in date order (same date: recorded order); an event that does not
  apply changes nothing and is listed in :attr:`ClockState.ignored`, and an applied event
  whose effect needs explaining (a DNA that did not nullify) in :attr:`ClockState.notes`,
  so the pathway validator can explain both without re-implementing any clock logic.

This module is deliberately pure: no I/O, no Telegram, no database, no "today" of its
own. Callers pass ``today`` from the one injectable clock (:mod:`bot.rules.clock`), which
is the date in the configured timezone (Europe/London by default), so tests and the
console can fix the date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from bot.rules.frozen import fast_builder

__all__ = [
    "DATED_AHEAD_KINDS",
    "DEFAULT_AT_RISK_DAYS",
    "EVENT_KINDS",
    "LEGACY_PATHWAY_TYPES",
    "LONG_WAIT_THRESHOLDS",
    "PATHWAY_TYPES",
    "PAUSES_OVERVIEW",
    "PAUSE_EXPLANATIONS",
    "PLATFORM_ONLY_KINDS",
    "STATUSES",
    "ClockState",
    "Event",
    "EventKind",
    "EventNote",
    "IgnoredEvent",
    "PathwayType",
    "WaitBand",
    "band_edge_label",
    "canonical_pathway_type",
    "effect_of",
    "evaluate",
    "is_urgent_suspected_cancer",
    "kinds_offered",
    "ordering_key",
    "pause_explanation",
    "rtt_band",
    "rtt_code_for",
    "wait_band",
]

# ---------------------------------------------------------------------------
# Reference data: the one source of truth for labels, codes and targets.
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PathwayType:
    """A waiting-time standard: what a student picks when adding a patient."""

    key: str
    label: str
    explanation: str
    target_days: int
    """Last compliant day is clock start + ``target_days``; the next day is a breach."""
    at_risk_days: int
    """Local convention: a running clock this close to its breach day is "at risk"."""


PATHWAY_TYPES: Final[Mapping[str, PathwayType]] = {
    "rtt": PathwayType(
        "rtt",
        "18-week RTT",
        "18-week RTT: referral to treatment; the clock starts when the hospital "
        "receives the referral and the patient should be treated within 126 days.",
        126,
        28,
    ),
    "cancer_fds": PathwayType(
        "cancer_fds",
        "Cancer 28-day Faster Diagnosis Standard",
        "28-day FDS: an urgent suspected cancer referral should have cancer diagnosed "
        "or ruled out, and the patient told, within 28 days.",
        28,
        7,
    ),
    "cancer_62": PathwayType(
        "cancer_62",
        "Cancer 62-day referral to treatment",
        "62-day cancer: from urgent referral (or consultant upgrade) to first "
        "treatment within 62 days.",
        62,
        7,
    ),
    "cancer_31": PathwayType(
        "cancer_31",
        "Cancer 31-day decision to treat to treatment",
        "31-day cancer: from the decision to treat (or the earliest clinically appropriate "
        "date) to the start of treatment, first or subsequent, within 31 days.",
        31,
        7,
    ),
    "diagnostic": PathwayType(
        "diagnostic",
        "6-week diagnostic (DM01)",
        "6-week diagnostic: a requested test should be done within 6 weeks; waiting "
        "6 weeks or more (42 days) fails the standard.",
        41,
        7,
    ),
}

LEGACY_PATHWAY_TYPES: Final[Mapping[str, str]] = {
    # Priority was once stored as the pathway type; priority never changes a clock.
    "routine": "rtt",
    "urgent": "rtt",
    # The two-week-wait standard was replaced by the 28-day FDS in October 2023.
    "2ww": "cancer_fds",
    "62day": "cancer_62",
    "31day": "cancer_31",
}

DEFAULT_AT_RISK_DAYS: Final[Mapping[str, int]] = {
    key: p.at_risk_days for key, p in PATHWAY_TYPES.items()
}

LONG_WAIT_THRESHOLDS: Final[tuple[tuple[int, int], ...]] = (
    # (days, weeks), highest first: more than 104 weeks from 729 days, and so on (RTT
    # only). 546 days is exactly 78 weeks, so "more than 78 weeks" starts at 547.
    (729, 104),
    (547, 78),
    (456, 65),
    (365, 52),
)

# What a student is told when they ask to "pause" a clock: the rule of the pathway in
# front of them, and why the others don't apply (PTL_RULES.md, Counting).
_RTT_NO_PAUSES: Final = (
    "An RTT clock can't be paused: patient-initiated pauses were removed from the RTT "
    "rules on 1 October 2015. If the patient or the hospital cancels, the clock keeps "
    "running: rebook the patient and keep the original clock start. If a patient declines "
    "two reasonable offers, the route is a clinical review (active monitoring, or "
    "discharge back to the GP), not a pause."
)
_CANCER_TWO: Final = (
    "Cancer waits can't be paused either, but they have exactly two adjustments: the "
    "first seen adjustment (on the 28-day and 62-day standards, after a DNA of the first "
    "appointment the clock restarts from the date the patient contacts us to rebook) and "
    "the treatment adjustment (on the 62-day and 31-day standards, when the patient "
    "declines a reasonable offer of an admitted treatment date, the days until they are "
    "available again don't count)."
)
PAUSE_EXPLANATIONS: Final[Mapping[str, str]] = {
    "rtt": _RTT_NO_PAUSES,
    "cancer_fds": (
        "A 28-day Faster Diagnosis clock can't be paused. Cancer waits have exactly two "
        "adjustments, and only one applies here: if the patient does not attend (DNA) "
        "their first appointment, record a New clock start on the date they contact us "
        "to rebook, and the 28 days count from then (first seen adjustment). The "
        "treatment adjustment (a declined admission date) is for the 62-day and 31-day "
        "standards, not this one. A cancellation keeps the clock running: rebook quickly."
    ),
    "cancer_62": (
        "A 62-day cancer clock can't be paused, but it has exactly two adjustments: if "
        "the patient does not attend (DNA) their first appointment, record a New clock "
        "start on the date they contact us to rebook (first seen adjustment); if they "
        "decline a reasonable offer of an admitted (inpatient or day case) treatment "
        "date, record Admission date declined and then Patient available again, and the "
        "days in between don't count (treatment adjustment). Nothing else stops the "
        "count: a cancellation keeps the clock running."
    ),
    "cancer_31": (
        "A 31-day cancer clock can't be paused. Of the two cancer adjustments only the "
        "treatment adjustment applies here: if the patient declines a reasonable offer of "
        "an admitted (inpatient or day case) treatment date, record Admission date "
        "declined and then Patient available again, and the days in between don't "
        "count. The first seen adjustment (after a first-appointment DNA) belongs to the "
        "28-day and 62-day standards. A cancellation keeps the clock running."
    ),
    "diagnostic": (
        "A 6-week diagnostic (DM01) clock can't be paused, but it resets: if the patient "
        "does not attend (DNA) the test appointment, or cancels it, the clock starts "
        "again from that date. A cancellation by the hospital never resets it. The cancer "
        "adjustments and RTT's rules don't apply to DM01 waits."
    ),
}
PAUSES_OVERVIEW: Final = (
    f"{_RTT_NO_PAUSES} {_CANCER_TWO} A 6-week diagnostic (DM01) clock resets instead: "
    "after a DNA or a cancellation by the patient it starts again from that date."
)


def pause_explanation(pathway_type: str | None) -> str:
    """Why the clock in front of the student can't be paused, and what applies instead
    (the overview of every pathway when there is no pathway in front of them)."""
    if pathway_type is None:
        return PAUSES_OVERVIEW
    try:
        return PAUSE_EXPLANATIONS[canonical_pathway_type(pathway_type)]
    except ValueError:
        return PAUSES_OVERVIEW


@dataclass(frozen=True, slots=True)
class EventKind:
    """An event a student can record, with the RTT status code a PAS would show.

    ``meaning`` says what the event does in general; ``meanings`` overrides it for the
    pathway types where it does something different, so a student always reads the rule
    of the pathway in front of them (:meth:`meaning_for`). ``offered_on`` lists the pathway
    types where /update offers it (empty: read from platform rows only).
    """

    key: str
    rtt_code: int
    label: str
    meaning: str
    meanings: Mapping[str, str] = field(default_factory=dict)
    offered_on: tuple[str, ...] = ()

    def meaning_for(self, pathway_type: str | None) -> str:
        if pathway_type is None:
            return self.meaning
        return self.meanings.get(pathway_type, self.meaning)


_ALL: Final = ("rtt", "cancer_fds", "cancer_62", "cancer_31", "diagnostic")
_CANCER: Final = ("cancer_fds", "cancer_62", "cancer_31")
_TREATED: Final = ("rtt", "cancer_62", "cancer_31")
_ENDS_CANCER: Final = (
    "This ends the pathway: it is not reported against the standard and is never a breach."
)

EVENT_KINDS: Final[Mapping[str, EventKind]] = {
    k.key: k
    for k in (
        EventKind(
            "activity",
            20,
            "Appointment or test attended",
            "The patient attended an appointment or had a test that doesn't stop the "
            "clock: the wait goes on.",
            offered_on=_ALL,
        ),
        EventKind(
            "decision_to_treat",
            20,
            "Decision to treat",
            "The clinician and patient agree treatment; the clock keeps running until "
            "treatment starts.",
            {
                "rtt": "The clinician and patient agree treatment. The RTT clock keeps "
                "running until treatment starts; after a period of active monitoring, the "
                "decision to treat starts a new clock (code 11) on this date.",
                "cancer_62": "The clinician and patient agree treatment: the 62-day clock "
                "keeps running until the first treatment starts.",
                "cancer_31": "The 31-day clock starts on the decision to treat (or the "
                "earliest clinically appropriate date): enter that date as the clock start.",
            },
            offered_on=("rtt", "cancer_62"),
        ),
        EventKind(
            "diagnosis_communicated",
            20,
            "Diagnosis given to the patient",
            "The patient is told their diagnosis: only a 28-day Faster Diagnosis clock "
            "stops on this.",
            {
                "cancer_fds": "The patient is told they have cancer: this stops the 28-day "
                "Faster Diagnosis clock (reported).",
                "cancer_62": "The patient is told they have cancer: the 62-day clock keeps "
                "running until the first treatment.",
            },
            offered_on=("cancer_fds", "cancer_62"),
        ),
        EventKind(
            "cancer_ruled_out",
            20,
            "Cancer ruled out, patient told",
            "Cancer is excluded and the patient told.",
            {
                "cancer_fds": "Cancer is excluded and the patient told: this stops the "
                "28-day Faster Diagnosis clock (reported).",
                "cancer_62": "Cancer is excluded and the patient told: the 62-day pathway "
                f"ends. {_ENDS_CANCER}",
            },
            offered_on=("cancer_fds", "cancer_62"),
        ),
        EventKind(
            "test_performed",
            20,
            "Diagnostic test done",
            "A test is done; only a 6-week diagnostic clock stops on this.",
            {
                "diagnostic": "The requested test is done: this stops the 6-week "
                "diagnostic (DM01) clock.",
            },
            offered_on=("diagnostic",),
        ),
        EventKind(
            "transfer_out",
            21,
            "Transferred to another provider",
            "The patient leaves this PTL; the clock carries on at the new provider with "
            "the original start date.",
            offered_on=_ALL,
        ),
        EventKind(
            "treatment_started",
            30,
            "Treatment started",
            "Treatment starts; it stops the RTT, 62-day and 31-day clocks.",
            {
                "rtt": "First definitive treatment starts (admitted: the admission date; "
                "outpatient: the appointment where treatment starts): this stops the RTT "
                "clock.",
                "cancer_62": "The first treatment starts: this stops the 62-day clock (reported).",
                "cancer_31": "The treatment starts, first or subsequent: this stops the "
                "31-day clock (reported).",
                "cancer_fds": "Treatment doesn't stop a 28-day Faster Diagnosis clock: that "
                "stops when the diagnosis is given or cancer is ruled out.",
                "diagnostic": "Treatment doesn't stop a diagnostic clock: that stops when "
                "the test is done.",
            },
            offered_on=_TREATED,
        ),
        EventKind(
            "active_monitoring_patient",
            31,
            "Active monitoring (patient's choice)",
            "The patient chooses to be monitored rather than treated for now.",
            {
                "rtt": "The patient chooses to be monitored rather than treated for now: "
                "this stops the RTT clock. If they later decide on treatment, record the "
                "decision to treat: it starts a new clock.",
                "cancer_62": "Active monitoring is a first treatment on cancer pathways: "
                "this stops the 62-day clock (reported) from the date it is agreed.",
                "cancer_31": "Active monitoring is a treatment on cancer pathways: this "
                "stops the 31-day clock (reported) from the date it is agreed.",
                "cancer_fds": "Active monitoring doesn't stop a 28-day Faster Diagnosis "
                "clock: that stops when the diagnosis is given or cancer is ruled out.",
                "diagnostic": "Active monitoring doesn't stop a diagnostic clock: that "
                "stops when the test is done.",
            },
            offered_on=_TREATED,
        ),
        EventKind(
            "active_monitoring_clinician",
            32,
            "Active monitoring (clinician's decision)",
            "The clinician decides to monitor without treatment for now.",
            {
                "rtt": "The clinician decides to monitor without treatment for now: this "
                "stops the RTT clock. If treatment is decided later, record the decision "
                "to treat: it starts a new clock.",
                "cancer_62": "Active monitoring is a first treatment on cancer pathways: "
                "this stops the 62-day clock (reported) from the date it is agreed.",
                "cancer_31": "Active monitoring is a treatment on cancer pathways: this "
                "stops the 31-day clock (reported) from the date it is agreed.",
                "cancer_fds": "Active monitoring doesn't stop a 28-day Faster Diagnosis "
                "clock: that stops when the diagnosis is given or cancer is ruled out.",
                "diagnostic": "Active monitoring doesn't stop a diagnostic clock: that "
                "stops when the test is done.",
            },
            offered_on=_TREATED,
        ),
        EventKind(
            "dna_first_appointment",
            33,
            "Did not attend (DNA)",
            "The patient did not attend an appointment.",
            {
                "rtt": "A DNA of the first appointment after the referral nullifies the RTT "
                "clock (the wait doesn't count), provided the date was clearly "
                "communicated to the patient. A DNA of any later appointment doesn't: the "
                "clock keeps running. On an Urgent suspected cancer priority the clock "
                "keeps running too, unless a clinician decides to discharge the patient "
                "to their GP.",
                "cancer_fds": "A DNA of the first appointment doesn't stop the clock. When "
                "the patient contacts us to rebook, record a New clock start on that date: "
                "the 28 days count from then (first seen adjustment).",
                "cancer_62": "A DNA of the first appointment doesn't stop the clock. When "
                "the patient contacts us to rebook, record a New clock start on that date: "
                "the 62 days count from then (first seen adjustment).",
                "cancer_31": "A DNA doesn't stop or adjust a 31-day clock: rebook quickly.",
                "diagnostic": "A DNA of the test appointment resets the 6-week (DM01) "
                "clock: it starts again from the date of the missed appointment.",
            },
            offered_on=_ALL,
        ),
        EventKind(
            "patient_cancelled",
            20,
            "Patient cancelled an appointment",
            "The patient cancelled: the clock keeps running, so rebook quickly. A "
            "cancellation by the hospital never stops, pauses or resets a clock.",
            {
                "rtt": "The patient cancelled: the RTT clock keeps running (there are no "
                "pauses), so rebook the patient. Declining a date is not declining "
                "treatment.",
                "diagnostic": "A cancellation by the patient resets the 6-week (DM01) "
                "clock: it starts again from the date they cancelled. (A cancellation by "
                "the hospital never does.)",
            },
            offered_on=_ALL,
        ),
        EventKind(
            "admission_offer_declined",
            20,
            "Admission date declined",
            "The patient declined an offered admission date.",
            {
                "rtt": "RTT has no pauses: the clock keeps running. After two declined "
                "reasonable offers, the route is a clinical review, not a pause.",
                "cancer_62": "The patient declined a reasonable offer of an admitted "
                "(inpatient or day case) treatment date: the 62-day clock stops counting "
                "from the declined date until the patient is available again (treatment "
                "adjustment).",
                "cancer_31": "The patient declined a reasonable offer of an admitted "
                "(inpatient or day case) treatment date: the 31-day clock stops counting "
                "from the declined date until the patient is available again (treatment "
                "adjustment).",
            },
            offered_on=("cancer_62", "cancer_31"),
        ),
        EventKind(
            "patient_available",
            20,
            "Patient available again",
            "The patient says they are available for treatment again.",
            {
                "cancer_62": "Ends the treatment adjustment: the clock counts again from "
                "this date, and the breach date moves on by the days adjusted.",
                "cancer_31": "Ends the treatment adjustment: the clock counts again from "
                "this date, and the breach date moves on by the days adjusted.",
            },
            offered_on=("cancer_62", "cancer_31"),
        ),
        EventKind(
            "decision_not_to_treat",
            34,
            "Decision not to treat",
            "The clinician decides no treatment is needed.",
            {
                "rtt": "The clinician decides no treatment is needed (or none the patient "
                "wants): this stops the RTT clock.",
                "cancer_62": f"The clinician decides not to treat. {_ENDS_CANCER}",
                "cancer_31": f"The clinician decides not to treat. {_ENDS_CANCER}",
            },
            offered_on=_TREATED,
        ),
        EventKind(
            "discharged",
            34,
            "Discharged",
            f"The patient is discharged. {_ENDS_CANCER}",
            {
                "rtt": "The patient is discharged, for example back to the GP: this stops "
                "the RTT clock. After a DNA of a later appointment, discharge needs a "
                "clinician's judgement that it is not against the patient's interests, "
                "under the trust's published access policy.",
            },
            offered_on=_ALL,
        ),
        EventKind(
            "declined_treatment",
            35,
            "Declined all treatment",
            "The patient declines all treatment offered.",
            {
                "rtt": "The patient declines all treatment offered: this stops the RTT "
                "clock. Declining a date is not this: record Patient cancelled and rebook.",
                "cancer_62": "The patient declines all treatment offered. "
                f"{_ENDS_CANCER} Declining an admission date is not this: record "
                "Admission date declined.",
                "cancer_31": "The patient declines all treatment offered. "
                f"{_ENDS_CANCER} Declining an admission date is not this: record "
                "Admission date declined.",
            },
            offered_on=_TREATED,
        ),
        EventKind(
            "died",
            36,
            "Patient died",
            f"The patient died before treatment. {_ENDS_CANCER}",
            {"rtt": "The patient died before treatment: this stops the RTT clock."},
            offered_on=_ALL,
        ),
        EventKind(
            "new_clock",
            10,
            "New clock start",
            "A new waiting period (a new referral) starts on this date, once no clock is running.",
            {
                "rtt": "A new waiting period starts on this date, once no clock is running: "
                "the patient rebooks after a nullified DNA or is re-referred; is fit and "
                "ready for the second side of a bilateral procedure; or needs a "
                "substantively new treatment. After active monitoring, record the decision "
                "to treat instead: that starts the new clock (code 11).",
                "cancer_fds": "After a DNA of the first appointment, record this on the "
                "date the patient contacts us to rebook: the 28 days count from then "
                "(first seen adjustment). Otherwise, a new referral starts a new clock "
                "once none is running.",
                "cancer_62": "After a DNA of the first appointment, record this on the "
                "date the patient contacts us to rebook: the 62 days count from then "
                "(first seen adjustment). Otherwise, a new referral starts a new clock "
                "once none is running.",
            },
            offered_on=_ALL,
        ),
        # Read from platform rows only (their RTT code, no engine kind): kept and shown in
        # the history, never offered in /update.
        EventKind(
            "first_activity",
            10,
            "First activity of an RTT period",
            "The first activity of a waiting period, as a PAS records it: a new clock "
            "starts on this date if none is running; otherwise the clock carries on.",
        ),
        EventKind(
            "separate_pathway",
            12,
            "Referred on for a separate condition",
            "This starts a separate pathway for another condition: this clock is unchanged.",
        ),
        EventKind(
            "after_treatment",
            90,
            "After treatment",
            "Activity after first definitive treatment: off the clock.",
        ),
        EventKind(
            "during_active_monitoring",
            91,
            "During active monitoring",
            "Activity while the patient is on active monitoring: no clock is running.",
        ),
        EventKind(
            "not_yet_referred",
            92,
            "Not yet referred for treatment",
            "The patient is not yet on a consultant-led pathway (for example, diagnostics "
            "requested by the GP): no effect on this clock.",
        ),
        EventKind(
            "not_applicable",
            98,
            "Not applicable to RTT",
            "Activity outside the RTT rules: no effect on the clock.",
        ),
        EventKind(
            "status_unknown",
            99,
            "RTT status not yet known",
            "The RTT status of this activity wasn't recorded: find out what happened and "
            "record it, because the clock may have stopped.",
        ),
    )
}

PLATFORM_ONLY_KINDS: Final = frozenset(k for k, v in EVENT_KINDS.items() if not v.offered_on)
"""Kinds read from platform rows (codes 10, 12, 90-99) that a student never picks."""

DATED_AHEAD_KINDS: Final = frozenset({"admission_offer_declined", "patient_available"})
"""Kinds dated by rule on a day that may still be ahead when they are recorded: the declined
admission date a treatment adjustment runs from (a patient turns down next week's TCI today),
and the day the patient said they are available again. Until that day comes the engine
ignores them (``in_future``) and the clock counts as before; from it, they apply."""


def kinds_offered(pathway_type: str) -> list[str]:
    """The event kinds /update offers on this pathway type, in table order."""
    ptype = canonical_pathway_type(pathway_type)
    return [k for k, v in EVENT_KINDS.items() if ptype in v.offered_on]


Status = Literal["breached", "at_risk", "on_track", "stopped", "ended", "nullified", "transferred"]

STATUSES: Final[Mapping[str, str]] = {
    "breached": "Breached",
    "at_risk": "At risk",
    "on_track": "On track",
    "stopped": "Clock stopped",
    "ended": "Ended, not reported",
    "nullified": "Nullified (first-appointment DNA)",
    "transferred": "Transferred out",
}

# Effects of an event on a clock of a given pathway type (PTL_RULES.md, Events).
_ATTEND: Final = 0
"""The clock continues, and the patient was seen (a later DNA is not a first appointment)."""
_CONTINUE: Final = 1
"""The clock continues (a cancellation, a declined date on RTT...)."""
_NOTHING: Final = 2
"""History only (platform codes 12, 90-99): applies whether or not a clock runs."""
_STOP: Final = 3
"""A reported stop."""
_END: Final = 4
"""The clock ends without a reported stop (status ``ended``)."""
_NULLIFY: Final = 5
"""RTT DNA: nullifies when it is the first appointment after a referral."""
_FIRST_SEEN: Final = 6
"""Cancer FDS / 62-day DNA of the first appointment: a following new_clock resets the start."""
_RESET: Final = 7
"""DM01: the clock starts again from this date."""
_ADJ_OPEN: Final = 8
_ADJ_CLOSE: Final = 9
_TRANSFER: Final = 10
_NEW_CLOCK: Final = 11
_DTT_RTT: Final = 12
"""RTT decision to treat: seen; after an active-monitoring stop, starts a new clock (code 11)."""
_FIRST_ACTIVITY: Final = 13
"""Platform code 10/11: a new clock when none runs, otherwise nothing."""

_EFFECT_NAMES: Final[Mapping[int, str]] = {
    _ATTEND: "continues",
    _CONTINUE: "continues",
    _NOTHING: "continues",
    _STOP: "stops",
    _END: "ends",
    _NULLIFY: "nullifies",
    _FIRST_SEEN: "continues",
    _RESET: "resets",
    _ADJ_OPEN: "adjusts",
    _ADJ_CLOSE: "resumes",
    _TRANSFER: "transfers",
    _NEW_CLOCK: "starts",
    _DTT_RTT: "continues",
    _FIRST_ACTIVITY: "continues",
}

# The contract's table, one row per kind: (rtt, cancer_fds, cancer_62, cancer_31, diagnostic).
_A, _C, _S, _E = _ATTEND, _CONTINUE, _STOP, _END
_TABLE: Final[Mapping[str, tuple[int, int, int, int, int]]] = {
    "activity": (_A, _A, _A, _A, _A),
    "decision_to_treat": (_DTT_RTT, _A, _A, _A, _A),
    "diagnosis_communicated": (_A, _S, _A, _A, _A),
    "cancer_ruled_out": (_A, _S, _E, _A, _A),
    "test_performed": (_A, _A, _A, _A, _S),
    "transfer_out": (_TRANSFER,) * 5,
    "treatment_started": (_S, _A, _S, _S, _A),
    "active_monitoring_patient": (_S, _A, _S, _S, _A),
    "active_monitoring_clinician": (_S, _A, _S, _S, _A),
    "dna_first_appointment": (_NULLIFY, _FIRST_SEEN, _FIRST_SEEN, _C, _RESET),
    "patient_cancelled": (_C, _C, _C, _C, _RESET),
    "admission_offer_declined": (_C, _C, _ADJ_OPEN, _ADJ_OPEN, _C),
    "patient_available": (_C, _C, _ADJ_CLOSE, _ADJ_CLOSE, _C),
    "decision_not_to_treat": (_S, _A, _E, _E, _A),
    "discharged": (_S, _E, _E, _E, _E),
    "declined_treatment": (_S, _C, _E, _E, _C),
    "died": (_S, _E, _E, _E, _E),
    "new_clock": (_NEW_CLOCK,) * 5,
    "first_activity": (_FIRST_ACTIVITY,) * 5,
    "separate_pathway": (_NOTHING,) * 5,
    "after_treatment": (_NOTHING,) * 5,
    "during_active_monitoring": (_NOTHING,) * 5,
    "not_yet_referred": (_NOTHING,) * 5,
    "not_applicable": (_NOTHING,) * 5,
    "status_unknown": (_NOTHING,) * 5,
}
del _A, _C, _S, _E
assert set(_TABLE) == set(EVENT_KINDS)

_EFFECTS: Final[Mapping[str, Mapping[str, int]]] = {
    ptype: {kind: row[i] for kind, row in _TABLE.items()} for i, ptype in enumerate(_ALL)
}
_CODES: Final[Mapping[str, int]] = {k: v.rtt_code for k, v in EVENT_KINDS.items()}
_TARGETS: Final[Mapping[str, int]] = {k: v.target_days for k, v in PATHWAY_TYPES.items()}
_BREACH_OFFSETS: Final[Mapping[str, dt.timedelta]] = {
    k: dt.timedelta(days=v.target_days + 1) for k, v in PATHWAY_TYPES.items()
}
_TYPE_LOOKUP: Final[Mapping[str, str]] = {
    **{k: k for k in PATHWAY_TYPES},
    **LEGACY_PATHWAY_TYPES,
}
_ACTIVE_MONITORING: Final = frozenset({"active_monitoring_patient", "active_monitoring_clinician"})
_NOT_A_REFERRAL: Final = frozenset({"treatment_started", *_ACTIVE_MONITORING})
"""A new clock after these follows a treatment, not a referral: its first DNA can't nullify."""
_USC_PRIORITIES: Final = frozenset(
    {"urgent suspected cancer", "usc", "2ww", "two week wait", "suspected cancer"}
)


def is_urgent_suspected_cancer(priority: str | None) -> bool:
    """True for an *Urgent suspected cancer* priority (a two-week-wait priority referral),
    however a platform row spells it: the one priority that changes a rule (RTT DNAs)."""
    if not priority:
        return False
    return " ".join(str(priority).replace("-", " ").lower().split()) in _USC_PRIORITIES


def canonical_pathway_type(value: str) -> str:
    """Return the canonical key for a pathway type, mapping legacy values on read.

    Existing platform rows may say ``routine``, ``urgent``, ``2ww``, ``62day`` or
    ``31day``; they are read as ``rtt``, ``rtt``, ``cancer_fds``, ``cancer_62`` and
    ``cancer_31`` so that old data gets today's rules. Case and surrounding spaces are
    forgiven because rows were typed by people.
    """
    found = _TYPE_LOOKUP.get(value)
    if found is not None:
        return found
    if isinstance(value, str):
        found = _TYPE_LOOKUP.get(value.strip().lower())
        if found is not None:
            return found
    known = ", ".join([*PATHWAY_TYPES, *LEGACY_PATHWAY_TYPES])
    raise ValueError(f"Unknown pathway type {value!r}; expected one of: {known}.")


def effect_of(kind: str, pathway_type: str) -> str:
    """Say what an event does, by the contract's table, to a clock of this type:
    "continues", "stops", "ends" (not reported), "nullifies", "resets", "adjusts" (a
    treatment adjustment opens), "resumes" (it closes), "transfers" or "starts".

    This is the table's general answer; what an event does to one patient's clock today
    (a DNA after an attended appointment continues, say) is :func:`evaluate`'s answer for
    that pathway with the event added.
    """
    ptype = canonical_pathway_type(pathway_type)
    try:
        return _EFFECT_NAMES[_EFFECTS[ptype][kind]]
    except KeyError:
        raise ValueError(_unknown_kind_message(kind)) from None


def rtt_code_for(kind: str, previous_stop: str | None = None, pathway_type: str = "rtt") -> int:
    """The RTT status code a PAS would record for an event.

    Only a clock start depends on context: a ``new_clock`` is 11 when the previous clock
    ended in active monitoring and 10 otherwise (after a nullified DNA, a new referral...);
    on an RTT pathway a ``decision_to_treat`` after active monitoring starts the new clock,
    so it is 11 too. ``previous_stop`` is the kind of the event that ended the previous
    clock (``None`` while a clock runs).
    """
    try:
        code = _CODES[kind]
    except KeyError:
        raise ValueError(_unknown_kind_message(kind)) from None
    if previous_stop in _ACTIVE_MONITORING and (
        kind in ("new_clock", "first_activity")
        or (kind == "decision_to_treat" and _TYPE_LOOKUP.get(pathway_type) == "rtt")
    ):
        return 11
    return code


def _unknown_kind_message(kind: object) -> str:
    return f"Unknown event kind {kind!r}; expected one of: {', '.join(EVENT_KINDS)}."


_BANDS: Final[list[str]] = [f"{w - 1}-{w} weeks" for w in range(0, 1001)]


def rtt_band(days: int) -> str:
    """The RTT reporting band of a wait, e.g. "17-18 weeks" for 126 days.

    RTT waits are reported as "over W-1 up to W weeks" with W = max(1, ceil(days / 7)),
    which is why 126 days is still in the 17-18 band and 127 days is 18-19.
    """
    w = max(1, -(-days // 7))
    return _BANDS[w] if w < len(_BANDS) else f"{w - 1}-{w} weeks"


@dataclass(frozen=True, slots=True)
class WaitBand:
    """A 7-day reporting band of a wait, placed so that a band ends on the standard's last
    compliant day (``number`` 0 is that band, 1 the first band past the standard).

    For RTT this is the national ">W-1 to W weeks" band (126 days is in 17-18 weeks, band
    0; 127 days in 18-19 weeks, band 1); for DM01 it is the completed-weeks band (41 days:
    5 weeks, band 0; 42 days: 6 weeks, band 1); for the cancer standards, weeks counted
    back and on from the target (62 days ends band 0 of the 62-day standard). A wait of 0
    days is in the band holding day 1, as RTT's W = max(1, ceil(days / 7)) says.
    """

    pathway_type: str
    number: int
    first_day: int
    last_day: int

    @property
    def label(self) -> str:
        """How the band is reported: "17-18 weeks" (RTT), "5 weeks" (DM01, completed
        weeks), "56-62 days" (cancer)."""
        if self.pathway_type == "rtt":
            return rtt_band(self.last_day)
        if self.pathway_type == "diagnostic":
            return f"{max(self.first_day, 0) // 7} weeks"
        return f"{max(self.first_day, 0)}-{self.last_day} days"


def wait_band(pathway_type: str, days: int) -> WaitBand:
    """The reporting band of a wait of ``days`` on ``pathway_type`` (see :class:`WaitBand`):
    charts and reports bin waits with this and never count weeks themselves."""
    ptype = _TYPE_LOOKUP.get(pathway_type) or canonical_pathway_type(pathway_type)
    target = _TARGETS[ptype]
    number = -(-(max(days, 1) - target) // 7)
    last = target + 7 * number
    return WaitBand(ptype, number, last - 6, last)


def band_edge_label(pathway_type: str, number: int) -> str:
    """The wait at the upper edge of band ``number``, as a chart axis shows it: whole
    weeks for RTT (band 0 of RTT ends at 18 weeks) and DM01 (band 0 ends where 6 weeks
    begins), days for cancer standards (band 0 of the 62-day standard ends at day 62)."""
    ptype = _TYPE_LOOKUP.get(pathway_type) or canonical_pathway_type(pathway_type)
    last = _TARGETS[ptype] + 7 * number
    if ptype == "rtt":
        return str(last // 7)
    if ptype == "diagnostic":
        return str((last + 1) // 7)
    return str(last)


# ---------------------------------------------------------------------------
# Inputs and outputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """A dated pathway event as the student recorded it.

    ``recorded_order`` breaks ties between events on the same date: they are applied in
    the order they were recorded (lower first), which is how a PAS would have seen them.
    """

    date: dt.date
    kind: str
    recorded_order: int = 0
    description: str = ""


IgnoredReason = Literal[
    "before_clock_start",
    "in_future",
    "clock_not_running",
    "clock_already_running",
    "no_open_adjustment",
    "adjustment_already_open",
]


@dataclass(frozen=True, slots=True)
class IgnoredEvent:
    """An event that changed nothing, and why: the validator turns these into lessons.

    ``index`` is the event's position in the list given to :func:`evaluate`.
    ``ended_by`` (for ``clock_not_running``) is the kind of event that had already
    ended the clock, e.g. ``treatment_started``, ``dna_first_appointment`` or
    ``transfer_out``.
    """

    index: int
    kind: str
    date: dt.date
    reason: IgnoredReason
    ended_by: str | None = None


NoteReason = Literal[
    "dna_after_activity",
    "dna_not_after_referral",
    "dna_urgent_suspected_cancer",
    "adjustment_closed_by_stop",
]


@dataclass(frozen=True, slots=True)
class EventNote:
    """An applied event whose effect needs explaining: a first-appointment DNA that did not
    nullify (the patient had been seen; the clock followed active monitoring or a
    treatment, not a referral; the priority is Urgent suspected cancer), or a stop that
    closed a treatment adjustment nobody closed with ``patient_available``."""

    index: int
    kind: str
    date: dt.date
    note: NoteReason


@dataclass(frozen=True, slots=True)
class ClockState:
    """The latest clock of a pathway as at ``today``: what a PTL row shows.

    Counting follows the contract: ``days_waited`` is end minus start in calendar days
    (end is today for a running clock, the stop date for a stopped, ended or nullified
    one, and the transfer date for a transferred one, because that is the last day this
    PTL was responsible), never plus one, less any cancer treatment adjustment.
    ``breach_date`` is the first breach day (start + target + 1 + adjusted days) and is
    given for stopped clocks too, so a student can see whether the stop was in time; it is
    ``None`` only while a treatment adjustment is open (the patient has not said when
    they are available, so nobody knows).
    """

    pathway_type: str
    status: Status
    clock_start: dt.date
    clock_stop: dt.date | None
    days_waited: int
    weeks_waited: int
    breach_date: dt.date | None
    days_to_breach: int | None
    breached: bool
    target_days: int
    long_wait_weeks: int | None
    rtt_band: str
    rtt_code: int
    """Code of the latest applied event (10 for a clock with no events yet)."""
    nullified: bool = False
    transferred_on: dt.date | None = None
    ended_by: str | None = None
    """Kind of the event that stopped, ended, nullified or transferred the latest clock."""
    clock_number: int = 1
    """1 for the original clock, 2 after the first new clock, and so on (a reset of the
    start, on DM01 or by the cancer first seen adjustment, is the same clock)."""
    ignored: tuple[IgnoredEvent, ...] = ()
    applied: tuple[int, ...] = ()
    """Indices (into the given events) of the events that were applied, in order."""
    adjusted_days: int = 0
    """Days a cancer treatment adjustment took off the wait (0 elsewhere)."""
    adjustment_open_since: dt.date | None = None
    """The declined admission date of a treatment adjustment still open (else None)."""
    reset_by: str | None = None
    """The kind of event that last reset this clock's start (DM01 DNA or patient
    cancellation; ``new_clock`` for the cancer first seen adjustment), or None."""
    notes: tuple[EventNote, ...] = ()
    awaiting_rebooking: bool = False
    """Cancer FDS / 62-day: a first-appointment DNA waits for the rebooking date."""

    @property
    def running(self) -> bool:
        return self.status in ("breached", "at_risk", "on_track")

    @property
    def reported(self) -> bool:
        """False for a pathway that ended without a reported stop, or was nullified."""
        return self.status not in ("ended", "nullified")

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]


# Built for every patient on every PTL view: see bot.rules.frozen.
_new_state: Final = fast_builder(ClockState)
_new_ignored: Final = fast_builder(IgnoredEvent)
_new_note: Final = fast_builder(EventNote)


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------


def _order(events: Sequence[Event]) -> Sequence[int]:
    """Indices of ``events`` in application order: by date, then recorded order.

    Most pathways are stored in order already, so check that first: it is far cheaper
    than sorting and this function runs once per patient on every PTL view.
    """
    n = len(events)
    prev = events[0]
    for i in range(1, n):
        cur = events[i]
        if cur.date < prev.date or (
            cur.date == prev.date and cur.recorded_order < prev.recorded_order
        ):
            # sorted() is stable, so equal keys keep their list order.
            keys = [(e.date, e.recorded_order) for e in events]
            return sorted(range(n), key=keys.__getitem__)
        prev = cur
    return range(n)


def evaluate(
    pathway_type: str,
    clock_start: dt.date,
    events: Sequence[Event],
    today: dt.date,
    *,
    at_risk_days: Mapping[str, int] | None = None,
    priority: str | None = None,
) -> ClockState:
    """Compute the latest clock of a pathway as at ``today``.

    ``today`` must be the date in the configured timezone, from the injectable clock
    (:class:`bot.rules.clock.Clock`), never the server's or UTC date. ``at_risk_days``
    overrides the local "at risk" thresholds per canonical pathway type (contract
    defaults: 28 days for ``rtt``, 7 for cancer and diagnostic). ``priority`` is the row's
    priority: it changes no arithmetic, but on an RTT row an *Urgent suspected cancer*
    priority means a first-appointment DNA does not nullify the clock.

    Events dated after ``today`` are ignored (reason ``in_future``): a booked admission
    has not happened yet, so it cannot stop a clock.

    Raises ``ValueError`` for an unknown pathway type or event kind, or when ``today`` is
    before the clock start (a clock cannot be evaluated before it has started).
    """
    ptype = _TYPE_LOOKUP.get(pathway_type) or canonical_pathway_type(pathway_type)
    if today < clock_start:
        raise ValueError(
            f"Today ({today.isoformat()}) is before the clock start "
            f"({clock_start.isoformat()}): a clock cannot be evaluated before it starts."
        )
    effects = _EFFECTS[ptype]

    start = clock_start
    stop: dt.date | None = None
    running = True
    nullified = False
    ended = False
    transferred_on: dt.date | None = None
    ended_by: str | None = None
    attended = False
    after_referral = True  # the running clock was started by a referral (DNA may nullify)
    armed = False  # cancer first seen: a DNA waits for the rebooking date
    adjusted = 0
    adj_open: dt.date | None = None
    reset_by: str | None = None
    code = 10
    clock_number = 1
    ignored: list[IgnoredEvent] | None = None
    notes: list[EventNote] | None = None
    applied: list[int] = []

    if events:
        for i in _order(events):
            ev = events[i]
            d = ev.date
            kind = ev.kind
            effect = effects.get(kind)
            if effect is None:
                raise ValueError(_unknown_kind_message(kind))
            reason: IgnoredReason | None = None
            note: NoteReason | None = None
            if d < clock_start:
                reason = "before_clock_start"
            elif d > today:
                reason = "in_future"
            elif effect == _NOTHING:
                pass
            elif running:
                if effect in (_ATTEND, _DTT_RTT):
                    attended = True
                    code = _CODES[kind]
                elif effect == _CONTINUE:
                    code = _CODES[kind]
                elif effect in (_STOP, _END, _TRANSFER):
                    if adj_open is not None:
                        adjusted += (d - adj_open).days
                        adj_open = None
                        note = "adjustment_closed_by_stop"
                    code = _CODES[kind]
                    ended_by = kind
                    running = False
                    if effect == _TRANSFER:
                        transferred_on = d
                    else:
                        stop = d
                        ended = effect == _END
                elif effect == _NULLIFY:
                    code = 33
                    if attended:
                        note = "dna_after_activity"
                    elif not after_referral:
                        note = "dna_not_after_referral"
                    elif is_urgent_suspected_cancer(priority):
                        note = "dna_urgent_suspected_cancer"
                    else:
                        stop = d
                        nullified = True
                        ended_by = kind
                        running = False
                elif effect == _FIRST_SEEN:
                    code = 33
                    if attended:
                        note = "dna_after_activity"
                    else:
                        armed = True
                elif effect == _RESET:
                    code = _CODES[kind]
                    start = d
                    reset_by = kind
                elif effect == _ADJ_OPEN:
                    if adj_open is None:
                        adj_open = d
                        code = _CODES[kind]
                    else:
                        reason = "adjustment_already_open"
                elif effect == _ADJ_CLOSE:
                    if adj_open is not None:
                        adjusted += (d - adj_open).days
                        adj_open = None
                        code = _CODES[kind]
                    else:
                        reason = "no_open_adjustment"
                elif effect == _NEW_CLOCK:
                    if armed:
                        # First seen adjustment: the wait counts from the rebooking date.
                        start = d
                        reset_by = kind
                        armed = False
                        adjusted = 0
                        adj_open = None
                        code = 10
                    else:
                        reason = "clock_already_running"
                # _FIRST_ACTIVITY while a clock runs: the period's first activity, nothing more.
            elif effect in (_NEW_CLOCK, _FIRST_ACTIVITY) or (
                effect == _DTT_RTT and ended_by in _ACTIVE_MONITORING
            ):
                code = 11 if ended_by in _ACTIVE_MONITORING else 10
                after_referral = ended_by not in _NOT_A_REFERRAL
                attended = effect == _DTT_RTT  # a decision to treat is made with the patient
                start = d
                stop = None
                running = True
                nullified = False
                ended = False
                transferred_on = None
                ended_by = None
                armed = False
                adjusted = 0
                adj_open = None
                reset_by = None
                clock_number += 1
            else:
                reason = "clock_not_running"
            if reason is None:
                applied.append(i)
                if note is not None:
                    if notes is None:
                        notes = []
                    notes.append(_new_note(i, kind, d, note))
            else:
                if ignored is None:
                    ignored = []
                ignored.append(
                    _new_ignored(
                        i,
                        kind,
                        d,
                        reason,
                        ended_by if reason == "clock_not_running" else None,
                    )
                )

    target = _TARGETS[ptype]
    breach = start + _BREACH_OFFSETS[ptype]
    if adjusted:
        breach += dt.timedelta(days=adjusted)
    breach_date: dt.date | None = breach
    days_to_breach: int | None = None
    status: Status
    if transferred_on is not None:
        status = "transferred"
        days = (transferred_on - start).days - adjusted
        breached = transferred_on >= breach
    elif stop is not None:
        days = (stop - start).days - adjusted
        if nullified:
            status = "nullified"
            breached = False  # a nullified clock does not count at all
        elif ended:
            status = "ended"
            breached = False  # not reported against the standard: never a breach
        else:
            status = "stopped"
            breached = stop >= breach
    elif adj_open is not None:
        # An open treatment adjustment freezes the wait at the declined date; nobody knows
        # the breach date until the patient says when they are available.
        days = (adj_open - start).days - adjusted
        if days > target:  # breached before the patient declined: that stays a breach
            status = "breached"
            breached = True
            days_to_breach = target + 1 - days
        else:
            status = "at_risk"  # an open adjustment always needs chasing
            breached = False
            breach_date = None
    else:
        days = (today - start).days - adjusted
        days_to_breach = (breach - today).days
        if days_to_breach <= 0:
            status = "breached"
            breached = True
        else:
            breached = False
            threshold = (
                at_risk_days.get(ptype, DEFAULT_AT_RISK_DAYS[ptype])
                if at_risk_days is not None
                else DEFAULT_AT_RISK_DAYS[ptype]
            )
            status = "at_risk" if days_to_breach <= threshold else "on_track"

    long_wait: int | None = None
    if ptype == "rtt" and not nullified and days >= 365:
        for limit, weeks in LONG_WAIT_THRESHOLDS:
            if days >= limit:
                long_wait = weeks
                break

    w = -(-days // 7) if days > 0 else 1
    state: ClockState = _new_state(
        ptype,
        status,
        start,
        stop,
        days,
        days // 7,
        breach_date,
        days_to_breach,
        breached,
        target,
        long_wait,
        _BANDS[w] if w < 1001 else f"{w - 1}-{w} weeks",
        code,
        nullified,
        transferred_on,
        ended_by,
        clock_number,
        tuple(ignored) if ignored else (),
        tuple(applied),
        adjusted,
        adj_open,
        reset_by,
        tuple(notes) if notes else (),
        armed and running,
    )
    return state


_ORDER_GROUP: Final[Mapping[str, int]] = {
    "breached": 0,
    "at_risk": 0,
    "on_track": 0,
    "stopped": 1,
    "ended": 2,
    "nullified": 3,
    "transferred": 4,
}


def ordering_key(state: ClockState) -> tuple[int, int, int]:
    """Sort key for a PTL by breach risk.

    Running clocks come first, the most overdue first (breached ones have zero or
    negative days to breach), then the fewest days to breach; a clock frozen by an open
    treatment adjustment (no breach date until the patient is available) sits with the
    clocks that breach tomorrow, because it needs chasing now. Stopped, ended, nullified
    and transferred rows follow, earliest breach date first. Use it as
    ``sorted(states, key=ordering_key)``.
    """
    group = _ORDER_GROUP[state.status]
    breach = state.breach_date
    when = breach.toordinal() if breach is not None else state.clock_start.toordinal()
    if group == 0:
        to_breach = state.days_to_breach
        return (0, 1 if to_breach is None else to_breach, when)
    return (group, 0, when)
