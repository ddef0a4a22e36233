"""Wording of /portfolio: the chat steps and every line of the PDF a student shows an employer.

The figures' names are the ones /progress uses (bot.messages.my_progress), so the chat and
the PDF say the same thing.
"""

from __future__ import annotations

# --- the chat ---------------------------------------------------------------------------------
OPTIONS = (
    "📄 <b>Your portfolio</b>: a PDF record of your PTL practice to show an employer.\n\n"
    "Name shown: <b>{name}</b>\n"
    "Email shown: {email}\n"
    "Period: {period}\n\n"
    "Change what it shows, then make it."
)
EMAIL_HIDDEN = "not shown"
PERIOD_ALL = "since you started"
PERIOD_RECENT = "the last 4 weeks"
NAME_BUTTON = "✏️ Name"
EMAIL_SHOW = "📧 Show my email"
EMAIL_HIDE = "📧 Hide my email"
PERIOD_TO_RECENT = "🗓 Last 4 weeks only"
PERIOD_TO_ALL = "📚 Since I started"
MAKE = "📄 Make my portfolio"
CANCEL = "✖ Cancel"
ASK_NAME = (
    "Type the name to show on your portfolio (as you would like an employer to read it), "
    "or tap « Back to keep <b>{name}</b>."
)
TAP_A_BUTTON = "Please tap one of the buttons below."
NAME_BAD = "A name of 1 to {limit} characters, please (letters in any script are fine)."
NAME_NO_FONT = (
    "These characters cannot be printed in the PDF: {chars}. Please type the name without them."
)
CANCELLED = "Portfolio not made. /portfolio to start again."
MAKING = "📄 Making your portfolio…"
EMPTY = (
    "📄 There is nothing to put in a portfolio yet: add patients with /add, record events "
    "with /update, or start an exercise. /progress shows what you have done so far."
)
SENT_CAPTION = "📄 Your PTL training portfolio ({period}). A training record on fictional patients."
FILE_NAME = "ptl-portfolio-{date}.pdf"

# --- the PDF ----------------------------------------------------------------------------------
PDF_TITLE = "PTL training portfolio"
PDF_SUBTITLE = "Patient Tracking List practice: NHS waiting-time rules on fictional patients"
PDF_PERIOD = "Period: {start} to {end}"
PDF_PERIOD_OPEN = "Period: up to {end}"
PDF_PRODUCED = "Produced {date} from the student's own training PTL"
PDF_WHAT = "What I did"
PDF_COUNT = "Count"
PDF_EVENTS = "Pathway events I recorded"
PDF_EVENT = "Event (RTT status code)"
PDF_RULES = "Rules practised"
PDF_PATHWAYS = "Waiting-time standards worked on: {items}."
PDF_PATHWAY_ITEM = "{label} ({n} patients)"
PDF_PATHWAY_ITEM_ONE = "{label} (1 patient)"
PDF_KINDS = "Pathway events recorded: {items}."
PDF_NONE = "none yet"
PDF_EXERCISES = "Exercises"
PDF_EXERCISE = "Exercise"
PDF_COMPLETED = "Completed"
PDF_QUIZ = "Quiz"
PDF_QUIZ_SCORE = "{correct} of {questions}"
PDF_NOT_DONE = "not yet"
PDF_NO_QUIZ = "–"
PDF_NO_EXERCISES = "No exercises yet."
PDF_CHART = "My PTL now: patients still waiting"
PDF_NOTES = {
    "stopped_in_time": "Clocks stopped within the standard: treatment, or another reported "
    "clock stop, on or before the last compliant day.",
    "breach_let_happen": "Breaches let happen: a running clock crossed its breach day with "
    "no event recorded in the {days} days before, while the patient was on the PTL.",
}
PDF_DISCLAIMER = (
    "This is a training record. Every patient in it is fictional, made up for practice in a "
    "training environment; it contains no real patient data. The figures are counted from "
    "the student's own training PTL by the PTL trainer bot, following NHS England's "
    "referral-to-treatment, cancer and diagnostic waiting-time rules."
)
PDF_PAGE = "Page {page} of {pages}"
