"""Wording of /update: record a pathway event, edit a field or add a note."""

from __future__ import annotations

# -- choosing the patient ---------------------------------------------------------------------
FIND_PROMPT = (
    "<b>Update a patient</b>\n"
    "Which patient? Type part of their name, the patient ID or the NHS number."
)
FIND_TOP = "Or tap one of the most urgent on your PTL:"
FIND_BUTTON = "{mark} {name}"

# -- what to do -----------------------------------------------------------------------------
MENU_TITLE = "<b>Update · {name}</b>\nID <code>{patient_id}</code> · {pathway}"
MENU_PROMPT = "What would you like to do?"
EVENT = "📌 Record an event"
EDIT = "✏️ Edit a field"
NOTE = "📝 Add a note"

# -- recording an event --------------------------------------------------------------------
KIND_TITLE = "What happened?"
KIND_PROMPT = "Tap what happened. What each would do to this patient's clock if it were today:"
KIND_GROUP_LINE = "<b>{group}</b>: {items}"
KIND_EFFECT = "{labels}: {effect}"
KIND_BUTTON_RTT = "{code} · {label}"
KIND_NO_CLOCK = "This patient has no usable clock yet, so no event can change one."
PICKER_GROUPS = {
    "appt": "Appointments",
    "decide": "Decisions",
    "treat": "Treatment",
    "end": "Ending, or a new clock",
}
PICKER: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    # (key in the callback data, group, what a coordinator calls it, engine kind,
    #  pathway types it is offered on; empty: wherever the kind is)
    (
        "seen1",
        "appt",
        "First appointment attended",
        "activity",
        ("rtt", "cancer_fds", "cancer_62", "cancer_31"),
    ),
    (
        "seen",
        "appt",
        "Seen in clinic, tests ordered",
        "activity",
        ("rtt", "cancer_fds", "cancer_62", "cancer_31"),
    ),
    ("appt", "appt", "Appointment attended", "activity", ("diagnostic",)),
    ("test", "appt", "Test done", "test_performed", ()),
    ("dna", "appt", "Did not attend (DNA)", "dna_first_appointment", ()),
    ("canc", "appt", "Patient cancelled", "patient_cancelled", ()),
    ("diag", "decide", "Diagnosis given to the patient", "diagnosis_communicated", ()),
    ("ro", "decide", "Cancer ruled out, patient told", "cancer_ruled_out", ()),
    ("dtt", "decide", "Decision to treat", "decision_to_treat", ()),
    ("amp", "decide", "Active monitoring (patient's choice)", "active_monitoring_patient", ()),
    (
        "amc",
        "decide",
        "Active monitoring (clinician's decision)",
        "active_monitoring_clinician",
        (),
    ),
    ("dntt", "decide", "Decision not to treat", "decision_not_to_treat", ()),
    ("tx", "treat", "Treatment started", "treatment_started", ()),
    ("decl", "treat", "Admission date declined", "admission_offer_declined", ()),
    ("avail", "treat", "Patient available again", "patient_available", ()),
    ("dall", "end", "Declined all treatment", "declined_treatment", ()),
    ("dis", "end", "Discharged", "discharged", ()),
    ("xfer", "end", "Transferred to another provider", "transfer_out", ()),
    ("died", "end", "Patient died", "died", ()),
    ("new", "end", "New clock start", "new_clock", ()),
)
EFFECT_CONTINUES = "clock continues"
EFFECT_CONTINUES_BECAUSE = {
    "dna_after_activity": "clock continues (not the first appointment)",
    "dna_not_after_referral": "clock continues (the clock didn't start with a referral)",
    "dna_urgent_suspected_cancer": "clock continues (Urgent suspected cancer priority)",
    "adjustment_closed_by_stop": "clock continues",
}
EFFECT_AWAITS_REBOOKING = "clock continues; restarts from the rebooking date"
EFFECT_STOPS = "stops the clock, {verdict}"
EFFECT_ENDS = "ends the pathway, not reported"
EFFECT_NULLIFIES = "nullifies the clock: the wait won't count"
EFFECT_TRANSFERS = "ends tracking here"
EFFECT_STARTS = "starts a new clock{code}"
EFFECT_RESETS = "restarts the clock from that date"
EFFECT_ADJUSTS = "stops the count until the patient is available"
EFFECT_RESUMES = "the count starts again"
EFFECT_NONE = {
    "clock_not_running": "no effect: the clock has stopped",
    "clock_already_running": "no effect while a clock runs",
    "no_open_adjustment": "no effect: no declined date is open",
    "adjustment_already_open": "no effect: an adjustment is already open",
    "": "no effect",
}
DATE_TITLE = "When?"
DATE_PROMPT = "When did it happen? Tap a button or type a date (12/10/25, 3 days ago…)."
DETAIL_TITLE = "Details (optional)"
DETAIL_PROMPT = (
    "Add a short description for the PTL (for example “Left hip replacement”), or tap Skip "
    "to record it as “{label}”."
)
DETAIL_LIMIT = 200
CHOSEN_KIND = "<b>{event}</b>: {meaning}"
EVENT_NAME_RTT = "{code} · {label}"
EVENT_BEFORE_START = (
    "The event can't be before the clock start ({start}): anything earlier belongs to the "
    "referral, not to this waiting period, so it could never change the clock. Check the "
    "date, or correct the clock start with ✏️ Edit a field."
)
EVENT_IN_FUTURE = (
    "Record an event once it has happened: a booked date (say an admission next week) "
    "doesn't stop or change the clock until the day it takes place."
)

