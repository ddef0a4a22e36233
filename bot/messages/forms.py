"""Wording shared by the step-by-step forms (/add, /update): field prompts, input errors,
clock lines, expiry and hold notices.

HTML parse mode: placeholders that carry anything a student typed are filled with
escaped text by the caller (bot/services/patient_form.py, handlers/forms.py).
"""

from __future__ import annotations

# -- step frame ---------------------------------------------------------------------------
STEP_HEADER = "<b>Step {n} of {m}</b> · {title}"
CURRENTLY = "Currently: <b>{value}</b>"
KEEP = "Keep as it is »"
NOT_SET = "—"
USE_BUTTONS = "Please tap one of the buttons below."
TEXT_ONLY = "I can only read typed text here. Type your answer or tap a button below."
OLD_BUTTON = "That button belongs to an earlier message: use the latest one."
FORM_CLOSED_BUTTON = "That form has closed. Send {command} to start again."
NOTHING_TO_CANCEL = "Cancelled. Nothing was changed. Send /menu to see what you can do."
DISCARDED = "Discarded your unfinished {command} form. Nothing was saved."

# -- expiry and hold ------------------------------------------------------------------------
EXPIRED = (
    "⌛ Your unfinished {command} form was closed after {minutes} minutes without activity. "
    "Nothing was saved. Send {command} to start again."
)
ON_HOLD = "⏸ Your {command} form is on hold ({where}): nothing is lost."
CARRY_ON_NAMED = "▶️ Carry on {command}"
CANCEL_NAMED = "✖ Cancel {command}"
RESUME_TITLE = "You have an unfinished {command} form ({where}), last touched {ago}."
RESUME = "▶️ Carry on"
RESTART = "🔄 Start again"
JUST_NOW = "just now"
MINUTES_AGO = "{n} min ago"

# -- field prompts ----------------------------------------------------------------------------
NAME_TITLE = "Patient name"
NAME_PROMPT = "Type the patient's name. Fictional patients only: never a real person."
NHS_TITLE = "NHS number"
NHS_PROMPT = (
    "Type a 10-digit NHS number from the test range (numbers beginning 999, set aside "
    "for test data), or tap 🎲 for a valid made-up one."
)
NHS_PROMPT_ANY = "Type the patient's 10-digit NHS number, or tap 🎲 for a made-up test number."
NHS_GENERATE = "🎲 Use a test number"
SPECIALTY_TITLE = "Specialty"
SPECIALTY_PROMPT = (
    "Tap the treatment function, or type another specialty (a name, or a code such as 150)."
)
PATHWAY_TITLE = "Pathway"
PATHWAY_PROMPT = "Which waiting-time standard is this patient on?"
PATHWAY_LINES = {
    "rtt": "<b>18-week RTT</b>: referral to first treatment within 18 weeks (126 days).",
    "cancer_fds": "<b>28-day FDS</b>: urgent cancer referral to diagnosis (or all-clear).",
    "cancer_62": "<b>62-day cancer</b>: urgent referral to first cancer treatment.",
    "cancer_31": "<b>31-day cancer</b>: decision to treat to first treatment.",
    "diagnostic": "<b>6-week diagnostic</b>: test requested to test done (DM01).",
}
PATHWAY_BUTTONS = {
    "rtt": "18-week RTT",
    "cancer_fds": "28-day faster diagnosis",
    "cancer_62": "62-day cancer",
    "cancer_31": "31-day cancer",
    "diagnostic": "6-week diagnostic",
}
PATHWAY_UNKNOWN = (
    "I didn't recognise that pathway. Tap one of the five buttons, or type RTT, FDS, 62, "
    "31 or diagnostic."
)
REFERRAL_TITLE = "Referral letter date"
REFERRAL_PROMPT = (
    "What date is on the referral letter (the day the GP, or other referrer, wrote it)? "
    "Tap a button or type a date: 3 weeks ago, 12/10/25, last Monday…"
)
CLOCK_START_TITLE = "Clock start"
CLOCK_START_WHY = {
    "rtt": "When did the hospital <b>receive</b> the referral? The RTT clock starts on the "
    "day the referral is received, not on the date written on the letter.",
    "cancer_fds": "When did the hospital <b>receive</b> the urgent suspected cancer "
    "referral? The 28-day clock starts on the day it is received.",
    "cancer_62": "When did the hospital <b>receive</b> the urgent referral (or the "
    "consultant upgrade the patient)? The 62-day clock starts on that day.",
    "cancer_31": "When was the decision to treat made (or, if later, the earliest clinically "
    "appropriate date)? The 31-day clock starts on that day.",
    "diagnostic": "When was the test requested? The 6-week clock starts on the day of the request.",
}
CLOCK_START_DIFFERENCE = (
    "The letter is dated {date}: that is the referral date. The clock starts when the "
    "hospital receives it, which is often a few days later."
)
CLOCK_START_PROMPT = "Tap a button or type the date."
TODAY = "Today"
YESTERDAY = "Yesterday"
DATE_BUTTONS = {
    "today": "Today · {date}",
    "yday": "Yesterday · {date}",
    "w1": "1 week ago · {date}",
    "w4": "4 weeks ago · {date}",
    "w8": "8 weeks ago · {date}",
    "w12": "12 weeks ago · {date}",
    "w18": "18 weeks ago · {date}",
}
"""Date shortcuts (bot.rules.dates.DATE_SHORTCUTS), each with the date it stands for."""
PRIORITY_TITLE = "Priority"
PRIORITY_PROMPT = (
    "How urgent is this patient? Priority is recorded on the PTL but never changes the clock."
)
PRIORITY_UNKNOWN = "Please tap one of the priorities below (P1a–P4 are surgical priorities)."
CONSULTANT_TITLE = "Consultant (optional)"
CONSULTANT_PROMPT = "Type the consultant's name (for example Ms A Patel), or tap Skip."
NOTES_TITLE = "Notes (optional)"
NOTES_PROMPT = "Anything to remember about this patient? Up to {limit:,} characters, or tap Skip."

# -- input errors -----------------------------------------------------------------------------
EMPTY = "I didn't see any text. {hint}"
TOO_LONG = "That's {n:,} characters; {what} can be at most {limit:,}. Please shorten it."
CONTROL_CHARS = "That contains hidden control characters. Please type it again."
NEEDS_LETTER = "{what} needs at least one letter."
BAD_CHARS = (
    "{what} can contain letters, numbers, spaces and {allowed}; not {chars}. Please type it again."
)
NAME_ALLOWED = "hyphens, apostrophes, full stops and brackets"
LABEL_ALLOWED = "- ' . , &amp; / ( )"
WHAT_NAME = "A name"
WHAT_SPECIALTY = "A specialty"
WHAT_NOTES = "Notes"
DATE_TOO_LONG = "That's too long to be a date. {accepted}"
START_BEFORE_REFERRAL = (
    "The clock can't start before the referral letter's date ({referral}): the clock starts "
    "when the referral is received (or later, for a 31-day pathway). Type a date on or after "
    "{referral}, or go back and correct the referral date."
)
REFERRAL_AFTER_START = (
    "The referral can't be after the clock start ({start}). Type a date on or before "
    "{start}, or edit the clock start first."
)

# -- the standards, said the same way on every screen (bot/messages/clock.py) ------------------
STANDARDS = {
    "rtt": "18 weeks",
    "cancer_fds": "28 days",
    "cancer_62": "62 days",
    "cancer_31": "31 days",
    "diagnostic": "6 weeks",
}
