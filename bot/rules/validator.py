"""The pathway validator: finds what is wrong or odd in a patient's pathway, and teaches.

A PTL is only as good as its data, and validating a pathway is a large part of the
job students are practising. Each :class:`Finding` has a severity, a short stable
code (for tests, exports and handlers to key on), a plain-English explanation that
teaches the rule behind it, and the rule's source.

The validator never computes a clock itself: it asks :func:`bot.rules.pathway.evaluate`,
whose ``ignored`` list already says which events did not apply and why, whose ``notes``
say why an applied event did less than a student may expect (a DNA that did not nullify),
and whose ``applied`` list gives the order the events took effect. Clock and breach logic
lives only in ``bot/rules/pathway.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from bot.rules.dates import format_date
from bot.rules.pathway import (
    DATED_AHEAD_KINDS,
    EVENT_KINDS,
    LEGACY_PATHWAY_TYPES,
    PATHWAY_TYPES,
    PLATFORM_ONLY_KINDS,
    ClockState,
    Event,
    EventNote,
    canonical_pathway_type,
    effect_of,
    evaluate,
    pause_explanation,
)

__all__ = ["SOURCES", "Finding", "Severity", "validate"]

Severity = Literal["error", "warning", "info"]

RULES_SUITE: Final = (
    "NHS England, Referral to treatment consultant-led waiting times rules suite (October 2022)"
)
RTT_GUIDANCE: Final = (
    "NHS England, Recording and reporting RTT waiting times guidance (v5.0, February 2025)"
)
CWT_GUIDANCE: Final = "National Cancer Waiting Times Monitoring Dataset guidance (v12.1, 2025)"
DM01_GUIDANCE: Final = "NHS England, Diagnostics waiting times and activity (DM01) guidance"
DATA_DICTIONARY: Final = "NHS Data Dictionary: RTT period status"
DATA_QUALITY: Final = "Data quality: a pathway records what has already happened"

SOURCES: Final = {
    "rtt": RULES_SUITE,
    "cancer_fds": CWT_GUIDANCE,
    "cancer_62": CWT_GUIDANCE,
    "cancer_31": CWT_GUIDANCE,
    "diagnostic": DM01_GUIDANCE,
}

_SEVERITY_ORDER: Final = {"error": 0, "warning": 1, "info": 2}
_CANCER: Final = ("cancer_fds", "cancer_62", "cancer_31")


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
    "activity": "appointment or test",
    "decision_to_treat": "decision to treat",
    "diagnosis_communicated": "diagnosis given to the patient",
    "cancer_ruled_out": "cancer ruled out",
    "test_performed": "test",
    "transfer_out": "transfer out",
    "treatment_started": "treatment",
    "active_monitoring_patient": "active monitoring (patient's choice)",
    "active_monitoring_clinician": "active monitoring (clinician's decision)",
    "dna_first_appointment": "DNA",
    "patient_cancelled": "patient cancellation",
    "admission_offer_declined": "declined admission date",
    "patient_available": "patient available again",
    "decision_not_to_treat": "decision not to treat",
    "discharged": "discharge",
    "declined_treatment": "decline of all treatment",
    "died": "death",
    "new_clock": "new clock",
    "first_activity": "first activity (code 10)",
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
    *,
    priority: str | None = None,
) -> list[Finding]:
    """Check a pathway and return its findings, errors first; a clean pathway gives ``[]``.

    Unlike :func:`bot.rules.pathway.evaluate`, this never raises for bad data: an unknown
    pathway type, an unknown event kind or a missing or future clock start become
    findings, because showing a student what is wrong is the point. ``priority`` is the
    row's priority (it decides whether an RTT DNA nullifies).
    """
    findings: list[Finding] = []

    # --- the pathway type -------------------------------------------------------
    try:
        ptype = canonical_pathway_type(pathway_type)
    except ValueError:
        # Labels, not the stored keys: a student never reads ``cancer_fds`` (issue 15 point 7).
        choices = ", ".join(p.label for p in PATHWAY_TYPES.values())
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
                    "A 31-day cancer clock starts on the decision to treat date (or the "
                    "earliest clinically appropriate date), and this pathway has none, so "
                    "there is no clock to track. Record the date the patient and clinician "
                    "agreed the treatment plan.",
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
                    f"{pause_explanation(ptype)}",
                    source,
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
                    "as one of: "
                    + ", ".join(k for k in EVENT_KINDS if k not in PLATFORM_ONLY_KINDS)
                    + ".",
                    RTT_GUIDANCE,
                    i,
                )
            )

    state = evaluate(ptype, clock_start, known, today, priority=priority)

    for ig in state.ignored:
        at = positions[ig.index]
        label = _label(ig.kind)
        when = _d(ig.date)
        if ig.reason == "before_clock_start":
            findings.append(_before_start(ptype, ig.kind, ig.date, clock_start, label, at))
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
            elif ig.kind not in DATED_AHEAD_KINDS:  # those are dated ahead by rule
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
                    f"{_d(_start_before(ptype, known, ig.index, clock_start, priority))} was still "
                    "running, so nothing changed. A new clock can only start once the "
                    "current one has stopped (for example with treatment or active "
                    "monitoring) or been nullified by a first-appointment DNA: record "
                    f"that stop first.{_new_clock_hint(ptype)}",
                    source,
                    at,
                )
            )
        elif ig.reason == "no_open_adjustment":
            findings.append(
                Finding(
                    "warning",
                    "available_without_adjustment",
                    f"The patient is recorded as available again on {when}, but no "
                    "declined admission date is open on this clock, so nothing changed. "
                    "A treatment adjustment starts with Admission date declined (the date "
                    "the patient turned down) and ends with Patient available again.",
                    CWT_GUIDANCE,
                    at,
                )
            )
        elif ig.reason == "adjustment_already_open":
            findings.append(
                Finding(
                    "warning",
                    "adjustment_already_open",
                    f"A second declined admission date is recorded on {when}, but the "
                    "patient hasn't yet said they are available after the first one, so "
                    "the adjustment is still running from that date and nothing changed. "
                    "Record Patient available again when they are; a later declined offer "
                    "then starts a new adjustment.",
                    CWT_GUIDANCE,
                    at,
                )
            )
        else:  # clock_not_running
            findings.append(_after_stop(ptype, ig.kind, ig.ended_by, when, label, source, at))

    for note in state.notes:
        findings.append(_note_finding(ptype, note, positions[note.index], source))

    findings.extend(_repeated_treatments(ptype, state.applied, known, positions, source))
    findings.extend(_no_effect(ptype, state.applied, known, positions))
    findings.extend(_platform_codes(ptype, state.applied, known, positions))
    findings.extend(_open_matters(state))

    if ptype == "cancer_31":
        findings.extend(_cancer_31_dtt(state, known, positions, clock_start, priority))

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
        "rtt": "An RTT clock starts on the date the hospital receives the referral (not the "
        "date on the GP's letter).",
        "cancer_fds": "The FDS clock starts on the date the urgent suspected cancer referral "
        "is received.",
        "cancer_62": "The 62-day clock starts on the date the urgent referral is received "
        "(or the consultant upgrade).",
        "cancer_31": "The 31-day clock starts on the decision to treat date, or the earliest "
        "clinically appropriate date (ECAD) when treatment can't clinically start sooner.",
        "diagnostic": "The diagnostic clock starts on the date the test is requested.",
    }[ptype]


def _new_clock_hint(ptype: str) -> str:
    if ptype in ("cancer_fds", "cancer_62"):
        return (
            " (After a DNA of the first appointment, a new clock on the rebooking date "
            "restarts the running clock: the first seen adjustment.)"
        )
    return ""


def _legacy_finding(raw_type: str) -> Finding:
    new = LEGACY_PATHWAY_TYPES[raw_type]
    if raw_type == "2ww":
        return Finding(
            "warning",
            "legacy_2ww",
            "This pathway is recorded as a two-week wait (2ww). The two-week-wait standard "
            "was replaced by the 28-day Faster Diagnosis Standard in October 2023, so it "
            "is tracked as a 28-day FDS pathway: cancer diagnosed or ruled out, and the "
            "patient told, within 28 days of the referral.",
            CWT_GUIDANCE,
        )
    if raw_type in ("routine", "urgent"):
        return Finding(
            "info",
            "legacy_priority_as_type",
            f"“{raw_type}” is a priority, not a pathway type, so this is tracked as an "
            "18-week RTT pathway. Priority is recorded but doesn't change the clock: "
            "urgent and routine patients wait against the same 18 weeks.",
            RULES_SUITE,
        )
    return Finding(
        "info",
        "legacy_pathway_name",
        f"“{raw_type}” is an old name for the {PATHWAY_TYPES[new].label} pathway; it is "
        "tracked under the current rules.",
        CWT_GUIDANCE,
    )


def _before_start(
    ptype: str, kind: str, on: dt.date, clock_start: dt.date, label: str, at: int
) -> Finding:
    if ptype == "cancer_31" and kind == "decision_to_treat":
        # The 31-day clock may start on the earliest clinically appropriate date, after the
        # decision to treat: an earlier DTT is then exactly right.
        return Finding(
            "info",
            "cancer_31_starts_on_ecad",
            f"The decision to treat on {_d(on)} is before this 31-day clock's start "
            f"({_d(clock_start)}). That is right when the clock start is the earliest "
            "clinically appropriate date (ECAD): the date treatment could clinically begin, "
            "agreed by the clinician. Otherwise the clock starts on the decision to treat, "
            "so one of the two dates is wrong.",
            CWT_GUIDANCE,
            at,
        )
    return Finding(
        "error",
        "event_before_clock_start",
        f"The {label} on {_d(on)} is before the clock start ({_d(clock_start)}), so it "
        "doesn't count on this pathway. Either the event date or the clock start is wrong: "
        "a clock starts before anything happens on it.",
        SOURCES[ptype],
        at,
    )


def _start_before(
    ptype: str, events: list[Event], index: int, clock_start: dt.date, priority: str | None
) -> dt.date:
    """The start of the clock that was running when the event at ``index`` arrived: the
    engine's own answer for the pathway as it stood just before that event (the events the
    engine applies first, in its order), so nothing about clocks is re-derived here."""
    target = events[index]
    key = (target.date, target.recorded_order, index)
    earlier = [e for j, e in enumerate(events) if (e.date, e.recorded_order, j) < key]
    return evaluate(ptype, clock_start, earlier, max(target.date, clock_start),
                    priority=priority).clock_start  # fmt: skip


def _after_stop(
    ptype: str,
    kind: str,
    ended_by: str | None,
    when: str,
    label: str,
    source: str,
    at: int,
) -> Finding:
    cancer = ptype in _CANCER
    if kind == "treatment_started" and (
        ended_by == "treatment_started"
        or (cancer and ended_by in ("active_monitoring_patient", "active_monitoring_clinician"))
    ):
        if cancer:
            message = (
                f"Another treatment is recorded on {when}, after the clock had already "
                f"stopped at the first treatment ({_label(ended_by or '')}). On cancer "
                "pathways each subsequent "
                "treatment has its own 31-day clock, from its decision to treat or its "
                "earliest clinically appropriate date: add it as a separate 31-day cancer "
                "pathway rather than recording it here."
            )
        else:
            message = (
                f"A second first definitive treatment is recorded on {when}. Only the first "
                "treatment stops the clock; later treatments for the same condition are part "
                "of the same course. If this is a substantively new treatment, or the second "
                "side of a bilateral procedure once the patient is fit and ready, record a new "
                "clock first, starting on that date."
            )
        return Finding("error", "two_first_treatments", message, source, at)
    if ended_by == "transfer_out":
        return Finding(
            "warning",
            "event_after_transfer",
            f"The {label} on {when} comes after the patient was transferred to another "
            "provider, so this PTL no longer tracks the clock: the new provider records "
            "it, keeping the original clock start. If the patient came back with a new "
            "referral, record a new clock.",
            source,
            at,
        )
    if ended_by == "dna_first_appointment":
        return Finding(
            "warning",
            "event_after_nullified_clock",
            f"The {label} on {when} comes after the clock was nullified by a DNA of the "
            "first appointment. A nullified clock does not count at all; when the patient "
            "rebooks, record a new clock (code 10) on the date they rebook, and the new wait "
            "starts from there.",
            RULES_SUITE,
            at,
        )
    stopped_by = _label(ended_by) if ended_by else "an earlier event"
    if kind == "decision_to_treat":
        if cancer:
            why = (
                "On cancer pathways a decision about a further treatment starts that "
                "treatment's own 31-day clock: add it as a separate 31-day cancer pathway "
                "with this date (or the earliest clinically appropriate date) as its clock "
                "start."
            )
        else:
            why = (
                "A decision to treat starts a new RTT clock only after active monitoring. "
                "If this is a substantively new treatment, or the second side of a "
                "bilateral procedure once the patient is fit and ready, record a new clock "
                "on that date."
            )
        return Finding(
            "info",
            "event_after_clock_stop",
            f"The decision to treat on {when} is after the clock stopped ({stopped_by}), so "
            f"it doesn't count on this clock. {why}",
            source,
            at,
        )
    if kind == "patient_available":
        return Finding(
            "info",
            "event_after_clock_stop",
            f"The patient is recorded as available again on {when}, after the clock had "
            f"stopped ({stopped_by}), so it changes nothing.",
            source,
            at,
        )
    if EVENT_KINDS[kind].rtt_code == 20:
        if ended_by == "treatment_started":
            why = (
                "Follow-up care after first treatment is off the clock (a PAS records it as "
                "code 90)."
            )
        elif ended_by in ("active_monitoring_patient", "active_monitoring_clinician"):
            if ptype == "rtt":
                why = (
                    "Appointments during active monitoring are off the clock (code 91). "
                    "When a decision to treat is made, record it: it starts a new clock."
                )
            else:
                why = (
                    "Active monitoring is a first treatment on cancer pathways, so later "
                    "appointments are off this clock."
                )
        else:
            why = "No clock is running; if a new period of waiting has begun, record a new clock."
        return Finding(
            "info",
            "event_after_clock_stop",
            f"The {label} on {when} is after the clock stopped ({stopped_by}) and no new "
            f"clock was started, so it doesn't count on this pathway. {why}",
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


def _note_finding(ptype: str, note: EventNote, at: int, source: str) -> Finding:
    when = _d(note.date)
    if note.note == "dna_after_activity":
        if ptype == "rtt":
            rule = (
                "Only a DNA of the first appointment after the referral nullifies an RTT "
                "clock. After a later DNA the clock keeps running: rebook the patient, or "
                "discharge them back to the referrer only if a clinician judges that it is "
                "not against their interests, under the trust's published access policy "
                "(record that as Discharged)."
            )
        else:
            rule = (
                "The first seen adjustment applies only to a DNA of the first appointment, "
                "so this clock keeps counting from its start: rebook the patient quickly."
            )
        return Finding(
            "warning",
            "dna_after_activity",
            f"The DNA on {when} is recorded as a first-appointment DNA, but the patient has "
            "already been seen on this clock, so it wasn't the first appointment and the "
            f"clock keeps running. {rule}",
            source,
            at,
        )
    if note.note == "dna_not_after_referral":
        return Finding(
            "info",
            "dna_not_nullified",
            f"The DNA on {when} doesn't nullify this clock: only a DNA of the first "
            "appointment after a referral does, and this clock followed active monitoring "
            "or a treatment, not a new referral. The clock keeps running: rebook the patient.",
            RULES_SUITE,
            at,
        )
    if note.note == "dna_urgent_suspected_cancer":
        return Finding(
            "info",
            "dna_not_nullified",
            f"The DNA on {when} doesn't nullify this clock because the priority is Urgent "
            "suspected cancer: the referral to treatment period continues unless a "
            "clinician decides to discharge the patient back to primary care (record that "
            "as Discharged). Rebook the patient urgently.",
            DATA_DICTIONARY,
            at,
        )
    # adjustment_closed_by_stop
    return Finding(
        "warning",
        "adjustment_not_closed",
        f"The clock stopped on {when} while a declined admission date was still open, so "
        "the days from the declined date to the stop were left out of the wait. Record "
        "Patient available again on the date the patient said they could come in, so the "
        "adjustment is only as long as it should be.",
        CWT_GUIDANCE,
        at,
    )


def _repeated_treatments(
    ptype: str,
    applied: tuple[int, ...],
    events: list[Event],
    positions: list[int],
    source: str,
) -> list[Finding]:
    """Two treatments on one clock where treatment doesn't stop it (FDS, diagnostic).

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
                        f"A second treatment is recorded on {_d(events[i].date)}. This "
                        "pathway doesn't track treatment at all; on cancer pathways each "
                        "treatment belongs on its own 62-day or 31-day pathway.",
                        source,
                        positions[i],
                    )
                )
            seen = True
    return out


