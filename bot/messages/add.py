"""Wording of /add: adding a patient step by step."""

from __future__ import annotations

SUMMARY_TITLE = "<b>Last step</b> · Check and save"
SUMMARY_CLOCK = "<b>Clock</b>"
SUMMARY_HINT = "Tap Save, or Edit a field to change anything."
SUMMARY_LINE = "{label}: {value}"
SUMMARY_LABELS = {
    "name": "Name",
    "nhs": "NHS number",
    "spec": "Specialty",
    "path": "Pathway",
    "ref": "Referral letter",
    "start": "Clock start",
    "prio": "Priority",
    "cons": "Consultant",
    "notes": "Notes",
}
DUPLICATE_NHS = (
    "⚠️ Your PTL already has {name} (ID <code>{patient_id}</code>) with this NHS number. "
    "If it's the same patient, update that record instead of adding a second one."
)
SAVE = "✅ Save"
EDIT = "✏️ Edit a field"
EDIT_TITLE = "<b>Edit a field</b>\nWhich detail would you like to change?"
BACK_TO_SUMMARY = "« Back to summary"
START_MOVED = "The clock start ({start}) is now before the referral date, so it needs a new date."
SAVED = "✅ Saved <b>{name}</b> to your PTL (ID <code>{patient_id}</code>)."
SAVE_INCOMPLETE = "Some details are missing, so I've gone back to them."
PTL_FULL = (
    "Your PTL already holds {limit:,} patients, the most the bot keeps for one student. "
    "To add another, delete a patient you no longer need first (open them from /ptl, then "
    "🗑 Delete)."
)
PTL_FULL_AT_SAVE = (
    PTL_FULL + " Nothing was saved. Your answers are kept: once you have deleted a patient, "
    "tap Save again."
)
