"""Breach reminder jobs and delivery: claim in the database, then send, then record.

Why a minute tick rather than one job per student: send times live in the database and change
from /settings at any moment, several bot instances may run, and the clocks change twice a
year. A single `run_repeating` job asks the database every minute "whose local send time has
come today and has no log row yet?", with "local" computed by the injectable clock in
Europe/London, so a restart rebuilds nothing from memory, a settings change is effective at
the next minute, and the spring and autumn clock changes send once at the right wall time.

Delivery is at most once per student per day (see storage/reminders.py): claim, take a slot
from the bot token's shared send budget, mark the attempt, send, record. 403 deactivates the
link; 429 waits as Telegram asks; network errors where Telegram provably did not take the
message are retried with backoff; a send whose fate is unknown (a read timeout) is recorded
as uncertain and not repeated.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.hooks import add_startup_hook
from bot.messages import reminders as text
from bot.rules.digest import Digest
from bot.services.container import SERVICES_KEY, BotContext, Services
from bot.services.reminders import ReminderService
from bot.services.send_budget import Kind, retry_after_seconds
from storage.reminders import Recipient

log = logging.getLogger(__name__)

JOB_NAME = "reminders:tick"
STARTUP_JOB_NAME = "reminders:startup"
_LOCK_KEY = "reminders:lock"
LEASE_NAME = "reminders"
LEASE_SECONDS = 120.0  # renewed before every chunk (a chunk is about a minute of sending)
_POLICY_KEY = "reminders:policy"

AnyApp = Application[Any, Any, Any, Any, Any, Any]


@dataclass
class DeliveryPolicy:
    """How hard to try and how fast to go. Tests swap `sleep` to observe waits instantly."""

    messages_per_second: float = 30.0  # REMINDER_MESSAGES_PER_SECOND (a cap; see send_budget)
    concurrency: int = 8  # sends in flight at once: hides per-request latency
    max_attempts: int = 6  # with the backoff below: about a minute of trying
    backoff_base: float = 2.0  # seconds; doubles per failed attempt
    backoff_cap: float = 60.0
    max_retry_after: float = 300.0  # a longer flood wait is recorded as failed, not slept
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)


@dataclass
class RunReport:
    """Counts from one run, for logs and tests. No emails or names in here."""

    skipped: bool = False
    due: int = 0
    claimed: int = 0
    reclaimed: int = 0
    sent: int = 0
    empty: int = 0
    blocked: int = 0
    failed: int = 0
    uncertain: int = 0
    lost: int = 0  # claim taken over by another runner before we sent

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def policy(app: AnyApp) -> DeliveryPolicy:
    found = app.bot_data.get(_POLICY_KEY)
    if not isinstance(found, DeliveryPolicy):
        rate = _services(app).settings.reminder_messages_per_second
        found = DeliveryPolicy(messages_per_second=rate)
        app.bot_data[_POLICY_KEY] = found
    return found


def _services(app: AnyApp) -> Services:
    services: Services = app.bot_data[SERVICES_KEY]
    return services


# ---------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------


def schedule(app: AnyApp) -> None:
    """(Re)build the reminder jobs: the minute tick, plus one catch-up run soon after start
    (which also backfills stored clock fields). Idempotent."""
    if app.job_queue is None:
        log.warning("No JobQueue (install python-telegram-bot[job-queue]): reminders are off")
        return
    for name in (JOB_NAME, STARTUP_JOB_NAME):
        for job in app.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    now = time.time()
    first = 60 - now % 60 + 1  # a second past the next whole minute
    app.job_queue.run_repeating(
        _tick_job,
        interval=60,
        first=first,
        name=JOB_NAME,
        # A long run (a big class at 08:30) outlasts a minute: later ticks start, find the
        # run's lock taken and return at once, instead of APScheduler logging each skip.
        job_kwargs={"max_instances": 3, "coalesce": True, "misfire_grace_time": 50},
    )
    app.job_queue.run_once(_tick_job, when=1, name=STARTUP_JOB_NAME)


async def _tick_job(context: BotContext) -> None:
    await run_reminders(context.application)


async def _on_startup(app: AnyApp) -> None:
    schedule(app)


async def run_reminders(app: AnyApp, *, exclusive: bool = True) -> RunReport:
    """One pass: refresh stored clocks, recover stale claims, then claim, compose and send
    for everyone due now, in chunks, until nobody is due.

    One run at a time: within a process an asyncio lock, across processes (replicas) a lease
    row (the send rate is shared with everything else through the send budget); a second
    caller returns `skipped` (the running pass picks up everyone who becomes due meanwhile).
    The claims make duplicates impossible even without the lease (`exclusive=False`, used by
    the tests)."""
    lock = app.bot_data.get(_LOCK_KEY)
    if not isinstance(lock, asyncio.Lock):
        lock = asyncio.Lock()
        app.bot_data[_LOCK_KEY] = lock
    if lock.locked():
        return RunReport(skipped=True)
    async with lock:
        reminders = _services(app).reminders
        if not exclusive:
            return await _run(app, renew=None)
        repo, runner = reminders.repo, reminders.runner

        async def renew() -> bool:
            return await repo.take_lease(LEASE_NAME, runner, LEASE_SECONDS)

        if not await renew():
            return RunReport(skipped=True)
        try:
            return await _run(app, renew=renew)
        finally:
            await repo.release_lease(LEASE_NAME, runner)


async def _run(app: AnyApp, *, renew: Callable[[], Awaitable[bool]] | None) -> RunReport:
    services = _services(app)
    reminders = services.reminders
    rules = policy(app)
    report = RunReport()
    try:
        await reminders.refresh_clocks()
    except Exception:
        # The digests re-evaluate every candidate with the engine anyway: carry on.
        log.exception("Clock backfill failed; reminders continue with engine re-evaluation")

    now = services.clock.now()
    stale = await reminders.repo.reclaim_stale(
        local_date=now.date(), runner=reminders.runner, now=now, stale_after=reminders.stale_after
    )
    if stale:
        report.reclaimed = len(stale)
        recipients = await reminders.repo.recipients_for_emails(stale)
        found = {r.email for r in recipients}
        for email in set(stale) - found:  # unlinked since the claim: nobody to send to
            await reminders.repo.finish(
                email, now.date(), "failed", runner=reminders.runner, now=now,
                detail="no active link",
            )  # fmt: skip
            report.failed += 1
        await _deliver(app, reminders, rules, recipients, now.date(), report)

    # Claim no more than can be sent in about a minute, so a live runner's claims never look
    # stale to another instance.
    chunk = max(10, min(500, int(rules.messages_per_second * 60)))
    while True:
        if renew is not None and not await renew():
            log.warning("Reminder lease lost to another runner; it carries on from here")
            break
        now = services.clock.now()
        due = await reminders.due_now(limit=chunk)
        if not due:
            break
        report.due += len(due)
        won = await reminders.repo.claim(
            due, local_date=now.date(), runner=reminders.runner, now=now
        )
        report.claimed += len(won)
        mine = [r for r in due if r.email in won]
        await _deliver(app, reminders, rules, mine, now.date(), report)
        if len(due) < chunk:
            break
    if report.claimed or report.reclaimed:
        log.info(
            "Reminders: %d sent, %d with nothing to say, %d blocked, %d failed, %d uncertain",
            report.sent, report.empty, report.blocked, report.failed, report.uncertain,
        )  # fmt: skip
    return report


# ---------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------


class _Pacer:
    """This run's own ceiling, REMINDER_MESSAGES_PER_SECOND across its concurrent senders. The
    bot token's overall limit is the shared budget's (bot/services/send_budget.py)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_at = time.monotonic()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at)
            self.next_at = at + self.interval
        delay = at - now
        if delay > 0:
            await asyncio.sleep(delay)


