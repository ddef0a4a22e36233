"""Wording of /export."""

from __future__ import annotations

EMPTY = "Nothing to export yet: your PTL is empty. Add a patient with /add."
CAPTION = (
    "📄 Your PTL as at {date}: {n} patient{s}, most at risk first.\n"
    "Opens in Excel; dates are written YYYY-MM-DD."
)
