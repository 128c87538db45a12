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

_ENTER_GENERATION_SQL = (
    "SELECT set_config('search_path', g.schema_name, true),"
    " set_config('plan_cache_mode', 'force_custom_plan', true)"
    f" FROM ({CURRENT_SCHEMA_SQL}) AS g"
)
"""Point the transaction at the current generation. Custom plans: optional filters are
nullable parameters, and a generic plan could not fold the NULL tests away."""

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
        self._transaction: asyncpg.transaction.Transaction | None = None

    async def open(self) -> asyncpg.pool.PoolConnectionProxy:
        """Acquire a connection, begin the transaction and enter the current generation."""
        conn = await self._pool.acquire()
        self._conn = conn
        try:
            self._transaction = conn.transaction(isolation="repeatable_read", readonly=True)
            await self._transaction.start()
            entered = await conn.fetchrow(_ENTER_GENERATION_SQL)
        except asyncpg.UndefinedTableError:
            entered = None
        except BaseException:
            await self.close()
            raise
        if entered is None:
            await self.close()
            raise NO_READ_MODELS
        return conn

    async def close(self) -> None:
        """End the transaction and give the connection back (safe to call twice)."""
        conn, transaction = self._conn, self._transaction
        self._conn = self._transaction = None
        if conn is None:
            return
        try:
            if transaction is not None and not conn.is_closed():
                await transaction.rollback()
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