async def _deliver(
    app: AnyApp,
    reminders: ReminderService,
    rules: DeliveryPolicy,
    recipients: list[Recipient],
    day: dt.date,
    report: RunReport,
) -> None:
    """Compose and send the claimed digests for `recipients` (claims held by this runner)."""
    if not recipients:
        return
    digests = await reminders.compose(recipients, day)
    pacer = _Pacer(rules.messages_per_second)
    gate = asyncio.Semaphore(max(1, rules.concurrency))
    send_empty = reminders.settings.reminder_send_empty

    async def one(recipient: Recipient) -> None:
        digest = digests[recipient.email]
        if digest.is_empty and not send_empty:
            await reminders.repo.finish(
                recipient.email, day, "empty", runner=reminders.runner,
                now=reminders.clock.now(), patients=0,
            )  # fmt: skip
            report.add("empty")
            return
        async with gate:
            outcome = await send_digest(app, reminders, rules, recipient, digest, pacer)
        report.add(outcome)

    # Every send is awaited to the end (a database error for one student must not leave
    # others running unwatched after the run has released its lock).
    for result in await asyncio.gather(*(one(r) for r in recipients), return_exceptions=True):
        if isinstance(result, Exception):
            log.error("Reminder delivery failed for one student", exc_info=result)
            report.add("uncertain")


