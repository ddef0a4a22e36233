"""Finding abandoned form drafts in the persisted user_data (for the expiry sweep).

Why ask the database rather than the Application's memory: with several replicas, a
replica's in-memory user_data is only as fresh as the updates it processed itself, so it
could expire a form another replica has been serving a minute ago, or never see a draft
that replica started before it died. The database has every draft as last written; the
sweep then re-checks each candidate under the chat lock (`PostgresPersistence.turn`).

Drafts are `user_data[<form name>]` dicts whose `touched` is a datetime, stored in the
persistence's tagged JSON as `{"$datetime": "<ISO 8601>"}` (storage/persistence.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database


@dataclass(frozen=True, slots=True)
class IdleDraft:
    user_id: int
    chat_id: int | None
    form: str


async def idle_drafts(db: Database, forms: Sequence[str], before: datetime) -> list[IdleDraft]:
    """Drafts of the named forms last touched at or before `before` (or with no usable timestamp,
    which only an older version could have written)."""
    async with db.service() as conn:
        rows = await conn.fetch(
            """
            select u.user_id, f.name as form,
                   u.data #>> array[f.name, 'chat'] as chat,
                   u.data #>> array[f.name, 'touched', '$datetime'] as touched
              from ptl_bot.user_data u
              cross join unnest($1::text[]) as f(name)
             where jsonb_typeof(u.data -> f.name) = 'object'
            """,
            list(forms),
        )
    found: list[IdleDraft] = []
    for r in rows:
        touched: datetime | None
        try:
            touched = datetime.fromisoformat(r["touched"]) if r["touched"] else None
        except ValueError:
            touched = None
        if touched is not None and touched.tzinfo is not None and touched > before:
            continue
        chat = r["chat"]
        found.append(
            IdleDraft(r["user_id"], int(chat) if chat and chat.lstrip("-").isdigit() else None,
                      r["form"])
        )  # fmt: skip
    return found
