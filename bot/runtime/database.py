"""Start-up plumbing shared by every entry point: which database, migrated or not.

Why: the embedded database is for development and is migrated automatically, so a newcomer's
first run just works; a configured DATABASE_URL (Supabase) is never changed behind the
operator's back: if migrations are pending the bot refuses to start and says which command
applies them.
"""

from __future__ import annotations

import logging

from bot.config import Settings, StartupError
from bot.messages.numbers import plural
from storage.db import Database
from storage.embedded import embedded_dsn
from storage.migrations import MigrationError, migrate, pending_migrations

log = logging.getLogger(__name__)


async def database_dsn(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return await embedded_dsn(settings.ptl_data_dir)


async def open_database(settings: Settings, *, auto_migrate: bool | None = None) -> Database:
    """Connect, and make sure the schema is current (see module docstring)."""
    dsn = await database_dsn(settings)
    if auto_migrate is None:
        auto_migrate = settings.database_url is None
    db = await Database.connect(
        dsn,
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        statement_cache_size=settings.db_statement_cache_size,
    )
    try:
        async with db.pool.acquire() as conn:
            if auto_migrate:
                applied = await migrate(conn)
                if applied:
                    log.info("Applied %d migration(s)", len(applied))
            else:
                pending = await pending_migrations(conn)
                if pending:
                    needs = plural(len(pending), "migration")
                    raise StartupError(
                        f"The database needs {needs} ({', '.join(pending)}). "
                        "Run: python -m bot migrate"
                    )
    except MigrationError as exc:
        await db.close()
        raise StartupError(str(exc)) from None
    except BaseException:
        await db.close()
        raise
    return db