def digest_markup(digest: Digest) -> tuple[str, InlineKeyboardMarkup]:
    """The digest text and its buttons (see bot.messages.reminders.digest_buttons)."""
    body, listed = text.digest_text(digest)
    rows = [
        [InlineKeyboardButton(label, callback_data=data) for label, data in row]
        for row in text.digest_buttons(listed)
    ]
    return body, InlineKeyboardMarkup(rows)


async def send_digest(
    app: AnyApp,
    reminders: ReminderService,
    rules: DeliveryPolicy,
    recipient: Recipient,
    digest: Digest,
    pacer: _Pacer | None = None,
) -> str:
    """Send one claimed digest; returns the outcome recorded in the log (a RunReport field)."""
    repo, runner, clock = reminders.repo, reminders.runner, reminders.clock
    email, day = recipient.email, digest.day
    body, markup = digest_markup(digest)
    detail = ""
    budget = _services(app).send_budget
    for attempt in range(1, rules.max_attempts + 1):
        if pacer is not None:
            await pacer.wait()
        try:
            # The shared slot before the attempt is recorded: a crash while waiting for it
            # leaves nothing "uncertain".
            async with budget.slot(Kind.BULK):
                if await repo.mark_sending(email, day, runner=runner, now=clock.now()) is None:
                    return "lost"  # another runner took the claim over: it sends, we must not
                message = await app.bot.send_message(
                    recipient.chat_id, body, reply_markup=markup, disable_notification=False
                )
        except Forbidden:
            await reminders_links_blocked(app, recipient)
            await repo.finish(email, day, "blocked", runner=runner, now=clock.now(),
                              patients=digest.count, detail="403 forbidden")  # fmt: skip
            return "blocked"
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            detail = f"429 retry after {wait:g}s"
            if wait > rules.max_retry_after or attempt == rules.max_attempts:
                break
            await repo.release(email, day, runner=runner, now=clock.now(), detail=detail)
            await rules.sleep(wait)
            continue
        except NetworkError as exc:
            if _maybe_delivered(exc):
                await repo.finish(email, day, "uncertain", runner=runner, now=clock.now(),
                                  patients=digest.count, detail=_describe(exc))  # fmt: skip
                return "uncertain"
            if isinstance(exc, BadRequest):
                detail = _describe(exc)
                break
            detail = _describe(exc)
            if attempt == rules.max_attempts:
                break
            await repo.release(email, day, runner=runner, now=clock.now(), detail=detail)
            await rules.sleep(min(rules.backoff_cap, rules.backoff_base * 2 ** (attempt - 1)))
            continue
        except Exception as exc:  # a bug in composing or sending: record, never resend
            log.exception("Reminder send failed unexpectedly")
            await repo.finish(email, day, "uncertain", runner=runner, now=clock.now(),
                              patients=digest.count, detail=type(exc).__name__)  # fmt: skip
            return "uncertain"
        await repo.finish(email, day, "sent", runner=runner, now=clock.now(),
                          message_id=message.message_id, patients=digest.count)  # fmt: skip
        return "sent"
    await repo.finish(email, day, "failed", runner=runner, now=clock.now(),
                      patients=digest.count, detail=detail[:200] or "gave up")  # fmt: skip
    return "failed"


async def reminders_links_blocked(app: AnyApp, recipient: Recipient) -> None:
    """The student blocked the bot: deactivate the link so nothing more is sent until they
    /start and link again."""
    await _services(app).links.mark_blocked(recipient.chat_id)


# The request was sent and no answer came back: Telegram may have delivered the message.
_AMBIGUOUS = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def _maybe_delivered(exc: NetworkError) -> bool:
    """Whether Telegram may have taken the message despite the error.

    An HTTP error status (429, 5xx "Bad Gateway") or a failure to connect means it did not;
    a read timeout or a connection dropped after the request went out means it might have.
    """
    if isinstance(exc, BadRequest):
        return False
    cause = exc.__cause__
    if isinstance(cause, _AMBIGUOUS):
        return True
    # A TimedOut with no transport cause gives no way to tell: assume it might have.
    return isinstance(exc, TimedOut) and not isinstance(
        cause, httpx.ConnectTimeout | httpx.PoolTimeout
    )


def _describe(exc: Exception) -> str:
    """An error for the log table: its type and Telegram's message (never any chat text)."""
    return f"{type(exc).__name__}: {exc}"[:200]


def register(app: AnyApp) -> None:
    add_startup_hook(app, _on_startup)
