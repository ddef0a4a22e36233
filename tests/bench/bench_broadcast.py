"""Broadcast benchmark (issue 7): an exercise to 5,000 students through a local HTTP server that
plays the Bot API and enforces Telegram's overall limit (30 messages a second, 429 with
retry_after beyond it), with the bot's real sender in a subprocess.

Three runs, each a new exercise to every student:
  A. uninterrupted;
  B. the sender is killed with SIGKILL halfway (a crash) and started again;
  C. the sender gets SIGTERM halfway (a deploy) and is started again.
For each: achieved rate (messages the server accepted per second, first to last; the goal is
at least 90% of the limit), 429s received, duplicates (a student given the exercise twice; the
goal is 0), missed students (the goal is 0), and how the outbox rows ended.

Run:  /work/venv/bin/python -m tests.bench.bench_broadcast [--students 5000] [--limit 30]
Uses PTL_TEST_DATABASE_URL (a superuser URL) if set, else an embedded Postgres in a temp
folder. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import os
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from tests.bench.rate_limit import TOO_MANY, PerSecondLimit

TOKEN = "123456789:" + "B" * 35
TUTOR = "tutor@bench.example"
TUTOR_CHAT = 1
TITLE = re.compile(r"📚 <b>(.*?)</b>")


# --- the fake Bot API ------------------------------------------------------------------------


@dataclass
class Run:
    counts: collections.Counter[int] = field(default_factory=collections.Counter)
    times: list[float] = field(default_factory=list)


class FakeBotApi:
    """Answers getMe, sendMessage and editMessageText; refuses with 429 (retry_after 1) any
    call that would make more than `limit` accepted calls in the last second."""

    def __init__(self, limit: int) -> None:
        self.rate = PerSecondLimit(limit)
        self.runs: dict[str, Run] = collections.defaultdict(Run)
        self.edits = 0
        self.per_chat_too_fast = 0
        self._last_by_chat: dict[int, float] = {}
        self._ids = 0
        self.watch: tuple[str, int, asyncio.Event] | None = None  # (run, count, event)

    def handle(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return 200, {"ok": True, "result": {"id": 7, "is_bot": True, "first_name": "Bench",
                                                "username": "bench_bot"}}  # fmt: skip
        if method not in ("sendMessage", "editMessageText"):
            return 400, {"ok": False, "error_code": 400, "description": f"no {method}"}
        now = self.rate.admit()
        if now is None:
            return TOO_MANY
        chat = int(params.get("chat_id", "0"))
        text = params.get("text", "")
        self._ids += 1
        message = {"message_id": self._ids, "date": int(time.time()),
                   "chat": {"id": chat, "type": "private"}, "text": text}  # fmt: skip
        if method == "editMessageText":
            self.edits += 1
            return 200, {"ok": True, "result": message}
        last = self._last_by_chat.get(chat)
        if last is not None and now - last < 1.0:
            self.per_chat_too_fast += 1
        self._last_by_chat[chat] = now
        match = TITLE.search(text)
        run = self.runs[match.group(1) if match else "?"]
        run.counts[chat] += 1
        run.times.append(now)
        watch = self.watch
        if watch and match and match.group(1) == watch[0] and len(run.times) >= watch[1]:
            watch[2].set()
        return 200, {"ok": True, "result": message}


def serve(api: FakeBotApi, port: int) -> Any:
    import tornado.httpserver
    import tornado.web

    class Handler(tornado.web.RequestHandler):
        def post(self, method: str) -> None:
            params = {k: v[-1].decode() for k, v in self.request.body_arguments.items()}
            if (
                not params
                and self.request.body
                and self.request.headers.get("Content-Type", "").startswith("application/json")
            ):
                params = {k: str(v) for k, v in json.loads(self.request.body).items()}
            status, body = api.handle(method, params)
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(body))

    app = tornado.web.Application([(r"/bot[^/]+/(\w+)", Handler)])
    server = tornado.httpserver.HTTPServer(app)
    server.listen(port, "127.0.0.1")
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the sender (runs in a subprocess) ----------------------------------------------------------


async def sender(dsn: str, api_url: str, claim_lease: float, sending_lease: float) -> None:
    from bot.config import Settings
    from bot.runtime.app import build_application
    from bot.runtime.wiring import build_services
    from bot.services.outbox import OutboxWorker
    from storage.db import Database

    logging.getLogger("bot.verification").setLevel(logging.ERROR)  # console verifier notice
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, verifier="console", telegram_bot_token=TOKEN, telegram_api_url=api_url,
        database_url=dsn,
    )  # fmt: skip
    db = await Database.connect(dsn, min_size=2, max_size=10)
    services = build_services(settings, db)
    # As in production: PTB's AIORateLimiter on, no persistence needed for sending.
    app = build_application(
        services,
        rate_limit=os.environ.get("BENCH_PTB_LIMITER", "1") == "1",
        persistence=False,
        register=False,
    )
    await app.initialize()
    worker = OutboxWorker(app.bot, services, claim_lease=claim_lease, sending_lease=sending_lease)
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    while not stopping.is_set():
        await worker.drain(keep_running=lambda: not stopping.is_set(), wait_for_retries=5)
        if stopping.is_set() or not await services.exercises.exercises_in_flight():
            break
        await asyncio.sleep(0.5)  # rows another (dead) sender still holds: wait for the lease
    await app.shutdown()
    await db.close()


def start_sender(dsn: str, api_url: str) -> Any:
    import subprocess

    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.bench.bench_broadcast",
            "--sender",
            "--dsn",
            dsn,
            "--api",
            api_url,
        ],
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )


# --- the benchmark -------------------------------------------------------------------------


async def prepare(students: int, database: str = "ptl_bench_broadcast") -> tuple[str, int]:
    from storage.migrations import migrate
    from tests import pg

    admin = await pg.admin_dsn()
    import asyncpg

    await pg.create_database(admin, database)  # shaped as a Supabase project's, as in tests
    dsn = pg.dsn_for(admin, database)
    await migrate(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("insert into ptl_bot.staff (email, role) values ($1, 'tutor')", TUTOR)
        await conn.execute(
            "insert into ptl_bot.telegram_links (telegram_user_id, chat_id, email)"
            " values ($1, $1, $2)",
            TUTOR_CHAT,
            TUTOR,
        )
        cohort = await conn.fetchval(
            "insert into ptl_bot.cohorts (name, tutor_email, invite_code)"
            " values ('Bench cohort', $1, 'benchinvite01') returning id",
            TUTOR,
        )
        await conn.execute(
            "insert into ptl_bot.telegram_links (telegram_user_id, chat_id, email, first_name)"
            " select 100000 + g, 100000 + g, 'student' || g || '@bench.example', 'S'"
            " from generate_series(1, $1) g",
            students,
        )
        await conn.execute(
            "insert into ptl_bot.cohort_members (cohort_id, email)"
            " select $1, 'student' || g || '@bench.example' from generate_series(1, $2) g",
            cohort,
            students,
        )
    finally:
        await conn.close()
    return dsn, cohort


async def new_exercise(dsn: str, cohort: int, title: str) -> int:
    from storage.db import Database
    from storage.exercises import ExerciseRepository

    db = await Database.connect(dsn, min_size=1, max_size=2)
    try:
        repo = ExerciseRepository(db)
        exercise, _ = await repo.create(
            tutor_email=TUTOR, cohort_id=cohort, title=title, brief="Benchmark exercise.",
            scenario_key=None, scenario_title=None, patients=[], questions=[], due_date=None,
            draft_token=title,
        )  # fmt: skip
        await repo.set_progress_message(exercise.id, TUTOR_CHAT, 1)
        return exercise.id
    finally:
        await db.close()


async def outcome(dsn: str, exercise_id: int) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "select status, count(*) as n from ptl_bot.exercise_deliveries"
            " where exercise_id = $1 group by 1",
            exercise_id,
        )
        unconfirmed = await conn.fetch(
            "select l.chat_id from ptl_bot.exercise_deliveries d join ptl_bot.telegram_links l"
            " on l.email = d.email where d.exercise_id = $1 and d.status = 'unconfirmed'",
            exercise_id,
        )
    finally:
        await conn.close()
    result = {r["status"]: r["n"] for r in rows}
    result["_unconfirmed_chats"] = [r["chat_id"] for r in unconfirmed]  # type: ignore[assignment]
    return result


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


async def wait_process(proc: Any) -> int:
    return int(await asyncio.to_thread(proc.wait))


async def one_run(
    api: FakeBotApi, dsn: str, api_url: str, cohort: int, students: int, title: str,
    kill: signal.Signals | None,
) -> dict[str, Any]:  # fmt: skip
    exercise_id = await new_exercise(dsn, cohort, title)
    rejected_before = api.rate.rejected
    started = time.monotonic()
    proc = start_sender(dsn, api_url)
    run = api.runs[title]
    split = None
    if kill is not None:
        halfway = asyncio.Event()
        api.watch = (title, students // 2, halfway)
        await halfway.wait()
        proc.send_signal(kill)
        await wait_process(proc)
        split = len(run.times)
        proc = start_sender(dsn, api_url)
    await wait_process(proc)
    wall = time.monotonic() - started
    result = await outcome(dsn, exercise_id)
    unconfirmed_chats = result.pop("_unconfirmed_chats")
    got = run.counts
    figures: dict[str, Any] = {
        "title": title,
        "wall_s": wall,
        "accepted": len(run.times),
        "rate": rate(run.times),
        "rate_before_kill": rate(run.times[:split]) if split else None,
        "rate_after_restart": rate(run.times[split:]) if split else None,
        "restart_gap_s": (run.times[split] - run.times[split - 1]) if split else None,
        "rejected_429": api.rate.rejected - rejected_before,
        "duplicates": sum(n - 1 for n in got.values() if n > 1),
        "missed": students - len(got),
        "statuses": result,
        "unconfirmed_but_delivered": sum(1 for c in unconfirmed_chats if got.get(c)),  # type: ignore[union-attr]
    }
    return figures


def report(figures: dict[str, Any], limit: int) -> None:
    print(f"\n== {figures['title']} ==")
    print(f"  wall time            {figures['wall_s']:.1f} s (incl. process start-up)")
    print(f"  messages accepted    {figures['accepted']}")
    print(
        f"  achieved rate        {figures['rate']:.2f} msg/s = "
        f"{100 * figures['rate'] / limit:.1f}% of {limit}/s (first to last accepted)"
    )
    if figures["rate_before_kill"] is not None:
        print(f"    before the kill    {figures['rate_before_kill']:.2f} msg/s")
        print(f"    after the restart  {figures['rate_after_restart']:.2f} msg/s")
        print(f"    gap at restart     {figures['restart_gap_s']:.2f} s")
    print(f"  429s from the server {figures['rejected_429']}")
    print(f"  duplicates           {figures['duplicates']}")
    print(f"  missed students      {figures['missed']}")
    print(f"  outbox rows          {figures['statuses']}")
    if figures["statuses"].get("unconfirmed"):
        print(
            f"  unconfirmed rows that had in fact arrived: {figures['unconfirmed_but_delivered']}"
        )


async def main(students: int, limit: int) -> None:
    api = FakeBotApi(limit)
    port = free_port()
    server = serve(api, port)
    api_url = f"http://127.0.0.1:{port}/bot"
    os.environ["BROADCAST_MESSAGES_PER_SECOND"] = str(limit)
    print(f"Preparing {students} linked students in one cohort...", flush=True)
    dsn, cohort = await prepare(students)
    print(f"Fake Bot API on {api_url} enforcing {limit} messages/s (429 retry_after=1)")
    results = [
        await one_run(api, dsn, api_url, cohort, students, "Bench A uninterrupted", None),
        await one_run(
            api, dsn, api_url, cohort, students, "Bench B SIGKILL halfway", signal.SIGKILL
        ),
        await one_run(
            api, dsn, api_url, cohort, students, "Bench C SIGTERM halfway", signal.SIGTERM
        ),
    ]
    for figures in results:
        report(figures, limit)
    print(f"\nProgress-message edits accepted: {api.edits}; sends to a chat under 1 s apart: "
          f"{api.per_chat_too_fast}")  # fmt: skip
    server.stop()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        asyncio.run(sender(args.dsn, args.api, claim_lease=3.0, sending_lease=6.0))
    else:
        asyncio.run(main(args.students, args.limit))


if __name__ == "__main__":
    cli()
