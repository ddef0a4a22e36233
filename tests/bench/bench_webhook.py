"""Webhook vs polling under load: updates per second, latency, memory of the bot process.

The real `python -m bot run` runs as a subprocess on an embedded Postgres, talking to the
local fake Bot API (tests/fake_bot_api.py) on 127.0.0.1. A load client in this process plays
Telegram: in webhook mode it POSTs updates to the bot's webhook with the secret header; in
polling mode it queues them in the fake API, which hands them to the bot's getUpdates. Each
simulated student (its own chat) sends an update and waits for the bot's reply before the
next one, so `--concurrency` is the number of updates in flight.

Latency is end to end: from the moment the update is handed over until the bot's reply
reaches the (fake) Bot API. Updates are a mix of /menu (link and staff lookups), /ptl (the
student's PTL through row-level security) and /help, each answered with one message.
Memory is the bot process's resident set size: after start-up and a warm-up ("at rest"), and
the peak sampled every 50 ms under load.

Run: .venv/bin/python -m tests.bench.bench_webhook [--seconds 10] [--concurrency 1 32]
Traffic stays on 127.0.0.1; every loop is bounded by --seconds. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.runtime.offline import SentMessage
from storage.db import Database
from storage.links import LinkRepository
from tests import pg
from tests.fake_bot_api import FakeBotAPIServer, private_message

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AABenchmarkTokenForTheWebhookBench_01234"
SECRET = "bench-webhook-secret"
STUDENTS = 64
FIRST_CHAT = 10_000
COMMANDS = ("/menu", "/ptl", "/menu", "/help")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Result:
    mode: str
    concurrency: int
    updates: int
    seconds: float
    latencies_ms: list[float]
    rss_rest: float
    rss_peak: float

    def line(self) -> str:
        lat = sorted(self.latencies_ms)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, round(p / 100 * (len(lat) - 1)))]

        return (
            f"{self.mode:<9}c={self.concurrency:<3} {self.updates / self.seconds:7.1f} upd/s"
            f"  p50 {pct(50):6.1f} ms  p95 {pct(95):6.1f} ms  p99 {pct(99):6.1f} ms"
            f"  max {lat[-1]:6.1f} ms  ({self.updates} updates)"
            f"  RSS rest {self.rss_rest:5.1f} MiB, peak {self.rss_peak:5.1f} MiB"
        )


@dataclass
class Replies:
    """Resolves a future per chat when the bot's reply reaches the fake Bot API."""

    loop: asyncio.AbstractEventLoop
    waiting: dict[int, asyncio.Future[float]] = field(default_factory=dict)

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = self.loop.create_future()
        self.waiting[chat_id] = future
        return future

    def on_message(self, message: SentMessage) -> None:  # called on a server thread
        at = time.perf_counter()
        future = self.waiting.pop(message.chat_id, None)
        if future is not None:
            self.loop.call_soon_threadsafe(_resolve, future, at)


def _resolve(future: asyncio.Future[float], at: float) -> None:
    if not future.done():
        future.set_result(at)


class Bot:
    """The bot process for one mode."""

    def __init__(
        self, mode: str, dsn: str, telegram: FakeBotAPIServer, tmp: Path, *, paced: bool
    ) -> None:
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PTL_", "WEBHOOK_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=dsn,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=telegram.base_url,
            VERIFIER="console",
            PTL_DATA_DIR=str(tmp / "data"),
            LOG_LEVEL="WARNING",
            WEBHOOK_URL="https://bench.example.org",
            WEBHOOK_SECRET=SECRET,
            WEBHOOK_LISTEN="127.0.0.1",
            PORT=str(self.port),
            TELEGRAM_RATE_LIMIT="true" if paced else "false",
        )
        self.log = (tmp / f"bot-{mode}-{'paced' if paced else 'unpaced'}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--mode", mode],
            cwd=tmp,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def _seed(dsn: str) -> None:
    db = await Database.connect(dsn, min_size=1, max_size=2)
    try:
        links = LinkRepository(db)
        for i in range(STUDENTS):
            chat = FIRST_CHAT + i
            await links.link(chat, chat, f"student{i}@bench.example", f"Student{i}")
    finally:
        await db.close()


async def _wait_ready(bot: Bot, telegram: FakeBotAPIServer, mode: str) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if bot.proc.poll() is not None:
                raise SystemExit(f"the bot exited: see {bot.log.name}")
            if mode == "webhook":
                try:
                    response = await client.get(f"http://127.0.0.1:{bot.port}/healthz")
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            elif telegram.calls_to("deleteWebhook") and any(
                m == "getUpdates" for m, _ in telegram.requests
            ):
                return
            await asyncio.sleep(0.1)
    raise SystemExit("the bot did not become ready in 90 s")


