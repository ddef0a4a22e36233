"""The student-scoped repository for `ptl_patients`.

Every method takes the student's email and runs inside `Database.student(email)`, so the
row-level security policies, not these queries, decide which rows exist for the caller. The
`user_email` filters you will not find here are deliberately absent: a query that forgot one
must still be safe, and tests prove the policies hold.
"""

from __future__ import annotations

import builtins
import secrets
from datetime import date, datetime
from typing import Any

import asyncpg

from storage.columns import JSON_WRITABLE, ROW_COLUMNS
from storage.db import Database, normalise_email
from storage.models import EDITABLE_FIELDS, Patient, PatientIn, PatientStats

# Crockford's base32 without I, L, O, U: unambiguous when read aloud or typed on a phone.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ID_LENGTH = 10  # 50 bits of randomness; the unique index catches the vanishing collision.


class StaleWriteError(Exception):
    """The row changed since the caller read it (perhaps on the web platform).

    Carries the current row so the caller can show the fresh version instead of
    overwriting a change it never saw.
    """

    def __init__(self, current: Patient | None) -> None:
        super().__init__("the patient was changed elsewhere since it was read")
        self.current = current


class PatientNotFoundError(Exception):
    """No such patient for this student (or it belongs to someone else: RLS hides it)."""


class PatientLimitError(Exception):
    """The student's PTL already holds `limit` live patients: nothing was inserted."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the PTL already holds {limit} patients")
        self.limit = limit


class UnwritableJsonError(Exception):
    """The row's stored `events` (or `appointments`) is not in a shape the bot can write back
    without losing something the platform stored (an object, a string, non-object entries).
    Nothing was written; the column is named, never its value."""

    def __init__(self, column: str) -> None:
        super().__init__(f"the stored {column} cannot be written back safely")
        self.column = column


# A JSON column the bot may replace only when nothing stored in it would be lost: `events`
# is rewritten from its object entries, so it must hold objects only; `appointments` is
# rewritten from the whole stored list (bot.rules.bookings keeps every item), so any list.
# Neither is written back when it was too large to read whole (storage/columns.py).
_WRITABLE_JSON = {
    "events": "(events is null or (jsonb_typeof(events) = 'array' and not exists ("
    "select 1 from jsonb_array_elements(events) e where jsonb_typeof(e) <> 'object')"
    f" and {JSON_WRITABLE['events']}))",
    "appointments": "(appointments is null or (jsonb_typeof(appointments) = 'array'"
    f" and {JSON_WRITABLE['appointments']}))",
}


def new_patient_id() -> str:
    """A fresh id that looks like the platform's `PTL...` ids."""
    return "PTL" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