_AM_NO_EFFECT: Final = (
    "Active monitoring stops RTT clocks and (as a first treatment) 62-day and 31-day "
    "cancer clocks, not this one: a 28-day FDS clock stops when the diagnosis is given or "
    "cancer ruled out, a diagnostic clock when the test is done."
)
_NO_EFFECT_WHY: Final = {
    ("active_monitoring_patient", "cancer_fds"): _AM_NO_EFFECT,
    ("active_monitoring_patient", "diagnostic"): _AM_NO_EFFECT,
    ("active_monitoring_clinician", "cancer_fds"): _AM_NO_EFFECT,
    ("active_monitoring_clinician", "diagnostic"): _AM_NO_EFFECT,
    ("dna_first_appointment", "cancer_31"): "A DNA doesn't stop or adjust a 31-day clock "
    "(the first seen adjustment belongs to the 28-day and 62-day standards): rebook the "
    "patient quickly.",
    ("treatment_started", "cancer_fds"): "Treatment doesn't stop the 28-day FDS clock: it "
    "stops when a diagnosis is given or cancer is ruled out.",
    ("treatment_started", "diagnostic"): "Treatment doesn't stop the diagnostic clock: it "
    "stops when the test is done.",
    ("decision_not_to_treat", "cancer_fds"): "A decision not to treat stops RTT clocks and "
    "ends 62-day and 31-day pathways, not a 28-day FDS clock: that stops when the patient "
    "is told the diagnosis.",
    ("decision_not_to_treat", "diagnostic"): "A decision not to treat doesn't end a "
    "diagnostic wait: record Discharged if the test is no longer needed.",
    ("declined_treatment", "cancer_fds"): "Declining treatment ends 62-day and 31-day "
    "pathways, not a 28-day FDS clock: that stops when the patient is told the diagnosis.",
    ("declined_treatment", "diagnostic"): "Declining treatment doesn't end a diagnostic "
    "wait: if the patient no longer wants the test, record Discharged.",
    ("admission_offer_declined", "rtt"): "RTT has no pauses: declining a date doesn't stop "
    "the count. After a patient declines two reasonable offers, the route is a clinical "
    "review (active monitoring or discharge), not a pause.",
    ("patient_available", "rtt"): "RTT has no pauses, so there is nothing to end: the "
    "clock has been running throughout.",
    ("admission_offer_declined", "cancer_fds"): "The treatment adjustment belongs to the "
    "62-day and 31-day standards, not the 28-day FDS clock.",
    ("admission_offer_declined", "diagnostic"): "A declined date doesn't adjust a "
    "diagnostic clock; if the patient cancels their test, record Patient cancelled "
    "(that resets the clock).",
}


