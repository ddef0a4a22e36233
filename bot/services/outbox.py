"""The broadcast worker: sends each (exercise, student) delivery once, under Telegram's limits.

How it keeps its promises:

* **Limits.** Telegram allows a bot about 30 messages a second in all and about one a second
  per chat. Every send takes a bulk slot from the bot token's shared budget
  (bot/services/send_budget.py), so replicas, reminder runs and replies to students share
  those 30 between them; within that, a pacer spaces this worker's sends evenly at
  `BROADCAST_MESSAGES_PER_SECOND` at most. A student messaged in the last second is not
  picked again until the second has passed. A 429 pauses the shared budget (every replica
  waits) and this worker for the `retry_after` Telegram gives, and puts that delivery back
  without using up an attempt.
* **Never twice.** Each delivery is committed as `sending` before its API call (see
  storage/exercises.py). If the process dies during the call, the row is later marked
  `unconfirmed` and is not resent automatically: Telegram has no idempotency key, so resending
  could give the student a second copy. Only the in-flight calls at the moment of a crash
  (a handful) can end up like that; a normal stop (deploy, Ctrl-C) lets them finish and gives
  unstarted claims back, so nothing is lost or doubled. Tutors see `unconfirmed` counts and
  may resend explicitly.
* **Nobody missed.** Pending rows survive restarts: at start-up the worker is scheduled again
  from the database (a repeating job), lapsed claims go back to pending, and 429/5xx/connect
  errors are retried with back-off.
* **Blocked students.** A 403 marks the delivery `blocked` and deactivates the student's link,
  so nothing else is sent to them until they /start again.

The tutor's progress message is edited at most once a second per chat, only when its text
changes ("message is not modified" is never provoked).
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputPollOption, Message, Poll
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application

from bot.messages import tutors as text
from bot.messages.numbers import plural
from bot.rules.dates import format_date
from bot.services.container import Services
from bot.services.send_budget import Kind, retry_after_seconds
from storage.exercises import Claimed, Exercise, ExerciseRepository
from storage.links import LinkRepository

log = logging.getLogger(__name__)

WORKER_KEY = "outbox_worker"
JOB_NAME = "broadcast-outbox"
PER_CHAT_INTERVAL = 1.1  # Telegram: about one message a second per chat; a margin for jitter
# Bounded calls: a `sending` row is only ambiguous for as long as its call can last.
CONNECT_TIMEOUT, READ_TIMEOUT, WRITE_TIMEOUT, POOL_TIMEOUT = 5.0, 15.0, 15.0, 5.0


# --- the exercise message, exactly as students see it (also the tutor's preview) ----------


def exercise_tag(exercise_id: int) -> str:
    return text.EXERCISE_TAG.format(id=exercise_id)


@dataclass(frozen=True)
class Stage:
    """How far one student is with an exercise: what their copy of the message says."""

    started: bool = False
    quiz_sent: bool = False
    score: tuple[int, int] | None = None
    """(right, questions) once every question is answered."""
    done: bool = False


def exercise_text(
    *,
    exercise_id: int,
    title: str,
    cohort: str,
    brief: str,
    patients: int,
    questions: int,
    due: Any,
    stage: Stage | None = None,
) -> str:
    """The exercise as a student reads it, at their `stage` (None: as it is first sent)."""
    stage = stage or Stage()
    body = text.EXERCISE.format(
        title=html.escape(title, quote=False),
        cohort=html.escape(cohort, quote=False),
        brief=html.escape(brief, quote=False),
    )
    tag = exercise_tag(exercise_id)
    if patients:
        shown = plural(patients, "scenario patient")
        line = text.EXERCISE_PATIENTS_ADDED if stage.started else text.EXERCISE_PATIENTS
        body += line.format(patients=shown, tag=tag)
    elif stage.started:
        body += text.EXERCISE_STARTED
    if questions:
        asked = plural(questions, "question")
        if stage.score is not None:
            body += text.EXERCISE_QUIZ_SCORED.format(right=stage.score[0], total=stage.score[1])
        elif stage.quiz_sent:
            body += text.EXERCISE_QUIZ_SENT.format(questions=asked)
        elif stage.started:
            body += text.EXERCISE_QUIZ_READY.format(questions=asked)
        else:
            body += text.EXERCISE_QUIZ.format(questions=asked)
    if due is not None:
        body += text.EXERCISE_DUE.format(date=format_date(due))
    if stage.done:
        body += text.EXERCISE_DONE
    return body


def exercise_keyboard(
    exercise_id: int | None, *, stage: Stage | None = None, quiz: bool = False
) -> InlineKeyboardMarkup:
    """The buttons for a student at `stage`: ▶️ Start, then 📝 Take the quiz (if the exercise
    has one and it hasn't been sent), ✅ Mark as done and 📋 My PTL; ↩️ Not done yet once
    done. `exercise_id=None` gives the preview's inert twin."""
    stage = stage or Stage()

    def data(action: str) -> str:
        return "ex:p" if exercise_id is None else f"ex:{action}:{exercise_id}"

    if stage.done:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(text.UNDO_DONE_BUTTON, callback_data=data("u"))]]
        )
    done = InlineKeyboardButton(text.DONE_BUTTON, callback_data=data("d"))
    if not stage.started:
        start = InlineKeyboardButton(text.START_BUTTON, callback_data=data("s"))
        return InlineKeyboardMarkup([[start, done]])
    rows = []
    if quiz and not stage.quiz_sent:
        rows.append([InlineKeyboardButton(text.TAKE_QUIZ_BUTTON, callback_data=data("q"))])
    rows.append([done, InlineKeyboardButton(text.MY_PTL_BUTTON, callback_data="menu:ptl")])
    return InlineKeyboardMarkup(rows)


