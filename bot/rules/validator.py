"""The pathway validator: finds what is wrong or odd in a patient's pathway, and teaches.

A PTL is only as good as its data, and validating a pathway is a large part of the
job students are practising. Each :class:`Finding` has a severity, a short stable
code (for tests, exports and handlers to key on), a plain-English explanation that
teaches the rule behind it, and the rule's source.

The validator never computes a clock itself: it asks :func:`bot.rules.pathway.evaluate`, whose
``ignored`` list already says which events did not apply and why, and whose ``applied``
list gives the order the events took effect. Clock and breach logic lives only in
``bot/rules/pathway.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from bot.rules.dates import format_date
from bot.rules.pathway import (
    EVENT_KINDS,
    LEGACY_PATHWAY_TYPES,
    NO_PAUSES_EXPLANATION,
    PATHWAY_TYPES,
    ClockState,
    Event,
    canonical_pathway_type,
    effect_of,
    evaluate,
)

__all__ = ["SOURCES", "Finding", "Severity", "validate"]

Severity = Literal["error", "warning", "info"]

RULES_SUITE: Final = (
    "NHS England, Referral to treatment consultant-led waiting times rules suite (October 2022)"
)
RTT_GUIDANCE: Final = (
    "NHS England, Recording and reporting RTT waiting times guidance (v5.0, February 2025)"
)
CWT_GUIDANCE: Final = "National Cancer Waiting Times Monitoring Dataset guidance (v12, 2025)"
DM01_GUIDANCE: Final = "NHS England, Diagnostics waiting times and activity (DM01) guidance"
DATA_QUALITY: Final = "Data quality: a pathway records what has already happened"

SOURCES: Final = {
    "rtt": RULES_SUITE,
    "cancer_fds": CWT_GUIDANCE,
    "cancer_62": CWT_GUIDANCE,
    "cancer_31": CWT_GUIDANCE,
    "diagnostic": DM01_GUIDANCE,
}

_SEVERITY_ORDER: Final = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the validator noticed.

    ``event_index`` points at the event concerned, as a position in the list given to
    :func:`validate` (``None`` for findings about the pathway as a whole).
    """

    severity: Severity
    code: str
    message: str
    source: str
    event_index: int | None = None


_NOUNS: Final = {
    "activity": "activity",
    "decision_to_treat": "decision to treat",
    "diagnosis_communicated": "diagnosis communicated",
    "cancer_ruled_out": "cancer ruled out",
    "test_performed": "test",
    "transfer_out": "transfer out",
    "treatment_started": "first definitive treatment",
    "active_monitoring_patient": "active monitoring (patient's choice)",
    "active_monitoring_clinician": "active monitoring (clinician's decision)",
    "dna_first_appointment": "first-appointment DNA",
    "decision_not_to_treat": "decision not to treat",
    "discharged": "discharge",
    "declined_treatment": "declined treatment",
    "died": "death",
    "new_clock": "new clock",
}


def _label(kind: str) -> str:
    """A noun phrase for an event kind, to read naturally inside a sentence."""
    return _NOUNS.get(kind, kind.replace("_", " "))


def _d(d: dt.date) -> str:
    return format_date(d)


