"""Read-model generations and their migrations (SPEC.md section 6).

The read models of one *generation* live in their own schema (``certstats_g<N>``). Exactly one
generation is ``current``: the query API reads it and the live projector writes it. A rebuild
fills a ``building`` generation, then promotes it in one transaction and drops the old one.

Migrations are the numbered ``migrations/NNNN_*.sql`` files beside this module, applied in
order to every live generation schema and recorded in that schema's ``schema_migrations``.
"""

from __future__ import annotations

from importlib import resources

import asyncpg

from certstats_projector.deferred_indexes import create_deferred_indexes_on

META_SCHEMA = "certstats_meta"

_META_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {META_SCHEMA};
CREATE TABLE IF NOT EXISTS {META_SCHEMA}.generations (
    generation   integer     PRIMARY KEY,
    schema_name  text        NOT NULL UNIQUE,
    state        text        NOT NULL CHECK (state IN ('building', 'current')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    promoted_at  timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS generations_one_current
    ON {META_SCHEMA}.generations ((true)) WHERE state = 'current';
"""

_MIGRATION_LOCK = 0x63657274  # pg_advisory_xact_lock key serializing concurrent migrations

CURRENT_SCHEMA_SQL = f"SELECT schema_name FROM {META_SCHEMA}.generations WHERE state = 'current'"
"""Name of the current generation's schema (one row, or none before the first migrate)."""


class NoCurrentGeneration(RuntimeError):
    """The database has not been migrated yet: run ``certstats migrate``."""


def migration_files() -> list[tuple[int, str, str]]:
    """The numbered migrations as ``(version, file name, SQL text)``, in version order."""
    folder = resources.files("certstats_projector") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return sorted(found)


async def migrate(conn: asyncpg.Connection) -> str:
    """Create the meta schema and a first generation if needed, then bring every generation
    schema up to the newest migration. Returns the current generation's schema name.

    Safe to run concurrently (advisory lock) and repeatedly (applied versions are skipped).
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(_META_DDL)
        if await conn.fetchval(CURRENT_SCHEMA_SQL) is None:
            await _create_generation(conn, state="current")
        for schema in await conn.fetch(f"SELECT schema_name FROM {META_SCHEMA}.generations"):
            await _apply_migrations(conn, schema["schema_name"])
        schema_name: str = await conn.fetchval(CURRENT_SCHEMA_SQL)
    return schema_name


async def current_schema(conn: asyncpg.Connection) -> str:
    """The current generation's schema name.

    Raises:
        NoCurrentGeneration: the database was never migrated.
    """
    try:
        name: str | None = await conn.fetchval(CURRENT_SCHEMA_SQL)
    except asyncpg.UndefinedTableError:
        name = None
    if name is None:
        raise NoCurrentGeneration("no read-model generation: run `certstats migrate`")
    return name


async def create_building_generation(conn: asyncpg.Connection) -> str:
    """Create and migrate a new ``building`` generation (for a rebuild); returns its schema."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(_META_DDL)
        schema = await _create_generation(conn, state="building")
        await _apply_migrations(conn, schema)
    return schema


async def _create_generation(conn: asyncpg.Connection, *, state: str) -> str:
    number: int = await conn.fetchval(
        f"SELECT coalesce(max(generation), 0) + 1 FROM {META_SCHEMA}.generations"
    )
    schema = f"certstats_g{number}"
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.execute(
        f"INSERT INTO {META_SCHEMA}.generations (generation, schema_name, state, promoted_at)"
        " VALUES ($1, $2, $3, CASE WHEN $3 = 'current' THEN now() END)",
        number,
        schema,
        state,
    )
    return schema


async def _apply_migrations(conn: asyncpg.Connection, schema: str) -> None:
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {schema}.schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    done = {
        r["version"] for r in await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")
    }
    pending = [
        (version, name, sql) for version, name, sql in migration_files() if version not in done
    ]
    if pending and await conn.fetchval("SELECT to_regclass($1)", f"{schema}.deferred_indexes"):
        # a building generation's DDL may name an index its rebuild deferred: create them first
        await create_deferred_indexes_on(conn, schema)
    await conn.execute(f"SET LOCAL search_path TO {schema}")
    for version, name, sql in pending:
        await conn.execute(sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
        )
    await conn.execute("SET LOCAL search_path TO DEFAULT")