async def send_quiz_poll(
    bot: Bot,
    chat_id: int,
    *,
    question: str,
    options: Sequence[str],
    correct: int,
    explanation: str | None,
    **kwargs: Any,
) -> Message:
    """One quiz question as a Telegram quiz poll, exactly as students (and the tutor's
    preview) get it.

    Why plain text: the Application's default parse mode is HTML, and PTB applies it to a
    poll's question, options and explanation too, so a tutor's "17 < 18 & ..." would be
    refused by Telegram. Poll text is never marked up, so every part is sent without one.
    """
    return await bot.send_poll(
        chat_id,
        question,
        [InputPollOption(option, text_parse_mode=None) for option in options],
        type=Poll.QUIZ,
        is_anonymous=False,
        correct_option_ids=cast(Any, [correct]),
        explanation=explanation or None,
        question_parse_mode=None,
        explanation_parse_mode=None,
        **kwargs,
    )


def exercise_message(exercise: Exercise) -> tuple[str, InlineKeyboardMarkup]:
    return (
        exercise_text(
            exercise_id=exercise.id,
            title=exercise.title,
            cohort=exercise.cohort_name,
            brief=exercise.brief,
            patients=len(exercise.patients),
            questions=exercise.question_count,
            due=exercise.due_date,
        ),
        exercise_keyboard(exercise.id),
    )


# --- the tutor's progress message -------------------------------------------------------


def progress_message(exercise: Exercise, counts: Counter[str]) -> tuple[str, InlineKeyboardMarkup]:
    total = sum(counts.values())
    in_flight = counts["pending"] + counts["claimed"] + counts["sending"]
    title = html.escape(exercise.title, quote=False)
    cohort = html.escape(exercise.cohort_name, quote=False)
    extra = text.progress_extra(counts)
    if in_flight:
        body = text.PROGRESS_SENDING.format(
            title=title, cohort=cohort, sent=counts["sent"], total=total, extra=extra
        )
    else:
        body = text.PROGRESS_DONE.format(
            title=title, cohort=cohort, sent=counts["sent"], total=total, extra=extra
        )
        hints = [text.PROGRESS_HINTS[k] for k in text.PROGRESS_HINTS if counts.get(k)]
        if hints:
            body += "\n\n" + "\n".join(hints)
    buttons = [InlineKeyboardButton(text.PROGRESS_BUTTON, callback_data=f"pr:x:{exercise.id}:0")]
    resendable = counts["failed"] + counts["unconfirmed"] + counts["not_linked"] + counts["blocked"]
    if resendable and not in_flight:
        buttons.append(
            InlineKeyboardButton(
                text.RESEND_BUTTON.format(n=resendable), callback_data=f"bc:rs:{exercise.id}"
            )
        )
    return body, InlineKeyboardMarkup([buttons])


# --- pacing -------------------------------------------------------------------------------


