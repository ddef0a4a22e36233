"""PTB persistence in Postgres: conversation states, user_data and chat_data.

Why not PTB's PicklePersistence: the bot may run as several replicas on one database and
must survive a redeploy mid-form, so state lives in the database, as JSON a person can read.
Why write-through: PTB batches persistence writes every `update_interval` seconds; a crash
inside that window would lose a student's half-filled form. `PersistentApplication` (in
bot/runtime/app.py) flushes after every update, and this class skips writes whose data did
not change, so the cost is one small upsert only when something really changed.

Values are JSON with tagged dates (`{"$date": "2025-10-12"}`), so handlers may keep `date`,
`datetime` and tuples in user_data; anything else must be JSON-friendly.

Several replicas on one database (webhook mode behind a load balancer): PTB reads persistence
once, at start-up, so on its own replica B would never see the step replica A just stored.
`turn()` therefore wraps the processing of every update: it takes a per-chat advisory lock
(so two replicas never work on the same chat at once, and a chat's updates are handled one
after the other whichever replica receives them), re-reads that update's conversation states,
user_data and chat_data in one query, and holds the lock until the update's writes are
committed. The lock is transaction-scoped, so it is safe behind Supabase's transaction pooler.
"""

from __future__ import annotations

import contextvars
import hashlib
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, BasePersistence, ConversationHandler, PersistenceInput
from telegram.ext._handlers.conversationhandler import PendingState
from telegram.ext._utils.types import ConversationDict, ConversationKey

from storage.db import Database

