"""Secondary indexes a building generation creates after its replay (docs/DECISIONS.md
"Deferred indexes of a building generation"; SPEC.md section 6).

Nobody reads a building generation until it is promoted, so indexes that no statement of the
replay or of the summaries' catch-up uses need not be maintained row by row while it fills:
:func:`defer_indexes` records their definitions (``pg_get_indexdef``) in the generation's
``deferred_indexes`` table and drops them, in one transaction; :func:`create_deferred_indexes`
creates them again on the filled tables (one sort each instead of one index insertion per
row), each in one transaction with the deletion of its row. Both are idempotent, so a rebuild
interrupted anywhere and resumed ends with every index of the migrations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

import asyncpg

from certstats_projector.projection.sql import SET_SEARCH_PATH_SQL

QUERY_ONLY_INDEXES = (
    "users_registered_at",
    "users_group_ids",
    "users_custom_fields",
    "groups_parent",
    "group_roles_user",
    "certificate_learners_by_last_name",
    "certificate_learners_expiry",
)
"""Indexes that only the query API's plans use (the catch-up's ``certificate_expiry`` insert may
read ``certificate_learners_expiry`` instead of scanning the table it reads almost all of):
evidence from ``bench/deferred_index_usage.py`` in docs/DECISIONS.md."""

REFRESH_ONLY_INDEXES = (
    "certificate_grants_user",
    "certificate_grants_session",
    "enrollments_user",
)
"""Indexes that, of the projector's statements, only the summary refresh uses (its learner by
learner lookups): a replay deferring the summaries never runs it, and the promotion's tail
runs it once they exist again."""

_DEFER_SQL = """
INSERT INTO deferred_indexes (index_name, table_name, definition)
SELECT c.relname, t.relname, pg_get_indexdef(c.oid)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY ($2::text[])
  AND NOT (i.indisunique OR i.indisprimary)
ORDER BY c.relname
ON CONFLICT (index_name) DO NOTHING
"""
"""Record the definitions of the non-unique indexes of schema ``$1`` named in ``$2``."""

_RECORDED_SQL = "SELECT index_name FROM deferred_indexes ORDER BY index_name"

_PENDING_SQL = """
SELECT index_name, definition FROM deferred_indexes
ORDER BY pg_relation_size(format('%I.%I', $1::text, table_name)::regclass) DESC, index_name
"""
"""The deferred indexes of schema ``$1``, those of the biggest tables first."""

_CREATE_ONE_SQL = "SELECT definition FROM deferred_indexes WHERE index_name = $1 FOR UPDATE"
_FORGET_ONE_SQL = "DELETE FROM deferred_indexes WHERE index_name = $1"
_EXISTS_SQL = "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL"

Connect = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


async def defer_indexes(conn: asyncpg.Connection, schema: str, names: Sequence[str]) -> list[str]:
    """Drop the non-unique indexes ``names`` of generation ``schema`` that exist, recording
    their definitions first, in one transaction. Returns the indexes deferred now (also those
    a previous run deferred): one a previous run deferred that is not in ``names`` (it ran in
    another mode) is created again. Primary keys and unique indexes are never dropped (the
    upserts' conflict targets)."""
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        for name in [r[0] for r in await conn.fetch(_RECORDED_SQL)]:
            if name not in names:
                await _create(conn, schema, name)
        await conn.execute(_DEFER_SQL, schema, list(names))
        recorded: list[str] = [r[0] for r in await conn.fetch(_RECORDED_SQL)]
        for name in recorded:
            await conn.execute(f'DROP INDEX IF EXISTS "{schema}"."{name}"')
    return recorded


async def create_deferred_indexes(connect: Connect, schema: str, connections: int) -> list[str]:
    """Create the deferred indexes of generation ``schema`` over ``connections`` connections
    from ``connect`` (the biggest tables' first; PostgreSQL builds each on one core, several
    on one table at once), each in one transaction with the deletion of its record. Returns
    the indexes created."""
    async with connect() as conn, conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        pending = [r["index_name"] for r in await conn.fetch(_PENDING_SQL, schema)]
    queue = list(reversed(pending))
    created: list[str] = []

    async def work() -> None:
        async with connect() as conn:
            while queue:
                name = queue.pop()
                if await _create_one(conn, schema, name):
                    created.append(name)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(connections, len(pending))):
            group.create_task(work())
    return sorted(created)


async def create_deferred_indexes_on(conn: asyncpg.Connection, schema: str) -> list[str]:
    """:func:`create_deferred_indexes` on one connection, in the caller's transaction (a
    migration of a building generation: its DDL may name a deferred index)."""
    await conn.execute(SET_SEARCH_PATH_SQL, schema)
    names = [r[0] for r in await conn.fetch(_RECORDED_SQL)]
    for name in names:
        await _create(conn, schema, name)
    return names


async def _create_one(conn: asyncpg.Connection, schema: str, name: str) -> bool:
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        return await _create(conn, schema, name)


async def _create(conn: asyncpg.Connection, schema: str, name: str) -> bool:
    """Create index ``name`` from its record (unless it exists) and forget the record;
    False when another transaction did it first."""
    definition: str | None = await conn.fetchval(_CREATE_ONE_SQL, name)
    if definition is None:
        return False
    if not await conn.fetchval(_EXISTS_SQL, schema, name):
        await conn.execute(definition)
    await conn.execute(_FORGET_ONE_SQL, name)
    return True


async def deferred_count(conn: asyncpg.Connection, schema: str) -> int:
    """How many indexes generation ``schema`` has deferred (0 once created again)."""
    count: int = await conn.fetchval(f'SELECT count(*) FROM "{schema}".deferred_indexes')
    return count


def deferrable(summaries_deferred: bool) -> tuple[str, ...]:
    """The indexes a replay may defer: the query-only ones, and the refresh's too when its
    batches defer the summaries (catch-up mode)."""
    return QUERY_ONLY_INDEXES + (REFRESH_ONLY_INDEXES if summaries_deferred else ())