async def _load(
    mode: str,
    bot: Bot,
    telegram: FakeBotAPIServer,
    replies: Replies,
    *,
    concurrency: int,
    seconds: float,
) -> tuple[int, float, list[float], float]:
    latencies: list[float] = []
    message_ids = itertools.count(1_000_000)
    update_ids = itertools.count(1)
    peak = rss_mib(bot.proc.pid)
    stop_sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop_sampling.wait(0.05):
            peak = max(peak, rss_mib(bot.proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    url = f"http://127.0.0.1:{bot.port}/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    deadline = started + seconds

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def student(index: int) -> None:
            chat = FIRST_CHAT + index
            commands = itertools.cycle(COMMANDS[index % len(COMMANDS) :] + COMMANDS)
            while time.perf_counter() < deadline:
                payload = private_message(chat, next(commands), message_id=next(message_ids))
                reply = replies.expect(chat)
                sent = time.perf_counter()
                if mode == "webhook":
                    body = {"update_id": next(update_ids), **payload}
                    response = await client.post(url, json=body, headers=headers)
                    if response.status_code != 200:
                        raise RuntimeError(f"webhook answered {response.status_code}")
                else:
                    telegram.push_update(payload)
                arrived = await asyncio.wait_for(reply, 30)
                latencies.append(1000 * (arrived - sent))

        await asyncio.gather(*(student(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    stop_sampling.set()
    sampler.join()
    return len(latencies), elapsed, latencies, peak


async def bench(args: argparse.Namespace) -> list[Result]:
    tmp = Path(tempfile.mkdtemp(prefix="ptl-bench-webhook-"))
    admin = await pg.admin_dsn()
    await pg.create_template(admin)
    results: list[Result] = []
    loop = asyncio.get_running_loop()
    for mode, paced in itertools.product(args.modes, args.pacing):
        label = mode if paced else f"{mode}*"
        name = await pg.create_test_database(admin)
        dsn = pg.dsn_for(admin, name)
        await _seed(dsn)
        replies = Replies(loop)
        with FakeBotAPIServer() as telegram:
            telegram.api.listeners.append(replies.on_message)
            telegram.latency = args.telegram_ms / 1000
            bot = Bot(mode, dsn, telegram, tmp, paced=paced)
            try:
                await _wait_ready(bot, telegram, mode)
                # Warm-up: every code path once per student, then let it settle.
                await _load(mode, bot, telegram, replies, concurrency=8, seconds=2)
                await asyncio.sleep(1.0)
                rest = rss_mib(bot.proc.pid)
                for concurrency in args.concurrency:
                    count, elapsed, latencies, peak = await _load(
                        mode, bot, telegram, replies, concurrency=concurrency, seconds=args.seconds
                    )
                    result = Result(label, concurrency, count, elapsed, latencies, rest, peak)
                    print(result.line(), flush=True)
                    results.append(result)
            finally:
                bot.stop()
        await pg.drop_database(admin, name)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement (bounded)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--modes", nargs="+", default=["webhook", "polling"])
    parser.add_argument(
        "--telegram-ms",
        type=float,
        default=0.0,
        help="answer every Bot API call after this many ms (a real Telegram is 20-150 ms away)",
    )
    parser.add_argument(
        "--pacing",
        choices=("on", "off"),
        nargs="+",
        default=["on", "off"],
        help="on: Telegram's 30 msg/s pacing (production); off: the bot's own capacity",
    )
    args = parser.parse_args()
    args.pacing = [p == "on" for p in args.pacing]
    args.concurrency = [min(c, STUDENTS) for c in args.concurrency]
    print(
        f"bot process: python -m bot run, embedded Postgres, {os.cpu_count()} CPU(s); "
        f"{args.seconds:.0f} s per line; mix {', '.join(COMMANDS)}; "
        "* = TELEGRAM_RATE_LIMIT=false (no 30 msg/s pacing); "
        f"Bot API answers after {args.telegram_ms:.0f} ms"
    )
    results = asyncio.run(bench(args))
    if len(results) > 1:
        best = max(results, key=lambda r: r.updates / r.seconds)
        print(f"highest throughput: {best.mode} at c={best.concurrency}")
    print("medians of all latencies:", {
        f"{r.mode}/c{r.concurrency}": round(statistics.median(r.latencies_ms), 1) for r in results
    })  # fmt: skip


if __name__ == "__main__":
    main()
