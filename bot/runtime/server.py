"""`python -m bot run`: the bot against real Telegram, by long polling or by webhook.

Polling (the default, the Procfile's `worker`) needs no public URL and suits one instance.
Webhook mode (`WEBHOOK_URL` set, the Procfile's `web`) listens on `PORT`, checks Telegram's
secret header, serves `/healthz`, and can run as several replicas behind a load balancer:
the replicas share conversations through the database (storage/persistence.py).

Why our own lifecycle instead of PTB's `run_polling`/`run_webhook`: graceful shutdown must be
ordered. On SIGTERM (a redeploy, a scale-down) the replica first stops taking new updates
(webhook: 503, so Telegram re-delivers them elsewhere; polling: stop fetching), then lets
PTB finish every update it already accepted and the jobs that are running, writes
persistence, and only then closes the database pool. Nothing is cut off half-way: an update
is processed to the end or not taken at all, and each update's writes are committed
together with its conversation state (PtlApplication).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.config import Settings
from bot.hooks import StartupHookError
from bot.runtime.app import build_application
from bot.runtime.database import open_database
from bot.runtime.webhook import WebhookServer
from bot.runtime.wiring import build_services

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "poll_answer", "my_chat_member"]
DEFAULT_WEBHOOK_PATH = "/telegram"
STARTUP_ATTEMPTS = 5

Setup = Callable[[Application], None]


def webhook_endpoint(webhook_url: str) -> tuple[str, str]:
    """(URL to give Telegram, path to serve) from WEBHOOK_URL: a bare host gets /telegram."""
    parts = urlsplit(webhook_url)
    path = parts.path.rstrip("/") or DEFAULT_WEBHOOK_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")), path


def check_run_settings(settings: Settings) -> str | None:
    """What stops `run` from starting, in words the operator can act on (None if nothing)."""
    if settings.telegram_bot_token is None:
        return (
            "TELEGRAM_BOT_TOKEN is not set: get one from @BotFather and set it in the "
            "environment or .env.\nTo try the bot without Telegram, run: python -m bot console"
        )
    if settings.webhook_url and settings.webhook_secret is None:
        return (
            "WEBHOOK_SECRET must be set in webhook mode (the same value on every replica). "
            'Make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return None


def settings_for_mode(settings: Settings, mode: str) -> Settings | str:
    """Settings for `run --mode`, or what is wrong. `polling` ignores WEBHOOK_URL (config vars
    are shared by every process type on most platforms); `webhook` insists on it."""
    if mode == "polling":
        return settings.model_copy(update={"webhook_url": None})
    if mode == "webhook" and not settings.webhook_url:
        return (
            "run --mode webhook needs WEBHOOK_URL (this service's public https:// address) and "
            "WEBHOOK_SECRET. Without a public URL, run the worker (polling) instead."
        )
    return settings


def run(settings: Settings, *, mode: str = "auto", setup: Setup | None = None) -> int:
    """Run until SIGTERM/SIGINT; return the process exit status."""
    chosen = settings_for_mode(settings, mode)
    if isinstance(chosen, str):
        print(chosen, file=sys.stderr)
        return 2
    settings = chosen
    problem = check_run_settings(settings)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    return asyncio.run(serve(settings, setup=setup))


async def serve(
    settings: Settings,
    *,
    setup: Setup | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """The whole life of a running bot. `stop` (default: set by SIGTERM/SIGINT) ends it."""
    stop = stop or asyncio.Event()
    _install_signal_handlers(stop)
    db = await open_database(settings)
    app: Application | None = None
    server: WebhookServer | None = None
    try:
        services = build_services(settings, db)
        app = build_application(services, rate_limit=settings.telegram_rate_limit)
        if setup is not None:
            setup(app)
        if not await _initialize(app, stop, settings.telegram_api_url):
            return 2 if not stop.is_set() else 0
        if app.post_init is not None:
            try:
                await app.post_init(app)
            except StartupHookError as exc:
                log.debug("Start-up hook failed", exc_info=True)
                log.error("Start-up stopped: %s", exc)
                return 2
        if settings.webhook_url:
            server = await _start_webhook(app, settings, db)
        else:
            await _start_polling(app)
        await app.start()
        log.info(
            "ptl-bot is running (%s mode). Stop with SIGTERM or Ctrl-C.",
            "webhook" if server else "polling",
        )
        await stop.wait()
        log.info("Stopping: no new updates; finishing the ones already accepted")
        if server is not None:
            server.begin_drain()
        elif app.updater is not None and app.updater.running:
            await app.updater.stop()
        await app.stop()  # processes every queued update, waits for running jobs
        if app.post_stop is not None:
            await app.post_stop(app)
        if server is not None:
            log.info(
                "Webhook: %d update(s) accepted, %d refused for a wrong secret",
                server.stats.accepted,
                server.stats.refused_secret,
            )
        return 0
    finally:
        if server is not None:
            await server.stop()
        if app is not None:
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()  # writes and flushes persistence
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
        await db.close()
        _remove_signal_handlers()
        log.info("ptl-bot stopped")


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("Second %s: still finishing in-flight updates", signal.Signals(signum).name)
            return
        log.info("Received %s", signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal, signum)


def _remove_signal_handlers() -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(signum)


async def _initialize(app: Application, stop: asyncio.Event, api_url: str) -> bool:
    """Initialise (which asks Telegram who we are), retrying while Telegram is unreachable.

    Anything else that goes wrong here (a Bot API server answering in a shape PTB cannot
    read, a refusal other than the token's) ends start-up with one line naming it: retrying
    would not help, and a traceback would not tell the operator what to change."""
    delay = 1.0
    for attempt in range(1, STARTUP_ATTEMPTS + 1):
        try:
            await app.initialize()
            return True
        except InvalidToken:
            log.error(
                "Telegram rejected TELEGRAM_BOT_TOKEN. Copy the token again from @BotFather "
                "(/mybots > your bot > API Token); run `python -m bot doctor` to check."
            )
            return False
        except RetryAfter as exc:
            wait = _retry_seconds(exc)
            log.warning("Telegram asked start-up to wait %.0f s (flood control)", wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            if stop.is_set():
                return False
        except NetworkError as exc:
            if isinstance(exc, BadRequest):
                log.error(_unexpected(api_url, exc))
                return False
            if attempt == STARTUP_ATTEMPTS:
                log.error("Telegram is unreachable (%s); giving up after %d tries", exc, attempt)
                return False
            log.warning("Telegram is unreachable (%s); retrying in %.0f s", exc, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return False
            delay = min(delay * 2, 30.0)
        except Exception as exc:  # an answer PTB could not read, or a refusal
            log.debug("Start-up failed", exc_info=True)
            log.error(_unexpected(api_url, exc))
            return False
    return False


def _unexpected(api_url: str, exc: BaseException) -> str:
    return (
        f"Start-up stopped: the Bot API at {api_url} answered getMe in a way ptl-bot cannot use"
        f" ({type(exc).__name__}: {str(exc)[:200] or 'no detail'}). Check that TELEGRAM_API_URL"
        " points at Telegram (https://api.telegram.org/bot) or a telegram-bot-api server, then"
        " run `python -m bot doctor`."
    )


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB warns that retry_after will become a timedelta
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


async def _start_webhook(
    app: Application,
    settings: Settings,
    db: Any,
) -> WebhookServer:
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    url, path = webhook_endpoint(settings.webhook_url)
    secret = settings.webhook_secret.get_secret_value()
    server = WebhookServer(
        app, secret_token=secret, path=path, database_probe=lambda: db.fetchval("select 1")
    )
    await server.start(settings.webhook_listen, settings.port)
    try:
        # Every replica sets the same webhook at start: idempotent, and the newest wins.
        await app.bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            max_connections=settings.webhook_max_connections,
        )
        log.info("Webhook set: Telegram will post updates to %s", url)
    except TelegramError as exc:
        # Keep serving: the webhook may already be set from the previous deploy.
        log.error("Could not set the webhook (%s); `python -m bot doctor` checks it", exc)
    return server


async def _start_polling(app: Application) -> None:
    assert app.updater is not None

    def on_error(exc: TelegramError) -> None:
        app.create_task(app.process_error(update=None, error=exc))

    # start_polling removes any webhook first (Telegram allows one or the other).
    await app.updater.start_polling(
        allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False, error_callback=on_error
    )