# Set while an update is processed inside `turn()`: its data was just re-read, so PTB's
# per-update refresh hooks need not read it again.
_IN_TURN: contextvars.ContextVar[bool] = contextvars.ContextVar("ptl_in_turn", default=False)
# The writes that failed during the current turn (PTB reports them to the error handlers
# without the update, so the turn's owner must tell the person itself).
_FAILED: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar(
    "ptl_failed_writes", default=None
)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"$set": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return (
            {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
            if any(not isinstance(k, str) for k in value)
            else {k: _encode(v) for k, v in value.items()}
        )
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            ((tag, inner),) = value.items()
            if tag == "$date":
                return date.fromisoformat(inner)
            if tag == "$datetime":
                return datetime.fromisoformat(inner)
            if tag == "$tuple":
                return tuple(_decode(v) for v in inner)
            if tag == "$set":
                return {_decode(v) for v in inner}
            if tag == "$dict":
                return {_decode(k): _decode(v) for k, v in inner}
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(_encode(value), sort_keys=True, separators=(",", ":"))


def loads(value: Any) -> Any:
    """Decode a value read from a jsonb column. The pool's codec has already parsed the JSON,
    so a string here is a JSON string value (e.g. a conversation state "name"), not text
    to parse again."""
    return _decode(value)


class PostgresPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Conversations, user_data and chat_data in `ptl_bot.*`; bot_data stays in memory
    (it holds live services, which are not data)."""

    def __init__(self, db: Database, *, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=True, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.db = db
        # What we last read or wrote per key, to skip writes that change nothing.
        self._written: dict[tuple[str, Any], str] = {}

    # -- reads (at start-up, and per update for refresh) --------------------------------
    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        rows = await self._fetch("select user_id as id, data from ptl_bot.user_data")
        return {r["id"]: self._remember("user", r["id"], r["data"]) for r in rows}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        rows = await self._fetch("select chat_id as id, data from ptl_bot.chat_data")
        return {r["id"]: self._remember("chat", r["id"], r["data"]) for r in rows}

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = await self._fetch(
            "select key, state from ptl_bot.conversations where name = $1", name
        )
        result: ConversationDict = {}
        for r in rows:
            key = tuple(json.loads(r["key"]))
            self._written[(f"conv:{name}", r["key"])] = dumps(r["state"])
            result[key] = loads(r["state"])
        return result

    # -- writes ---------------------------------------------------------------------------
    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        key_text = json.dumps(list(key))
        marker = (f"conv:{name}", key_text)
        if new_state is None:
            known = self._written.pop(marker, None)
            if known is None:
                await self._execute(
                    "delete from ptl_bot.conversations where name = $1 and key = $2",
                    name,
                    key_text,
                )
                return
            # Only end the conversation if it is still in the state this replica last saw.
            # A conversation timeout job fires on the replica that scheduled it, perhaps long
            # after the student carried on through another replica: that replica's newer
            # state must win, not this replica's stale "ended".
            await self._execute(
                "delete from ptl_bot.conversations"
                " where name = $1 and key = $2 and state = $3::jsonb",
                name,
                key_text,
                _raw_json(known),
            )
            return
        payload = dumps(new_state)
        if self._written.get(marker) == payload:
            return
        await self._execute(
            "insert into ptl_bot.conversations (name, key, state) values ($1, $2, $3::jsonb)"
            " on conflict (name, key) do update set state = excluded.state, updated_at = now()",
            name,
            key_text,
            _raw_json(payload),
        )
        self._written[marker] = payload

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        await self._upsert("user", "user_data", "user_id", user_id, data)

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        await self._upsert("chat", "chat_data", "chat_id", chat_id, data)

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        self._written.pop(("user", user_id), None)
        await self._execute("delete from ptl_bot.user_data where user_id = $1", user_id)

    async def drop_chat_data(self, chat_id: int) -> None:
        self._written.pop(("chat", chat_id), None)
        await self._execute("delete from ptl_bot.chat_data where chat_id = $1", chat_id)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Outside a turn (a job with a user id), re-read this user's data: another replica
        may have changed it since start-up."""
        if _IN_TURN.get():
            return
        async with self.db.service() as conn:
            data = await conn.fetchval(
                "select data from ptl_bot.user_data where user_id = $1", user_id
            )
        self._replace("user", user_id, user_data, data)

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        if _IN_TURN.get():
            return
        async with self.db.service() as conn:
            data = await conn.fetchval(
                "select data from ptl_bot.chat_data where chat_id = $1", chat_id
            )
        self._replace("chat", chat_id, chat_data, data)

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None  # every write already went straight to the database

    # -- several replicas: one chat at a time, state re-read per update -------------------
    @asynccontextmanager
    async def turn(self, app: Application, update: Update) -> AsyncIterator[None]:
        """Process `update` with this chat's shared state fresh and the chat locked.

        Inside the block the Application's in-memory conversation states, user_data and
        chat_data for this update equal what is committed in the database, and no other
        replica (or task) is processing an update for the same chat. The caller must write
        persistence before leaving the block, so the next holder of the lock reads it.
        Needs a pool of at least two connections: the lock holds one while handlers use
        another.
        """
        chat_id = update.effective_chat.id if update.effective_chat else None
        user_id = update.effective_user.id if update.effective_user else None
        keys = list(self._conversation_keys(app, update))
        lock_on = chat_id if chat_id is not None else user_id
        async with self.db.pool.acquire() as conn, conn.transaction():
            if lock_on is not None:
                await conn.execute("select pg_advisory_xact_lock($1)", chat_lock_key(lock_on))
            rows = await conn.fetch(
                "select 'conv' as kind, c.name, c.key, c.state as data"
                " from ptl_bot.conversations c"
                " join unnest($1::text[], $2::text[]) as k(name, key)"
                " on c.name = k.name and c.key = k.key"
                " union all"
                " select 'user', null, null, data from ptl_bot.user_data where user_id = $3"
                " union all"
                " select 'chat', null, null, data from ptl_bot.chat_data where chat_id = $4",
                [name for name, _, _ in keys],
                [key_text for _, key_text, _ in keys],
                user_id,
                chat_id,
            )
            self._apply_fresh(app, keys, rows, user_id, chat_id)
            token = _IN_TURN.set(True)
            failed = _FAILED.set([])
            try:
                yield
            finally:
                _FAILED.reset(failed)
                _IN_TURN.reset(token)

    @staticmethod
    def failed_writes() -> list[BaseException]:
        """Writes that failed so far in this turn: the state they carried is not stored, so
        the next update carries on from the last stored step."""
        return list(_FAILED.get() or [])

    @staticmethod
    def _conversation_keys(
        app: Application,
        update: Update,
    ) -> Iterator[tuple[str, str, ConversationKey]]:
        """(name, stored key, key) of every persistent conversation this update could touch."""
        pending = [h for group in app.handlers.values() for h in group]
        seen: set[int] = set()
        while pending:
            handler = pending.pop()
            if not isinstance(handler, ConversationHandler) or id(handler) in seen:
                continue
            seen.add(id(handler))
            # Nested conversations live in the parent's states.
            pending.extend(itertools.chain.from_iterable(handler.states.values()))
            if not (handler.persistent and handler.name):
                continue
            try:
                key = handler._get_key(update)
            except RuntimeError:  # the update has no chat/user/query this handler keys on
                continue
            yield handler.name, json.dumps(list(key)), key

    def _apply_fresh(
        self,
        app: Application,
        keys: list[tuple[str, str, ConversationKey]],
        rows: list[Any],
        user_id: int | None,
        chat_id: int | None,
    ) -> None:
        stored = {(r["name"], r["key"]): r["data"] for r in rows if r["kind"] == "conv"}
        tables = app._conversation_handler_conversations
        for name, key_text, key in keys:
            states = tables.get(name)
            if states is None or isinstance(states.get(key), PendingState):
                continue  # not initialised yet, or a non-blocking step still running here
            marker = (f"conv:{name}", key_text)
            if (name, key_text) in stored:
                state = loads(stored[(name, key_text)])
                states.update_no_track({key: state})
                self._written[marker] = dumps(state)
            else:
                states.data.pop(key, None)  # ended elsewhere; untracked: nothing to write
                self._written.pop(marker, None)
        by_kind = {r["kind"]: r["data"] for r in rows if r["kind"] != "conv"}
        if user_id is not None and self.store_data.user_data:
            self._replace("user", user_id, app.user_data[user_id], by_kind.get("user"))
        if chat_id is not None and self.store_data.chat_data:
            self._replace("chat", chat_id, app.chat_data[chat_id], by_kind.get("chat"))

    def _replace(self, kind: str, ident: int, target: dict[Any, Any], data: Any) -> None:
        """Make `target` (the Application's own dict, edited in place) equal the stored data."""
        value = loads(data) if data is not None else {}
        target.clear()
        target.update(value)
        if data is None:
            self._written.pop((kind, ident), None)
        else:
            self._written[(kind, ident)] = dumps(value)

    # -- internals ------------------------------------------------------------------------
    def _remember(self, kind: str, ident: Any, data: Any) -> dict[Any, Any]:
        value = loads(data)
        self._written[(kind, ident)] = dumps(value)
        return value

    async def _upsert(
        self, kind: str, table: str, column: str, ident: int, data: dict[Any, Any]
    ) -> None:
        payload = dumps(data)
        if self._written.get((kind, ident)) == payload:
            return
        await self._execute(
            f"insert into ptl_bot.{table} ({column}, data) values ($1, $2::jsonb)"
            f" on conflict ({column}) do update set data = excluded.data, updated_at = now()",
            ident,
            _raw_json(payload),
        )
        self._written[(kind, ident)] = payload

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        async with self.db.service() as conn:
            return list(await conn.fetch(query, *args))

    async def _execute(self, query: str, *args: Any) -> None:
        try:
            async with self.db.service() as conn:
                await conn.execute(query, *args)
        except Exception as exc:
            failed = _FAILED.get()
            if failed is not None:
                failed.append(exc)
            raise


def _raw_json(payload: str) -> Any:
    """The pool's jsonb codec encodes Python values itself: hand it the tagged structure."""
    return json.loads(payload)


def chat_lock_key(ident: int) -> int:
    """A stable signed 64-bit advisory-lock key for a chat, distinct from other lock users."""
    digest = hashlib.blake2b(f"ptl-bot:chat:{ident}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
