"""Main menu and help wording."""

from __future__ import annotations

from bot.messages.commands import STUDENT_COMMANDS, TUTOR_COMMANDS

MENU_TITLE = "What would you like to do, {name}?"
HELP_INTRO = "<b>PTL trainer</b>: practise running a Patient Tracking List with fictional patients."
HELP_NOT_LINKED = (
    "First link your platform account: send /start and I'll ask for your platform email. "
    "Then you can use:"
)
HELP_STUDENT_TITLE = "<b>Your commands</b>"
HELP_TUTOR_TITLE = "<b>Tutor commands</b> (you are listed as a tutor)"
HELP_STUDENTS_TOO_TITLE = "<b>Student commands</b> (try anything students do on your own PTL)"
HELP_LINE = "/{command}: {description}"
HELP_FOOTER = (
    "Every form has Back and Cancel; sending another command puts it on hold (▶️ Carry on "
    "brings it back).\n"
    "Use fictional patients only: never enter a real person's details."
)


def _sentence_case(description: str) -> str:
    """ "Add a patient" -> "add a patient" (an acronym such as "PTL" keeps its capitals)."""
    if len(description) > 1 and description[1].islower():
        return description[0].lower() + description[1:]
    return description


def help_text(*, linked: bool, tutor: bool) -> str:
    """/help for who is asking: every student command, and the tutor commands for tutors.
    The lists are the command menus' own (bot/messages/commands.py), so /help and the menu
    next to the text box never disagree."""

    def lines(commands: tuple[tuple[str, str], ...]) -> str:
        return "\n".join(
            HELP_LINE.format(command=c, description=_sentence_case(d)) for c, d in commands
        )

    parts = [HELP_INTRO]
    if not linked:
        parts.append(HELP_NOT_LINKED)
    if tutor:
        tutor_lines = [(c, d.removeprefix("Tutor: ")) for c, d in TUTOR_COMMANDS]
        parts.append(HELP_TUTOR_TITLE + "\n" + lines(tuple(tutor_lines)))
        # A command both lists have (/progress) does the tutor's thing for a tutor.
        theirs = tuple((c, d) for c, d in STUDENT_COMMANDS if c not in dict(TUTOR_COMMANDS))
        parts.append(HELP_STUDENTS_TOO_TITLE + "\n" + lines(theirs))
    else:
        parts.append(HELP_STUDENT_TITLE + "\n" + lines(STUDENT_COMMANDS))
    parts.append(HELP_FOOTER)
    return "\n\n".join(parts)


# Button label -> callback data. Feature modules answer their own `menu:<key>` callbacks.
MENU_BUTTONS: tuple[tuple[str, str], ...] = (
    ("➕ Add patient", "menu:add"),
    ("📋 My PTL", "menu:ptl"),
    ("🔎 Find", "menu:find"),
    ("📊 Stats", "menu:stats"),
    ("⬇️ Export CSV", "menu:export"),
    ("✅ Validate", "menu:validate"),
    ("⏰ Reminders", "menu:settings"),
    ("❓ Help", "menu:help"),
)
MENU_BUTTON = "📋 Menu"
"""A button that opens the main menu (callback `menu:main`)."""
