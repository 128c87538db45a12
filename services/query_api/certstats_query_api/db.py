"""Database access of the query API: the pool and read-only snapshots of the current generation.

Each request reads in one ``REPEATABLE READ READ ONLY`` transaction (one consistent snapshot,
SPEC.md §5.5) whose ``search_path`` is set to the current generation's schema first, so a
rebuild promoting a new generation (SPEC.md §6) is picked up by the next request.
"""

from __future__ import annotations

from types import TracebackType

import asyncpg

from certstats_projector.generations import CURRENT_SCHEMA_SQL
from certstats_query_api.problems import ApiProblem

_BEGIN_SQL = f"""BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT set_config('search_path',
                  coalesce(({CURRENT_SCHEMA_SQL}), 'no_current_generation')::regnamespace::text,
                  true),
       set_config('plan_cache_mode', 'force_custom_plan', true)"""
"""Begin the snapshot and point it at the current generation, in one round trip (a simple
query of two statements). Without a current generation the cast to ``regnamespace`` fails
(no schema of that name), as the reading of a missing meta schema does. Custom plans: optional
filters are nullable parameters, and a generic plan could not fold the NULL tests away."""

NO_READ_MODELS = ApiProblem(503, "Service unavailable", "read models not migrated yet")


class Snapshot:
    """A pooled connection inside one read-only repeatable-read transaction.

    Use as ``async with Snapshot(pool) as conn`` or, for streamed responses, ``await open()``
    then ``await close()`` (idempotent) once the stream ends.

    Raises:
        ApiProblem: 503 when the database has no current generation.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: asyncpg.pool.PoolConnectionProxy | None = None

    async def open(self) -> asyncpg.pool.PoolConnectionProxy:
        """Acquire a connection, begin the transaction and enter the current generation."""
        conn = await self._pool.acquire()
        self._conn = conn
        try:
            await conn.execute(_BEGIN_SQL)
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
            await self.close()
            raise NO_READ_MODELS from None
        except BaseException:
            await self.close()
            raise
        return conn

    async def close(self) -> None:
        """End the transaction and give the connection back (safe to call twice)."""
        conn = self._conn
        self._conn = None
        if conn is None:
            return
        try:
            if not conn.is_closed() and conn.is_in_transaction():
                await conn.execute("ROLLBACK")
        finally:
            await self._pool.release(conn)

    async def __aenter__(self) -> asyncpg.pool.PoolConnectionProxy:
        return await self.open()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