class Pacer:
    """This worker's own ceiling, `BROADCAST_MESSAGES_PER_SECOND`: evenly spaced pick-ups (no
    bursts), and a pause after a 429. The bot token's overall limit is the shared budget's
    (each send also takes a slot there, right before it is recorded as `sending`)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0
        self._paused_until = 0.0

    async def acquire(self) -> None:
        """Wait for the next evenly spaced slot (after any 429 pause)."""
        while True:
            now = time.monotonic()
            slot = max(now, self._next, self._paused_until)
            if slot <= now:
                self._next = now + self.interval
                return
            await asyncio.sleep(slot - now)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)


@dataclass
class DrainReport:
    sent: int = 0
    blocked: int = 0
    retried: int = 0
    failed: int = 0
    unconfirmed: int = 0
    recovered_claims: int = 0
    exercises: set[int] = field(default_factory=set)


def _not_sent(exc: NetworkError) -> bool:
    """True when the request certainly did not reach Telegram (safe to retry)."""
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return "Pool timeout" in str(exc) or isinstance(
            cause, httpx.ConnectTimeout | httpx.PoolTimeout
        )
    if cause is None:  # Telegram answered with a 5xx: the gateway did not take the message
        return True
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


class OutboxWorker:
    """Works through due deliveries. One per Application; `drain()` is safe to call often."""

    def __init__(
        self,
        bot: Bot,
        services: Services,
        *,
        rate: float | None = None,
        claim_lease: float = 30.0,
        sending_lease: float = 300.0,
        max_in_flight: int = 16,
        max_attempts: int = 6,
        progress_interval: float = 1.0,
    ) -> None:
        self.bot = bot
        self.services = services
        self.repo = ExerciseRepository(services.db)
        self.links = LinkRepository(services.db)
        self.rate = rate or services.settings.broadcast_messages_per_second
        self.pacer = Pacer(self.rate)
        self.budget = services.send_budget
        self.claim_lease = claim_lease
        self.sending_lease = sending_lease
        self.max_in_flight = max_in_flight
        self.max_attempts = max_attempts
        self.progress_interval = progress_interval
        self._lock = asyncio.Lock()
        self._recent: dict[str, float] = {}  # email -> monotonic time of the last send
        self._exercises: dict[int, tuple[Exercise, str, InlineKeyboardMarkup]] = {}
        self._progress_sent: dict[int, str] = {}  # exercise id -> last text shown
        self._progress_at: dict[int, float] = {}  # tutor chat id -> last edit time

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    async def drain(
        self,
        *,
        keep_running: Callable[[], bool] = lambda: True,
        wait_for_retries: float = 30.0,
        max_messages: int | None = None,
    ) -> DrainReport:
        """Send everything due; wait for retries due within `wait_for_retries` seconds.

        Returns at once if another drain is running in this process (it picks up new rows
        itself). `keep_running` is checked between sends: the job passes
        `lambda: app.running`, so a stopping bot finishes the calls in flight and gives back
        the rest. `max_messages` stops after that many sends (tests and benchmarks).
        """
        report = DrainReport()
        if self._lock.locked():
            return report
        async with self._lock:
            await self._drain(report, keep_running, wait_for_retries, max_messages)
        return report

    async def _drain(
        self,
        report: DrainReport,
        keep_running: Callable[[], bool],
        wait_for_retries: float,
        max_messages: int | None,
    ) -> None:
        recovered = await self.repo.recover(self.claim_lease, self.sending_lease)
        report.recovered_claims = recovered.released
        report.unconfirmed += recovered.unconfirmed
        report.exercises |= recovered.exercise_ids | set(await self.repo.exercises_in_flight())
        token = uuid.uuid4()
        slots = asyncio.Semaphore(self.max_in_flight)
        tasks: set[asyncio.Task[None]] = set()
        started = 0
        try:
            while keep_running() and (max_messages is None or started < max_messages):
                await self._refresh_progress(report.exercises)
                batch = await self.repo.claim(
                    max(1, round(self.rate)), token, exclude=self._recently_messaged()
                )
                if not batch:
                    if tasks:  # outcomes still to come may schedule retries
                        await asyncio.wait(tasks, timeout=0.2)
                        continue
                    due = await self.repo.seconds_until_due()
                    if due is None or due > wait_for_retries:
                        break
                    await asyncio.sleep(min(max(due, 0.05), 0.5))
                    continue
                for i, row in enumerate(batch):
                    report.exercises.add(row.exercise_id)
                    stop = not keep_running() or (
                        max_messages is not None and started >= max_messages
                    )
                    if stop:
                        break
                    if row.chat_id is None:
                        status = "blocked" if row.last_link_why == "blocked" else "not_linked"
                        await self.repo.mark_final(row, token, status)
                        continue
                    if any(r.email == row.email for r in batch[:i]):
                        # A second exercise for the same student in this batch: one a second.
                        await self.repo.defer(row, token, PER_CHAT_INTERVAL)
                        continue
                    await self.pacer.acquire()
                    await slots.acquire()
                    # Until the send has happened (it may wait for a shared slot), this
                    # student is not picked again; then for a second after it.
                    self._recent[row.email] = math.inf
                    started += 1
                    task = asyncio.create_task(self._send(row, token, report, slots))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    await self._refresh_progress(report.exercises)
        finally:
            # Calls in flight finish and record their outcome; anything claimed but not
            # started (the bot is stopping, or max_messages) goes straight back to pending.
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await self.repo.release(token)
            await self._refresh_progress(report.exercises, final=True)

    def _recently_messaged(self) -> list[str]:
        cutoff = time.monotonic() - PER_CHAT_INTERVAL
        for email in [e for e, at in self._recent.items() if at < cutoff]:
            del self._recent[email]
        return list(self._recent)

    async def _exercise(self, exercise_id: int) -> tuple[Exercise, str, InlineKeyboardMarkup]:
        cached = self._exercises.get(exercise_id)
        if cached is None:
            exercise = await self.repo.get(exercise_id)
            if exercise is None:
                raise LookupError(exercise_id)
            body, keyboard = exercise_message(exercise)
            cached = self._exercises[exercise_id] = (exercise, body, keyboard)
        return cached

    async def _send(
        self,
        row: Claimed,
        token: uuid.UUID,
        report: DrainReport,
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            await self._send_one(row, token, report)
        except Exception:  # never let one delivery stop the others
            log.exception("Broadcast delivery for exercise %s failed unexpectedly", row.exercise_id)
        finally:
            self._recent[row.email] = time.monotonic()
            slots.release()

    async def _send_one(self, row: Claimed, token: uuid.UUID, report: DrainReport) -> None:
        _, body, keyboard = await self._exercise(row.exercise_id)
        assert row.chat_id is not None
        try:
            # The shared slot first: the row is `sending` only for the instant before its
            # call (what a crash could leave behind without the call having gone out).
            async with self.budget.slot(Kind.BULK):
                if not await self.repo.mark_sending(row, token):
                    return  # the claim lapsed and someone else has it
                message = await self.bot.send_message(
                    row.chat_id,
                    body,
                    reply_markup=keyboard,
                    connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT,
                    write_timeout=WRITE_TIMEOUT,
                    pool_timeout=POOL_TIMEOUT,
                )
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            self.pacer.pause(wait)
            report.retried += 1
            await self.repo.mark_retry(
                row, token, delay=wait, error="429 retry after", counts_as_attempt=False
            )
        except Forbidden:
            report.blocked += 1
            await self.repo.mark_final(row, token, "blocked", "403: the student blocked the bot")
            await self.links.mark_blocked(row.chat_id)
        except BadRequest as exc:
            report.failed += 1
            await self.repo.mark_final(row, token, "failed", f"400: {exc.message}")
        except NetworkError as exc:
            if _not_sent(exc) and row.attempts + 1 < self.max_attempts:
                report.retried += 1
                await self.repo.mark_retry(
                    row, token, delay=min(60.0, 2.0 ** (row.attempts + 1)), error=str(exc)
                )
            elif _not_sent(exc):
                report.failed += 1
                await self.repo.mark_final(row, token, "failed", f"gave up: {exc}")
            else:
                report.unconfirmed += 1
                await self.repo.mark_final(
                    row, token, "unconfirmed", f"no answer from Telegram ({exc}); not resent"
                )
        except InvalidToken:
            log.error("The bot token was refused while broadcasting; will retry in a minute")
            await self.repo.mark_retry(row, token, delay=60, error="token refused")
        except TelegramError as exc:
            report.failed += 1
            await self.repo.mark_final(row, token, "failed", type(exc).__name__)
        else:
            report.sent += 1
            await self.repo.mark_sent(row, token, message.message_id)

    # -- progress ---------------------------------------------------------------------------
    async def _refresh_progress(self, exercise_ids: Iterable[int], *, final: bool = False) -> None:
        """Edit each tutor's progress message if its text changed, at most once a second
        per chat; `final` (end of a drain) waits out that second instead of skipping."""
        ids = list(exercise_ids)
        if not ids:
            return
        now = time.monotonic()
        due: list[int] = []
        for exercise_id in ids:
            exercise, _, _ = await self._exercise(exercise_id)
            if exercise.progress_message_id is None and not self._refetched(exercise_id, now):
                self._exercises.pop(exercise_id, None)  # Send may have just recorded it
                exercise, _, _ = await self._exercise(exercise_id)
            chat = exercise.progress_chat_id
            if chat is None or exercise.progress_message_id is None:
                continue
            if final or now - self._progress_at.get(chat, 0.0) >= self.progress_interval:
                due.append(exercise_id)
        if not due:
            return
        counts = await self.repo.status_counts(due)
        for exercise_id in due:
            exercise, _, _ = await self._exercise(exercise_id)
            body, keyboard = progress_message(exercise, counts[exercise_id])
            if self._progress_sent.get(exercise_id) == body + str(keyboard.to_dict()):
                continue
            chat = exercise.progress_chat_id
            assert chat is not None and exercise.progress_message_id is not None
            wait = self.progress_interval - (time.monotonic() - self._progress_at.get(chat, 0.0))
            if wait > 0:
                if not final:
                    continue  # this tutor's chat was edited a moment ago (another exercise)
                await asyncio.sleep(wait)
            self._progress_at[chat] = time.monotonic()
            await self.pacer.acquire()
            try:
                async with self.budget.slot(Kind.BULK):
                    await self.bot.edit_message_text(
                        body,
                        chat_id=chat,
                        message_id=exercise.progress_message_id,
                        reply_markup=keyboard,
                        connect_timeout=CONNECT_TIMEOUT,
                        read_timeout=READ_TIMEOUT,
                        write_timeout=WRITE_TIMEOUT,
                        pool_timeout=POOL_TIMEOUT,
                    )
            except RetryAfter as exc:
                self.pacer.pause(retry_after_seconds(exc))
                continue
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    log.info("Progress message for exercise %s not updated: %s", exercise_id, exc)
            except TelegramError as exc:
                log.info("Progress message for exercise %s not updated: %s", exercise_id, exc)
                continue
            self._progress_sent[exercise_id] = body + str(keyboard.to_dict())

    def _refetched(self, exercise_id: int, now: float) -> bool:
        """Rate-limit re-reading an exercise whose progress message is not known yet."""
        key = -exercise_id
        if now - self._progress_at.get(key, 0.0) < self.progress_interval:
            return True
        self._progress_at[key] = now
        return False

    def forget_progress(self, exercise_id: int) -> None:
        """The tutor's message was replaced (e.g. after a resend): show it again."""
        self._progress_sent.pop(exercise_id, None)
        self._exercises.pop(exercise_id, None)


