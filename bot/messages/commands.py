"""The command menus Telegram shows next to the text box (≤ 256 characters each).

Order is the order on screen: what a student does most comes first. The menus list only
commands the bot really handles (handlers/command_menu.py checks), so a command whose feature is not
installed never appears.
"""

from __future__ import annotations

STUDENT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("menu", "Main menu"),
    ("add", "Add a patient step by step"),
    ("ptl", "Your PTL, most at risk of breaching first"),
    ("find", "Find a patient by name, patient ID or NHS number"),
    ("update", "Record a pathway event or change a detail"),
    ("book", "Book an appointment, test or TCI date; record outcomes"),
    ("validate", "Check your pathways against the RTT rules"),
    ("stats", "Waits, breaches and a chart of your PTL"),
    ("export", "Your PTL as a spreadsheet (CSV)"),
    ("exercises", "Exercises from your tutor"),
    ("progress", "Your progress: what you did, quiz answers"),
    ("portfolio", "Your training record as a PDF for an employer"),
    ("bin", "Restore a deleted patient"),
    ("settings", "Breach reminder time and days"),
    ("whoami", "The account you are linked to"),
    ("unlink", "Unlink this Telegram account from your email"),
    ("help", "What this bot can do"),
    ("cancel", "Stop what you are doing (nothing half-saved)"),
)

# Shown, after the student commands, only in tutors' own chats.
TUTOR_COMMANDS: tuple[tuple[str, str], ...] = (
    ("cohorts", "Tutor: your cohorts, members and invite links"),
    ("cohort", "Tutor: create a cohort (/cohort new NAME)"),
    ("broadcast", "Tutor: send an exercise to a cohort"),
    ("progress", "Tutor: who has done each exercise"),
    ("students", "Tutor: your students' PTL summaries"),
)