def validate(
    pathway_type: str,
    clock_start: dt.date | None,
    events: Sequence[Event],
    today: dt.date,
    referral_date: dt.date | None = None,
) -> list[Finding]:
    """Check a pathway and return its findings, errors first; a clean pathway gives ``[]``.

    Unlike :func:`bot.rules.pathway.evaluate`, this never raises for bad data: an unknown
    pathway type, an unknown event kind or a missing or future clock start become
    findings, because showing a student what is wrong is the point.
    """
    findings: list[Finding] = []

    # --- the pathway type -------------------------------------------------------
    try:
        ptype = canonical_pathway_type(pathway_type)
    except ValueError:
        choices = ", ".join(PATHWAY_TYPES)
        return [
            Finding(
                "error",
                "unknown_pathway_type",
                f"“{pathway_type}” isn't a pathway type this PTL knows. Choose one of: {choices}.",
                RTT_GUIDANCE,
            )
        ]
    source = SOURCES[ptype]
    raw_type = pathway_type.strip().lower()
    if raw_type in LEGACY_PATHWAY_TYPES:
        findings.append(_legacy_finding(raw_type))

    # --- the clock start --------------------------------------------------------
    if clock_start is None:
        if ptype == "cancer_31":
            findings.append(
                Finding(
                    "error",
                    "cancer_31_without_dtt",
                    "A 31-day cancer clock starts on the decision to treat date, and this "
                    "pathway has none, so there is no clock to track. Record the date the "
                    "patient and clinician agreed the treatment plan.",
                    CWT_GUIDANCE,
                )
            )
        else:
            findings.append(
                Finding(
                    "error",
                    "missing_clock_start",
                    "This pathway has no clock start date, so its wait can't be counted. "
                    f"{_start_rule(ptype)}",
                    source,
                )
            )
        return _sorted(findings)
    if clock_start > today:
        findings.append(
            Finding(
                "error",
                "clock_start_in_future",
                f"The clock start ({_d(clock_start)}) is after today ({_d(today)}). A clock "
                f"starts on something that has already happened. {_start_rule(ptype)}",
                DATA_QUALITY,
            )
        )
        return _sorted(findings)
    if referral_date is not None and clock_start < referral_date:
        findings.append(
            Finding(
                "error",
                "clock_start_before_referral",
                f"The clock starts on {_d(clock_start)}, before the referral date "
                f"({_d(referral_date)}). A clock can't start before the referral exists. "
                f"{_start_rule(ptype)}",
                source,
            )
        )

    # --- the events -------------------------------------------------------------
    known: list[Event] = []
    positions: list[int] = []  # index in `known` -> index in `events`
    for i, ev in enumerate(events):
        if ev.kind in EVENT_KINDS:
            known.append(ev)
            positions.append(i)
        elif "pause" in ev.kind.lower() or "suspend" in ev.kind.lower():
            findings.append(
                Finding(
                    "error",
                    "clock_pause_not_allowed",
                    f"Event {i + 1} on {_d(ev.date)} tries to pause the clock. "
                    f"{NO_PAUSES_EXPLANATION}",
                    RULES_SUITE,
                    i,
                )
            )
        else:
            findings.append(
                Finding(
                    "error",
                    "unknown_event_kind",
                    f"Event {i + 1} on {_d(ev.date)} has the kind “{ev.kind}”, which "
                    "isn't one the PTL knows, so it was left out of the clock. Record it "
                    "as one of: " + ", ".join(EVENT_KINDS) + ".",
                    RTT_GUIDANCE,
                    i,
                )
            )

    state = evaluate(ptype, clock_start, known, today)

    for ig in state.ignored:
        at = positions[ig.index]
        label = _label(ig.kind)
        when = _d(ig.date)
        if ig.reason == "before_clock_start":
            findings.append(
                Finding(
                    "error",
                    "event_before_clock_start",
                    f"The {label} on {when} is before the clock start ({_d(clock_start)}), "
                    "so it doesn't count on this pathway. Either the event date or the "
                    "clock start is wrong: a clock starts before anything happens on it.",
                    source,
                    at,
                )
            )
        elif ig.reason == "in_future":
            if ig.kind == "treatment_started":
                findings.append(
                    Finding(
                        "error",
                        "treatment_in_future",
                        f"Treatment is recorded as started on {when}, which is after "
                        f"today ({_d(today)}). A clock stops when treatment actually "
                        "starts, not when it is booked: keep the booking as a planned "
                        "date and record the treatment on the day it happens.",
                        RTT_GUIDANCE if ptype == "rtt" else source,
                        at,
                    )
                )
            else:
                findings.append(
                    Finding(
                        "warning",
                        "event_in_future",
                        f"The {label} is dated {when}, after today ({_d(today)}), so it "
                        "is ignored for now. A pathway records what has happened; record "
                        "the event on the day it takes place.",
                        DATA_QUALITY,
                        at,
                    )
                )
        elif ig.reason == "clock_already_running":
            findings.append(
                Finding(
                    "warning",
                    "new_clock_while_running",
                    f"A new clock is recorded on {when}, but the clock that started on "
                    f"{_d(_start_before(state, known, ig.index, clock_start))} was still "
                    "running, so nothing changed. A new clock can only start once the "
                    "current one has stopped (for example with treatment or active "
                    "monitoring) or been nullified by a first-appointment DNA: record "
                    "that stop first.",
                    RULES_SUITE,
                    at,
                )
            )
        elif ig.reason == "dna_after_activity":
            rule = (
                "Only a DNA at the first appointment nullifies an RTT clock; after a later "
                "DNA the patient is rebooked, or discharged back to the referrer if local "
                "policy allows (record that as discharged)."
                if ptype == "rtt"
                else "On this pathway a DNA never stops the clock anyway: rebook the "
                "patient quickly."
            )
            findings.append(
                Finding(
                    "warning",
                    "dna_after_activity",
                    f"The DNA on {when} is recorded as a first-appointment DNA, but the "
                    "patient has already been seen on this clock, so it isn't the first "
                    f"appointment and the clock keeps running. {rule}",
                    RULES_SUITE if ptype == "rtt" else source,
                    at,
                )
            )
        else:  # clock_not_running
            findings.append(_after_stop(ig.kind, ig.ended_by, when, label, source, at))

    findings.extend(_repeated_treatments(ptype, state.applied, known, positions, source))
    findings.extend(_no_effect(ptype, state.applied, known, positions))

    if ptype == "cancer_31":
        for i, ev in enumerate(known):
            if ev.kind == "decision_to_treat" and ev.date != clock_start:
                findings.append(
                    Finding(
                        "warning",
                        "cancer_31_start_not_dtt",
                        f"A decision to treat is recorded on {_d(ev.date)}, but this 31-day "
                        f"clock starts on {_d(clock_start)}. The 31-day clock starts on the "
                        "decision to treat date, so one of the two dates is wrong.",
                        CWT_GUIDANCE,
                        positions[i],
                    )
                )

    return _sorted(findings)


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (
            _SEVERITY_ORDER[f.severity],
            -1 if f.event_index is None else f.event_index,
        ),
    )


