"""Wording shared by every feature."""

SOMETHING_WENT_WRONG = (
    "Sorry, something went wrong on our side and nothing was changed. "
    "Please try again; if it keeps happening, tell your tutor the reference <code>{ref}</code>."
)
NOT_SAVED = "⚠️ I couldn't save that step, so it didn't count. Please send it again, or /cancel."
NOT_LINKED = (
    "You need to link your platform account first. Send /start and I'll ask for your "
    "platform email."
)
NOT_TUTOR = (
    "That command is for tutors. If you are a tutor, ask the platform administrator to add "
    "your email as staff."
)
CANCELLED = "Cancelled. Nothing was saved. Send /menu to see what you can do."
FICTIONAL_ONLY = "Use fictional patients only: never enter a real person's details."
BACK = "« Back"
CANCEL = "✖ Cancel"
SKIP = "Skip »"
