"""Telegram handlers, one module per conversation or feature.

`register_all` is the single list of what the bot answers; each feature module exposes
`register(app)` and adds its handlers (and jobs) there. `command_menu` sets the menus from
what is registered.

May import: `bot.services`, `bot.messages`, `bot.rules`, `storage`, `bot.config`, `bot.hooks`
and Telegram. Never `bot.runtime`, which is the only package that imports handlers.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application


def register_all(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    from handlers import (
        add,
        bin,
        book,
        broadcast,
        card,
        cohorts,
        command_menu,
        errors,
        exercises,
        export,
        find,
        menu,
        my_progress,
        portfolio,
        progress,
        ptl,
        reminders,
        routing,
        settings,
        start,
        stats,
        update,
        validate,
    )

    errors.register(app)
    start.register(app)
    menu.register(app)
    card.register(app)
    add.register(app)
    update.register(app)
    book.register(app)
    ptl.register(app)
    bin.register(app)
    find.register(app)
    export.register(app)
    stats.register(app)
    validate.register(app)
    reminders.register(app)
    settings.register(app)
    cohorts.register(app)  # tutoring (issue 7): cohorts, /broadcast, exercises, progress
    broadcast.register(app)
    exercises.register(app)
    progress.register(app)
    my_progress.register(app)  # a student's own record (issue 17); tutors keep /progress
    portfolio.register(app)
    command_menu.register(app)  # after every handler: the menu lists what is handled
    routing.register(app)  # last: answers whatever no feature claims