# -- editing a field -------------------------------------------------------------------------
FIELD_TITLE = "Which detail?"
FIELD_PROMPT = "Tap the detail to change."
FIELD_BUTTONS = {
    "name": "Name",
    "nhs": "NHS number",
    "spec": "Specialty",
    "path": "Pathway",
    "ref": "Referral date",
    "start": "Clock start",
    "prio": "Priority",
    "cons": "Consultant",
    "notes": "Notes",
}
SAME_VALUE = "That's what it is already. Type a different value, or go Back."

# -- notes ------------------------------------------------------------------------------------
NOTE_TITLE = "<b>Add a note</b> · {name}"
NOTE_PROMPT = (
    "Type the note (up to {limit:,} characters). It is added to the patient's notes with "
    "today's date."
)
NOTES_FULL = (
    "The notes are full: with this one they would be {n:,} characters (the limit is "
    "{limit:,}). Shorten the note, or tidy the old notes with ✏️ Edit a field."
)
NOTE_ADDED = "📝 Note added to <b>{name}</b>. The clock is unchanged."

# -- check and save -------------------------------------------------------------------------
CONFIRM_TITLE = "<b>Check and save</b> · {name}"
CONFIRM_EVENT = "Event: <b>{event}</b> on {date}"
CONFIRM_DETAIL = "Details: {detail}"
CONFIRM_FIELD = "{label}: {old} → <b>{new}</b>"
BEFORE = "<b>Before</b>: {line}"
AFTER = "<b>After</b>: {line}"
CHANGES = "<b>What changes</b>: {text}"
SAVE = "✅ Save"
SAVE_ANYWAY = "✅ Save anyway"
SAVED_EVENT = "✅ Recorded for <b>{name}</b>: {text}"
SAVED_FIELD = "✅ Saved for <b>{name}</b>: {text}"

