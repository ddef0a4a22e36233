"""Telegram's per-bot limit as the benchmarks' fake Bot APIs enforce it: at most `limit`
accepted calls in any second, the rest refused with 429 and `retry_after` 1, as Telegram does."""

from __future__ import annotations

import collections
import time
from typing import Any

TOO_MANY: tuple[int, dict[str, Any]] = (
    429,
    {"ok": False, "error_code": 429, "parameters": {"retry_after": 1},
     "description": "Too Many Requests: retry after 1"},
)  # fmt: skip


class PerSecondLimit:
    """A sliding one-second window of accepted calls."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.window: collections.deque[float] = collections.deque()
        self.rejected = 0

    def admit(self) -> float | None:
        """The call's time if it is accepted, or None (counted in `rejected`) if refused."""
        now = time.monotonic()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.rejected += 1
            return None
        self.window.append(now)
        return now
