"""`python -m bot run` as a real process: SIGTERM mid-conversation, then resume after restart.

The bot process talks to a local fake Bot API (tests/fake_bot_api.py) and to this test's
database; the test plays Telegram's side of the webhook with httpx. A slow Telegram (the fake
delays sendMessage) keeps an update in flight while SIGTERM arrives: the process must finish
that update, store the conversation state, and exit 0; the next process must carry on from
that state.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.messages import find as find_text
from storage.db import Database
from storage.links import LinkRepository
from tests.fake_bot_api import FakeBotAPIServer, private_message

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAFakeTokenForProcessTests_0123456789abc"
SECRET = "shutdown-test-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
CHAT = 801


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    """`python -m bot run` in a subprocess, with its output collected for the assertions."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.log_path = cwd / f"bot-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bot exited early ({self.proc.returncode}):\n{self.output}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"bot not healthy in {timeout}s:\n{self.output}")

    def terminate_and_wait(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture
def telegram() -> Iterator[FakeBotAPIServer]:
    with FakeBotAPIServer() as server:
        yield server


def _env(db_dsn: str, telegram: FakeBotAPIServer, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PTL_", "WEBHOOK_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=db_dsn,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=telegram.base_url,
        VERIFIER="console",
        PTL_DATA_DIR=str(tmp / "data"),
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def _post(port: int, update_id: int, text: str) -> httpx.Response:
    body = {"update_id": update_id, **private_message(CHAT, text, message_id=update_id)}
    return httpx.post(f"http://127.0.0.1:{port}/telegram", json=body, headers=HEADERS, timeout=5)


async def _conversation_rows(db: Database) -> list[Any]:
    async with db.service() as conn:
        return list(await conn.fetch("select name, key, state from ptl_bot.conversations"))


async def test_sigterm_mid_conversation_finishes_the_update_and_resumes_after_restart(
    db: Database, db_dsn: str, telegram: FakeBotAPIServer, tmp_path: Path
) -> None:
    await LinkRepository(db).link(CHAT, CHAT, "sam@student.example", "Sam")
    port = _free_port()
    env = _env(
        db_dsn, telegram, tmp_path,
        WEBHOOK_URL="https://bot.example.org", WEBHOOK_SECRET=SECRET, PORT=str(port),
        WEBHOOK_LISTEN="127.0.0.1",
    )  # fmt: skip

    first = BotProcess(env, tmp_path)
    try:
        first.wait_healthy(port)
        # Telegram answers slowly: the /find prompt is in flight when SIGTERM arrives.
        telegram.delays["sendMessage"] = 1.5
        seen = len(telegram.requests)
        assert _post(port, 1, "/find").status_code == 200
        telegram.wait_for_request("sendMessage", after=seen)
        first.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        # While draining, new updates are refused so Telegram re-delivers them later.
        assert _post(port, 2, "too late").status_code == 503
        assert first.wait(30) == 0, first.output
    finally:
        first.kill()
    telegram.delays.clear()

    # The in-flight update finished: the prompt was sent and the state stored.
    prompt = telegram.wait_for_message(CHAT, lambda m: m.text == find_text.PROMPT, timeout=1)
    assert prompt is not None
    rows = await _conversation_rows(db)
    assert [(r["name"], json.loads(r["key"]), r["state"]) for r in rows] == [
        ("find", [CHAT, CHAT], 0)
    ]
    assert TOKEN not in first.output and TOKEN.split(":")[1] not in first.output
    assert "Stopping: no new updates" in first.output

    # A new process picks the conversation up where the student left it.
    second = BotProcess(env, tmp_path)
    try:
        second.wait_healthy(port)
        seen = len(telegram.received)
        assert _post(port, 3, "Zed").status_code == 200
        reply = telegram.wait_for_message(CHAT, lambda m: "Zed" in m.text, after=seen)
        assert reply.text.startswith(find_text.NO_MATCH.format(query="Zed").split("“")[0])
        assert second.terminate_and_wait() == 0, second.output
    finally:
        second.kill()
    assert await _conversation_rows(db) == []  # the search ended the conversation


async def test_polling_mode_answers_and_stops_on_sigterm(
    db_dsn: str, telegram: FakeBotAPIServer, tmp_path: Path
) -> None:
    bot = BotProcess(_env(db_dsn, telegram, tmp_path), tmp_path)
    try:
        telegram.push_update(private_message(CHAT + 1, "/help", message_id=1))
        reply = telegram.wait_for_message(CHAT + 1, timeout=60)
        assert "PTL trainer" in reply.text
        assert telegram.calls_to("deleteWebhook"), "polling must remove a webhook first"
        assert bot.terminate_and_wait() == 0, bot.output
    finally:
        bot.kill()
    assert "polling mode" in bot.output
