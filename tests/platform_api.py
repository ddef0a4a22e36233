"""The web platform's way into `ptl_patients`, for tests: what Supabase's Data API does.

Why not `Database.student`: that is the bot's path, and the database tells the two apart (the
bot marks its own transactions, see storage/db.py). PostgREST runs each request in a
transaction that switches to the role named in the student's JWT and puts the verified claims
in `request.jwt.claims`; the claims are what Supabase Auth signs (`sub`, `email`, `role`,
`aud`, ...) and nothing a student could add. Rows written here are platform rows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from storage.db import Database


def student_claims(email: str) -> dict[str, Any]:
    """Claims as Supabase Auth puts them in a signed-in student's access token."""
    return {
        "aud": "authenticated",
        "role": "authenticated",
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, email)),
        "email": email,
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        # A student can write their own user_metadata (auth.updateUser): anything goes here.
        "user_metadata": {"ptl_bot": True, "email_verified": True},
        "aal": "aal1",
        "amr": [{"method": "otp", "timestamp": 1700000000}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }


@asynccontextmanager
async def platform(db: Database, email: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction as the web platform makes one for `email` through the Data API."""
    async with db.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "select set_config('role', 'authenticated', true),"
            " set_config('request.jwt.claims', $1, true),"
            " set_config('request.method', 'PATCH', true)",
            json.dumps(student_claims(email)),
        )
        yield conn


async def insert(db: Database, email: str, patient_id: str, **cols: Any) -> None:
    """A row as the web platform inserts it (JSON columns given as Python values)."""
    values = {"patient_name": "Platform Patient", "pathway_type": "rtt", **cols}
    names = ", ".join(values)
    marks = ", ".join(f"${i}" for i in range(3, len(values) + 3))
    async with platform(db, email) as conn:
        await conn.execute(
            f"insert into public.ptl_patients (patient_id, user_email, {names})"
            f" values ($1, $2, {marks})",
            patient_id,
            email,
            *values.values(),
        )


async def update(db: Database, email: str, patient_id: str, **cols: Any) -> int:
    """An update as the web platform sends it; returns the number of rows changed."""
    sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(cols, start=2))
    async with platform(db, email) as conn:
        result = await conn.execute(
            f"update public.ptl_patients set {sets} where patient_id = $1",
            patient_id,
            *cols.values(),
        )
    return int(result.split()[-1])


async def select(db: Database, email: str, columns: str = "*") -> list[dict[str, Any]]:
    """What the web platform's PTL shows for `email`: every row the API lets it read."""
    async with platform(db, email) as conn:
        rows = await conn.fetch(f"select {columns} from public.ptl_patients order by id")
    return [dict(r) for r in rows]