# --- wiring into the Application -------------------------------------------------------


def worker_of(app: Application) -> OutboxWorker:
    worker: OutboxWorker = app.bot_data[WORKER_KEY]
    return worker


async def _job(context: Any) -> None:
    app = context.application
    await worker_of(app).drain(keep_running=lambda: app.running)


def kick(app: Application) -> None:
    """Start a drain now (after Send) rather than at the next tick of the repeating job."""
    if app.job_queue is not None and app.running:
        app.job_queue.run_once(_job, 0, name=JOB_NAME + "-now")


def install(app: Application, services: Services, interval: float = 5.0) -> OutboxWorker:
    """Create the worker and, once the Application starts, the repeating job that resumes
    any broadcast left in the database (after a restart or a crash)."""
    from bot.hooks import add_startup_hook

    worker = OutboxWorker(app.bot, services)
    app.bot_data[WORKER_KEY] = worker

    async def schedule(application: Application) -> None:
        if application.job_queue is None:
            log.warning("No JobQueue: broadcasts will not be sent (install PTB[job-queue])")
            return
        for job in application.job_queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()
        application.job_queue.run_repeating(
            _job, interval=interval, first=1.0, name=JOB_NAME,
            job_kwargs={"max_instances": 1, "coalesce": True},
        )  # fmt: skip

    add_startup_hook(app, schedule)
    return worker