def _start_rule(ptype: str) -> str:
    return {
        "rtt": "An RTT clock starts on the date the hospital receives the referral.",
        "cancer_fds": "The FDS clock starts on the date the urgent suspected cancer referral "
        "is received.",
        "cancer_62": "The 62-day clock starts on the date the urgent referral is received "
        "(or the consultant upgrade).",
        "cancer_31": "The 31-day clock starts on the decision to treat date.",
        "diagnostic": "The diagnostic clock starts on the date the test is requested.",
    }[ptype]


def _legacy_finding(raw_type: str) -> Finding:
    new = LEGACY_PATHWAY_TYPES[raw_type]
    if raw_type == "2ww":
        return Finding(
            "warning",
            "legacy_2ww",
            "This pathway is recorded as a two-week wait (2ww). The two-week-wait standard "
            "was replaced by the 28-day Faster Diagnosis Standard in October 2023, so it "
            "is tracked as cancer_fds: diagnosis or ruling out cancer, communicated to the "
            "patient, within 28 days of the referral.",
            CWT_GUIDANCE,
        )
    if raw_type in ("routine", "urgent"):
        return Finding(
            "info",
            "legacy_priority_as_type",
            f"“{raw_type}” is a priority, not a pathway type, so this is tracked as an "
            "18-week RTT pathway. Priority is recorded but never changes a clock: "
            "urgent and routine patients wait against the same 18 weeks.",
            RULES_SUITE,
        )
    return Finding(
        "info",
        "legacy_pathway_name",
        f"“{raw_type}” is an old name for {new}; it is tracked under the current rules.",
        CWT_GUIDANCE,
    )


def _start_before(
    state: ClockState, events: list[Event], index: int, clock_start: dt.date
) -> dt.date:
    """The start of the clock that was running when the event at ``index`` arrived.

    Taken from the events the engine applied (the original start or the latest applied
    ``new_clock`` before this one), not re-derived.
    """
    target = events[index]
    start = clock_start
    for i in state.applied:
        ev = events[i]
        if (ev.date, ev.recorded_order, i) > (target.date, target.recorded_order, index):
            break
        if ev.kind == "new_clock":
            start = ev.date
    return start


