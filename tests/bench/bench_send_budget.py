"""Send budget benchmark (issue 14, point 10): two replicas, a broadcast and a reminder run at
once, and students asking for help meanwhile, against a local HTTP server that plays the Bot
API and enforces Telegram's limit (30 messages a second in any second, 429 with retry_after 1
beyond it).

Each replica is a subprocess running the real Application (production settings: the shared
send budget as PTB's rate limiter, Postgres persistence, every handler) on one database:
  * both drain the outbox of one exercise sent to BROADCAST students;
  * both start the day's breach reminder run for REMIND students (the run's lease lets one
    of them do it, as in production);
  * both feed /help from linked students at ASKS a second in all (the update goes to
    `Application.process_update`, as the webhook does), timing each from the update to the
    end of its handling, reply sent.

Figures: 429s the server sent (goal 0); messages it accepted while the bulk work ran, as a
share of the bot's budget TELEGRAM_MESSAGES_PER_SECOND and of the server's limit (goal >= 90%
of the budget); the reply latency to students, p50/p95/p99/max (goal p99 < 1 s); duplicates
and missed students.

Run:  .venv/bin/python -m tests.bench.bench_send_budget [--broadcast 1200] [--remind 800]
      [--asks 2] [--limit 30]
Uses PTL_TEST_DATABASE_URL (a superuser URL) if set, else an embedded Postgres in a temp
folder. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.bench.bench_broadcast import TOKEN, free_port, new_exercise, prepare, serve
from tests.bench.rate_limit import TOO_MANY, PerSecondLimit

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2025, 3, 3, 8, 30, tzinfo=LONDON)  # a Monday at the default reminder time
BROADCAST_BASE = 100_000  # chat ids of the cohort's students (bench_broadcast.prepare)
REMIND_BASE = 6_000_000  # chat ids of the reminded students (bench_reminders' seed)
ASKER_BASE = 7_000_000
ASKERS = 300
DATABASE = "ptl_bench_send_budget"


# --- the fake Bot API ------------------------------------------------------------------------


class FakeBotApi:
    """Answers any method; refuses with 429 (retry_after 1) any call to a chat that would make
    more than `limit` accepted calls to chats in the last second, like Telegram's per-bot limit.
    Records every accepted call to a chat with its time, and messages per chat."""

    def __init__(self, limit: int) -> None:
        self.rate = PerSecondLimit(limit)
        self.accepted: list[tuple[float, int]] = []  # (time, chat id)
        self.per_chat: collections.Counter[int] = collections.Counter()
        self._ids = 0

    def handle(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            me = {"id": 123456789, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
            return 200, {"ok": True, "result": me}
        if "chat_id" not in params:
            return 200, {"ok": True, "result": True}  # setMyCommands, answerCallbackQuery...
        now = self.rate.admit()
        if now is None:
            return TOO_MANY
        chat = int(params["chat_id"])
        self.accepted.append((now, chat))
        if method == "sendMessage":
            self.per_chat[chat] += 1
        self._ids += 1
        message = {
            "message_id": self._ids,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "text": params.get("text", ""),
        }
        return 200, {"ok": True, "result": message}


# --- a replica (runs in a subprocess) ---------------------------------------------------------


async def replica(
    dsn: str, api_url: str, index: int, start_at: float, asks: float, out: str
) -> None:
    from telegram import Update

    from bot.config import Settings
    from bot.rules.clock import FixedClock
    from bot.runtime.app import build_application
    from bot.runtime.wiring import build_services
    from bot.services.outbox import OutboxWorker
    from bot.services.send_budget import Kind
    from handlers.reminders import run_reminders
    from storage.db import Database
    from tests.fake_bot_api import private_message

    logging.getLogger("bot.verification").setLevel(logging.ERROR)  # console verifier notice
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, verifier="console", telegram_bot_token=TOKEN, telegram_api_url=api_url,
        database_url=dsn,
    )  # fmt: skip
    db = await Database.connect(dsn, min_size=2, max_size=10)
    services = build_services(settings, db, FixedClock(NOW))
    app = build_application(services)  # as in production: shared budget, persistence, handlers
    await app.initialize()
    worker = OutboxWorker(app.bot, services)
    # How long replies wait for their slot of the shared budget, apart from the rest of the
    # handling (the database, this host's CPU).
    reply_waits: list[float] = []
    budget = services.send_budget
    take = budget.take

    async def timed_take(kind: Kind = Kind.REPLY) -> None:
        started = time.monotonic()
        await take(kind)
        if kind is Kind.REPLY:
            reply_waits.append(time.monotonic() - started)

    budget.take = timed_take  # type: ignore[method-assign]
    await asyncio.sleep(max(0.0, start_at - time.time()))

    latencies: list[float] = []
    done = asyncio.Event()

    async def broadcast() -> int:
        sent = 0
        while True:
            sent += (await worker.drain(wait_for_retries=5)).sent
            if not await services.exercises.exercises_in_flight():
                return sent
            await asyncio.sleep(0.5)  # rows the other replica holds

    async def reminders() -> dict[str, Any]:
        report = await run_reminders(app)
        return {"skipped": report.skipped, "sent": report.sent}

    async def ask(n: int) -> None:
        chat = ASKER_BASE + (index + 2 * n) % ASKERS
        payload = {"update_id": 10_000_000 * (index + 1) + n,
                   **private_message(chat, "/help", message_id=n + 1)}  # fmt: skip
        started = time.monotonic()
        await app.process_update(Update.de_json(payload, app.bot))
        latencies.append(time.monotonic() - started)

    async def askers() -> None:
        interval = 2.0 / asks  # two replicas share the asks
        tasks = []
        n = 0
        next_at = time.monotonic() + index * interval / 2
        while not done.is_set():
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            tasks.append(asyncio.create_task(ask(n)))
            n += 1
            next_at += interval
        await asyncio.gather(*tasks)

    asking = asyncio.create_task(askers())
    sent, reminded = await asyncio.gather(broadcast(), reminders())
    done.set()
    await asking
    _write(out, {"sent": sent, "reminders": reminded, "latencies": latencies,
                 "reply_waits": reply_waits})  # fmt: skip
    await app.shutdown()
    await db.close()


# --- the benchmark -------------------------------------------------------------------------


async def seed(broadcast: int, remind: int) -> tuple[str, int]:
    import asyncpg

    from bot.rules.clock import FixedClock
    from bot.services.reminders import ReminderService
    from storage.db import Database
    from tests.bench.bench_reminders import _SEED_LINKS, _SEED_PATIENTS
    from tests.harness import test_settings

    dsn, cohort = await prepare(broadcast, database=DATABASE)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_SEED_LINKS, remind, REMIND_BASE)  # 'bench<n>@uni.example'
        await conn.execute(_SEED_PATIENTS, remind, 2, NOW.date(), True)  # most breached
        await conn.execute(
            "insert into ptl_bot.telegram_links (telegram_user_id, chat_id, email, first_name)"
            " select $1::bigint + g, $1::bigint + g, 'asker' || g || '@bench.example', 'A'"
            " from generate_series(0, $2::int - 1) g",
            ASKER_BASE,
            ASKERS,
        )
    finally:
        await conn.close()
    db = await Database.connect(dsn, min_size=1, max_size=4)
    try:  # the stored clock fields the platform-shaped rows lack
        await ReminderService(db, test_settings(), FixedClock(NOW)).refresh_clocks()
    finally:
        await db.close()
    return dsn, cohort


def _write(path: str, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data))


def _read(paths: list[str]) -> list[dict[str, Any]]:
    return [json.loads(Path(p).read_text()) for p in paths if Path(p).exists()]


def start_replica(
    dsn: str, api_url: str, index: int, start_at: float, asks: float, out: str
) -> Any:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bench_send_budget", "--replica", str(index),
         "--dsn", dsn, "--api", api_url, "--start-at", str(start_at), "--asks", str(asks),
         "--out", out],
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )  # fmt: skip


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(broadcast: int, remind: int, asks: float, limit: int) -> None:
    from bot.config import Settings

    budget = Settings(_env_file=None).telegram_messages_per_second  # type: ignore[call-arg]
    api = FakeBotApi(limit)
    port = free_port()
    server = serve(api, port)
    api_url = f"http://127.0.0.1:{port}/bot"
    print(f"Preparing {broadcast} cohort students, {remind} reminded students...", flush=True)
    dsn, cohort = await seed(broadcast, remind)
    await new_exercise(dsn, cohort, "Bench budget")
    load_before = os.getloadavg()
    print(
        f"Fake Bot API enforcing {limit} messages/s (429 retry_after=1); bot budget {budget:g}/s;"
        f" machine load average {load_before[0]:.1f} on {os.cpu_count()} CPUs"
    )
    start_at = time.time() + 8.0  # both replicas start their work together
    with tempfile.TemporaryDirectory() as tmp:
        outs = [str(Path(tmp) / f"replica{i}.json") for i in range(2)]
        procs = [start_replica(dsn, api_url, i, start_at, asks, outs[i]) for i in range(2)]
        codes = [await asyncio.to_thread(p.wait) for p in procs]
        results = _read(outs)
    server.stop()
    load_after = os.getloadavg()
    if codes != [0, 0] or len(results) != 2:
        print(f"A replica failed: exit codes {codes}")
        return

    bulk = [(t, c) for t, c in api.accepted if c < ASKER_BASE]
    first, last = bulk[0][0], bulk[-1][0]
    span = last - first
    during = [t for t, _ in api.accepted if first <= t <= last]
    rate = (len(during) - 1) / span if span else 0.0
    cohort_chats = [c for c in api.per_chat if BROADCAST_BASE < c < BROADCAST_BASE + broadcast + 1]
    duplicates = sum(api.per_chat[c] - 1 for c in cohort_chats if api.per_chat[c] > 1)
    digests = sum(1 for c in api.per_chat if REMIND_BASE < c <= REMIND_BASE + remind)
    latencies = [x for r in results for x in r["latencies"]]
    replies = sum(1 for _, c in api.accepted if c >= ASKER_BASE)
    print(f"\n  broadcast sends      {sum(r['sent'] for r in results)} "
          f"(replica 1: {results[0]['sent']}, replica 2: {results[1]['sent']}); "
          f"duplicates {duplicates}, missed {broadcast - len(cohort_chats)}")  # fmt: skip
    runners = [i + 1 for i, r in enumerate(results) if not r["reminders"]["skipped"]]
    print(f"  reminder digests     {digests} (run by replica {runners})")
    print(f"  replies to students  {replies} to {len(latencies)} /help updates")
    print(f"  429s from the server {api.rate.rejected} (goal 0)")
    print(
        f"  accepted while the bulk work ran: {len(during)} in {span:.1f} s = {rate:.2f} msg/s"
        f" = {100 * rate / budget:.1f}% of the budget {budget:g}/s (goal >= 90%),"
        f" {100 * rate / limit:.1f}% of Telegram's {limit}/s"
    )
    busiest = max(sum(1 for u in during if t <= u < t + 1.0) for t in during)
    print(f"  most accepted in any one second: {busiest}")
    p50, p95, p99 = (1000 * percentile(latencies, p) for p in (50, 95, 99))
    print(
        f"  reply latency (update to reply sent): p50 {p50:.0f} ms, p95 {p95:.0f} ms,"
        f" p99 {p99:.0f} ms (goal < 1000), max {1000 * max(latencies):.0f} ms"
    )
    waits = [x for r in results for x in r["reply_waits"]]
    w50, w99 = (1000 * percentile(waits, p) for p in (50, 99))
    print(
        f"    of which waiting for a slot of the budget: p50 {w50:.0f} ms, p99 {w99:.0f} ms,"
        f" max {1000 * max(waits):.0f} ms (the rest: the handler, the database, the host's CPU)"
    )
    print(f"  machine load average: {load_before[0]:.1f} before, {load_after[0]:.1f} after")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broadcast", type=int, default=1200)
    parser.add_argument("--remind", type=int, default=800)
    parser.add_argument("--asks", type=float, default=2.0, help="/help updates a second in all")
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--replica", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replica is not None:
        asyncio.run(replica(args.dsn, args.api, args.replica, args.start_at, args.asks, args.out))
    else:
        asyncio.run(main(args.broadcast, args.remind, args.asks, args.limit))


if __name__ == "__main__":
    cli()
