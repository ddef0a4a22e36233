"""Wording of a student's own record: /progress, the digest's weekly line and /portfolio.

Why one module for all three: the same figure must have the same name in the chat, in the
digest and in the PDF an employer reads.
"""

from __future__ import annotations

from bot.rules.pathway import EVENT_KINDS, PATHWAY_TYPES

# --- the figures (keys: bot.services.progress.MAIN_FIGURES) -------------------------------
FIGURE_LABELS = {
    "added": "Patients added",
    "updated": "Patients updated",
    "events": "Events recorded",
    "stopped_in_time": "Clocks stopped within the standard",
    "stopped_late": "Clocks stopped after the standard",
    "breach_let_happen": "Breaches you let happen",
    "finding_found": "Validator findings shown",
    "finding_fixed": "Validator findings fixed",
}
FIGURE_LABELS_THIRD_PERSON = {**FIGURE_LABELS, "breach_let_happen": "Breaches let happen"}
FIGURE_NOTES = {
    "stopped_in_time": "a clock stopped (treatment, or the diagnosis, test or other reported "
    "stop that ends it) on or before its last compliant day",
    "breach_let_happen": "a running clock crossed its breach day with no event recorded in "
    "the {days} days before, while the patient was on the PTL",
}
OTHER_EVENTS = "Other events (platform codes)"


def event_label(kind: str) -> str:
    """ "First definitive treatment (30)": the engine's label and its RTT code."""
    found = EVENT_KINDS.get(kind)
    if found is None:
        return OTHER_EVENTS
    return f"{found.label} ({found.rtt_code})"


def pathway_label(ptype: str) -> str:
    found = PATHWAY_TYPES.get(ptype)
    return found.label if found is not None else "Pathway type not recorded"


# --- /progress ------------------------------------------------------------------------------
TITLE = "📈 <b>Your progress</b> as at {date}"
PERIOD_RECENT = "Last 4 weeks ({start} to {end})"
PERIOD_ALL = "Since you started ({start})"
PERIOD_ALL_NO_START = "Since you started"
EMPTY = (
    "📈 Nothing to show yet: add a patient with /add, record events with /update, or start an "
    "exercise your tutor sent. Your progress builds from what you do here."
)
FIGURE_LINE = "{label}: <b>{n}</b>"
EVENT_LINE = "   · {label}: {n}"
NOTE_LINE = "<i>{note}</i>"
EXERCISES_LINE = "Exercises done: <b>{done}</b> of {total}"
QUIZ_LINE = "   · {title}: {correct} of {questions} right"
QUIZ_NOT_ANSWERED = "   · {title}: quiz not answered yet"
TAP_HINT = "Tap a figure to see the patients behind it."
SHOW_RECENT = "🗓 Last 4 weeks"
SHOW_ALL = "📚 Since you started"
FIGURE_BUTTON = "{label} ({n})"
QUIZ_BUTTON = "📝 Quiz answers"
PORTFOLIO_BUTTON = "📄 Portfolio (PDF)"
BACK = "« Back"

PATIENTS_TITLE = "<b>{label}</b> · {period}: {n}"
PATIENTS_NONE = "No patients behind this figure in this period."
PATIENTS_MORE = "…and {n} more (see /ptl)."
PATIENTS_GONE = "Some of these patients are no longer on your PTL (deleted)."

QUIZ_TITLE = "📝 <b>Your quiz answers</b>"
QUIZ_NONE = "You have not answered any quiz questions yet."
QUIZ_EXERCISE = "<b>{title}</b>: {correct} of {questions} right"
QUIZ_RIGHT = "✅ Q{n}. {question}"
QUIZ_WRONG = "❌ Q{n}. {question}\n   You answered: {chosen}\n   Answer: {right}"
QUIZ_EXPLANATION = "   <i>Why: {explanation}</i>"
QUIZ_TRUNCATED = "…more answers than fit in one message."

# --- the digest's weekly line ----------------------------------------------------------------
WEEKLY_LINE = "📈 This week: {events}, {treated}. /progress for more."
WEEKLY_EVENTS = {1: "1 event recorded"}
WEEKLY_EVENTS_MANY = "{n} events recorded"
WEEKLY_TREATED = {1: "1 clock stopped in time"}
WEEKLY_TREATED_MANY = "{n} clocks stopped in time"


def weekly_line(events: int, treated: int) -> str:
    return WEEKLY_LINE.format(
        events=WEEKLY_EVENTS.get(events) or WEEKLY_EVENTS_MANY.format(n=events),
        treated=WEEKLY_TREATED.get(treated) or WEEKLY_TREATED_MANY.format(n=treated),
    )
