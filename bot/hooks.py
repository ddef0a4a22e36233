"""The start-up hook registry: work to run once the Application is initialised.

Why it sits at the bottom, beside `bot.config`: features in every layer (the outbox worker,
reminders, the command menu) need to say "rebuild my jobs when the bot starts", and only the
runtime runs the hooks. Keeping the registry here means none of them imports the runtime to
register one, so no import ever points back up. Standard library and PTB's Application only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram.ext import Application

STARTUP_HOOKS_KEY = "startup_hooks"
Hook = Callable[[Application[Any, Any, Any, Any, Any, Any]], Awaitable[None]]


def add_startup_hook(app: Application[Any, Any, Any, Any, Any, Any], hook: Hook) -> None:
    """Run `hook(app)` once the Application is initialised (polling, webhook, console and
    tests alike): the place to rebuild jobs from the database and register command menus."""
    app.bot_data.setdefault(STARTUP_HOOKS_KEY, []).append(hook)


class StartupHookError(RuntimeError):
    """A start-up hook failed; the message names the hook and the error, in one line."""


async def run_startup_hooks(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """PTB's `post_init`: each registered hook, in the order they were added. A failing hook
    raises StartupHookError naming it (the runtime reports it and exits 2)."""
    for hook in app.bot_data.get(STARTUP_HOOKS_KEY, []):
        try:
            await hook(app)
        except Exception as exc:
            name = f"{getattr(hook, '__module__', '?')}.{getattr(hook, '__qualname__', hook)}"
            detail = str(exc)[:200] or "no detail"
            raise StartupHookError(f"{name} failed ({type(exc).__name__}: {detail})") from exc