class PatientRepository:
    """add / list / get / update / soft delete / restore / stats for one student at a time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def count(self, email: str) -> int:
        """How many live patients the student has (the row cap counts these)."""
        async with self.db.student(email) as conn:
            n: int = await conn.fetchval(
                "select count(*) from public.ptl_patients where deleted_at is null"
            )
        return n

    async def add(
        self,
        email: str,
        patient: PatientIn,
        *,
        patient_id: str | None = None,
        limit: int | None = None,
    ) -> Patient:
        """Insert the patient; with `patient_id` (chosen when the form opened) idempotently:
        if this student already has a row with that id (a Save repeated after a crash), that
        row is returned and nothing is inserted. An id some other student holds (invisible
        here; a 1-in-2^50 collision) is replaced by a fresh one. With `limit`, a student who
        already has that many live patients gets PatientLimitError and nothing is inserted
        (counted in the same transaction, under a lock on the student's rows' count taken by
        a transaction-scoped advisory lock, so two Saves at once cannot both squeeze in)."""
        data = patient.model_dump()
        columns = list(data)
        placeholders = ", ".join(f"${i}" for i in range(3, len(columns) + 3))
        query = (
            f"insert into public.ptl_patients (patient_id, user_email, {', '.join(columns)})"
            f" values ($1, $2, {placeholders})"
            f" on conflict (patient_id) do nothing returning {ROW_COLUMNS}"
        )
        async with self.db.student(email) as conn:
            if limit is not None:
                await self._within_limit(conn, email, limit, patient_id)
            for _ in range(5):
                wanted = patient_id or new_patient_id()
                row = await conn.fetchrow(query, wanted, normalise_email(email), *data.values())
                if row is not None:
                    return Patient.from_record(row)
                if patient_id is not None:
                    mine = await conn.fetchrow(
                        f"select {ROW_COLUMNS} from public.ptl_patients where patient_id = $1",
                        patient_id,
                    )
                    if mine is not None:
                        return Patient.from_record(mine)
                    patient_id = None  # someone else's id: draw another
        raise RuntimeError("could not allocate a unique patient id")  # 2^-250 territory

    @staticmethod
    async def _within_limit(
        conn: asyncpg.Connection, email: str, limit: int, patient_id: str | None
    ) -> None:
        await conn.execute(
            "select pg_advisory_xact_lock(hashtext('ptl_patients cap ' || $1))",
            normalise_email(email),
        )
        if patient_id is not None and await conn.fetchval(
            "select 1 from public.ptl_patients where patient_id = $1", patient_id
        ):
            return  # a repeated Save: the row is there already, nothing new is added
        live: int = await conn.fetchval(
            "select count(*) from public.ptl_patients where deleted_at is null"
        )
        if live >= limit:
            raise PatientLimitError(limit)

    async def list(self, email: str, *, deleted: bool = False) -> list[Patient]:
        """Live patients (or, with `deleted=True`, the bin), newest first."""
        condition = "deleted_at is not null" if deleted else "deleted_at is null"
        async with self.db.student(email) as conn:
            rows = await conn.fetch(
                f"select {ROW_COLUMNS} from public.ptl_patients where {condition} order by id desc"
            )
        return [Patient.from_record(r) for r in rows]

    async def get(self, email: str, patient_id: str, *, include_deleted: bool = False) -> Patient:
        async with self.db.student(email) as conn:
            row = await conn.fetchrow(
                f"select {ROW_COLUMNS} from public.ptl_patients where patient_id = $1", patient_id
            )
        if row is None or (row["deleted_at"] is not None and not include_deleted):
            raise PatientNotFoundError(patient_id)
        return Patient.from_record(row)

    async def find(self, email: str, text: str, *, limit: int = 20) -> builtins.list[Patient]:
        """By name fragment, patient id or NHS number (digits only), live rows only."""
        digits = "".join(ch for ch in text if ch.isdigit())
        async with self.db.student(email) as conn:
            rows = await conn.fetch(
                f"select {ROW_COLUMNS} from public.ptl_patients"
                " where deleted_at is null and ("
                "   patient_name ilike '%' || $1 || '%'"
                "   or upper(patient_id) = upper($2)"
                "   or ($3 <> '' and nhs_number = $3))"
                " order by patient_name limit $4",
                _escape_like(text.strip()),
                text.strip(),
                digits if len(digits) == 10 else "",
                limit,
            )
        return [Patient.from_record(r) for r in rows]

    async def update(
        self, email: str, patient_id: str, expected_version: int, changes: dict[str, Any]
    ) -> Patient:
        """Apply `changes` only if the row is still at `expected_version`.

        Raises StaleWriteError (with the fresh row) when someone else changed it first.
        """
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
        if not changes:
            return await self.get(email, patient_id)
        sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(changes, start=3))
        guards = "".join(f" and {_WRITABLE_JSON[c]}" for c in changes if c in _WRITABLE_JSON)
        async with self.db.student(email) as conn:
            row = await conn.fetchrow(
                f"update public.ptl_patients set {sets}, last_updated = now()"
                f" where patient_id = $1 and version = $2 and deleted_at is null{guards}"
                f" returning {ROW_COLUMNS}",
                patient_id,
                expected_version,
                *changes.values(),
            )
            if row is None:
                await self._raise_missing_or_stale(conn, patient_id, expected_version, changes)
        return Patient.from_record(row)

    async def soft_delete(
        self, email: str, patient_id: str, expected_version: int, *, at: datetime | None = None
    ) -> Patient:
        """Move a patient to the bin. `at` is the deletion time from the bot's clock (so the
        30-day restore window follows the same clock as everything else); default now()."""
        async with self.db.student(email) as conn:
            row = await conn.fetchrow(
                # bin_version: the version binning gives the row (the trigger adds one),
                # so the purge can tell a row changed since (sql/051).
                "update public.ptl_patients set deleted_at = coalesce($3, now()),"
                " bin_version = version + 1"
                " where patient_id = $1 and version = $2 and deleted_at is null"
                f" returning {ROW_COLUMNS}",
                patient_id,
                expected_version,
                at,
            )
            if row is None:
                await self._raise_missing_or_stale(conn, patient_id)
        return Patient.from_record(row)

    async def restore(self, email: str, patient_id: str) -> Patient:
        async with self.db.student(email) as conn:
            row = await conn.fetchrow(
                "update public.ptl_patients set deleted_at = null, bin_version = null"
                f" where patient_id = $1 and deleted_at is not null returning {ROW_COLUMNS}",
                patient_id,
            )
        if row is None:
            raise PatientNotFoundError(patient_id)
        return Patient.from_record(row)

    async def purge_bin(self, email: str, older_than: datetime) -> int:
        """Hard-delete the student's binned rows past the restore window, except any row
        changed after it was binned (its version moved on from `bin_version`): those stay
        in the bin, restorable, because deleting them would lose the change."""
        async with self.db.student(email) as conn:
            result = await conn.execute(
                "delete from public.ptl_patients where deleted_at < $1 and bin_version = version",
                older_than,
            )
        return int(result.split()[-1])

    async def purge_all_bins(self, older_than: datetime) -> int:
        """Hard-delete every student's binned rows past the restore window.

        Service path on purpose: the daily clean-up job acts for all students at once and no
        student is "signed in" for it. Only rows already soft-deleted before `older_than`,
        and not changed since, are touched (see `purge_bin`).
        """
        async with self.db.service() as conn:
            result = await conn.execute(
                "delete from public.ptl_patients where deleted_at is not null"
                " and deleted_at < $1 and bin_version = version",
                older_than,
            )
        return int(result.split()[-1])

    async def stats(self, email: str, today: date) -> PatientStats:
        """Counts straight from stored clock fields (one round trip, no rows shipped)."""
        async with self.db.student(email) as conn:
            rows = await conn.fetch(
                "select coalesce(specialty, 'Not recorded') as specialty,"
                "       coalesce(clock_state, 'unknown') as clock_state,"
                "       count(*) as n,"
                "       count(*) filter (where clock_state = 'running'"
                "                        and breach_date <= $1) as breached"
                "  from public.ptl_patients where deleted_at is null"
                " group by 1, 2",
                today,
            )
        by_specialty: dict[str, int] = {}
        by_state: dict[str, int] = {}
        for r in rows:
            by_specialty[r["specialty"]] = by_specialty.get(r["specialty"], 0) + r["n"]
            by_state[r["clock_state"]] = by_state.get(r["clock_state"], 0) + r["n"]
        return PatientStats(
            total=sum(by_state.values()),
            running=by_state.get("running", 0),
            breached=sum(r["breached"] for r in rows),
            by_specialty=by_specialty,
            by_clock_state=by_state,
        )

    @staticmethod
    async def _raise_missing_or_stale(
        conn: asyncpg.Connection,
        patient_id: str,
        expected_version: int | None = None,
        changes: dict[str, Any] | None = None,
    ) -> None:
        current = await conn.fetchrow(
            f"select {ROW_COLUMNS} from public.ptl_patients where patient_id = $1", patient_id
        )
        if current is None or current["deleted_at"] is not None:
            raise PatientNotFoundError(patient_id)
        if current["version"] == expected_version:
            # Still the version the caller read: a JSON guard refused the write.
            stored = Patient.from_record(current)
            if "events" in (changes or {}) and not stored.events_writable:
                raise UnwritableJsonError("events")
            if "appointments" in (changes or {}) and (
                not isinstance(stored.appointments, list | None) or stored.appointments_clipped
            ):
                raise UnwritableJsonError("appointments")
        raise StaleWriteError(Patient.from_record(current))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
