"""One send budget for the bot token (issue 14, point 10), shared by replicas and jobs.

Each replica here is a real Application with its own connection pool and its own offline Bot
API (two hosts talking to Telegram separately), on one database, with the rate limiter on as
in production. What they send together is read from both APIs' call logs: counts in a window
of the calls' own timestamps, never the test's duration.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import ValidationError

from bot.runtime.offline import ApiCall, OfflineBotAPI
from bot.services.outbox import worker_of
from bot.services.send_budget import bot_id_from_token
from handlers.reminders import run_reminders
from storage.db import Database
from storage.send_budget import SendBudgetRepository
from tests import harness
from tests.test_reminders_delivery import MONDAY, at, link, patient
from tests.test_tutor_helpers import broadcast_simple, make_class, register_tutoring

RATE = 10.0  # the shared budget in these tests: small, so a few dozen sends show the rate
RESERVE = 2.0  # of which broadcasts and reminders leave this much for replies


def _settings(rate: float = RATE, reserve: float = RESERVE, **more: Any) -> Any:
    return harness.test_settings(
        telegram_messages_per_second=rate, telegram_reply_reserve=reserve, **more
    )


async def _replica(db: Database, settings: Any) -> harness.Bot:
    return await harness.make_bot(
        db, settings=settings, api=OfflineBotAPI(), setup=register_tutoring, rate_limit=True
    )


@pytest.fixture
async def second_db(db_dsn: str) -> AsyncIterator[Database]:
    """The other replica's own pool on the same database."""
    other = await Database.connect(db_dsn, min_size=1, max_size=5)
    yield other
    await other.close()


def _to_chats(api: OfflineBotAPI, since: float) -> list[ApiCall]:
    """Calls that send to a chat (what Telegram's per-bot limit counts), from `since`."""
    return [c for c in api.calls if c.at >= since and "chat_id" in c.params]


def _most_in_any_window(calls: list[ApiCall], seconds: float) -> int:
    times = sorted(c.at for c in calls)
    return max((sum(1 for t in times if a <= t < a + seconds) for a in times), default=0)