def _no_effect(
    ptype: str, applied: tuple[int, ...], events: list[Event], positions: list[int]
) -> list[Finding]:
    """Tell the student when an event they may expect to stop a clock does nothing here."""
    out: list[Finding] = []
    for i in applied:
        ev = events[i]
        why = _NO_EFFECT_WHY.get((ev.kind, ptype))
        if why is None:
            continue
        code = "dna_not_nullified" if ev.kind == "dna_first_appointment" else "no_effect_on_pathway"
        out.append(
            Finding(
                "info",
                code,
                f"The {_label(ev.kind)} on {_d(ev.date)} doesn't change a "
                f"{PATHWAY_TYPES[ptype].label} clock. {why}",
                SOURCES[ptype],
                positions[i],
            )
        )
    return out


def _platform_codes(
    ptype: str, applied: tuple[int, ...], events: list[Event], positions: list[int]
) -> list[Finding]:
    """Code 99 ("not yet known") means nobody recorded what happened: it must be resolved,
    because the activity may have stopped the clock. A 99 whose words say the clock was
    paused (how some systems recorded a pause) is told why there are no pauses instead."""
    out = [
        Finding(
            "error",
            "clock_pause_not_allowed",
            f"The activity on {_d(events[i].date)} says the clock was paused. "
            f"{pause_explanation(ptype)}",
            SOURCES[ptype],
            positions[i],
        )
        for i in applied
        if events[i].kind == "status_unknown" and _says_pause(events[i].description)
    ]
    return out + [
        Finding(
            "warning",
            "rtt_status_not_known",
            f"The activity on {_d(events[i].date)} has RTT status 99, “not yet known”. "
            "Every activity on a pathway needs its real status: find out what happened (was "
            "the patient treated, seen, discharged?) and record it, because it may have "
            "stopped the clock.",
            DATA_DICTIONARY,
            positions[i],
        )
        for i in applied
        if events[i].kind == "status_unknown" and not _says_pause(events[i].description)
    ]


