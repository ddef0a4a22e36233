"""Wording of /update: record a pathway event, edit a field or add a note."""

from __future__ import annotations

# -- choosing the patient ---------------------------------------------------------------------
FIND_PROMPT = (
    "<b>Update a patient</b>\n"
    "Which patient? Type part of their name, the patient ID or the NHS number."
)
NO_MATCH = "No patient on your PTL matches “{query}”. Try part of the name, or the patient ID."
TOO_SHORT = "Type at least 2 characters of the name, or the patient ID."
TOO_LONG = "That's too long for a search: type part of the name, or the patient ID."
PICK = "<b>{n} patients match</b> “{query}”. Which one? (Or type to search again.)"
PICK_MORE = "Showing the first {n}: type more of the name to narrow it down."
NOT_FOUND = "There's no patient {patient_id} on your PTL (it may have been deleted)."

# -- what to do -----------------------------------------------------------------------------
MENU_TITLE = "<b>Update · {name}</b>\nID <code>{patient_id}</code> · {pathway}"
MENU_PROMPT = "What would you like to do?"
EVENT = "📌 Record an event"
EDIT = "✏️ Edit a field"
NOTE = "📝 Add a note"

# -- recording an event --------------------------------------------------------------------
KIND_TITLE = "What happened?"
KIND_PROMPT = "Tap the event. Its RTT code, and what it does to this patient's clock:"
KIND_LINE = "<b>{code}</b> {label}: {effect}"
KIND_BUTTON = "{code} · {label}"
EFFECTS = {
    "continues": "clock continues",
    "stops": "stops the clock",
    "nullifies": "nullifies the clock",
    "transfers": "ends tracking here",
    "starts": "starts a new clock",
    "ends": "ends the pathway (not reported)",
    "resets": "resets the clock to this date",
    "adjusts": "stops the count until the patient is available",
    "resumes": "the count starts again",
}
DATE_TITLE = "When?"
DATE_PROMPT = "When did it happen? Tap a button or type a date (12/10/25, 3 days ago…)."
DETAIL_TITLE = "Details (optional)"
DETAIL_PROMPT = (
    "Add a short description for the PTL (for example “Left hip replacement”), or tap Skip."
)
DETAIL_LIMIT = 200
CHOSEN_KIND = "<b>{code} · {label}</b>: {meaning}"
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
CONFIRM_EVENT = "Event: <b>{code} · {label}</b> on {date}"
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
STOP_PHRASES = {
    "treatment_started": "treated in {days}",
    "active_monitoring_patient": "active monitoring (patient's choice) after {days}",
    "active_monitoring_clinician": "active monitoring (clinician's decision) after {days}",
    "decision_not_to_treat": "decision not to treat after {days}",
    "discharged": "discharged after {days}",
    "declined_treatment": "all treatment declined after {days}",
    "died": "the patient died after {days}",
    "diagnosis_communicated": "diagnosis communicated in {days}",
    "cancer_ruled_out": "cancer ruled out after {days}",
    "test_performed": "test done in {days}",
}
STOPPED = "clock stopped: {phrase}, {verdict}"
ENDED = "pathway ended: {phrase}; not reported against the {standard} standard, never a breach"
NO_BREACH_DATE = "none while the treatment adjustment is open"
NULLIFIED = "clock nullified: a DNA at the first appointment means this wait ({days}) doesn't count"
TRANSFERRED = (
    "transferred out after {days}: tracking ends here and the clock carries on at the new provider"
)
NEW_CLOCK = "new clock started {date} (code {code}): breach date {breach}"
CONTINUES = "clock continues: {waited}, breach date {breach} unchanged"
UNCHANGED = "the clock is unchanged"
BREACH_MOVED = "breach date {old} → {new}"
STATUS_MOVED = "status {old} → {new}"
START_MOVED = "clock start {old} → {new}"
NOW_NO_CLOCK = "the patient no longer has a usable clock"
NOW_HAS_CLOCK = "clock now: {line}"
IGNORED = {
    "clock_not_running": (
        "⚠️ This changes nothing: the clock had already stopped. To start a new waiting "
        "period, record a New clock start (code 10/11)."
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
NEWLY_IGNORED = "⚠️ {events} would no longer count (✅ Validate explains why)."

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
