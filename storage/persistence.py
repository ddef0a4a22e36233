"""PTB persistence in Postgres: conversation states, user_data and chat_data.

Why not PTB's PicklePersistence: the bot may run as several replicas on one database and
must survive a redeploy mid-form, so state lives in the database, as JSON a person can read.
Why write-through: PTB batches persistence writes every `update_interval` seconds; a crash
inside that window would lose a student's half-filled form. `PersistentApplication` (in
bot/app.py) flushes after every update, and this class skips writes whose data did not change,
so the cost is one small upsert only when something really changed.

Values are JSON with tagged dates (`{"$date": "2025-10-12"}`), so handlers may keep `date`,
`datetime` and tuples in user_data; anything else must be JSON-friendly.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from storage.db import Database


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


def loads(text: str | Any) -> Any:
    return _decode(json.loads(text) if isinstance(text, str) else text)


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
            self._written.pop(marker, None)
            await self._execute(
                "delete from ptl_bot.conversations where name = $1 and key = $2", name, key_text
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
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None  # every write already went straight to the database

    # -- internals ------------------------------------------------------------------------
    def _remember(self, kind: str, ident: Any, data: Any) -> dict[Any, Any]:
        value = loads(data)
        self._written[(kind, ident)] = dumps(value)
        return value  # type: ignore[no-any-return]

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
        async with self.db.service() as conn:
            await conn.execute(query, *args)


def _raw_json(payload: str) -> Any:
    """The pool's jsonb codec encodes Python values itself: hand it the tagged structure."""
    return json.loads(payload)
