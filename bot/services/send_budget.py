"""One send budget for the bot token, shared by every replica and job (issue 14, point 10).

Telegram allows a bot about 30 messages a second, counted per bot token: two replicas each
pacing themselves at 30, or a reminder run beside a broadcast, would together go over it and
collect 429s. So every message any process sends takes a slot from one schedule kept in the
database (storage/send_budget.py), on the database's clock:

* **Slots** are `1 / TELEGRAM_MESSAGES_PER_SECOND` apart for everyone together.
* **Replies go first.** A message sent while answering someone books the next free slot at
  once. Bulk senders (broadcasts, reminders) book a slot only when it is at most LOOKAHEAD
  away, so they never hold slots far ahead of a reply, and together they are spaced for
  `TELEGRAM_MESSAGES_PER_SECOND - TELEGRAM_REPLY_RESERVE`: that slice of every second is
  always free for answering people, however much bulk work is queued.
* **A 429 anywhere slows everyone.** Telegram's `retry_after` pauses the shared schedule, so
  every replica and job waits it out, not only the one that was told.

The budget reaches every Bot API call through python-telegram-bot's own hook for this
(`BaseRateLimiter`, installed by `bot.runtime.app`): a call takes a reply slot unless its
code took a bulk slot first (`async with budget.slot():` around the call, which jobs do
*before* recording a send as started, so a crash while waiting for a slot leaves nothing
ambiguous). Calls that send nothing to a chat (answering a button, setting the command menu)
are not counted, as in PTB's own limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from storage.send_budget import SendBudgetRepository

log = logging.getLogger(__name__)

LOOKAHEAD = 0.1
"""Seconds ahead a bulk sender may book: about three slots, so a reply never waits behind
more than that, while a bulk sender still books its next slot before the current one."""
_MIN_POLL = 0.005
GROUP_MESSAGES_PER_MINUTE = 20  # Telegram's limit per group chat


class Kind(enum.Enum):
    REPLY = "reply"
    BULK = "bulk"


@dataclass
class _Credit:
    """A slot taken by the code around a call: the rate limiter must not take another."""

    kind: Kind
    used: bool = False


_CREDIT: contextvars.ContextVar[_Credit | None] = contextvars.ContextVar(
    "ptl_send_credit", default=None
)


def bot_id_from_token(token: str | None) -> int:
    """The budget's key: the bot's numeric id, the part of its token before the colon (not
    secret; Telegram shows it as the bot's user id). 0 offline, where no token is set."""
    head = (token or "").split(":", 1)[0]
    return int(head) if head.isdigit() else 0


def retry_after_seconds(exc: RetryAfter) -> float:
    """`retry_after` in seconds, whether PTB gives an int or (PTB_TIMEDELTA) a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    if hasattr(value, "total_seconds"):
        return float(value.total_seconds())
    return float(value)


class SendBudget:
    """This process's door to the shared schedule. One per process (in `Services`)."""

    def __init__(
        self,
        repo: SendBudgetRepository,
        *,
        bot_id: int,
        rate: float,
        reply_reserve: float,
        lookahead: float = LOOKAHEAD,
    ) -> None:
        self.repo = repo
        self.bot_id = bot_id
        self.rate = rate
        self.interval = 1.0 / rate
        self.bulk_interval = 1.0 / (rate - reply_reserve)
        self.lookahead = lookahead
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        # Bulk senders in this process ask the database one at a time: the others would only
        # be told to wait for the same slot.
        self._bulk_turn = asyncio.Lock()

    async def take(self, kind: Kind = Kind.REPLY) -> None:
        """Return when this process may send one message of `kind`."""
        if kind is Kind.REPLY:
            booking = await self.repo.book(self.bot_id, interval=self.interval)
        else:
            async with self._bulk_turn:
                while True:
                    booking = await self.repo.book(
                        self.bot_id,
                        interval=self.interval,
                        bulk_interval=self.bulk_interval,
                        lookahead=self.lookahead,
                    )
                    if booking.booked:
                        break
                    await self.sleep(max(booking.wait - self.lookahead, _MIN_POLL))
        if booking.wait > 0:
            await self.sleep(booking.wait)

    @asynccontextmanager
    async def slot(self, kind: Kind = Kind.BULK) -> AsyncIterator[None]:
        """Take a slot, then run the block, whose first Bot API call uses it."""
        await self.take(kind)
        token = _CREDIT.set(_Credit(kind))
        try:
            yield
        finally:
            _CREDIT.reset(token)

    async def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody using this bot token sends for `seconds`."""
        log.warning("Telegram asked the bot to wait %.1f s (429): every replica pauses", seconds)
        await self.repo.pause(self.bot_id, seconds)


class SharedRateLimiter(BaseRateLimiter[int]):
    """PTB's rate-limiter hook, spending the shared budget on every call to a chat.

    A reply that meets a 429 is tried again `max_retries` times (after the pause, like PTB's
    own limiter); a bulk call is not: its job records the 429 and reschedules the send.
    Telegram's 20 messages a minute per group is kept per process with the same limiter PTB's
    AIORateLimiter uses (aiolimiter, which python-telegram-bot[rate-limiter] installs).
    """

    def __init__(self, budget: SendBudget, *, max_retries: int = 1) -> None:
        self.budget = budget
        self.max_retries = max_retries
        self._groups: dict[int | str, AsyncLimiter] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _group_limit(self, chat_id: Any) -> AsyncLimiter | None:
        """Negative ids are groups; a string id (@name) is a channel or supergroup."""
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        if isinstance(chat_id, int) and chat_id >= 0:
            return None
        limiter = self._groups.get(chat_id)
        if limiter is None:
            limiter = self._groups[chat_id] = AsyncLimiter(GROUP_MESSAGES_PER_MINUTE, 60)
        return limiter

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if data.get("chat_id") is None:  # nothing sent to a chat: not counted
            return await callback(*args, **kwargs)
        credit = _CREDIT.get()
        if credit is not None:
            retries = 0
        else:
            retries = self.max_retries if rate_limit_args is None else rate_limit_args

        group = self._group_limit(data["chat_id"])
        for attempt in range(retries + 1):
            if group is not None:
                await group.acquire()
            if credit is not None and not credit.used:
                credit.used = True  # the slot the caller took for this call
            else:
                await self.budget.take(credit.kind if credit is not None else Kind.REPLY)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                await self.budget.pause(retry_after_seconds(exc))
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
