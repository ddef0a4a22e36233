"""Processing updates concurrently across chats while each chat stays strictly in order.

Why: every update waits on Telegram at least once (the reply), and Telegram is tens of
milliseconds away. Processed one at a time, a replica tops out near 1 / round-trip updates a
second (about 14/s at 50 ms, measured in tests/bench/bench_webhook.py), so a class of thirty
tapping at once would wait seconds. PTB can process updates concurrently, but its
ConversationHandler assumes one update at a time *per conversation*. This processor gives
both: updates from different chats and users run side by side, while updates that share a
chat or a user wait for each other and run in arrival order (asyncio locks are FIFO, and PTB
starts the tasks in queue order). Across replicas the per-chat database lock in
`PostgresPersistence.turn()` does the same job.

How many at once: each update in flight holds one pooled connection for its chat lock and
uses up to two more while handlers work, so the automatic value is a third of the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_AUTOMATIC = 8


def concurrency_for(concurrent_updates: int, db_pool_max_size: int) -> int:
    """The number of updates to process at once (see the module docstring)."""
    if concurrent_updates > 0:
        return concurrent_updates
    return max(1, min(MAX_AUTOMATIC, db_pool_max_size // 3))


def ordering_keys(update: object) -> tuple[tuple[str, int], ...]:
    """The chat and the user of an update, which its processing must not overlap with."""
    if not isinstance(update, Update):
        return ()
    keys: set[tuple[str, int]] = set()
    if update.effective_chat is not None:
        keys.add(("chat", update.effective_chat.id))
    user, chat = update.effective_user, update.effective_chat
    # In a private chat the user is the chat: one lock is enough.
    if user is not None and (chat is None or chat.id != user.id):
        keys.add(("user", user.id))
    return tuple(sorted(keys))  # one global order: no two updates can wait on each other


# Updates that may wait (for their chat, then for a slot) at once. PTB's own semaphore counts
# these; the real limit on work in flight is `_slots`, taken after the chat's turn comes, so
# a burst from one chat never occupies the slots other chats could use.
MAX_WAITING = 1024


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats and users, sequential (in arrival order) within each."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(MAX_WAITING)
        self.workers = max_concurrent_updates
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}
        self._waiting: dict[tuple[str, int], int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = ordering_keys(update)
        locks = [self._lock_for(key) for key in keys]  # no await: all or none registered
        held: list[asyncio.Lock] = []
        try:
            for lock in locks:
                await lock.acquire()
                held.append(lock)
            async with self._slots:
                await coroutine
        finally:
            for lock in reversed(held):
                lock.release()
            for key in keys:
                self._forget(key)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def _lock_for(self, key: tuple[str, int]) -> asyncio.Lock:
        self._waiting[key] = self._waiting.get(key, 0) + 1
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _forget(self, key: tuple[str, int]) -> None:
        left = self._waiting[key] - 1
        if left:
            self._waiting[key] = left
        else:  # nobody else is using this chat's lock: keep memory flat
            del self._waiting[key]
            del self._locks[key]
