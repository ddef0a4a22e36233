"""Builds the PTB Application: one function used by polling, webhook, console and tests.

Why one builder: the console and every test drive exactly the Application production runs,
differing only in the request object (the offline Bot API instead of HTTPS), the clock and
the database they are given.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.hooks import add_startup_hook, run_startup_hooks
from bot.messages import common as common_text
from bot.rules.dates import warm_up
from bot.runtime import log_redaction
from bot.runtime.updates import ChatOrderedUpdateProcessor, concurrency_for
from bot.services.container import SERVICES_KEY, BotContext, Services
from bot.services.send_budget import SharedRateLimiter
from storage.persistence import PostgresPersistence

log = logging.getLogger(__name__)
# Console mode and tests need *a* token to build a Bot; the offline API never checks it.
OFFLINE_TOKEN = "7000000001:OFFLINE-ptl-bot-console-and-tests-token"


async def _warm_date_parser(app: Application) -> None:
    """dateparser loads its language data on first use (~300 ms): do it before a student
    types "3 weeks ago", in a thread so start-up is not blocked."""
    seconds = await asyncio.to_thread(warm_up)
    log.info("Date parser warmed up in %.0f ms", seconds * 1000)


class PtlApplication(Application):
    """An Application that writes persistence through after every update, and shares
    conversation state with other replicas on the same database.

    PTB batches persistence writes every `update_interval` seconds; for a student half-way
    through a form, a restart inside that window would lose their answers. Flushing after
    each update (the persistence skips unchanged data) closes that window. With Postgres
    persistence each update is processed inside `PostgresPersistence.turn()`: this chat's
    state is re-read and the chat locked across replicas until the update's writes are in.
    """

    async def process_update(self, update: object) -> None:
        persistence = self.persistence
        if not isinstance(update, Update) or persistence is None:
            await super().process_update(update)
            return
        if not isinstance(persistence, PostgresPersistence):
            await self._process_and_persist(update)
            return
        try:
            async with persistence.turn(self, update):
                await self._process_and_persist(update)
        except Exception as exc:  # the database is unreachable: tell the user, keep running
            # Raising here would end PTB's update loop for good; report it like a handler error.
            await self.process_error(update=update, error=exc)

    async def _process_and_persist(self, update: Update) -> None:
        await super().process_update(update)
        self.mark_data_for_update_persistence(
            chat_ids=update.effective_chat.id if update.effective_chat else None,
            user_ids=update.effective_user.id if update.effective_user else None,
        )
        await self.update_persistence()
        if PostgresPersistence.failed_writes():
            await self._tell_not_saved(update)

    async def _tell_not_saved(self, update: Update) -> None:
        """A write of this update's state failed (PTB logs it without the update): the
        step did not count, and the person must know rather than carry on as if it had."""
        if update.effective_chat is None:
            return
        try:
            await self.bot.send_message(update.effective_chat.id, common_text.NOT_SAVED)
        except TelegramError as exc:
            log.warning("Could not say that a step was not saved: %s", exc)


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    token: str | None = None,
    rate_limit: bool = True,
    persistence: bool = True,
    register: bool = True,
) -> Application:
    """The bot's Application. Pass `request` (an OfflineBotAPI) to run without Telegram."""
    settings = services.settings
    log_redaction.install()  # no emails, codes, message text or token in PTB's DEBUG logs
    if token is None:
        secret = settings.telegram_bot_token
        token = secret.get_secret_value() if secret else OFFLINE_TOKEN
    builder: Any = (
        ApplicationBuilder()
        .application_class(PtlApplication)
        .token(token)
        .base_url(settings.telegram_api_url)
        .context_types(ContextTypes(context=BotContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .post_init(run_startup_hooks)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    concurrency = concurrency_for(settings.concurrent_updates, settings.db_pool_max_size)
    if concurrency > 1:  # polling and webhook only: tests and the console call process_update
        builder = builder.concurrent_updates(ChatOrderedUpdateProcessor(concurrency))
    if rate_limit:
        # Telegram's limits: about 30 messages/s per bot token, shared with every replica and
        # job through the database; 20/min per group. A reply retries a 429 once.
        builder = builder.rate_limiter(SharedRateLimiter(services.send_budget, max_retries=1))
    if persistence:
        builder = builder.persistence(PostgresPersistence(services.db, update_interval=30))
    app = builder.build()
    app.bot_data[SERVICES_KEY] = services
    add_startup_hook(app, _warm_date_parser)
    if register:
        from handlers import register_all

        register_all(app)
    return app
