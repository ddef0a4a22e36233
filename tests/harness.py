"""Build a real Application on a test database and the offline Bot API.

Tests use `make_bot(db)` to get the Application, the recording API and a clock fixed in
Europe/London, then talk to it through `ChatUser` (bot/runtime/offline.py) like a person would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from telegram.ext import Application

from bot.config import Settings
from bot.rules.clock import FixedClock
from bot.runtime.app import build_application
from bot.runtime.offline import ChatUser, OfflineBotAPI
from bot.runtime.wiring import build_services
from bot.services.container import Services
from storage.db import Database

TODAY = date(2025, 3, 3)


def test_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"verifier": "console", "telegram_bot_token": None}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class Bot:
    app: Application  # type: ignore[type-arg]
    api: OfflineBotAPI
    services: Services
    clock: FixedClock

    def user(self, user_id: int, first_name: str = "Sam", **kw: Any) -> ChatUser:
        return ChatUser(self.app, self.api, user_id, first_name, **kw)


async def make_bot(
    db: Database,
    *,
    today: date = TODAY,
    settings: Settings | None = None,
    api: OfflineBotAPI | None = None,
    start: bool = False,
    setup: Callable[[Application], None] | None = None,  # type: ignore[type-arg]
    rate_limit: bool = False,
) -> Bot:
    """An initialised Application (call `await bot.app.shutdown()` when done, or use
    the `bot` fixture which does). `rate_limit`: every call spends the shared send budget,
    as in production (off by default, so tests do not wait for send slots)."""
    settings = settings or test_settings()
    clock = FixedClock(today, settings.timezone)
    services = build_services(settings, db, clock)
    api = api or OfflineBotAPI()
    app = build_application(services, request=api, rate_limit=rate_limit)
    if setup is not None:
        setup(app)  # extra handlers must be added before initialize() loads persistence
    await app.initialize()
    if app.post_init is not None:  # run_polling/run_webhook call it; we must too
        await app.post_init(app)
    if start:
        await app.start()
    return Bot(app, api, services, clock)


async def close_bot(bot: Bot) -> None:
    if bot.app.running:
        await bot.app.stop()
    await bot.app.shutdown()


async def age_codes(db: Database, *, seconds: float) -> None:
    """Let time pass for one-time codes: every challenge and code is stamped `seconds`
    earlier. The code limits run on the database's clock (`now()`), which a test cannot
    move, so the rows move instead."""
    shift = timedelta(seconds=seconds)
    async with db.service() as conn:
        await conn.execute(
            "update ptl_bot.otp_challenges set created_at = created_at - $1::interval,"
            " expires_at = expires_at - $1::interval,"
            " closed_at = closed_at - $1::interval",
            shift,
        )
        await conn.execute(
            "update ptl_bot.otp_codes set created_at = created_at - $1::interval,"
            " expires_at = expires_at - $1::interval",
            shift,
        )
