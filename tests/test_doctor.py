"""`python -m bot doctor` against real databases broken the ways production databases break."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from bot.runtime.doctor import (
    Finding,
    config_findings,
    examine,
    exit_status,
    render,
    telegram_findings,
)
from bot.runtime.offline import OfflineBotAPI
from storage.db import Database
from tests import harness
from tests.fake_bot_api import FakeBotAPIServer

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAFakeTokenForDoctorTests_0123456789abcd"


def _settings(db_dsn: str, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "database_url": db_dsn,
        "verifier": "smtp",
        "smtp_host": "smtp.example.org",
        "smtp_from": "ptl-bot@example.org",
    }
    values.update(overrides)
    return harness.test_settings(**values)


async def _examine(db_dsn: str, **overrides: Any) -> list[Finding]:
    return await examine(_settings(db_dsn, **overrides), dsn=db_dsn, request=OfflineBotAPI())


def _levels(findings: list[Finding], check: str) -> set[str]:
    return {f.level for f in findings if f.check == check}


def _errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


async def _admin(db: Database, sql: str) -> None:
    async with db.service() as conn:
        await conn.execute(sql)


async def _another_students_patient(db: Database) -> None:
    async with db.service() as conn:
        await conn.execute(
            "insert into public.ptl_patients (patient_id, user_email, patient_name)"
            " values ('PTL-OTHER-1', 'amy@student.example', 'Fictional Person')"
        )


async def test_a_healthy_database_has_no_errors(db: Database, db_dsn: str) -> None:
    await _another_students_patient(db)
    findings = await _examine(db_dsn)
    assert _errors(findings) == [], render(findings)
    assert exit_status(findings) == 0
    for check in ("Migrations", "Row-level security", "Student path", "Bot schema"):
        assert _levels(findings, check) == {"ok"}, render(findings)
    assert _levels(findings, "Telegram token") == {"ok"}
    # The embedded test server logs in as a superuser: worth a warning, not an error.
    assert _levels(findings, "Bot's login role") == {"warn"}


async def test_a_permissive_policy_is_flagged(db: Database, db_dsn: str) -> None:
    await _another_students_patient(db)
    # What the platform's setup script once did.
    await _admin(db, "create policy open_all on public.ptl_patients for all to public using (true)")
    findings = await _examine(db_dsn)
    report = render(findings)
    policy = [f for f in findings if f.check == "Policy open_all"]
    assert len(policy) == 1 and policy[0].level == "error", report
    assert "read and change every student's patients" in policy[0].detail
    assert 'drop policy "open_all" on public.ptl_patients;' in policy[0].fix
    assert exit_status(findings) == 1
    # The restrictive policy (sql/051) still keeps a student to their own rows...
    assert _levels(findings, "Student path") == {"ok"}, report
    # ...and without it the behavioural probe sees and writes others' rows.
    await _admin(db, "drop policy ptl_patients_bin_is_the_bots on public.ptl_patients")
    findings = await _examine(db_dsn)
    student = " ".join(f.detail for f in findings if f.check == "Student path")
    assert (
        "can read 1 row of other students" in student and "insert patients under another" in student
    )
    # And nothing was left behind by the probe insert.
    assert await db.fetchval("select count(*) from public.ptl_patients") == 1


async def test_a_select_only_open_policy_for_authenticated_is_flagged(
    db: Database, db_dsn: str
) -> None:
    await _admin(
        db, "create policy everyone_reads on public.ptl_patients for select to authenticated"
        " using (true)",
    )  # fmt: skip
    findings = await _examine(db_dsn)
    policy = next(f for f in findings if f.check == "Policy everyone_reads")
    assert policy.level == "error" and "can read every student's patients" in policy.detail


async def test_rls_disabled_is_flagged(db: Database, db_dsn: str) -> None:
    await _another_students_patient(db)
    await _admin(db, "alter table public.ptl_patients disable row level security")
    findings = await _examine(db_dsn)
    rls = [f for f in findings if f.check == "Row-level security"]
    assert [f.level for f in rls] == ["error"], render(findings)
    assert "DISABLED" in rls[0].detail
    assert "enable row level security" in rls[0].fix
    assert "error" in _levels(findings, "Student path")
    assert exit_status(findings) == 1


async def test_missing_migrations_are_flagged(db: Database, db_dsn: str) -> None:
    async with db.service() as conn:
        last = await conn.fetchval(
            "delete from ptl_bot.schema_migrations where filename ="
            " (select max(filename) from ptl_bot.schema_migrations) returning filename"
        )
    findings = await _examine(db_dsn)
    migrations = next(f for f in findings if f.check == "Migrations")
    assert migrations.level == "error" and last in migrations.detail
    assert "python -m bot migrate" in migrations.fix


async def test_an_edited_migration_is_flagged(db: Database, db_dsn: str) -> None:
    await _admin(
        db, "update ptl_bot.schema_migrations set checksum = 'x' where filename like '002%'"
    )
    findings = await _examine(db_dsn)
    migrations = next(f for f in findings if f.check == "Migrations")
    assert migrations.level == "error" and "changed after it was applied" in migrations.detail


async def test_private_schema_exposed_to_students_is_flagged(db: Database, db_dsn: str) -> None:
    await _admin(db, "grant usage on schema ptl_bot to authenticated")
    findings = await _examine(db_dsn)
    assert _levels(findings, "Bot schema") == {"error"}


async def test_a_student_role_that_bypasses_rls_is_flagged(
    db: Database, db_dsn: str, superuser_dsn: str
) -> None:
    # Only a superuser may change this (on Supabase, supabase_admin). Roles are
    # cluster-wide: restore at once, whatever happens.
    admin = await asyncpg.connect(superuser_dsn)
    try:
        await admin.execute("alter role authenticated bypassrls")
        try:
            findings = await _examine(db_dsn)
        finally:
            await admin.execute("alter role authenticated nobypassrls")
    finally:
        await admin.close()
    role = [f for f in findings if f.check == "Student role"]
    assert role and role[0].level == "error" and "nobypassrls" in role[0].fix


async def test_anon_grants_are_a_warning(db: Database, db_dsn: str) -> None:
    await _admin(db, "grant select on public.ptl_patients to anon")
    findings = await _examine(db_dsn)
    assert _levels(findings, "Anonymous access") == {"warn"}


def test_configuration_findings() -> None:
    pooled = "postgresql://postgres.ref:pw@aws-0-eu-west-2.pooler.supabase.com:6543/postgres"
    findings = config_findings(_settings(pooled))
    assert any(f.level == "error" and "DB_STATEMENT_CACHE_SIZE=0" in f.fix for f in findings), (
        render(findings)
    )
    assert not _errors(config_findings(_settings(pooled, db_statement_cache_size=0)))

    direct = "postgresql://postgres:pw@db.abcdefgh.supabase.co:5432/postgres"
    assert any("IPv6" in f.detail for f in config_findings(_settings(direct)))

    console = config_findings(_settings(pooled, verifier="console", db_statement_cache_size=0))
    assert [f.check for f in _errors(console)] == ["Email verification"]

    missing = config_findings(_settings(pooled, db_statement_cache_size=0, smtp_host=None))
    assert any("SMTP_HOST" in f.detail for f in _errors(missing))

    no_secret = config_findings(_settings(pooled, webhook_url="https://bot.example.org"))
    assert any("WEBHOOK_SECRET" in f.detail for f in _errors(no_secret))

    service_claims = base64.urlsafe_b64encode(json.dumps({"role": "service_role"}).encode())
    service_key = "eyJhbGciOiJIUzI1NiJ9." + service_claims.decode().rstrip("=") + ".sig"
    supabase = config_findings(
        _settings(
            pooled,
            db_statement_cache_size=0,
            verifier="supabase",
            supabase_url="https://ref.supabase.co",
            supabase_key=service_key,
        )
    )
    assert any(f.level == "warn" and "service-role" in f.detail for f in supabase)

    crowded = config_findings(
        _settings(pooled, db_statement_cache_size=0, concurrent_updates=8, db_pool_max_size=10)
    )
    assert any(f.check == "Connection pool" and f.level == "warn" for f in crowded)
    one = config_findings(_settings(pooled, db_statement_cache_size=0, db_pool_max_size=1))
    assert any(f.check == "Connection pool" for f in _errors(one))

    no_token = config_findings(
        _settings(pooled, telegram_bot_token=None, verifier=None, db_statement_cache_size=0)
    )
    assert [f.check for f in _errors(no_token)] == ["Telegram token"]


class _Unreachable(BaseRequest):
    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        raise NetworkError("connection refused")


class _Rejecting(_Unreachable):
    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **kw: Any
    ) -> tuple[int, bytes]:
        return 401, b'{"ok": false, "error_code": 401, "description": "Unauthorized"}'


async def test_telegram_token_checks() -> None:
    settings = harness.test_settings(telegram_bot_token=TOKEN)
    unreachable = await telegram_findings(settings, _Unreachable())
    assert [f.level for f in unreachable] == ["skip"] and "unreachable" in unreachable[0].detail
    rejected = await telegram_findings(settings, _Rejecting())
    assert [f.level for f in rejected] == ["error"] and "@BotFather" in rejected[0].fix
    accepted = await telegram_findings(settings, OfflineBotAPI())
    assert accepted[0].level == "ok" and "@ptl_trainer_bot" in accepted[0].detail


async def test_cli_exits_non_zero_and_says_how_to_fix(db: Database, db_dsn: str) -> None:
    await _admin(db, "create policy open_all on public.ptl_patients for all using (true)")
    with FakeBotAPIServer() as telegram:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PTL_", "WEBHOOK_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=db_dsn,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=telegram.base_url,
            VERIFIER="smtp",
            SMTP_HOST="smtp.example.org",
            SMTP_FROM="ptl-bot@example.org",
        )
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "doctor"],
            cwd=ROOT / "tests",  # no .env there
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "✗ Policy open_all" in out and 'drop policy "open_all"' in out
    assert "✓ Migrations: up to date" in out and "✓ Telegram token" in out
    assert TOKEN not in out + result.stderr


@pytest.mark.parametrize("level", ["ok", "warn", "error", "skip"])
def test_every_finding_renders_on_one_line_plus_fix(level: str) -> None:
    finding = Finding(level, "Check", "detail", "do this" if level in ("warn", "error") else "")  # type: ignore[arg-type]
    lines = finding.render().splitlines()
    assert lines[0].endswith("Check: detail")
    assert len(lines) == (2 if finding.fix else 1)