def _says_pause(words: str) -> bool:
    lowered = words.lower()
    return "paus" in lowered or "suspend" in lowered


def _open_matters(state: ClockState) -> list[Finding]:
    """What is still open on a running clock: an adjustment, a DNA awaiting rebooking."""
    out: list[Finding] = []
    if state.adjustment_open_since is not None and state.running:
        out.append(
            Finding(
                "info",
                "adjustment_open",
                "A treatment adjustment is open: the patient declined an admitted treatment "
                f"date on {_d(state.adjustment_open_since)} and hasn't yet said when they "
                "are available, so the wait stops counting from that date and there is no "
                "breach date. Chase the patient and record Patient available again on the "
                "date they give.",
                CWT_GUIDANCE,
            )
        )
    if state.awaiting_rebooking:
        out.append(
            Finding(
                "info",
                "awaiting_rebooking",
                "The patient did not attend their first appointment and hasn't rebooked "
                "yet. The clock keeps counting from its start; when they contact us to "
                "rebook, record a New clock start on that date and the wait counts from "
                "then (first seen adjustment).",
                CWT_GUIDANCE,
            )
        )
    return out


def _cancer_31_dtt(
    state: ClockState,
    events: list[Event],
    positions: list[int],
    clock_start: dt.date,
    priority: str | None,
) -> list[Finding]:
    """A 31-day clock starts on the decision to treat or ECAD, never before it: a decision to
    treat after the start of the clock it belongs to means one date is wrong."""
    out: list[Finding] = []
    for i in state.applied:
        ev = events[i]
        if ev.kind != "decision_to_treat":
            continue
        start = _start_before(state.pathway_type, events, i, clock_start, priority)
        if ev.date > start:
            out.append(
                Finding(
                    "warning",
                    "cancer_31_start_not_dtt",
                    f"A decision to treat is recorded on {_d(ev.date)}, after the start of "
                    f"its 31-day clock ({_d(start)}). The 31-day clock starts on the "
                    "decision to treat, or on the later earliest clinically appropriate "
                    "date, never before the decision: one of the two dates is wrong. If "
                    "this decision is for a subsequent treatment, it has its own 31-day "
                    "clock: add it as a separate 31-day pathway.",
                    CWT_GUIDANCE,
                    positions[i],
                )
            )
    return out
