"""The webhook web server: Telegram's updates in, a health check for the platform, nothing else.

Why our own server rather than PTB's `run_webhook`: the hosting platform and the load balancer
need a health endpoint that tells whether this replica can reach the database, and a replica
that is shutting down must refuse new updates (503, so Telegram re-delivers them, to another
replica or after the restart) while it finishes the ones it already accepted. PTB's built-in
server offers neither. This is the "custom webhook" pattern PTB documents: verify Telegram's
secret header, decode the update, put it on `application.update_queue`; PTB does the rest.

It runs on tornado (already installed with PTB's webhooks extra), on the bot's own event loop.

Routes:
- `POST <path>` (default `/telegram`): an update from Telegram. 403 without the right
  `X-Telegram-Bot-Api-Secret-Token`; 503 while draining or when the queue is full.
- `GET /healthz`: 200 `{"status": "ok", "database": "ok", ...}`; 503 when the database is
  unreachable, the bot is not processing updates, or the replica is shutting down.
- `GET /`: a one-line banner, so a browser visit shows the service is up.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import tornado.web
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are small; the largest (a long message with entities) is a few KB.
MAX_BODY_BYTES = 1024 * 1024
# More queued updates than this means the bot is falling behind: let Telegram retry later.
DEFAULT_MAX_QUEUE = 2000
HEALTH_DB_TIMEOUT = 3.0
FORGED_LOG_INTERVAL = 60.0

DatabaseProbe = Callable[[], Awaitable[Any]]


@dataclass
class WebhookStats:
    """Counters for the health endpoint and the shutdown log line."""

    accepted: int = 0
    refused_secret: int = 0
    refused_busy: int = 0
    bad_requests: int = 0
    started_at: float = field(default_factory=time.monotonic)


class WebhookServer:
    """Serves Telegram's webhook and the health check for one Application."""

    def __init__(
        self,
        app: Application,
        *,
        secret_token: str,
        path: str = "/telegram",
        database_probe: DatabaseProbe | None = None,
        max_queue: int = DEFAULT_MAX_QUEUE,
    ) -> None:
        if not secret_token:
            raise ValueError("a webhook without a secret token would accept forged updates")
        self.app = app
        self.secret_token = secret_token
        self.path = "/" + path.strip("/")
        self.database_probe = database_probe
        self.max_queue = max_queue
        self.stats = WebhookStats()
        self.draining = False
        self._forged_logged_at = -FORGED_LOG_INTERVAL
        self._forged_logged_count = 0
        self._server: HTTPServer | None = None
        self._sockets: list[socket.socket] = []
        routes: list[Any] = [
            (self.path, _UpdateHandler, {"server": self}),
            (r"/healthz/?", _HealthHandler, {"server": self}),
            (r"/", _RootHandler),
        ]
        self._tornado = tornado.web.Application(routes, log_function=_log_request)

    @property
    def port(self) -> int:
        if not self._sockets:
            raise RuntimeError("the webhook server is not listening")
        return int(self._sockets[0].getsockname()[1])

    async def start(self, host: str = "0.0.0.0", port: int = 8080) -> int:
        """Listen (port 0 picks a free one) and return the port."""
        self._sockets = bind_sockets(port, address=host, reuse_port=False)
        self._server = HTTPServer(self._tornado, xheaders=True, max_body_size=MAX_BODY_BYTES)
        self._server.add_sockets(self._sockets)
        log.info("Webhook server listening on %s:%d (updates at %s)", host, self.port, self.path)
        return self.port

    def note_forged(self, remote_ip: str | None) -> None:
        """Log refused requests at most once a minute: a scanner must not flood the log."""
        now = time.monotonic()
        if now - self._forged_logged_at < FORGED_LOG_INTERVAL:
            return
        since = self.stats.refused_secret - self._forged_logged_count
        self._forged_logged_at, self._forged_logged_count = now, self.stats.refused_secret
        log.warning(
            "Refused %d webhook request(s) without the right secret token (latest from %s); "
            "if these are Telegram's, WEBHOOK_SECRET differs between replicas or deploys",
            since,
            remote_ip,
        )

    def begin_drain(self) -> None:
        """Refuse new updates from now on (Telegram re-delivers them) and report unhealthy,
        so the load balancer stops routing here while accepted updates finish."""
        self.draining = True

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        self._sockets = []

    async def health(self) -> tuple[int, dict[str, Any]]:
        """The health report and its HTTP status."""
        report: dict[str, Any] = {
            "status": "ok",
            "mode": "webhook",
            "database": "ok",
            "bot": "running" if self.app.running else "stopped",
            "queued_updates": self.app.update_queue.qsize(),
            "uptime_seconds": round(time.monotonic() - self.stats.started_at),
        }
        if self.database_probe is not None:
            try:
                await asyncio.wait_for(self.database_probe(), HEALTH_DB_TIMEOUT)
            except Exception as exc:
                report["database"] = "unreachable"
                log.warning("Health check: database unreachable (%s)", type(exc).__name__)
        if self.draining:
            report["status"] = "shutting down"
        elif report["database"] != "ok" or not self.app.running:
            report["status"] = "unhealthy"
        ok = report["status"] == "ok"
        return (HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE), report


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Access log at DEBUG only (paths carry no secrets; health checks would flood INFO)."""
    status = handler.get_status()
    level = logging.WARNING if status >= 500 and status != 503 else logging.DEBUG
    log.log(
        level,
        "%s %s -> %d (%.1f ms)",
        handler.request.method,
        handler.request.path,
        status,
        1000 * handler.request.request_time(),
    )


class _UpdateHandler(tornado.web.RequestHandler):
    server: WebhookServer

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")

    def check_xsrf_cookie(self) -> None:  # Telegram sends no cookies
        return None

    async def post(self) -> None:
        server = self.server
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), server.secret_token.encode()):
            server.stats.refused_secret += 1
            server.note_forged(self.request.remote_ip)
            self._reply(HTTPStatus.FORBIDDEN, "forbidden")
            return
        if server.draining:
            server.stats.refused_busy += 1
            self.set_header("Retry-After", "5")
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, "shutting down")
            return
        queue = server.app.update_queue
        if queue.qsize() >= server.max_queue:
            server.stats.refused_busy += 1
            self.set_header("Retry-After", "5")
            self._reply(HTTPStatus.SERVICE_UNAVAILABLE, "busy")
            return
        try:
            data = json.loads(self.request.body)
            if not isinstance(data, dict) or "update_id" not in data:
                raise ValueError("not an update")
            update = Update.de_json(data, server.app.bot)
        except Exception as exc:
            server.stats.bad_requests += 1
            log.warning("Refused a webhook body that is not a Telegram update (%s)", exc)
            self._reply(HTTPStatus.BAD_REQUEST, "bad request")
            return
        await queue.put(update)
        server.stats.accepted += 1
        self.set_status(HTTPStatus.OK)
        self.finish(b"{}")

    def _reply(self, status: HTTPStatus, message: str) -> None:
        self.set_status(status)
        self.finish(json.dumps({"ok": False, "error": message}))


class _HealthHandler(tornado.web.RequestHandler):
    server: WebhookServer

    def initialize(self, server: WebhookServer) -> None:
        self.server = server

    async def get(self) -> None:
        status, report = await self.server.health()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(report))

    async def head(self) -> None:  # some load balancers probe with HEAD
        status, _ = await self.server.health()
        self.set_status(status)
        self.finish()


class _RootHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("ptl-bot webhook server. Health: /healthz\n")
