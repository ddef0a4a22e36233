"""Wording of deleting a patient, Undo and the bin (/bin)."""

from __future__ import annotations

BIN_DAYS = 30

CONFIRM = (
    "Delete <b>{name}</b>? It goes to the bin for {days} days: you can restore it from "
    "/bin until then."
)
YES_DELETE = "🗑 Yes, delete"
KEEP = "Keep"
DELETED = (
    "🗑 <b>{name}</b> is in the bin. Tap Undo to bring it back, or restore it from /bin "
    "within {days} days."
)
ALREADY_BINNED = (
    "🗑 <b>{name}</b> is already in the bin. Tap Undo to bring it back, or restore it from "
    "/bin within {days} days."
)
UNDO = "↩️ Undo"
TO_PTL = "« PTL"
RESTORED = "↩️ <b>{name}</b> is back on your PTL."
ALREADY_LIVE = "<b>{name}</b> is already on your PTL."
STALE_DELETE = (
    "⚠️ This patient was changed somewhere else (perhaps on the platform) after you opened "
    "it, so nothing was deleted. Here is the latest version: check it, then delete again "
    "if you still want to."
)
GONE = "That patient isn't on your PTL or in your bin any more."
EXPIRED = "That patient was in the bin for more than {days} days and has been removed for good."

BIN_TITLE = "🗑 <b>Bin</b> · {n} patient{s}"
BIN_EXPLAIN = "Deleted patients stay here for {days} days, then are removed for good."
BIN_EMPTY = "🗑 Your bin is empty. Deleted patients stay here for {days} days."
BIN_LINE = "{n}. <b>{name}</b> · deleted {date} · {left}"
DAYS_LEFT = "{days} days left"
ONE_DAY_LEFT = "last day"
RESTORE = "↩️ {n}. {name}"
OPEN = "Open {name}"
PAGE = "Page {page} of {pages}"
PREV = "‹ Prev"
NEXT = "Next ›"
