"""The bot token's send schedule, shared by every replica and job (sql/062_send_budget.sql).

Why in Postgres: Telegram counts its "about 30 messages a second" per bot token, and every
replica already shares this database. One row per bot holds the next free slot on the
database's clock, so replicas on different hosts agree on time, and a booking is one round
trip under the row's lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True)
class Booking:
    booked: bool
    """False: the slot was too far ahead for a bulk sender; ask again in about `wait`."""
    wait: float
    """Seconds from the booking to the slot (0 when it is free now)."""


class SendBudgetRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def book(
        self,
        bot_id: int,
        *,
        interval: float,
        bulk_interval: float | None = None,
        lookahead: float = 0.0,
    ) -> Booking:
        """Book the next slot. `bulk_interval` None: a reply, always booked. Otherwise a bulk
        send, booked only within `lookahead` seconds and spaced `bulk_interval` from the
        previous bulk send."""
        async with self.db.pool.acquire() as conn:
            row = await conn.fetchrow(
                "select booked, wait from ptl_bot.book_send_slot($1, $2, $3, $4)",
                bot_id,
                interval,
                bulk_interval,
                lookahead,
            )
        assert row is not None
        return Booking(booked=bool(row["booked"]), wait=max(0.0, float(row["wait"])))

    async def pause(self, bot_id: int, seconds: float) -> None:
        """Nobody sends for `seconds` from now (Telegram's retry_after after a 429)."""
        async with self.db.pool.acquire() as conn:
            await conn.execute(
                "insert into ptl_bot.send_budget as b (bot_id, paused_until)"
                " values ($1, clock_timestamp() + make_interval(secs => $2))"
                " on conflict (bot_id) do update"
                " set paused_until = greatest(b.paused_until, excluded.paused_until)",
                bot_id,
                seconds,
            )

    async def paused_for(self, bot_id: int) -> float:
        """Seconds until the pause ends (0 when not paused): for the doctor and tests."""
        async with self.db.pool.acquire() as conn:
            value = await conn.fetchval(
                "select greatest(0, extract(epoch from paused_until - clock_timestamp()))"
                " from ptl_bot.send_budget where bot_id = $1",
                bot_id,
            )
        return float(value or 0.0)
