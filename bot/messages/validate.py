"""Wording of /validate and the card's ✅ Validate button."""

from __future__ import annotations

SEVERITY_MARKS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}
SEVERITY_LABELS = {"error": "Error", "warning": "Check", "info": "Note"}

EMPTY = "Nothing to check yet: your PTL is empty. Add a patient with /add."
NO_MATCH = "No patient on your PTL matches “{query}”. Send /validate alone to check them all."
ONE_CLEAN = "✅ <b>{name}</b>: this pathway follows the rules. Nothing to fix."
ONE_CLEAN_BUT = "✅ <b>{name}</b>: the record is consistent (it follows the rules). {needs}"
ALL_CLEAN = "✅ All {n} pathways follow the rules. Nothing to fix."
ALL_CLEAN_BUT = (
    "✅ All {n} pathways follow the rules: the records are consistent. But {k} patient{s} "
    "{have} breached and still need{verb} treating: see /ptl."
)
SUMMARY = "🩺 Checked {n} pathway{s}: {parts} in {k} patient{ks}."
CLEAN_TOO = "The other {n} follow the rules."
PART_ERRORS = "{n} error{s}"
PART_WARNINGS = "{n} check{s}"
PART_NOTES = "{n} note{s}"
PATIENT_HEAD = "{mark} <b>{name}</b> · <code>{patient_id}</code>"
FINDING = "{mark} <b>{label}</b>{where}: {message}\n<i>Source: {source}</i>"
WHERE_EVENT = " (event {n})"
TRUNCATED = (
    "…and {n} more patient{s} with findings. Open one from /ptl and tap ✅ Validate, or "
    "send /validate followed by a name."
)
HOW_TO_FIX = "Fix a pathway with ✏️ Update on the patient's card."
