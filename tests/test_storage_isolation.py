"""Row-level security keeps students apart, enforced by the database itself."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from storage.db import Database
from storage.models import PatientIn
from storage.patients import PatientNotFoundError, PatientRepository, StaleWriteError

A = "alice@student.example"
B = "bob@student.example"


def _patient(name: str = "Test Patient") -> PatientIn:
    return PatientIn(
        patient_name=name,
        nhs_number="9990000018",
        specialty="Cardiology",
        referral_date=date(2025, 1, 6),
        clock_start_date=date(2025, 1, 6),
        pathway_type="rtt",
    )


async def test_student_sees_only_own_rows(db: Database) -> None:
    repo = PatientRepository(db)
    a1 = await repo.add(A, _patient("Ann A"))
    await repo.add(B, _patient("Bea B"))
    listed = await repo.list(A)
    assert [p.patient_id for p in listed] == [a1.patient_id]
    assert listed[0].user_email == A
    with pytest.raises(PatientNotFoundError):
        await repo.get(B, a1.patient_id)


async def test_email_case_and_whitespace_do_not_matter(db: Database) -> None:
    repo = PatientRepository(db)
    added = await repo.add("  Alice@Student.EXAMPLE ", _patient())
    assert added.user_email == A
    assert [p.patient_id for p in await repo.list("ALICE@student.example")] == [added.patient_id]


async def test_cannot_update_or_delete_another_students_rows(db: Database) -> None:
    repo = PatientRepository(db)
    b1 = await repo.add(B, _patient("Bea B"))
    # Straight SQL as A, with no user_email filter: the policy alone must stop it.
    async with db.student(A) as conn:
        assert await conn.execute("update public.ptl_patients set notes = 'x'") == "UPDATE 0"
        assert await conn.execute("delete from public.ptl_patients") == "DELETE 0"
        assert await conn.fetchval("select count(*) from public.ptl_patients") == 0
    with pytest.raises(PatientNotFoundError):
        await repo.update(A, b1.patient_id, b1.version, {"notes": "hijack"})
    fresh = await repo.get(B, b1.patient_id)
    assert fresh.notes is None and fresh.version == b1.version


async def test_cannot_insert_under_another_email(db: Database) -> None:
    async with db.student(A) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "insert into public.ptl_patients (patient_id, user_email, patient_name)"
                " values ('PTLX', $1, 'Sneaky')",
                B,
            )


async def test_cannot_move_own_row_to_another_student(db: Database) -> None:
    repo = PatientRepository(db)
    a1 = await repo.add(A, _patient())
    async with db.student(A) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(
                "update public.ptl_patients set user_email = $1 where patient_id = $2",
                B,
                a1.patient_id,
            )


async def test_anon_sees_nothing_and_cannot_write(db: Database) -> None:
    repo = PatientRepository(db)
    await repo.add(A, _patient())
    async with db.anonymous() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.fetchval("select count(*) from public.ptl_patients")
    async with db.anonymous() as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("select * from ptl_bot.schema_migrations")


async def test_student_cannot_read_bot_internal_schema(db: Database) -> None:
    async with db.student(A) as conn:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("select * from ptl_bot.schema_migrations")


async def test_service_path_sees_everyone(db: Database) -> None:
    repo = PatientRepository(db)
    await repo.add(A, _patient())
    await repo.add(B, _patient())
    async with db.service() as conn:
        emails = await conn.fetch("select distinct user_email from public.ptl_patients")
    assert {r["user_email"] for r in emails} == {A, B}


async def test_stale_update_is_refused_with_fresh_row(db: Database) -> None:
    repo = PatientRepository(db)
    p = await repo.add(A, _patient())
    # Someone (e.g. the web platform) edits the row directly.
    async with db.service() as conn:
        await conn.execute(
            "update public.ptl_patients set notes = 'web edit' where patient_id = $1",
            p.patient_id,
        )
    with pytest.raises(StaleWriteError) as caught:
        await repo.update(A, p.patient_id, p.version, {"notes": "bot edit"})
    assert caught.value.current is not None
    assert caught.value.current.notes == "web edit"
    assert caught.value.current.version == p.version + 1
    ok = await repo.update(A, p.patient_id, caught.value.current.version, {"notes": "bot edit"})
    assert ok.notes == "bot edit" and ok.version == p.version + 2


async def test_soft_delete_and_restore(db: Database) -> None:
    repo = PatientRepository(db)
    p = await repo.add(A, _patient())
    deleted = await repo.soft_delete(A, p.patient_id, p.version)
    assert deleted.deleted_at is not None
    assert await repo.list(A) == []
    assert [x.patient_id for x in await repo.list(A, deleted=True)] == [p.patient_id]
    with pytest.raises(PatientNotFoundError):
        await repo.get(A, p.patient_id)
    restored = await repo.restore(A, p.patient_id)
    assert restored.deleted_at is None
    assert [x.patient_id for x in await repo.list(A)] == [p.patient_id]


async def test_find_by_name_id_and_nhs_number(db: Database) -> None:
    repo = PatientRepository(db)
    p = await repo.add(A, _patient("Margaret Example"))
    await repo.add(B, _patient("Margaret Other"))
    assert [x.patient_id for x in await repo.find(A, "garet")] == [p.patient_id]
    assert [x.patient_id for x in await repo.find(A, p.patient_id.lower())] == [p.patient_id]
    assert [x.patient_id for x in await repo.find(A, "999 000 0018")] == [p.patient_id]
    assert await repo.find(A, "%") == []  # LIKE wildcards are literal


async def test_stats_counts_own_rows(db: Database) -> None:
    repo = PatientRepository(db)
    first = await repo.add(A, _patient())
    await repo.update(
        A,
        first.patient_id,
        first.version,
        {"clock_state": "running", "breach_date": date(2025, 5, 13)},
    )
    await repo.add(A, _patient())
    await repo.add(B, _patient())
    stats = await repo.stats(A, date(2025, 5, 13))
    assert stats.total == 2 and stats.running == 1 and stats.breached == 1
    assert stats.by_specialty == {"Cardiology": 2}


def test_unreadable_platform_events_are_skipped() -> None:
    """Platform rows may hold junk in `events`: it is skipped, never a crash."""
    from bot.rules.records import events_from_json

    junk = ["a string", 42, None, {"date": "not a date", "code": "30"}, {"code": "30"}]
    good = {"date": "2025-03-10", "code": "30", "description": "Admitted"}
    events = events_from_json([*junk, good])  # type: ignore[list-item]
    assert [(e.date.isoformat(), e.kind) for e in events] == [("2025-03-10", "treatment_started")]
