"""Webhook mode behind a local HTTP client: secret enforced, updates processed, health reported."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.runtime.server import check_run_settings, serve, webhook_endpoint
from bot.runtime.webhook import SECRET_HEADER, WebhookServer
from storage.db import Database
from tests import harness
from tests.fake_bot_api import FakeBotAPIServer, private_message

SECRET = "test-secret_0123456789"


def _update(chat_id: int, text: str, update_id: int = 1, message_id: int = 1) -> dict[str, Any]:
    return {"update_id": update_id, **private_message(chat_id, text, message_id=message_id)}


async def _wait_for(predicate: Any, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def served(
    db: Database,
) -> AsyncIterator[tuple[harness.Bot, WebhookServer, httpx.AsyncClient]]:
    bot = await harness.make_bot(db, start=True)
    server = WebhookServer(
        bot.app, secret_token=SECRET, database_probe=lambda: db.fetchval("select 1")
    )
    port = await server.start("127.0.0.1", 0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        yield bot, server, client
    await server.stop()
    await harness.close_bot(bot)


async def test_requests_without_the_secret_token_are_refused(served: Any) -> None:
    bot, server, client = served
    body = _update(701, "/help")
    missing = await client.post("/telegram", json=body)
    wrong = await client.post("/telegram", json=body, headers={SECRET_HEADER: "guess"})
    prefix = await client.post("/telegram", json=body, headers={SECRET_HEADER: SECRET[:-1]})
    assert (missing.status_code, wrong.status_code, prefix.status_code) == (403, 403, 403)
    await asyncio.sleep(0.1)
    assert bot.api.sent_to(701) == [], "a forged update must not reach the handlers"
    assert server.stats.refused_secret == 3 and server.stats.accepted == 0
    head = await client.head("/healthz")
    assert head.status_code == 200


async def test_an_update_is_processed_end_to_end(served: Any) -> None:
    bot, _, client = served
    await bot.services.links.link(702, 702, "sam@student.example", "Sam")
    response = await client.post(
        "/telegram", json=_update(702, "/menu"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200
    await _wait_for(lambda: bot.api.sent_to(702))
    reply = bot.api.sent_to(702)[-1]
    assert "What would you like to do, Sam?" in reply.text and reply.buttons


async def test_malformed_bodies_are_rejected(served: Any) -> None:
    _, server, client = served
    headers = {SECRET_HEADER: SECRET}
    not_json = await client.post(
        "/telegram", content=b"{nope", headers={**headers, "Content-Type": "application/json"}
    )
    not_update = await client.post("/telegram", json={"hello": 1}, headers=headers)
    wrong_path = await client.post("/other", json=_update(703, "/help"), headers=headers)
    assert (not_json.status_code, not_update.status_code, wrong_path.status_code) == (400, 400, 404)
    assert server.stats.accepted == 0


async def test_health_reports_the_database(served: Any) -> None:
    _, _, client = served
    response = await client.get("/healthz")
    assert response.status_code == 200
    report = response.json()
    assert report["database"] == "ok" and report["status"] == "ok" and report["mode"] == "webhook"
    assert (await client.get("/")).status_code == 200


async def test_health_is_503_when_the_database_is_unreachable(db_dsn: str, db: Database) -> None:
    gone = await Database.connect(db_dsn, min_size=0, max_size=1)
    await gone.close()
    bot = await harness.make_bot(db, start=True)
    server = WebhookServer(
        bot.app, secret_token=SECRET, database_probe=lambda: gone.fetchval("select 1")
    )
    port = await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.get("/healthz")
    finally:
        await server.stop()
        await harness.close_bot(bot)
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_draining_replica_refuses_new_updates_and_reports_unhealthy(served: Any) -> None:
    _, server, client = served
    server.begin_drain()
    response = await client.post(
        "/telegram", json=_update(704, "/help"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 503 and response.headers["Retry-After"]
    health = await client.get("/healthz")
    assert health.status_code == 503 and health.json()["status"] == "shutting down"


async def test_a_full_queue_asks_telegram_to_retry(db: Database) -> None:
    bot = await harness.make_bot(db)  # not started: nothing drains the queue
    server = WebhookServer(bot.app, secret_token=SECRET, max_queue=1)
    port = await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            first = await client.post(
                "/telegram", json=_update(705, "/help", 1), headers={SECRET_HEADER: SECRET}
            )
            second = await client.post(
                "/telegram", json=_update(705, "/help", 2), headers={SECRET_HEADER: SECRET}
            )
    finally:
        await server.stop()
        await harness.close_bot(bot)
    assert (first.status_code, second.status_code) == (200, 503)


def test_webhook_endpoint_from_the_configured_url() -> None:
    assert webhook_endpoint("https://bot.example.org") == (
        "https://bot.example.org/telegram",
        "/telegram",
    )
    assert webhook_endpoint("https://bot.example.org/") == (
        "https://bot.example.org/telegram",
        "/telegram",
    )
    assert webhook_endpoint("https://x.example/hooks/tg") == (
        "https://x.example/hooks/tg",
        "/hooks/tg",
    )


def test_webhook_mode_requires_a_secret() -> None:
    settings = harness.test_settings(
        telegram_bot_token="123456:" + "A" * 35, webhook_url="https://bot.example.org"
    )
    problem = check_run_settings(settings)
    assert problem is not None and "WEBHOOK_SECRET" in problem
    with pytest.raises(ValueError, match="HTTPS"):
        harness.test_settings(webhook_url="http://bot.example.org")
    with pytest.raises(ValueError, match="A-Z"):
        harness.test_settings(webhook_secret="has spaces and !")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_serve_in_webhook_mode_sets_the_webhook_answers_and_stops_cleanly(
    db_dsn: str,
) -> None:
    """The real `python -m bot run` lifecycle (in-process) against a local Bot API server."""
    port = _free_port()
    with FakeBotAPIServer() as telegram:
        settings = harness.test_settings(
            telegram_bot_token="123456:" + "A" * 35,
            telegram_api_url=telegram.base_url,
            database_url=db_dsn,
            webhook_url="https://bot.example.org",
            webhook_secret=SECRET,
            webhook_listen="127.0.0.1",
            port=port,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop=stop))
        await asyncio.to_thread(telegram.wait_for_call, "setWebhook")
        webhook = telegram.webhook
        assert webhook["url"] == "https://bot.example.org/telegram"
        assert webhook["secret_token"] == SECRET
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await _wait_for(lambda: not task.done())
            health = await client.get("/healthz")
            assert health.status_code == 200, health.text
            response = await client.post(
                "/telegram", json=_update(706, "/help"), headers={SECRET_HEADER: SECRET}
            )
            assert response.status_code == 200
            reply = await asyncio.to_thread(telegram.wait_for_message, 706)
            assert "PTL trainer" in reply.text
        stop.set()
        assert await asyncio.wait_for(task, 15) == 0
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient() as client:
                await client.get(f"http://127.0.0.1:{port}/healthz")


def test_run_modes_pinned_by_the_procfile(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.runtime.server import run, settings_for_mode

    shared = harness.test_settings(
        telegram_bot_token="123456:" + "A" * 35,
        webhook_url="https://bot.example.org",
        webhook_secret=SECRET,
    )
    # The worker polls even though the platform gives it WEBHOOK_URL too.
    polling = settings_for_mode(shared, "polling")
    assert not isinstance(polling, str) and polling.webhook_url is None
    assert settings_for_mode(shared, "auto") is shared
    # The web process refuses to start without a public URL, instead of silently polling.
    assert run(harness.test_settings(telegram_bot_token="123456:" + "A" * 35), mode="webhook") == 2
    assert "WEBHOOK_URL" in capsys.readouterr().err
    procfile = (Path(__file__).resolve().parent.parent / "Procfile").read_text()
    assert "web: python -m bot run --mode webhook" in procfile
    assert "worker: python -m bot run --mode polling" in procfile
    assert "release: python -m bot migrate" in procfile
