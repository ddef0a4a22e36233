"""Wording of choosing a patient by name or ID, the first step of /update and /book (each
form's own opening prompt stays in its module: bot/messages/update.py, bookings.py)."""

from __future__ import annotations

NO_MATCH = "No patient on your PTL matches “{query}”. Try part of the name, or the patient ID."
TOO_SHORT = "Type at least 2 characters of the name, or the patient ID."
TOO_LONG = "That's too long for a search: type part of the name, or the patient ID."
PICK = "<b>{n} patients match</b> “{query}”. Which one? (Or type to search again.)"
PICK_MORE = "Showing the first {n}: type more of the name to narrow it down."
NOT_FOUND = "There's no patient {patient_id} on your PTL (it may have been deleted)."
