"""Benchmark: a class linking at once through /start (email -> code), end to end.

Run from the repository root:

    /work/venv/bin/python -m tests.bench.bench_identity [--students N]

Each student sends /start, their email and the code, all students at once, through the real
Application, offline Bot API, write-through Postgres persistence and the database-backed
limits (keyed hashes, advisory locks). Updates run as many at a time as production would
(`bot.runtime.updates.concurrency_for` with the default pool of 10), so a step's time includes
queueing behind the rest of the class. Codes are delivered by an in-memory verifier with the
same storage path as SMTP (minus the network), so the figures are the bot's own cost.
Prints figures only; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot.runtime.offline import ChatUser
from bot.runtime.updates import concurrency_for
from bot.services.verification.base import SendResult, SendStatus
from bot.services.verification.local import LocalCodeVerifier
from storage.db import Database
from storage.embedded import embedded_dsn
from storage.migrations import migrate
from tests.harness import close_bot, make_bot, test_settings


class MemoryVerifier(LocalCodeVerifier):
    name = "memory"
    codes: dict[str, str]

    async def deliver(self, email: str, code: str) -> SendResult:
        self.codes[email] = code
        return SendResult(SendStatus.SENT)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def main(students: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ptl-bench-identity-"))
    dsn = await embedded_dsn(data_dir)
    await migrate(dsn)
    db = await Database.connect(dsn, min_size=10, max_size=10)
    bot = await make_bot(db, settings=test_settings())
    verifier = MemoryVerifier(bot.services.otp, bot.services.clock, None)
    verifier.codes = {}
    bot.services.verifier = verifier
    steps: dict[str, list[float]] = {"/start": [], "email": [], "code": []}
    in_flight = concurrency_for(bot.services.settings.concurrent_updates, 10)
    slots = asyncio.Semaphore(in_flight)

    async def timed(step: str, user: ChatUser, text: str) -> None:
        started = time.perf_counter()
        async with slots:
            await user.send(text)
        steps[step].append((time.perf_counter() - started) * 1000)

    async def journey(n: int) -> None:
        user = bot.user(500_000 + n, f"S{n}")
        email = f"student{n}@uni.ac.uk"
        await timed("/start", user, "/start")
        await timed("email", user, email)
        await timed("code", user, verifier.codes[email])
        assert "Linked" in user.history[-1].text, user.history[-1].text

    try:
        started = time.perf_counter()
        await asyncio.gather(*(journey(n) for n in range(students)))
        total = time.perf_counter() - started
        linked = 0
        async with db.service() as conn:
            linked = await conn.fetchval("select count(*) from ptl_bot.telegram_links where active")
        print(
            f"{students} students linked at once in {total:.2f} s ({linked} active links,"
            f" {3 * students / total:.0f} updates/s, {in_flight} updates in flight)"
        )
        for step, values in steps.items():
            print(
                f"  {step:<7} p50 {statistics.median(values):6.1f} ms   "
                f"p95 {pct(values, 0.95):6.1f} ms   max {max(values):6.1f} ms"
            )
    finally:
        await close_bot(bot)
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.students))
