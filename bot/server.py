"""Running against real Telegram: long polling (default) or a webhook when WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import logging
import sys

from bot.app import build_application
from bot.config import Settings
from bot.runtime import open_database
from bot.services import build_services

log = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    if settings.telegram_bot_token is None:
        print(
            "TELEGRAM_BOT_TOKEN is not set: get one from @BotFather and set it in the "
            "environment or .env.\nTo try the bot without Telegram, run: python -m bot console",
            file=sys.stderr,
        )
        return 2
    # The pool must live on the loop PTB runs on: create it there first.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    db = loop.run_until_complete(open_database(settings))
    services = build_services(settings, db)
    app = build_application(services)

    async def close_db(_: object) -> None:
        await db.close()

    app.post_shutdown = close_db
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        if not secret:
            print("WEBHOOK_SECRET must be set in webhook mode.", file=sys.stderr)
            return 2
        app.run_webhook(
            listen="0.0.0.0",  # a web dyno must listen on all interfaces
            port=settings.port,
            url_path="telegram",
            webhook_url=settings.webhook_url.rstrip("/") + "/telegram",
            secret_token=secret,
            allowed_updates=["message", "callback_query", "poll_answer"],
        )
    else:
        app.run_polling(allowed_updates=["message", "callback_query", "poll_answer"])
    return 0
