"""Deferred indexes of a building generation (docs/DECISIONS.md "Deferred indexes of a building
generation"): recorded and dropped, created again idempotently, and never promoted missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
import pytest

from certstats_projector import generations, promotion
from certstats_projector.deferred_indexes import (
    QUERY_ONLY_INDEXES,
    REFRESH_ONLY_INDEXES,
    create_deferred_indexes,
    defer_indexes,
    deferrable,
)
from certstats_projector.projection import apply_batch

INDEXES_SQL = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1"


@asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def index_definitions(conn: asyncpg.Connection, schema: str) -> dict[str, str]:
    """Index name -> definition, the schema name left out (generations compare equal)."""
    rows = await conn.fetch(INDEXES_SQL, schema)
    return {r["indexname"]: r["indexdef"].replace(f"{schema}.", "<schema>.") for r in rows}


async def test_deferred_indexes_are_dropped_recorded_and_created_again(database_url: str) -> None:
    async with connected(database_url) as conn:
        current = await generations.migrate(conn)
        building = await generations.create_building_generation(conn)
        migrated = await index_definitions(conn, current)
        names = deferrable(summaries_deferred=True)
        assert set(names) <= set(migrated)

        assert await defer_indexes(conn, building, names) == sorted(names)
        assert await defer_indexes(conn, building, names) == sorted(names)  # resumed: no-op
        # resumed in the other mode (the replay refreshes): the refresh's indexes come back
        assert await defer_indexes(conn, building, QUERY_ONLY_INDEXES) == sorted(QUERY_ONLY_INDEXES)
        assert set(REFRESH_ONLY_INDEXES) <= set(await index_definitions(conn, building))
        assert await defer_indexes(conn, building, names) == sorted(names)
        left = await index_definitions(conn, building)
        assert set(left) == set(migrated) - set(names)
        assert {name for name in left if name.endswith("_pkey")} == {
            name for name in migrated if name.endswith("_pkey")
        }
        with pytest.raises(promotion.PromotionFailed, match="deferred indexes"):
            async with conn.transaction():
                await promotion.make_current(conn, building)

        # the replay's statements work without them (catch-up mode)
        await apply_batch(conn, building, [], {("t", 0): 1}, defer_summaries=True)

        def connect() -> AbstractAsyncContextManager[asyncpg.Connection]:
            return connected(database_url)

        assert await create_deferred_indexes(connect, building, 3) == sorted(names)
        assert await create_deferred_indexes(connect, building, 3) == []
        assert await index_definitions(conn, building) == migrated
        async with conn.transaction():
            assert await promotion.make_current(conn, building) == current


async def test_only_query_only_indexes_are_deferred_when_the_replay_refreshes() -> None:
    assert deferrable(summaries_deferred=False) == QUERY_ONLY_INDEXES
    assert set(deferrable(summaries_deferred=True)) == {*QUERY_ONLY_INDEXES, *REFRESH_ONLY_INDEXES}
