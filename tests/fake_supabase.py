"""A local stand-in for Supabase Auth's email-OTP endpoints, on 127.0.0.1 and a free port.

It answers `POST /auth/v1/otp`, `POST /auth/v1/verify` and `POST /auth/v1/logout` with the
bodies and error codes Supabase documents: 200 `{}` for a sent code; 422 `otp_disabled`
("Signups not allowed for otp") for an unknown address when `create_user` is false; 403
`otp_expired` ("Token has expired or is invalid") for a wrong or expired code; 429
`over_email_send_rate_limit`; a session with the user for a correct code. Errors use the
2024-01-01 API shape (`{"code": ..., "message": ...}` with the `X-Supabase-Api-Version`
header) when the client asks for it, as supabase-py does, and the legacy shape otherwise.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_VERSION = "2024-01-01"
MESSAGES = {
    "otp_disabled": "Signups not allowed for otp",
    "otp_expired": "Token has expired or is invalid",
    "over_email_send_rate_limit": "email rate limit exceeded",
    "email_address_not_authorized": "Email address not authorized",
    "validation_failed": "Unable to validate email address: invalid format",
}


@dataclass
class FakeSupabaseAuth:
    api_key: str = "test-anon-key"
    users: set[str] = field(default_factory=set)  # emails with an account
    codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # email -> (code, sent at)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    authorizations: list[tuple[str, str]] = field(default_factory=list)  # path, header
    forced: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # path -> errors
    code_ttl: float = 3600.0
    url: str = ""
    # Set to an Event to hold every send to a *known* address until it is set (as Supabase
    # takes longer to answer those); `held` records whether each was released in time.
    hold: threading.Event | None = None
    held: list[bool] = field(default_factory=list)

    def fail_next(self, path: str, status: int, error_code: str) -> None:
        """Answer the next request to `path` ("otp" or "verify") with this error."""
        self.forced.setdefault(path, []).append((status, error_code))

    def code_for(self, email: str) -> str:
        return self.codes[email][0]

    # -- request handling (called from the server thread) --------------------------------
    def answer(self, path: str, headers: Any, body: dict[str, Any]) -> tuple[int, Any]:
        self.requests.append((path, body))
        self.authorizations.append((path, str(headers.get("Authorization"))))
        if headers.get("apikey") != self.api_key:
            return 401, ("no_authorization", "Invalid API key")
        if self.forced.get(path):
            status, code = self.forced[path].pop(0)
            return status, (code, MESSAGES.get(code, code))
        if path == "otp":
            email = str(body.get("email", "")).lower()
            if self.hold is not None and email in self.users:
                self.held.append(self.hold.wait(timeout=5))
            if email not in self.users:
                if not body.get("create_user", True):
                    return 422, ("otp_disabled", MESSAGES["otp_disabled"])
                self.users.add(email)
            self.codes[email] = (f"{secrets.randbelow(10**6):06d}", time.time())
            return 200, {}
        if path == "verify":
            email = str(body.get("email", "")).lower()
            if body.get("type") != "email":
                return 400, ("validation_failed", "Verify requires a verification type")
            stored = self.codes.get(email)
            if (
                stored is None
                or stored[0] != str(body.get("token"))
                or time.time() - stored[1] > self.code_ttl
            ):
                return 403, ("otp_expired", MESSAGES["otp_expired"])
            del self.codes[email]
            return 200, _session(email)
        if path == "logout":
            return 204, None
        return 404, ("not_found", "Not found")


def _session(email: str) -> dict[str, Any]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "access_token": "header." + secrets.token_urlsafe(24) + ".signature",
        "token_type": "bearer",
        "expires_in": 3600,
        "expires_at": int(time.time()) + 3600,
        "refresh_token": secrets.token_urlsafe(12),
        "user": {
            "id": str(uuid.uuid4()),
            "aud": "authenticated",
            "role": "authenticated",
            "email": email,
            "email_confirmed_at": now,
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {},
            "identities": [],
            "created_at": now,
            "updated_at": now,
            "is_anonymous": False,
        },
    }


def _handler_for(fake: FakeSupabaseAuth) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            prefix = "/auth/v1/"
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            if not path.startswith(prefix):
                status, payload = 404, ("not_found", "Not found")
            else:
                status, payload = fake.answer(path[len(prefix) :], self.headers, body)
            versioned = self.headers.get("X-Supabase-Api-Version") == API_VERSION
            if isinstance(payload, tuple):
                code, message = payload
                payload = (
                    {"code": code, "message": message}
                    if versioned
                    else {"code": status, "error_code": code, "msg": message}
                )
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if versioned:
                self.send_header("X-Supabase-Api-Version", API_VERSION)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output (and captured logs) free of request lines

    return Handler


@contextmanager
def fake_supabase(**kwargs: Any) -> Iterator[FakeSupabaseAuth]:
    fake = FakeSupabaseAuth(**kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
