"""Switching read-model generations without downtime (SPEC.md section 6).

The *generation lock* is a PostgreSQL advisory lock: every live batch transaction takes it
shared (:func:`lock_current_generation`) and a promotion takes it exclusively, so a promotion
waits for the live batches in flight, and no live batch commits while it switches. After the
switch a live projector finds another current generation in its next batch transaction and
resumes from the offsets stored there (:class:`certstats_projector.consumer.BatchApplier`).

The old generation is dropped once no transaction that could still read it is running.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from certstats_projector.deferred_indexes import deferred_count
from certstats_projector.generations import (
    _MIGRATION_LOCK,
    CURRENT_SCHEMA_SQL,
    META_SCHEMA,
    NoCurrentGeneration,
)

GENERATION_LOCK = 0x63657267
"""Advisory lock key: shared by live batch transactions, exclusive during a promotion."""

_LOCK_SHARED_SQL = "SELECT pg_advisory_xact_lock_shared($1)"
_LOCK_EXCLUSIVE_SQL = "SELECT pg_advisory_xact_lock($1)"

_RETIRE_CURRENT_SQL = (
    f"DELETE FROM {META_SCHEMA}.generations WHERE state = 'current' RETURNING schema_name"
)
_MAKE_CURRENT_SQL = (
    f"UPDATE {META_SCHEMA}.generations SET state = 'current', promoted_at = now()"
    " WHERE schema_name = $1 AND state = 'building'"
)

_OLDER_TRANSACTIONS_SQL = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend' AND xact_start < $1
"""
"""Transactions of this database begun before ``$1`` (they may still read an old generation)."""

_ORPHAN_SCHEMAS_SQL = f"""
SELECT nspname FROM pg_namespace
WHERE nspname ~ '^certstats_g[0-9]+$'
  AND nspname NOT IN (SELECT schema_name FROM {META_SCHEMA}.generations)
ORDER BY nspname
"""
"""Generation schemas without a meta row: left by a promotion that stopped before its drop."""


class PromotionFailed(RuntimeError):
    """The building generation to promote is not a ``building`` generation any more."""


async def lock_current_generation(conn: asyncpg.Connection) -> str:
    """Take the generation lock (shared) in the caller's transaction; return the current
    generation's schema, which stays current until that transaction ends.

    Raises:
        NoCurrentGeneration: the database was never migrated.
    """
    await conn.execute(_LOCK_SHARED_SQL, GENERATION_LOCK)
    schema: str | None = await conn.fetchval(CURRENT_SCHEMA_SQL)
    if schema is None:
        raise NoCurrentGeneration("no read-model generation: run `certstats migrate`")
    return schema


async def lock_generations(conn: asyncpg.Connection) -> None:
    """Take the generation lock exclusively in the caller's transaction: waits for the live
    batch transactions in flight and keeps new ones waiting until this transaction ends."""
    await conn.execute(_LOCK_EXCLUSIVE_SQL, GENERATION_LOCK)


async def make_current(conn: asyncpg.Connection, building: str) -> str:
    """In the caller's transaction (holding :func:`lock_generations`): make ``building`` the
    current generation and forget the old one's meta row. Returns the old schema name.

    Raises:
        PromotionFailed: ``building`` is not a building generation, or it still has deferred
            indexes (:mod:`~certstats_projector.deferred_indexes`; nothing changed).
    """
    if await deferred_count(conn, building):
        raise PromotionFailed(f"{building} has deferred indexes still to create")
    old: str = await conn.fetchval(_RETIRE_CURRENT_SQL)
    if await conn.execute(_MAKE_CURRENT_SQL, building) != "UPDATE 1":
        raise PromotionFailed(f"{building} is not a building generation")
    return old


async def drop_when_unread(
    conn: asyncpg.Connection, schema: str, *, wait_s: float = 60.0, poll_s: float = 0.05
) -> None:
    """Drop the retired generation ``schema`` once every transaction begun before now has
    ended (they may have chosen it as current), waiting at most ``wait_s`` seconds; the
    ``DROP`` itself then waits for the readers that still hold its tables, and for a
    migration in progress (which may have listed the schema before the promotion)."""
    since: datetime = await conn.fetchval("SELECT clock_timestamp()")
    for _ in range(max(1, round(wait_s / poll_s))):
        if not await conn.fetchval(_OLDER_TRANSACTIONS_SQL, since):
            break
        await asyncio.sleep(poll_s)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


async def drop_orphans(conn: asyncpg.Connection) -> list[str]:
    """Drop generation schemas that have no meta row (a promotion interrupted before its
    drop); returns their names."""
    orphans: list[str] = [r["nspname"] for r in await conn.fetch(_ORPHAN_SCHEMAS_SQL)]
    for schema in orphans:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return orphans
