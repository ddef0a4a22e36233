"""A database shaped like a Supabase project, for every test: roles, grants, `auth` functions.

Why: the bot runs on Supabase, where it logs in as `postgres`, which is *not* a superuser
(Supabase demotes it after set-up: it keeps CREATEDB, CREATEROLE, REPLICATION and BYPASSRLS
and owns the tables it creates), where new objects in `public` are granted to `anon`,
`authenticated` and `service_role` by default privileges, and where `auth` belongs to
Supabase (`supabase_admin` owns the schema, `supabase_auth_admin` owns `auth.jwt()` and
friends). Tests that ran as a superuser on a bare cluster passed migrations and queries that
fail or leak on the real thing. This module rebuilds that shape, in our own words, from what
supabase/postgres' init scripts and migrations and supabase/auth's migrations create:

cluster (once):
  supabase_admin  superuser (the bootstrap user there; here a superuser we add)
  postgres        login, no superuser; createdb, createrole, replication, bypassrls;
                  member of anon, authenticated, service_role and supabase_auth_admin
  anon, authenticated, service_role
                  nologin, inherit; service_role bypasses RLS
  authenticator   login, noinherit, member of the three API roles (PostgREST logs in as it)
  supabase_auth_admin
                  login, noinherit, createrole: owns the `auth` functions

each database (the template, copied per test):
  owned by postgres (so `public`, owned by pg_database_owner, is postgres's);
  usage on public for postgres and the API roles;
  default privileges, for objects postgres or supabase_admin create in public: ALL on tables,
  sequences and functions to postgres, anon, authenticated, service_role;
  schema extensions, usable by all of them;
  schema auth owned by supabase_admin: usage for the API roles, all for postgres (as the
  published bootstrap has it; hosted projects have since closed `auth` to new objects, which
  tests/test_platform_table.py reproduces where it matters), and uid(), role(), email(),
  jwt() owned by supabase_auth_admin, reading the per-claim settings and `request.jwt.claims`.

On the embedded test cluster the bootstrap superuser is called `postgres`, which cannot be
demoted, so it is renamed first (it is a throwaway cluster). A server given by
PTL_TEST_DATABASE_URL is used as it is: a supabase/postgres image already has all of this.
"""

from __future__ import annotations

import asyncpg

SUPERUSER = "supabase_admin"
BOT_ROLE = "postgres"
RENAMED_BOOTSTRAP = "bootstrap_superuser"

_ROLES = """
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'postgres') then
    create role postgres login;
  end if;
  alter role postgres nosuperuser createdb createrole replication bypassrls login;

  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin bypassrls;
  end if;
  alter role anon inherit;
  alter role authenticated inherit;
  alter role service_role inherit;

  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login noinherit createrole;
  end if;
end
$$;
grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role, supabase_auth_admin to postgres;
"""

_DATABASE = """
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
    grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
    grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
    grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
    grant all on functions to postgres, anon, authenticated, service_role;

create schema if not exists extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;

create schema if not exists auth authorization supabase_admin;
grant usage on schema auth to anon, authenticated, service_role;
grant all on schema auth to postgres, supabase_auth_admin;
"""

# Created as supabase_auth_admin, so that role owns them, as on Supabase.
AUTH_FUNCTIONS = {
    "uid": (
        "uuid",
        "coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),"
        " (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid",
    ),
    "role": (
        "text",
        "coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),"
        " (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text",
    ),
    "email": (
        "text",
        "coalesce(nullif(current_setting('request.jwt.claim.email', true), ''),"
        " (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email'))::text",
    ),
    "jwt": (
        "jsonb",
        "coalesce(nullif(current_setting('request.jwt.claim', true), ''),"
        " nullif(current_setting('request.jwt.claims', true), ''))::jsonb",
    ),
}


def superuser_dsn(bootstrap_dsn: str) -> str:
    """The same server, logged in as supabase_admin."""
    scheme, sep, rest = bootstrap_dsn.partition("://")
    _user, at, host = rest.partition("@")
    return f"{scheme}{sep}{SUPERUSER}:{at}{host}" if at else bootstrap_dsn


def role_dsn(dsn: str, role: str) -> str:
    """`dsn` with its user replaced by `role` (password kept: Supabase images share one)."""
    scheme, sep, rest = dsn.partition("://")
    userinfo, at, host = rest.partition("@")
    if not at:
        return dsn
    _user, colon, password = userinfo.partition(":")
    return f"{scheme}{sep}{role}{colon}{password}@{host}"


async def take_over_embedded_cluster(bootstrap_dsn: str) -> str:
    """On a throwaway cluster whose bootstrap superuser is `postgres`: add supabase_admin,
    rename the bootstrap user out of the way, so `postgres` can be an ordinary role."""
    conn = await asyncpg.connect(bootstrap_dsn)
    try:
        if not await conn.fetchval("select 1 from pg_roles where rolname = $1", SUPERUSER):
            await conn.execute(f"create role {SUPERUSER} superuser login")
    finally:
        await conn.close()
    admin = superuser_dsn(bootstrap_dsn)
    conn = await asyncpg.connect(admin)
    try:
        bootstrap = await conn.fetchval("select rolname from pg_roles where oid = 10")
        if bootstrap == BOT_ROLE:
            await conn.execute(f"alter role {BOT_ROLE} rename to {RENAMED_BOOTSTRAP}")
    finally:
        await conn.close()
    return admin


async def create_roles(admin: str) -> None:
    """The cluster-wide roles (idempotent)."""
    conn = await asyncpg.connect(admin)
    try:
        if await conn.fetchval(
            "select rolsuper from pg_roles where rolname = $1 and oid = 10", BOT_ROLE
        ):
            raise RuntimeError(
                "PTL_TEST_DATABASE_URL's server has `postgres` as its bootstrap superuser: "
                "tests need a Supabase-shaped server (e.g. the supabase/postgres image) where "
                "`postgres` is an ordinary role"
            )
        await conn.execute(_ROLES)
    finally:
        await conn.close()


async def prepare_database(admin_db_dsn: str) -> None:
    """Supabase's per-database set-up, in a database owned by `postgres` (idempotent)."""
    conn = await asyncpg.connect(admin_db_dsn)
    try:
        await conn.execute(_DATABASE)
        async with conn.transaction():
            await conn.execute("set local role supabase_auth_admin")
            for name, (returns, body) in AUTH_FUNCTIONS.items():
                if await conn.fetchval("select to_regprocedure($1)", f"auth.{name}()") is None:
                    await conn.execute(
                        f"create function auth.{name}() returns {returns}"
                        f" language sql stable as $f$ select {body} $f$"
                    )
    finally:
        await conn.close()