# -- what changed (HTML) ------------------------------------------------------------------------
CODE = " (code {code})"
STOP_PHRASES = {
    "treatment_started": "treated",
    "active_monitoring_patient": "active monitoring (patient's choice)",
    "active_monitoring_clinician": "active monitoring (clinician's decision)",
    "decision_not_to_treat": "decision not to treat",
    "discharged": "discharged",
    "declined_treatment": "all treatment declined",
    "died": "the patient died",
    "diagnosis_communicated": "diagnosis given",
    "cancer_ruled_out": "cancer ruled out",
    "test_performed": "test done",
}
STOPPED_PLAIN = "stopped"
STOPPED = "clock stopped: {phrase}, {verdict}"
ENDED_PLAIN = "ended"
ENDED = (
    "pathway ended: {phrase} on day {day}; not reported against the {standard}, and never a breach"
)
NO_BREACH_DATE = "none while the treatment adjustment is open"
NULLIFIED = (
    "clock nullified: a DNA of the first appointment after the referral means this wait "
    "({days}) doesn't count"
)
TRANSFERRED = (
    "transferred out after {days}: tracking ends here and the clock carries on at the new provider"
)
NEW_CLOCK = "new clock started {date}{code}: breach date {breach}"
CONTINUES = "clock continues: {waited}, breach date {breach} unchanged"
ADJUSTMENT_OPENED = (
    "treatment adjustment from {date}: the wait stops counting until the patient is "
    "available again, and there is no breach date until then"
)
ADJUSTMENT_CLOSED = "the count starts again: {days} not counted, breach date now {breach}"
RESET = {
    "dna_first_appointment": "clock restarted from {date} (DM01 reset after a DNA): breach "
    "date {breach}",
    "patient_cancelled": "clock restarted from {date} (DM01 reset after a patient "
    "cancellation): breach date {breach}",
    "new_clock": "clock restarted from the rebooking date, {date} (first seen adjustment): "
    "breach date {breach}",
}
START_MOVED_PLAIN = "clock restarted from {date}: breach date {breach}"
NOTES = {
    "dna_after_activity": "the DNA doesn't nullify or adjust the clock: the patient has "
    "already been seen on it, so it wasn't the first appointment",
    "dna_not_after_referral": "the DNA doesn't nullify the clock: only the first appointment "
    "after a referral can, and this clock followed active monitoring or a treatment",
    "dna_urgent_suspected_cancer": "the DNA doesn't nullify the clock: the priority is Urgent "
    "suspected cancer, so the wait goes on unless a clinician discharges the patient to "
    "their GP",
    "adjustment_closed_by_stop": "the open treatment adjustment ended with this stop: record "
    "when the patient was available, if you know",
}
AWAITING_REBOOKING = (
    "when the patient rebooks, record a New clock start on that date: the wait counts from "
    "then (first seen adjustment)"
)
UNCHANGED = "the clock is unchanged"
BREACH_MOVED = "breach date {old} → {new}"
STATUS_MOVED = "status {old} → {new}"
START_MOVED = "clock start {old} → {new}"
NOW_NO_CLOCK = "the patient no longer has a usable clock"
NOW_HAS_CLOCK = "clock now: {line}"
IGNORED = {
    "clock_not_running": (
        "⚠️ This changes nothing: the clock had already stopped. To start a new waiting "
        "period, record a New clock start."
    ),
    "clock_already_running": (
        "⚠️ This changes nothing: a clock is already running, and a new one can only "
        "start after it has stopped."
    ),
    "no_open_adjustment": (
        "⚠️ This changes nothing: no declined admission date is open, so there is no "
        "adjustment to end."
    ),
    "adjustment_already_open": (
        "⚠️ This changes nothing: an adjustment is already open from an earlier declined "
        "date. Record Patient available again first."
    ),
    "before_clock_start": "⚠️ This changes nothing: it is before the clock start.",
    "in_future": "⚠️ This changes nothing yet: it is in the future.",
}
NEWLY_IGNORED = "⚠️ {n} recorded event{s} would no longer count (✅ Validate explains why)."

# -- refusals -----------------------------------------------------------------------------------
STALE = (
    "This patient was changed elsewhere (perhaps on the web platform) since you opened "
    "it. Nothing was overwritten. Here is the latest version:"
)
GONE = (
    "This patient is no longer on your PTL (deleted, perhaps on the web platform). "
    "Nothing was changed."
)
EVENTS_UNWRITABLE = (
    "This patient's events were saved on the web platform in a form the bot can't add to "
    "without changing what the platform stored. Nothing was changed: record the event on the "
    "web platform, or ask your tutor to tidy the row."
)
NO_PAUSES = "⏸ {explanation}"
