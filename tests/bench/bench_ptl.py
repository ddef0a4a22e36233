"""PTL-from-a-phone benchmark (issue 5): per-update processing time under concurrency, and
memory with many conversations in flight.

What it measures, on the embedded Postgres with the real Application (handlers, persistence
written through after every update, RLS student path) and the offline Bot API. Updates are
delivered the way polling and webhooks deliver them: put on the Application's update queue,
which PTB processes one at a time (the bot does not set `concurrent_updates`). So "50 at
once" means 50 students' updates queued together: "processing" is the time one update
takes once dequeued, "latency" adds the time it waited in the queue behind the others.
`--direct` instead calls `process_update` for all students concurrently (what
`concurrent_updates=True` would do), with a pool larger than the concurrency: each update
holds one pooled connection for its persistence turn (the chat lock) while its handlers use
another, so concurrency >= pool size would wait forever.

1. floor: 50 simulated students at once each sending a command answered by a no-op
   handler (nothing but PTB dispatch, the guard-free path and persistence);
2. /ptl: 50 students at once each opening /ptl, paging, opening a patient card and going
   back (each student has PATIENTS patients);
3. /add: 50 students at once each completing a whole /add conversation (when /add is
   registered; otherwise reported as skipped);
4. one database round trip (`select 1` on the pool) for the goal
   "p50 within 2x the floor plus one round trip; p99 under 50 ms";
5. peak RSS of the process with 1,000 students' conversations in flight (each half-way
   through /add, or waiting in /find when /add isn't there).

Run: /work/venv/bin/python -m tests.bench.bench_ptl [--students 50] [--rounds 5]
Prints figures in milliseconds; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, ConversationHandler

from bot.runtime.offline import ChatUser, OfflineBotAPI
from storage.db import Database
from storage.embedded import embedded_dsn
from storage.migrations import migrate
from tests.harness import close_bot, make_bot, test_settings

TODAY = date(2025, 3, 3)
PATIENTS = 40
BASE_USER = 5_000_000


# --- timing ------------------------------------------------------------------------------


class Recorder:
    """Wraps `app.process_update` so every update's processing time is recorded, and lets a
    `QueueDriver` know when the update it queued has been processed."""

    def __init__(self, app: Application) -> None:  # type: ignore[type-arg]
        self.samples: list[float] = []
        self.enabled = False
        self.done: dict[int, asyncio.Future[None]] = {}
        original = app.process_update

        async def timed(update: object) -> None:
            started = time.perf_counter()
            try:
                await original(update)
            finally:
                if self.enabled:
                    self.samples.append((time.perf_counter() - started) * 1000)
                future = self.done.pop(id(update), None)
                if future is not None and not future.done():
                    future.set_result(None)

        app.process_update = timed  # type: ignore[method-assign]

    def take(self) -> list[float]:
        out, self.samples = self.samples, []
        return out


class QueueDriver:
    """Stands in for the Application in `ChatUser`: `process_update` queues the update the
    way polling does and returns once the Application has processed it."""

    def __init__(self, app: Application, recorder: Recorder) -> None:  # type: ignore[type-arg]
        self.app, self.recorder = app, recorder
        self.bot = app.bot
        self.latencies: list[float] = []

    async def process_update(self, update: object) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.recorder.done[id(update)] = future
        started = time.perf_counter()
        await self.app.update_queue.put(update)
        await future
        if self.recorder.enabled:
            self.latencies.append((time.perf_counter() - started) * 1000)

    def take(self) -> list[float]:
        out, self.latencies = self.latencies, []
        return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:26} (skipped)"
    return (
        f"{name:26} n={len(values):5d}  p50={statistics.median(values):7.2f}"
        f"  p99={pct(values, 0.99):7.2f}  max={max(values):7.2f}"
    )


# --- set-up ------------------------------------------------------------------------------


async def seed_patients(db: Database, emails: list[str]) -> None:
    """PATIENTS realistic rows per student (service path: this is the bench's own set-up)."""
    async with db.service() as conn:
        await conn.execute(
            """
            insert into public.ptl_patients
                (patient_id, user_email, patient_name, nhs_number, specialty, referral_date,
                 clock_start_date, pathway_type, events, breach_date, clock_state)
            select 'PTLB' || s || 'X' || p, e, 'Patient ' || p, '9990000018',
                   (array['Cardiology','Urology','ENT','Dermatology'])[1 + p % 4],
                   date '2024-06-01' + (p * 7 % 270), date '2024-06-01' + (p * 7 % 270),
                   (array['rtt','rtt','cancer_62','diagnostic'])[1 + p % 4],
                   jsonb_build_array(jsonb_build_object('date', '2024-12-01', 'code', '20',
                       'description', 'Outpatient appointment', 'kind', 'activity')),
                   date '2024-06-01' + (p * 7 % 270) + 127, 'running'
              from unnest($1::text[]) with ordinality as t(e, s), generate_series(1, $2) p
            """,
            emails,
            PATIENTS,
        )
        await conn.execute("analyze public.ptl_patients")


def add_registered(app: Application) -> bool:  # type: ignore[type-arg]
    """Is /add answered by anything (a command or a conversation's entry point)?"""
    for handlers in app.handlers.values():
        for h in handlers:
            candidates = h.entry_points if isinstance(h, ConversationHandler) else [h]
            for c in candidates:
                if isinstance(c, CommandHandler) and "add" in c.commands:
                    return True
    return False


# --- scripts -----------------------------------------------------------------------------

_STEP = re.compile(r"Step \d+ of \d+ · ([^\n]+)")
# How to answer each /add step, by its title (part A's form). Typed or pressed.
ADD_ANSWERS: dict[str, tuple[str, str]] = {
    "Patient name": ("send", "Jane Doe"),
    "NHS number": ("press", "🎲 Use a test number"),
    "Specialty": ("send", "Cardiology"),
    "Pathway": ("press", "18-week RTT"),
    "Referral date": ("send", "3 Feb 2025"),
    "Clock start": ("press", "Same as referral (3 Feb 2025)"),
    "Priority": ("press", "Routine"),
    "Consultant": ("send", "Ms A Patel"),
    "Notes": ("press", "Skip »"),
}


async def add_step(user: ChatUser) -> bool:
    """Answer the /add prompt on screen; False once the patient is saved."""
    prompt = user.last_with_buttons()
    match = _STEP.search(prompt.text)
    if match is None:
        save = next((b for b in prompt.button_labels if "Save" in b), None)
        if save is None:
            raise RuntimeError(f"unexpected /add screen: {prompt.text[:200]!r}")
        await user.press(save)
        return False
    title = match.group(1).strip()
    how, value = next((v for k, v in ADD_ANSWERS.items() if title.startswith(k)), ("send", "x"))
    if how == "send":
        await user.send(value)
    else:
        await user.press(value, message=prompt)
    return True


async def full_add(user: ChatUser) -> None:
    await user.send("/add")
    for _ in range(20):
        if not await add_step(user):
            return
    raise RuntimeError("/add did not finish in 20 steps")


async def ptl_page(user: ChatUser) -> None:
    first_page = next(m for m in await user.send("/ptl") if "Your PTL" in m.text)
    page = (await user.press("Next ›", message=first_page))[0]
    first = next((b for b in page.button_labels if b[:1].isdigit()), None)
    if first is None:
        raise RuntimeError(f"no patient buttons on: {page.text[:300]!r}")
    card = (await user.press(first, message=page))[0]
    await user.press("« PTL", message=card)


async def noop(user: ChatUser) -> None:
    await user.send("/noop")


async def noop_reply(user: ChatUser) -> None:
    await user.send("/noopreply")


async def everyone(users: list[ChatUser], script: Callable[[ChatUser], Awaitable[None]]) -> None:
    await asyncio.gather(*(script(u) for u in users))


# --- main --------------------------------------------------------------------------------


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


async def main(students: int, rounds: int, in_flight: int, direct: bool) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ptl-bench-"))
    dsn = await embedded_dsn(data_dir)
    await migrate(dsn)
    settings = test_settings()
    pool = students + 5 if direct else settings.db_pool_max_size
    db = await Database.connect(dsn, min_size=pool, max_size=pool)

    async def nothing(update: Update, context: Any) -> None:
        return None

    async def ok(update: Update, context: Any) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "ok")

    def setup(app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(CommandHandler("noop", nothing), group=-1)
        app.add_handler(CommandHandler("noopreply", ok), group=-1)

    bot = await make_bot(db, today=TODAY, api=OfflineBotAPI(), setup=setup, start=True)
    # Only updates are measured here: no reminder or clean-up jobs firing in between.
    if bot.app.job_queue is not None:
        for job in bot.app.job_queue.jobs():
            job.schedule_removal()
    recorder = Recorder(bot.app)
    driver = QueueDriver(bot.app, recorder)
    emails = [f"bench{i}@student.example" for i in range(students)]
    for i, email in enumerate(emails):
        await bot.services.links.link(BASE_USER + i, BASE_USER + i, email, f"S{i}")
    await seed_patients(db, emails)

    def user(user_id: int, name: str) -> ChatUser:
        target: Any = bot.app if direct else driver
        return ChatUser(target, bot.api, user_id, name)

    users = [user(BASE_USER + i, f"S{i}") for i in range(students)]

    # One database round trip, for the goal.
    rtt: list[float] = []
    for _ in range(300):
        t0 = time.perf_counter()
        await db.fetchval("select 1")
        rtt.append((time.perf_counter() - t0) * 1000)

    has_add = add_registered(bot.app)
    scripts: list[tuple[str, Callable[[ChatUser], Awaitable[None]] | None]] = [
        ("floor (no-op handler)", noop),
        ("floor (no-op, replies ok)", noop_reply),
        ("/ptl page + card + back", ptl_page),
        ("/add full conversation", full_add if has_add else None),
    ]
    results: dict[str, list[float]] = {}
    latency: dict[str, list[float]] = {}
    wall: dict[str, float] = {}
    for name, script in scripts:
        if script is None:
            results[name] = []
            continue
        await everyone(users, script)  # warm-up round: caches, plans, first imports
        recorder.take()
        driver.take()
        recorder.enabled = True
        started = time.perf_counter()
        for _ in range(rounds):
            await everyone(users, script)
        wall[name] = time.perf_counter() - started
        recorder.enabled = False
        results[name] = recorder.take()
        latency[name] = driver.take()

    mode = "concurrent process_update (--direct)" if direct else "update queue, as polling"
    print(
        f"{students} students at once, {rounds} rounds, {PATIENTS} patients each; {mode}; "
        f"times in ms (embedded Postgres, pool {pool}, offline Bot API, persistence on)"
    )
    print(line("db round trip (select 1)", rtt))
    for name, values in results.items():
        extra = f"  ({len(values) / wall[name]:.0f} updates/s)" if name in wall else ""
        print(line(name, values) + extra)
    if not direct:
        for name, values in latency.items():
            if values:
                print(line(f"  latency incl. queue: {name[:12]}", values))
    one_rtt = statistics.median(rtt)
    for floor_name in ("floor (no-op handler)", "floor (no-op, replies ok)"):
        goal = 2 * statistics.median(results[floor_name]) + one_rtt
        for name in ("/ptl page + card + back", "/add full conversation"):
            values = results[name]
            if values:
                p50, p99 = statistics.median(values), pct(values, 0.99)
                print(
                    f"goal {name} vs {floor_name}: p50 {p50:.2f} vs 2x floor + 1 RTT"
                    f" = {goal:.2f} -> {'met' if p50 <= goal else 'NOT met'};"
                    f" p99 {p99:.2f} vs 50 -> {'met' if p99 < 50 else 'NOT met'}"
                )

    # The /stats chart: render time (it runs in a worker thread, off the event loop).
    from bot.services import charts

    charts.warm_up()
    from bot.services.stats import StandardWaits

    for n in (PATIENTS, 1000):
        standards = {k: StandardWaits(k) for k in ("rtt", "cancer_62", "diagnostic")}
        for i in range(n):
            ptype = ("rtt", "rtt", "rtt", "cancer_62", "diagnostic")[i % 5]
            standards[ptype].add(i * 7 % 420, ("on_track", "at_risk", "breached")[i % 3])
        times = []
        for _ in range(20):
            charts._render.cache_clear()  # measure drawing, not the per-distribution cache
            t0 = time.perf_counter()
            png = charts.waiting_chart_png(standards)
            times.append((time.perf_counter() - t0) * 1000)
        print(line(f"chart render, {n} patients", times) + f"  ({len(png) // 1024} KB PNG)")

    # Memory with many conversations in flight.
    gc.collect()
    before = rss_mb()
    crowd = [user(BASE_USER + 100_000 + i, f"C{i}") for i in range(in_flight)]
    for i, u in enumerate(crowd):
        await bot.services.links.link(u.user_id, u.user_id, f"crowd{i}@student.example", "C")
    batch = students
    for start in range(0, in_flight, batch):
        group = crowd[start : start + batch]
        if has_add:
            await asyncio.gather(*(u.send("/add") for u in group))
            for _ in range(4):  # part-way: name, NHS number, specialty, pathway
                await asyncio.gather(*(add_step(u) for u in group))
        else:
            await asyncio.gather(*(u.send("/find") for u in group))
    gc.collect()
    what = "half-way through /add" if has_add else "waiting in /find (/add not registered)"
    print(
        f"peak RSS with {in_flight} conversations in flight ({what}): {rss_mb():.0f} MB "
        f"(before the crowd: {before:.0f} MB)"
    )
    await close_bot(bot)
    await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--in-flight", type=int, default=1000)
    parser.add_argument("--direct", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.students, args.rounds, args.in_flight, args.direct))
