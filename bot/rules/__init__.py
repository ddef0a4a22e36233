"""The pure domain: the NHS waiting-time rules and everything else that is true of the data
whatever reads it. The rules engine (`pathway`, the one source of clock and breach logic), the
pathway validator, NHS numbers, dates in words, the injectable clock, specialties (treatment
function codes), `records` (a stored row <-> the engine), the patient fields' data rules
(`fields`), email addresses, the built-in scenarios and the scenario CSV parser, and the
breach-reminder schedule and digest types (`digest`), and bookings: the `appointments` model
and what a booking means for the clock (`bookings`) and the PTL-wide booking checks
(`booking_checks`).

May import: the standard library, pydantic, dateparser and holidays (England's bank holidays,
pure data), and other `bot.rules` modules.
Nothing else: no Telegram, no database, no wording, no settings (callers pass values in), so
every rule can be tested with plain values and reused by any screen.
"""
