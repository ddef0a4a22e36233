"""Wording of /find."""

from __future__ import annotations

PROMPT = "🔎 Type part of a patient's name, their patient ID (PTL…) or their 10-digit NHS number."
TOO_SHORT = "Type at least 2 letters of the name, or a patient ID or NHS number."
TOO_LONG = "That's longer than any name, patient ID or NHS number: type part of the name instead."
NO_MATCH = "No patient on your PTL matches “{query}”."
NO_MATCH_HINT = (
    "Try part of the first or last name, the patient ID (PTL…) or all 10 digits of the NHS "
    "number. Deleted patients are in /bin."
)
DIGITS_HINT = "An NHS number has 10 digits; you typed {n}."
MATCHES = "🔎 {n} patients match “{query}”, most at risk first:"
MORE = "Showing the first {n}. Type more of the name to narrow it down."
SEARCH_AGAIN = "🔎 Search again"
TO_PTL = "📋 PTL"
