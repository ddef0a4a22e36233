"""Telegram's Bot API over real HTTP on 127.0.0.1, for tests and benchmarks of a bot process.

Why: `python -m bot run` talks HTTPS to api.telegram.org, which is unreachable here. Pointing
`TELEGRAM_API_URL` at this server lets a test start the real process (signals, webhook server,
polling, shutdown) and read what it sent. The answers come from `bot.runtime.offline.OfflineBotAPI`,
so the rules (message length, HTML, callback data) are the same as in in-process tests.

    with FakeBotAPIServer() as telegram:
        env["TELEGRAM_API_URL"] = telegram.base_url       # http://127.0.0.1:PORT/bot
        ...
        telegram.wait_for_message(chat_id, lambda m: "Saved" in m.text)

Polling works too: `push_update({...})` queues an update that the bot's getUpdates receives.
The server is a thread (independent of the test's event loop); every method is thread-safe.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from bot.runtime.offline import ApiCall, OfflineBotAPI, SentMessage, TelegramHTMLError

# Parameters whose values are text even when they look like JSON.
_TEXT_PARAMS = frozenset({"text", "caption", "question", "secret_token", "url", "description"})


@dataclass
class Received:
    """A message the bot sent, with when it arrived (for latency measurements)."""

    message: SentMessage
    at: float


class FakeBotAPIServer:
    def __init__(self, api: OfflineBotAPI | None = None, *, host: str = "127.0.0.1") -> None:
        self.api = api or OfflineBotAPI()
        # Updates reach the bot from the test directly (webhook posts, pushed updates), so
        # any callback query id is taken, but only once.
        self.api.delivered_callbacks = None
        self.lock = threading.Condition()
        self.received: list[Received] = []
        self.webhook: dict[str, Any] = {}
        # Seconds to wait before answering a method, e.g. {"sendMessage": 1.5}: a slow Telegram.
        self.delays: dict[str, float] = {}
        # Seconds added to every other method except getUpdates: a distant Telegram.
        self.latency = 0.0
        # (method, time) of every request as it arrives, before any delay.
        self.requests: list[tuple[str, float]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._closed = False
        self.api.listeners.append(self._on_message)
        self._httpd = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The value for TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeBotAPIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            self._closed = True
            self.lock.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeBotAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the bot sent ------------------------------------------------------------------
    def _on_message(self, message: SentMessage) -> None:
        # Called by OfflineBotAPI under self.lock (see _call).
        self.received.append(Received(message, time.monotonic()))
        self.lock.notify_all()

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        with self.lock:
            return self.api.sent_to(chat_id)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c.params for c in self.api.calls_to(method)]

    def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] = lambda m: True,
        *,
        timeout: float = 10.0,
        after: int = 0,
    ) -> SentMessage:
        """Block until the bot sent (or edited) a matching message to `chat_id`; the search
        starts at index `after` of `received` (use `len(server.received)` taken earlier)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for item in self.received[after:]:
                    if item.message.chat_id == chat_id and predicate(item.message):
                        return item.message
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    texts = [r.message.text for r in self.received if r.message.chat_id == chat_id]
                    raise AssertionError(f"no matching message to {chat_id}; got {texts}")
                self.lock.wait(left)

    def wait_for_request(self, method: str, *, timeout: float = 10.0, after: int = 0) -> None:
        """Block until the bot has *started* a request to `method` (it may still be waiting
        for the answer, see `delays`)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not any(m == method for m, _ in self.requests[after:]):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the bot never started a {method} request")
                self.lock.wait(left)

    def wait_for_call(self, method: str, *, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                calls = self.api.calls_to(method)
                if calls:
                    return calls[-1].params
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the bot never called {method}")
                self.lock.wait(left)

    # -- polling ----------------------------------------------------------------------------
    def push_update(self, payload: dict[str, Any]) -> int:
        """Queue an update (without update_id) for getUpdates; returns its update_id."""
        with self.lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **payload})
            self.lock.notify_all()
            return update_id

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 10.0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self.lock:
            # Telegram forgets updates below the acknowledged offset.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(left)
            return self._updates[:limit]

    # -- HTTP -------------------------------------------------------------------------------
    def _call(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> Any:
        if method == "getUpdates":
            return True, self._get_updates(params)
        with self.lock:
            self.api.calls.append(_call_record(method, params))
            if method == "setWebhook":
                self.webhook = {"url": params.get("url", ""), **params}
                self.lock.notify_all()
                return True, True
            if method == "deleteWebhook":
                self.webhook = {}
                return True, True
            if method == "getWebhookInfo":
                return True, {
                    "url": self.webhook.get("url", ""),
                    "has_custom_certificate": False,
                    "pending_update_count": 0,
                }
            failure = self.api._take_failure(params.get("chat_id"), method)
            if failure is not None:
                return False, failure  # (status, body) exactly as Telegram would answer
            handler = getattr(self.api, f"_api_{method}", None)
            if handler is None:
                return False, _error(400, f"Bad Request: method {method} is not offered")
            try:
                result = handler(params, files)
            except TelegramHTMLError as exc:
                return False, _error(400, f"Bad Request: can't parse entities: {exc}")
            except Exception as exc:  # the offline API's own Telegram-style errors
                code = getattr(exc, "code", 400)
                return False, _error(code, getattr(exc, "description", f"Bad Request: {exc}"))
            self.lock.notify_all()
            return True, result


def _error(code: int, description: str) -> tuple[int, bytes]:
    body = {"ok": False, "error_code": code, "description": description}
    return code, json.dumps(body).encode()


def _call_record(method: str, params: dict[str, Any]) -> ApiCall:
    return ApiCall(method, params, time.monotonic())


def _decode_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in pairs:
        if key not in _TEXT_PARAMS and value[:1] in ("{", "["):
            try:
                params[key] = json.loads(value)
                continue
            except ValueError:
                pass
        if key not in _TEXT_PARAMS and value in ("true", "false"):
            params[key] = value == "true"
            continue
        params[key] = value
    return params


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    pairs: list[tuple[str, str]] = []
    files: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        else:
            pairs.append((name, payload.decode()))
    return _decode_params(pairs), files


def _handler_for(server: FakeBotAPIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like Telegram
        # Without this, Nagle's algorithm and the client's delayed ACK add ~40 ms per answer.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            method = self.path.rstrip("/").rsplit("/", 1)[-1]
            content_type = self.headers.get("Content-Type", "")
            files: dict[str, Any] = {}
            if content_type.startswith("multipart/form-data"):
                params, files = _parse_multipart(content_type, body)
            elif content_type.startswith("application/json"):
                params = json.loads(body or b"{}")
            else:
                params = _decode_params(parse_qsl(body.decode(), keep_blank_values=True))
            with server.lock:
                server.requests.append((method, time.monotonic()))
                server.lock.notify_all()
            delay = server.delays.get(method, 0.0 if method == "getUpdates" else server.latency)
            if delay:
                time.sleep(delay)
            ok, result = server._call(method, params, files)
            if ok:
                self._send(200, json.dumps({"ok": True, "result": result}).encode())
            else:
                self._send(*result)

        do_GET = do_POST

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the bot went away mid-answer
                self.close_connection = True

    return Handler


def private_message(
    chat_id: int, text: str, *, message_id: int, first_name: str = "Sam"
) -> dict[str, Any]:
    """An update payload (without update_id) for a text message in a private chat."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": first_name},
        "from": {"id": chat_id, "is_bot": False, "first_name": first_name, "language_code": "en"},
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": message}
