"""Everything the bot says, one module per feature, so wording is easy to find and change.

Conventions: British English, NHS terms (PTL, RTT, breach, clock start), dates through
`bot.rules.dates.format_date` ("12 Oct 2025"), HTML parse mode (escape anything a user typed,
with `bot.messages.html.esc`). `clock.py` is the one place a clock is put into words.

May import: `bot.rules` (dates, the engine's types) and other `bot.messages` modules only: no
Telegram, no database, no services, so any layer above can use the same sentences.
"""
