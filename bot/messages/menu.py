"""Main menu and help wording."""

MENU_TITLE = "What would you like to do, {name}?"
HELP = (
    "<b>PTL trainer</b>: practise running a Patient Tracking List with fictional patients.\n\n"
    "/add: add a patient step by step\n"
    "/ptl: your PTL, most at risk of breaching first\n"
    "/update: record a pathway event or change a detail\n"
    "/find: find a patient by name, patient ID or NHS number\n"
    "/stats: waits, breaches and a chart of your PTL\n"
    "/export: your PTL as a spreadsheet (CSV)\n"
    "/validate: check pathways against the RTT rules\n"
    "/bin: restore a deleted patient\n"
    "/settings: breach reminder time and days\n"
    "/whoami: the account you are linked to\n"
    "/cancel: stop what you are doing (nothing half-saved)\n\n"
    "Use fictional patients only: never enter a real person's details."
)

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