def _recording_sleep(bot: harness.Bot) -> list[float]:
    """The budget's waits, recorded and skipped: what the shared schedule told this replica."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    bot.services.send_budget.sleep = sleep
    return waits


async def test_two_replicas_broadcasting_and_reminding_share_one_budget(
    db: Database, second_db: Database
) -> None:
    # Each worker claims and paces 4 a second, so both replicas take part in the broadcast.
    settings = _settings(broadcast_messages_per_second=4)
    a = await _replica(db, settings)
    b = await _replica(second_db, settings)
    try:
        cls = await make_class(a, 12)
        await broadcast_simple(cls)  # the outbox rows, drained below by both replicas
        for uid in range(901, 909):  # and eight breach reminders due on replica B
            email = await link(b, uid)
            await patient(b, email, "Breached", MONDAY - dt.timedelta(days=150))
        at(b, MONDAY, 9, 0)
        since = max(c.at for c in a.api.calls) + 1e-6

        drained_a, drained_b, reminded = await asyncio.gather(
            worker_of(a.app).drain(),
            worker_of(b.app).drain(),
            run_reminders(b.app, exclusive=False),
        )
    finally:
        await harness.close_bot(a)
        await harness.close_bot(b)

    # Everything went out once, and both replicas really did send side by side.
    assert drained_a.sent + drained_b.sent == 12 and drained_a.sent and drained_b.sent
    assert reminded.sent == 8
    calls_a, calls_b = _to_chats(a.api, since), _to_chats(b.api, since)
    assert min(c.at for c in calls_b) < max(c.at for c in calls_a)
    assert min(c.at for c in calls_a) < max(c.at for c in calls_b)
    # Together (each replica alone would have gone at 4 + 30 a second), never more than the
    # bulk share of the budget, 8 a second (slots 0.125 s apart): 7 in any 0.8 s when evenly
    # spaced, one more allowed for a late call on a busy machine.
    together = calls_a + calls_b
    assert len(together) >= 20
    assert _most_in_any_window(together, 0.8) <= 8
    assert _most_in_any_window(together, 1.0) <= RATE


async def test_a_429_on_one_replica_pauses_the_other(db: Database, second_db: Database) -> None:
    a = await _replica(db, _settings())
    b = await _replica(second_db, _settings())
    waits_a, waits_b = _recording_sleep(a), _recording_sleep(b)
    on_a, on_b = a.user(501, "Sam"), b.user(502, "Alex")
    try:
        # Before any 429: B's replies go straight out.
        assert await on_b.send("/help")
        assert max(waits_b, default=0.0) < 1.0
        waits_b.clear()

        a.api.fail(501, "retry_after", times=1, retry_after=3, methods={"sendMessage"})
        replies = await on_a.send("/help")
        assert replies  # A waited out the 429 and sent the reply once it was allowed
        assert [c.params["chat_id"] for c in a.api.calls_to("sendMessage")].count(501) == 2
        assert max(waits_a) > 2.0
        assert await SendBudgetRepository(db).paused_for(0) > 2.0  # in the shared row

        # B never got a 429, yet its next reply waits for the pause Telegram gave A.
        assert await on_b.send("/help")
        assert max(waits_b) > 2.0
    finally:
        await harness.close_bot(a)
        await harness.close_bot(b)


async def test_a_reply_does_not_queue_behind_a_broadcast(db: Database) -> None:
    # 5 a second in all, 4 for the broadcast: twelve sends take about three seconds.
    bot = await _replica(db, _settings(rate=5.0, reserve=1.0))
    try:
        cls = await make_class(bot, 12)
        await broadcast_simple(cls)
        student_chats = {s.chat_id for s in cls.students}
        begin = len(bot.api.calls)
        drain = asyncio.create_task(worker_of(bot.app).drain())
        for _ in range(1000):  # until the broadcast is under way (two sends out)
            sends = bot.api.calls[begin:]
            if sum(1 for c in sends if c.params.get("chat_id") in student_chats) >= 2:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the broadcast never started")
        asker = bot.user(777, "Jo")
        asked = len(bot.api.calls)
        assert await asker.send("/help")
        report = await drain
    finally:
        await harness.close_bot(bot)

    assert report.sent == 12
    calls = bot.api.calls
    answered = next(i for i, c in enumerate(calls) if i >= asked and c.params.get("chat_id") == 777)
    bulk_between = [c for c in calls[asked:answered] if c.params.get("chat_id") != 777]
    bulk_after = [c for c in calls[answered:] if c.params.get("chat_id") in student_chats]
    # At most the slot a bulk sender may hold ahead went out first; most of the broadcast
    # was still to come when the student had their answer.
    assert len(bulk_between) <= 2
    assert len(bulk_after) >= 6


async def test_the_schedule_spaces_bulk_to_leave_the_reply_slice(db: Database) -> None:
    """The booking function itself (sql/062), on the database's clock: slots `interval`
    apart for everyone, bulk slots `bulk_interval` apart, bulk only within the lookahead."""
    repo = SendBudgetRepository(db)
    bot = 42
    interval, bulk = 0.1, 0.125  # 10 a second in all, 8 for bulk
    waits = [
        (await repo.book(bot, interval=interval, bulk_interval=bulk, lookahead=1.0)).wait
        for _ in range(4)
    ]
    # Back-to-back bookings (a few milliseconds of real time pass between them).
    assert waits[0] < 0.05
    for earlier, later in itertools.pairwise(waits):
        assert bulk - 0.05 < later - earlier <= bulk + 1e-6
    # A bulk sender is not given a slot beyond its lookahead...
    refused = await repo.book(bot, interval=interval, bulk_interval=bulk, lookahead=0.1)
    assert not refused.booked and refused.wait > 0.4
    # ...a reply always is: the next free slot, one interval after the last bulk slot.
    reply = await repo.book(bot, interval=interval)
    assert reply.booked and waits[-1] + interval - 0.05 < reply.wait <= waits[-1] + interval
    # Another bot's schedule is its own.
    assert (await repo.book(7, interval=interval)).wait < 0.05


async def test_a_pause_holds_every_kind_of_send(db: Database) -> None:
    repo = SendBudgetRepository(db)
    await repo.pause(5, 2.0)
    await repo.pause(5, 0.5)  # a shorter pause never shortens a longer one
    assert 1.5 < await repo.paused_for(5) <= 2.0
    reply = await repo.book(5, interval=0.1)
    assert reply.booked and reply.wait > 1.5
    bulk = await repo.book(5, interval=0.1, bulk_interval=0.2, lookahead=0.1)
    assert not bulk.booked and bulk.wait > 1.5
    assert await repo.paused_for(6) == 0.0


def test_the_budget_is_keyed_by_the_bot_id_and_the_reserve_is_checked() -> None:
    assert bot_id_from_token("123456789:" + "A" * 35) == 123456789
    assert bot_id_from_token(None) == 0 and bot_id_from_token("not-a-token") == 0
    with pytest.raises(ValidationError, match="TELEGRAM_REPLY_RESERVE"):
        harness.test_settings(telegram_messages_per_second=5, telegram_reply_reserve=5)
