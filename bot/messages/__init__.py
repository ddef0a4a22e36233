"""Everything the bot says, one module per feature, so wording is easy to find and change.

Conventions: British English, NHS terms (PTL, RTT, breach, clock start), dates through
`bot.dates.format_date` ("12 Oct 2025"), HTML parse mode (escape anything a user typed).
"""
