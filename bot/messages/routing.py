"""What the bot says to a message no feature was waiting for (handlers/routing.py): an
unknown command, stray text, a photo, a dead button, a group chat."""

from __future__ import annotations

UNKNOWN_COMMAND = "🤔 I don't know {command}. Here is what I can do:"
UNKNOWN_COMMAND_IN_FORM = (
    "🤔 I don't know {command}. Your {form} form is still open ({where}): type your answer "
    "or tap a button there, or send /cancel to stop it. /help lists every command."
)
NOT_WAITING = (
    "I wasn't waiting for an answer just then. Did you want to search your PTL for "
    "“{text}”? Or open the menu."
)
NOT_WAITING_LONG = (
    "I wasn't waiting for an answer just then, so I haven't used that message. Open the "
    "menu to choose what to do."
)
FIND_BUTTON = "🔎 Find “{text}”"
ON_HOLD_TEXT = (
    "⏸ Your {command} form is on hold ({where}), so I haven't used that message. Carry on "
    "with the form, or cancel it."
)
ON_HOLD_TEXT_MANY = (
    "⏸ You have forms on hold ({forms}), so I haven't used that message. Carry on with one, "
    "or cancel it."
)
TEXT_ONLY = "I can only read typed messages and commands here. Send /menu to see what I can do."
EDITED = "I only read new messages, not edits: please send the corrected text as a new message."
BUTTON_GONE = "That button no longer works. Send /menu to carry on."
GROUP_ONLY_PRIVATE = (
    "I only work in a private chat (patients and emails stay out of groups): open "
    "{link} and send /start there."
)
GROUP_BUTTON = "I only work in a private chat: open @{username} and send /start there."
