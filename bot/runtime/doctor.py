"""`python -m bot doctor`: is this deployment configured, reachable, migrated and safe?

Why a doctor: the operator is one person with a Supabase project. The dangerous mistakes are
silent ones: a platform script that once ran `create policy ... for all using (true)` on
`ptl_patients` (every student can read and change every other student's patients), row-level
security switched off while debugging, a role that bypasses it, a pooler setting that breaks
prepared statements only under load. Each check prints one line (✓ fine, ⚠ worth a look,
✗ must be fixed, – skipped) and, when something is wrong, the command or setting that fixes
it. Any ✗ makes the exit status 1, so a release step or CI can stop on it.

Doctor only reads, except one probe insert made as a made-up student inside a savepoint that
is always rolled back: safe to run against production at any time.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

import asyncpg
from telegram import Bot
from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings
from bot.messages.numbers import plural
from bot.runtime.logs import redact
from bot.runtime.server import webhook_endpoint
from storage import health, platform_table
from storage.db import Database
from storage.migrations import MigrationError, pending_migrations

Level = Literal["ok", "warn", "error", "skip"]
SYMBOLS: dict[Level, str] = {"ok": "✓", "warn": "⚠", "error": "✗", "skip": "–"}
PROBE_EMAIL = "doctor-probe@invalid"
CONNECT_TIMEOUT = 15.0
TELEGRAM_TIMEOUT = 5.0
SUPABASE_TRANSACTION_POOLER_PORT = 6543
_OPEN = {"true", "(true)"}
_API_ROLES = {"public", "anon", "authenticated"}


@dataclass(frozen=True)
class Finding:
    level: Level
    check: str
    detail: str
    fix: str = ""

    def render(self) -> str:
        line = f"{SYMBOLS[self.level]} {self.check}: {self.detail}"
        if self.fix:
            line += "\n    fix: " + self.fix.replace("\n", "\n         ")
        return line


def _ok(check: str, detail: str) -> Finding:
    return Finding("ok", check, detail)


# --- configuration ------------------------------------------------------------------------
def config_findings(settings: Settings) -> list[Finding]:
    """Checks that need neither the database nor Telegram."""
    out: list[Finding] = []
    if settings.telegram_bot_token is None:
        out.append(
            Finding(
                "error",
                "Telegram token",
                "TELEGRAM_BOT_TOKEN is not set, so `run` cannot start",
                "create a bot with @BotFather (/newbot) and set TELEGRAM_BOT_TOKEN",
            )
        )
    if settings.webhook_url:
        url, _ = webhook_endpoint(settings.webhook_url)
        if settings.webhook_secret is None:
            out.append(
                Finding(
                    "error",
                    "Mode",
                    f"webhook mode ({url}) without WEBHOOK_SECRET: forged updates would be "
                    "accepted, so `run` refuses to start",
                    'set WEBHOOK_SECRET to the output of: python -c "import secrets; '
                    'print(secrets.token_urlsafe(32))" (the same on every replica)',
                )
            )
        else:
            out.append(_ok("Mode", f"webhook at {url}, secret token set, listening on PORT"))
    else:
        out.append(_ok("Mode", "long polling (one instance only; set WEBHOOK_URL for replicas)"))

    if settings.database_url is None:
        out.append(
            Finding(
                "warn",
                "Database URL",
                "DATABASE_URL is not set: the embedded development database is used",
                "for production set DATABASE_URL to your Supabase connection string "
                "(see the README's deployment guide)",
            )
        )
    else:
        out.extend(_database_url_findings(settings))
    if settings.db_pool_max_size < 2:
        out.append(
            Finding(
                "error",
                "Connection pool",
                "DB_POOL_MAX_SIZE is 1: each update holds one connection for its chat lock "
                "and needs another for its work",
                "set DB_POOL_MAX_SIZE to 2 or more (default 10)",
            )
        )
    elif settings.concurrent_updates * 3 > settings.db_pool_max_size:
        out.append(
            Finding(
                "warn",
                "Connection pool",
                f"CONCURRENT_UPDATES={settings.concurrent_updates} with DB_POOL_MAX_SIZE="
                f"{settings.db_pool_max_size}: each update in flight can hold up to three "
                "connections, so busy moments will wait for the pool",
                f"raise DB_POOL_MAX_SIZE to {settings.concurrent_updates * 3}, or unset "
                "CONCURRENT_UPDATES (automatic)",
            )
        )
    out.extend(verifier_findings(settings))
    return out


def _database_url_findings(settings: Settings) -> list[Finding]:
    assert settings.database_url is not None
    parts = urlsplit(settings.database_url.get_secret_value())
    socket_dir = dict(parse_qsl(parts.query)).get("host", "")
    host = parts.hostname or (f"local socket {socket_dir}" if socket_dir else "localhost")
    port = parts.port or 5432
    out: list[Finding] = []
    if port == SUPABASE_TRANSACTION_POOLER_PORT:
        if settings.db_statement_cache_size != 0:
            out.append(
                Finding(
                    "error",
                    "Database URL",
                    f"port {port} is Supabase's transaction pooler, which cannot keep prepared "
                    "statements: queries fail at random under load",
                    "set DB_STATEMENT_CACHE_SIZE=0, or use the session pooler (port 5432)",
                )
            )
        out.append(
            Finding(
                "warn",
                "Database URL",
                "transaction pooler: fine for `run` (with DB_STATEMENT_CACHE_SIZE=0), but run "
                "`migrate` through the session pooler or direct connection (it holds a lock "
                "for the whole migration)",
                "for the release step use the same URL with port 5432",
            )
        )
    elif host.startswith("db.") and host.endswith(".supabase.co"):
        out.append(
            Finding(
                "warn",
                "Database URL",
                f"{host} is Supabase's direct connection, which is IPv6-only unless you bought "
                "the IPv4 add-on; many hosting platforms have no IPv6",
                "if the connection check below fails, copy the Session pooler string instead "
                "(Supabase > Connect > Session pooler, port 5432)",
            )
        )
    else:
        where = "Supabase session pooler" if "pooler.supabase.com" in host else host
        out.append(_ok("Database URL", f"{where}, port {port}"))
    return out


def verifier_findings(settings: Settings) -> list[Finding]:
    """Are students able to prove their email with these settings?"""
    check = "Email verification"
    token_set = settings.telegram_bot_token is not None
    choice = settings.verifier
    if choice is None:
        if not token_set:
            return [_ok(check, "console (development: codes are printed on this console)")]
        return [
            Finding(
                "error",
                check,
                "VERIFIER is not set",
                "set VERIFIER=supabase (Supabase Auth emails the codes) or VERIFIER=smtp "
                "(the bot emails them through your provider's SMTP relay)",
            )
        ]
    if choice == "console":
        if token_set and settings.database_url is not None:
            return [
                Finding(
                    "error",
                    check,
                    "VERIFIER=console prints codes on the server console: students on "
                    "Telegram never receive them",
                    "set VERIFIER=supabase or VERIFIER=smtp for a real deployment",
                )
            ]
        return [_ok(check, "console (development only)")]
    out: list[Finding] = []
    if choice == "supabase":
        missing = [
            name
            for name, value in (
                ("SUPABASE_URL", settings.supabase_url),
                ("SUPABASE_KEY", settings.supabase_key),
            )
            if not value
        ]
        if missing:
            return [
                Finding(
                    "error",
                    check,
                    f"VERIFIER=supabase needs {' and '.join(missing)}",
                    "Supabase > Project Settings > API: copy the project URL and the anon "
                    "(publishable) key",
                )
            ]
        url = str(settings.supabase_url)
        if not url.startswith("https://"):
            out.append(
                Finding(
                    "warn",
                    check,
                    "SUPABASE_URL is not https://: codes would travel unencrypted",
                    "use the https://<project>.supabase.co URL",
                )
            )
        assert settings.supabase_key is not None
        if _is_service_key(settings.supabase_key.get_secret_value()):
            out.append(
                Finding(
                    "warn",
                    check,
                    "SUPABASE_KEY is a service-role (secret) key; sending codes needs only the "
                    "anon key, and a leaked service key bypasses all row-level security",
                    "use the anon / publishable key from Supabase > Project Settings > API",
                )
            )
        out.append(
            _ok(
                check,
                "Supabase Auth sends the codes: its email template must show {{ .Token }} "
                "(see the README), and custom SMTP lifts Supabase's hourly email limit",
            )
        )
        return out
    # smtp
    missing = [
        name
        for name, value in (("SMTP_HOST", settings.smtp_host), ("SMTP_FROM", settings.smtp_from))
        if not value
    ]
    if missing:
        return [
            Finding(
                "error",
                check,
                f"VERIFIER=smtp needs {' and '.join(missing)}",
                "set your provider's SMTP relay host and the address codes come from",
            )
        ]
    if settings.smtp_user and settings.smtp_password is None:
        out.append(Finding("error", check, "SMTP_USER is set but SMTP_PASSWORD is not", "set both"))
    if settings.smtp_port == 465 and settings.smtp_security != "tls":
        out.append(
            Finding(
                "warn",
                check,
                "port 465 expects implicit TLS",
                "set SMTP_SECURITY=tls (or use port 587 with starttls)",
            )
        )
    if settings.smtp_security == "none" and settings.smtp_host not in ("localhost", "127.0.0.1"):
        out.append(
            Finding(
                "warn",
                check,
                f"SMTP_SECURITY=none: codes travel unencrypted to {settings.smtp_host}",
                "set SMTP_SECURITY=starttls (port 587) or tls (port 465)",
            )
        )
    if not any(f.level == "error" for f in out):
        out.append(_ok(check, f"SMTP via {settings.smtp_host}:{settings.smtp_port}"))
    return out


def _is_service_key(key: str) -> bool:
    if key.startswith("sb_secret_"):
        return True
    parts = key.split(".")
    if len(parts) != 3:
        return False
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, TypeError):
        return False
    return isinstance(payload, dict) and payload.get("role") == "service_role"


# --- database -----------------------------------------------------------------------------
async def database_findings(db: Database) -> list[Finding]:
    """Migrations, row-level security on ptl_patients, roles, and the student path."""
    out: list[Finding] = []
    async with db.pool.acquire() as conn:
        pending: list[str] = []
        try:
            pending = await pending_migrations(conn)
        except MigrationError as exc:
            out.append(
                Finding("error", "Migrations", str(exc), "restore the file from git history")
            )
        table = await platform_table.table_facts(conn)
        blockers = platform_table.problems(table, set(pending))
        if pending:
            out.append(
                Finding(
                    "error",
                    "Migrations",
                    f"{len(pending)} not applied: {', '.join(pending)}"
                    + ("; migrate would stop first, for the reasons below" if blockers else ""),
                    "fix the ✗ lines below, then python -m bot migrate"
                    if blockers
                    else "python -m bot migrate  (the Procfile's release step does this)",
                )
            )
        elif not any(f.check == "Migrations" for f in out):
            out.append(_ok("Migrations", "up to date"))
        out.extend(Finding("error", p.check, p.detail, p.fix) for p in blockers)
        if table.exists and not any(p.check == "Table owner" for p in blockers):
            out.append(_ok("Table owner", f"public.ptl_patients belongs to {table.owner}"))
        facts = await health.database_facts(conn)
        roles = await health.role_facts(conn)
        mutable = await health.functions_without_search_path(conn)
        grants = await health.api_grants(conn) if facts.patients.exists else None
        triggers = await health.missing_triggers(conn) if facts.patients.exists else []

    out.extend(_rls_findings(facts))
    out.append(_search_path_finding(mutable))
    if facts.patients.exists and not pending:
        out.append(_trigger_finding(triggers))
    if grants is not None:
        out.extend(_grant_findings(grants))
    out.extend(_role_findings(roles))
    if facts.patients.exists and roles.can_become_authenticated:
        out.extend(await _probe_findings(db, facts))
    return out


def _rls_findings(facts: health.DatabaseFacts) -> list[Finding]:
    check = "Row-level security"
    if not facts.patients.exists:
        return [
            Finding(
                "error",
                check,
                "table public.ptl_patients does not exist",
                "python -m bot migrate",
            )
        ]
    out: list[Finding] = []
    if not facts.patients.rls_enabled:
        out.append(
            Finding(
                "error",
                check,
                "DISABLED on public.ptl_patients: every signed-in user of the platform's API "
                "can read and change every student's patients",
                "run in the Supabase SQL editor:\n"
                "alter table public.ptl_patients enable row level security;",
            )
        )
    for policy in facts.policies:
        problem = _open_policy_problem(policy)
        if problem:
            out.append(
                Finding(
                    "error",
                    "Policy " + policy.name,
                    problem,
                    "drop it (the bot's own policies, ptl_patients_*_own, keep students "
                    f'apart):\ndrop policy "{policy.name}" on public.ptl_patients;',
                )
            )
        elif _looks_unscoped(policy):
            out.append(
                Finding(
                    "warn",
                    "Policy " + policy.name,
                    f"{policy.command} for {', '.join(policy.roles)} does not mention "
                    "user_email or auth.*: check that it only allows a student's own rows",
                    "read it with: select * from pg_policies where tablename = 'ptl_patients';",
                )
            )
    if facts.patients.rls_enabled and not any(f.level == "error" for f in out):
        own = [p.name for p in facts.policies if not _looks_unscoped(p)]
        out.append(_ok(check, f"enabled on ptl_patients; {len(own)} scoped policies"))
    if facts.anon_privileges:
        out.append(
            Finding(
                "warn",
                "Anonymous access",
                f"the anon role holds {', '.join(facts.anon_privileges)} on ptl_patients "
                "(row-level security still hides rows, but nothing needs this grant)",
                "revoke all on public.ptl_patients from anon;",
            )
        )
    if facts.private_schema_usage:
        out.append(
            Finding(
                "error",
                "Bot schema",
                f"{', '.join(facts.private_schema_usage)} can use schema ptl_bot (links, "
                "verification challenges, conversations): it must be private to the bot",
                "revoke all on schema ptl_bot from public, anon, authenticated;",
            )
        )
    else:
        out.append(_ok("Bot schema", "ptl_bot is private to the bot's role"))
    return out


def _search_path_finding(functions: list[str]) -> Finding:
    check = "Function search_path"
    if not functions:
        return _ok(check, "every function of the bot, and every trigger on ptl_patients, "
                   "has a fixed search_path")  # fmt: skip
    fixes = "\n".join(f"alter function {name} set search_path = '';" for name in functions)
    return Finding(
        "warn",
        check,
        f"{', '.join(functions)} run with the caller's search_path (Supabase's Security "
        "Advisor flags this: a caller's own objects could be picked up instead of the "
        "intended ones)",
        "python -m bot migrate fixes the bot's own; for the others run:\n" + fixes,
    )


def _trigger_finding(missing: list[str]) -> Finding:
    check = "Triggers"
    if not missing:
        return _ok(
            check, f"the bot's {len(health.BOT_TRIGGERS)} triggers on ptl_patients are in place"
        )
    return Finding(
        "error",
        check,
        f"{', '.join(missing)} missing or disabled on public.ptl_patients: the bot's columns, "
        "clocks or kept PTL pages would go wrong for rows the platform writes (the bot stops "
        "reusing worked-out PTL pages while the change-counter triggers are missing)",
        "alter table public.ptl_patients enable trigger <name>; if disabled, or run the "
        "create trigger statements of the sql/ file that makes it (sql/030, 051, 056, 082)",
    )


def _grant_findings(grants: health.ApiGrants) -> list[Finding]:
    """Supabase's default privileges give the API roles everything on a new table; the
    student path needs four table privileges and USAGE on the id sequence (sql/050)."""
    check = "API grants"
    held = grants.table.get("authenticated", frozenset())
    extra = sorted(held - health.STUDENT_TABLE_PRIVILEGES)
    on_sequence = grants.on_sequence.get("authenticated", frozenset())
    extra_sequence = sorted(on_sequence - health.STUDENT_SEQUENCE_PRIVILEGES)
    if not extra and not extra_sequence:
        return [_ok(check, "authenticated holds only SELECT, INSERT, UPDATE, DELETE on "
                    "ptl_patients (and USAGE on its sequence)")]  # fmt: skip
    what, fixes = [], []
    if extra:
        what.append(f"{', '.join(extra)} on ptl_patients")
        fixes.append(
            f"revoke {', '.join(extra).lower()} on public.ptl_patients from authenticated;"
        )
    if extra_sequence:
        what.append(f"{', '.join(extra_sequence)} on {grants.sequence}")
        fixes.append(f"revoke {', '.join(extra_sequence).lower()} on sequence {grants.sequence} "
                     "from authenticated;")  # fmt: skip
    danger = " (TRUNCATE ignores row-level security: it would empty every student's PTL)"
    return [
        Finding(
            "error",
            check,
            f"authenticated (every signed-in user of the platform) holds {' and '.join(what)}"
            + (danger if "TRUNCATE" in extra else ""),
            "\n".join(fixes),
        )
    ]


def _open_policy_problem(policy: health.Policy) -> str | None:
    """Why a policy opens ptl_patients to everyone (None if it does not)."""
    if not policy.permissive or not (set(policy.roles) & _API_ROLES):
        return None
    names = {"public": "everyone (PUBLIC)", "anon": "anon", "authenticated": "authenticated"}
    who = " and ".join(names[r] for r in sorted(set(policy.roles) & _API_ROLES))
    using = _norm(policy.using)
    check = _norm(policy.with_check)
    # For ALL and UPDATE without WITH CHECK, Postgres uses the USING expression for both.
    if policy.command in ("ALL", "UPDATE") and policy.with_check is None:
        check = using
    reads = policy.command in ("ALL", "SELECT", "UPDATE", "DELETE") and using in _OPEN
    writes = policy.command in ("ALL", "INSERT", "UPDATE") and check in _OPEN
    if not (reads or writes):
        return None
    what = {
        (True, True): "read and change",
        (True, False): "read" if policy.command == "SELECT" else "read (and change or delete)",
        (False, True): "write",
    }[(reads, writes)]
    clause = "using (true)" if reads else "with check (true)"
    return (
        f"permissive {policy.command} policy {clause} for {who}: anyone in that role "
        f"can {what} every student's patients"
    )


def _looks_unscoped(policy: health.Policy) -> bool:
    if not policy.permissive or not (set(policy.roles) & _API_ROLES):
        return False
    text = f"{policy.using or ''} {policy.with_check or ''}".lower()
    return not any(word in text for word in ("user_email", "auth.", "jwt", "email"))


def _norm(expression: str | None) -> str | None:
    return None if expression is None else " ".join(expression.lower().split())


def _role_findings(roles: health.RoleFacts) -> list[Finding]:
    out: list[Finding] = []
    if roles.login_superuser or roles.login_bypass_rls:
        what = "a superuser" if roles.login_superuser else "allowed to bypass RLS"
        out.append(
            Finding(
                "warn",
                "Bot's login role",
                f"{roles.login_role} is {what}: fine for the bot's service path (reminders, "
                "broadcasts need every student), and student work switches to the "
                "authenticated role (checked below); but keep this URL secret",
                "optional: a dedicated role without superuser, granted authenticated",
            )
        )
    else:
        out.append(_ok("Bot's login role", f"{roles.login_role}, not a superuser"))
    if not roles.authenticated_exists:
        out.append(
            Finding(
                "error",
                "Student role",
                "role authenticated does not exist",
                "python -m bot migrate  (creates it on plain Postgres; Supabase has it)",
            )
        )
        return out
    if roles.authenticated_superuser or roles.authenticated_bypass_rls:
        out.append(
            Finding(
                "error",
                "Student role",
                "role authenticated bypasses row-level security: every student sees everyone",
                "alter role authenticated nosuperuser nobypassrls;",
            )
        )
    if not roles.can_become_authenticated:
        out.append(
            Finding(
                "error",
                "Student role",
                f"{roles.login_role} cannot switch to role authenticated, so student work "
                "cannot run under row-level security",
                f'grant authenticated to "{roles.login_role}";',
            )
        )
    return out


async def _probe_findings(db: Database, facts: health.DatabaseFacts) -> list[Finding]:
    probe = await health.student_probe(db, PROBE_EMAIL, f"DOCTOR-{secrets.token_hex(6)}")
    check = "Student path"
    if probe.error:
        return [Finding("error", check, f"a student transaction failed: {redact(probe.error)}")]
    out: list[Finding] = []
    if probe.current_user != "authenticated":
        out.append(
            Finding(
                "error",
                check,
                f"student work runs as {probe.current_user}, not authenticated",
                "check that nothing resets the role (e.g. a pooler in statement mode)",
            )
        )
    if probe.visible_rows:
        rows = plural(probe.visible_rows, "row")
        out.append(
            Finding(
                "error",
                check,
                f"a made-up student with no patients can read {rows} of other students",
                "see the row-level security and policy findings above",
            )
        )
    if probe.other_email_insert == "allowed":
        out.append(
            Finding(
                "error",
                check,
                "a student can insert patients under another student's email (tried and "
                "rolled back)",
                "see the row-level security and policy findings above",
            )
        )
    elif probe.other_email_insert.startswith("inconclusive"):
        out.append(
            Finding(
                "warn",
                check,
                f"write isolation not confirmed ({probe.other_email_insert})",
                "the platform's table may have extra required columns; check the policies",
            )
        )
    if not out:
        out.append(
            _ok(
                check,
                "runs as authenticated; a student sees only their own rows and cannot write "
                "under another email",
            )
        )
    anon_rows = await health.anonymous_visible_rows(db)
    if anon_rows:
        out.append(
            Finding(
                "error",
                "Anonymous access",
                f"the anon role (anyone holding the public API key) can read "
                f"{plural(anon_rows, 'row')} of ptl_patients",
                "see the policy findings above; revoke all on public.ptl_patients from anon;",
            )
        )
    return out


# --- Telegram -------------------------------------------------------------------------------
async def telegram_findings(
    settings: Settings, request: BaseRequest | None = None
) -> list[Finding]:
    if settings.telegram_bot_token is None:
        return [Finding("skip", "Telegram", "no token to check")]
    token = settings.telegram_bot_token.get_secret_value()
    request = request or HTTPXRequest(
        connect_timeout=TELEGRAM_TIMEOUT, read_timeout=TELEGRAM_TIMEOUT, connection_pool_size=1
    )
    bot = Bot(token, base_url=settings.telegram_api_url, request=request)
    out: list[Finding] = []
    try:
        async with bot:  # initialize() calls getMe
            out.append(_ok("Telegram token", f"accepted: this is @{bot.username}"))
            out.extend(await _webhook_findings(bot, settings))
    except (InvalidToken, Forbidden):
        out.append(
            Finding(
                "error",
                "Telegram token",
                "Telegram rejected TELEGRAM_BOT_TOKEN",
                "copy it again from @BotFather (/mybots > your bot > API Token); if you "
                "revoked it, set the new one",
            )
        )
    except (TimedOut, NetworkError) as exc:
        out.append(
            Finding(
                "skip",
                "Telegram token",
                f"Telegram is unreachable from here ({type(exc).__name__}); token not checked",
            )
        )
    return out


async def _webhook_findings(bot: Bot, settings: Settings) -> list[Finding]:
    try:
        info = await bot.get_webhook_info()
    except TelegramError:
        return [Finding("skip", "Webhook", "could not read the webhook status")]
    check = "Webhook"
    if settings.webhook_url:
        expected, _ = webhook_endpoint(settings.webhook_url)
        out: list[Finding] = []
        if info.url != expected:
            out.append(
                Finding(
                    "warn",
                    check,
                    f"Telegram posts to {info.url or 'nowhere'}, not {expected}",
                    "it is set when `run` starts; restart the web process",
                )
            )
        if info.last_error_message:
            when = info.last_error_date.isoformat() if info.last_error_date else "recently"
            out.append(
                Finding(
                    "warn",
                    check,
                    f"Telegram's last delivery failed ({when}): {redact(info.last_error_message)}",
                    "check that the web process is up and WEBHOOK_URL is its public address",
                )
            )
        return out or [_ok(check, f"Telegram posts to {expected}")]
    if info.url:
        return [
            Finding(
                "warn",
                check,
                f"a webhook is set ({info.url}) but WEBHOOK_URL is not: polling will remove it",
                "set WEBHOOK_URL on the web process, or run only the worker (polling)",
            )
        ]
    return [_ok(check, "none set (polling mode)")]


# --- running it all -------------------------------------------------------------------------
async def examine(
    settings: Settings,
    *,
    dsn: str | None = None,
    request: BaseRequest | None = None,
) -> list[Finding]:
    """Every check, in the order the operator would fix them."""
    findings = config_findings(settings)
    db: Database | None = None
    try:
        if dsn is None:
            from bot.runtime.database import database_dsn

            dsn = await database_dsn(settings)
        db = await asyncio.wait_for(
            Database.connect(
                dsn,
                min_size=1,
                max_size=2,
                statement_cache_size=settings.db_statement_cache_size,
            ),
            CONNECT_TIMEOUT,
        )
    except Exception as exc:
        findings.append(_connection_failure(exc))
    if db is not None:
        try:
            version = await db.fetchval("show server_version")
            findings.append(_ok("Database connection", f"connected (PostgreSQL {version})"))
            findings.extend(await database_findings(db))
        finally:
            await db.close()
    findings.extend(await telegram_findings(settings, request))
    return findings


def _connection_failure(exc: BaseException) -> Finding:
    detail = redact(f"{type(exc).__name__}: {exc}".rstrip(": "))
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        fix = (
            "the password or user in DATABASE_URL is wrong; Supabase > Project Settings > "
            "Database > Reset database password, then update DATABASE_URL"
        )
    elif isinstance(exc, TimeoutError | OSError):
        fix = (
            "the host is unreachable from here: check DATABASE_URL's host and port; Supabase's "
            "direct connection (db.<ref>.supabase.co) needs IPv6, use the Session pooler "
            "string otherwise"
        )
    else:
        fix = "check DATABASE_URL (Supabase > Connect > Session pooler)"
    return Finding("error", "Database connection", detail, fix)


def render(findings: Sequence[Finding]) -> str:
    errors = sum(f.level == "error" for f in findings)
    warnings = sum(f.level == "warn" for f in findings)
    lines = ["ptl-bot doctor", *(f.render() for f in findings), ""]
    if errors:
        lines.append(
            f"{plural(errors, 'error')}, {plural(warnings, 'warning')}: fix the ✗ lines above."
        )
    elif warnings:
        lines.append(f"No errors; {plural(warnings, 'warning')} worth a look.")
    else:
        lines.append("All good.")
    return "\n".join(lines)


def exit_status(findings: Sequence[Finding]) -> int:
    return 1 if any(f.level == "error" for f in findings) else 0


def main(settings: Settings) -> int:
    findings = asyncio.run(examine(settings))
    print(render(findings))
    return exit_status(findings)