def _after_stop(
    kind: str, ended_by: str | None, when: str, label: str, source: str, at: int
) -> Finding:
    if kind == "treatment_started" and ended_by == "treatment_started":
        return Finding(
            "error",
            "two_first_treatments",
            f"A second first definitive treatment is recorded on {when}. Only the first "
            "treatment stops the clock; later treatments are part of the same course. If "
            "this is a substantively new treatment (or the second side of a bilateral "
            "procedure), record a new clock first, starting when the decision is made.",
            source,
            at,
        )
    if ended_by == "transfer_out":
        return Finding(
            "warning",
            "event_after_transfer",
            f"The {label} on {when} comes after the patient was transferred to another "
            "provider, so this PTL no longer tracks the clock: the new provider records "
            "it, keeping the original clock start. If the patient came back with a new "
            "referral, record a new clock.",
            RULES_SUITE,
            at,
        )
    if ended_by == "dna_first_appointment":
        return Finding(
            "warning",
            "event_after_nullified_clock",
            f"The {label} on {when} comes after the clock was nullified by a "
            "first-appointment DNA. A nullified clock does not count at all; when the "
            "patient rebooks, record a new clock (code 10) on the date they rebook, and "
            "the new wait starts from there.",
            RULES_SUITE,
            at,
        )
    stopped_by = _label(ended_by) if ended_by else "an earlier event"
    if EVENT_KINDS[kind].rtt_code == 20:
        return Finding(
            "info",
            "event_after_clock_stop",
            f"The {label} on {when} is after the clock stopped ({stopped_by}) and no new "
            "clock was started, so it doesn't count on this pathway. Follow-up care after "
            "treatment is off the clock; if a new period of waiting has begun, record a "
            "new clock first.",
            source,
            at,
        )
    return Finding(
        "warning",
        "event_after_clock_stop",
        f"The {label} on {when} is after the clock had already stopped ({stopped_by}) "
        "and no new clock was started, so it changes nothing. A clock stops once; if a "
        "new period of waiting began, record a new clock on the date it started.",
        source,
        at,
    )


def _repeated_treatments(
    ptype: str,
    applied: tuple[int, ...],
    events: list[Event],
    positions: list[int],
    source: str,
) -> list[Finding]:
    """Two first treatments on one clock where treatment doesn't stop it (FDS, diagnostic).

    Where treatment stops the clock the engine already ignores the second one and
    :func:`_after_stop` reports it; here both were applied as "no effect".
    """
    if effect_of("treatment_started", ptype) == "stops":
        return []
    out: list[Finding] = []
    seen = False
    for i in applied:
        kind = events[i].kind
        if kind == "new_clock":
            seen = False
        elif kind == "treatment_started":
            if seen:
                out.append(
                    Finding(
                        "error",
                        "two_first_treatments",
                        f"A second first definitive treatment is recorded on "
                        f"{_d(events[i].date)}. A patient has one first definitive "
                        "treatment per pathway; later ones are part of the same course.",
                        source,
                        positions[i],
                    )
                )
            seen = True
    return out


_NO_EFFECT_WHY: Final = {
    "active_monitoring_patient": "Active monitoring stops an RTT clock only; cancer and "
    "diagnostic clocks carry on until the event that ends them.",
    "active_monitoring_clinician": "Active monitoring stops an RTT clock only; cancer and "
    "diagnostic clocks carry on until the event that ends them.",
    "dna_first_appointment": "Urgent suspected cancer referrals (and diagnostic waits "
    "here) are not nullified by a DNA: the clock keeps running, so rebook quickly.",
    "treatment_started": "Treatment doesn't stop this clock: the FDS clock stops when a "
    "diagnosis is communicated or cancer is ruled out, and the diagnostic clock when the "
    "test is performed.",
    "decision_not_to_treat": "A decision not to treat stops the RTT and 62-day clocks, "
    "not this one.",
    "declined_treatment": "Declining treatment stops the RTT, 62-day and 31-day clocks, "
    "not this one.",
}


def _no_effect(
    ptype: str, applied: tuple[int, ...], events: list[Event], positions: list[int]
) -> list[Finding]:
    """Tell the student when an event they may expect to stop a clock does nothing here."""
    out: list[Finding] = []
    for i in applied:
        ev = events[i]
        why = _NO_EFFECT_WHY.get(ev.kind)
        if why is None or effect_of(ev.kind, ptype) != "continues":
            continue
        code = "dna_not_nullified" if ev.kind == "dna_first_appointment" else "no_effect_on_pathway"
        out.append(
            Finding(
                "info",
                code,
                f"The {_label(ev.kind)} on {_d(ev.date)} doesn't change a {ptype} clock. {why}",
                SOURCES[ptype],
                positions[i],
            )
        )
    return out
