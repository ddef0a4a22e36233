"""What builds and runs the process: the Application builder (`app`), in-order concurrent
update processing (`updates`), polling and webhook serving (`server`, `webhook`), the console
mode and the offline Bot API it and the tests talk to (`console`, `offline`), logging and
redaction (`logs`, `log_redaction`), the database at start-up (`database`), the assembly of
the services (`wiring`), `doctor`, and the command line (`cli`, `staff_cli`, `reminders_cli`).

May import everything below it: `handlers` (only the runtime does), `bot.services`,
`bot.messages`, `bot.rules`, `storage`, `bot.config`, `bot.hooks`. Nothing imports the runtime
except `python -m bot` (`bot/__main__.py`) and the tests.
"""
