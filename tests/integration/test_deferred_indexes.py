"""Deferred indexes of a building generation (docs/DECISIONS.md "Deferred indexes of a building
generation"): recorded and dropped, created again idempotently, and never promoted missing.
The live projector's catch-up of every platform defers the summary indexes the same way
(docs/DECISIONS.md "Deferred summaries")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import cast

import asyncpg
import pytest
from prometheus_client import CollectorRegistry, Counter

from bench.projection_apply_batch import parsed_events
from certstats_projector import generations, promotion
from certstats_projector.deferral import (
    CATCH_UP_LOCK_CLASS,
    SUMMARY_INDEXES,
    SummaryDeferral,
    catch_up,
)
from certstats_projector.deferred_indexes import (
    QUERY_ONLY_INDEXES,
    REFRESH_ONLY_INDEXES,
    create_deferred_indexes,
    defer_indexes,
    deferrable,
    deferred_count,
)
from certstats_projector.projection import apply_batch, deferred_platforms
from certstats_projector.retrying import Retrier
from tests.integration.projection_support import at, event
from tests.integration.summary_support import assert_summaries_exact

INDEXES_SQL = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1"


@asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


def connector(database_url: str) -> Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]:
    """A ``connect()`` factory of fresh connections to ``database_url``."""
    return lambda: connected(database_url)


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
        connect = connector(database_url)

        assert await create_deferred_indexes(connect, building, 3) == sorted(names)
        assert await create_deferred_indexes(connect, building, 3) == []
        assert await index_definitions(conn, building) == migrated
        async with conn.transaction():
            assert await promotion.make_current(conn, building) == current


async def test_only_query_only_indexes_are_deferred_when_the_replay_refreshes() -> None:
    assert deferrable(summaries_deferred=False) == QUERY_ONLY_INDEXES
    assert set(deferrable(summaries_deferred=True)) == {*QUERY_ONLY_INDEXES, *REFRESH_ONLY_INDEXES}


OIDS_SQL = """
SELECT c.relname, c.oid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relnamespace = $1::regnamespace
  AND i.indrelid = format('%I.certificate_learners', $1::text)::regclass
"""


async def _summary_index_oids(conn: asyncpg.Connection, schema: str) -> dict[str, int]:
    return {r["relname"]: r["oid"] for r in await conn.fetch(OIDS_SQL, schema)}


async def _deferred_history(conn: asyncpg.Connection, schema: str, count: int) -> None:
    events = parsed_events(count)
    for start in range(0, len(events), 500):
        batch = events[start : start + 500]
        await apply_batch(conn, schema, batch, {("t", 0): start + 500}, defer_summaries=True)


async def test_a_catch_up_of_every_platform_creates_the_summary_indexes_after_its_rebuild(
    database_url: str,
) -> None:
    """Every platform listed: the summary indexes are dropped before the rebuild and created
    after it (new relations, same definitions); the summaries are exact."""
    async with connected(database_url) as conn:
        schema = await generations.migrate(conn)
        await _deferred_history(conn, schema, 3_000)
        assert len(await deferred_platforms(conn, schema)) > 1
        definitions, before = (
            await index_definitions(conn, schema),
            await _summary_index_oids(conn, schema),
        )
        assert await catch_up(connector(database_url), schema, bulk_indexes=True)
        after = await _summary_index_oids(conn, schema)
        assert await index_definitions(conn, schema) == definitions
        assert await deferred_count(conn, schema) == 0
        assert {name for name in before if before[name] != after[name]} == set(SUMMARY_INDEXES)
        await assert_summaries_exact(conn, schema)


async def test_a_catch_up_keeps_the_summary_indexes_while_a_platform_is_not_listed(
    database_url: str,
) -> None:
    """A platform not listed reads its summaries through the indexes during the catch-up."""
    async with connected(database_url) as conn:
        schema = await generations.migrate(conn)
        await _deferred_history(conn, schema, 1_000)
        alone = event(
            "user.registered",
            1,
            platform="elsewhere",
            user_id="u-alone",
            first_name="Ada",
            last_name="Lovelace",
            email="ada@learners.example",
            registered_at=at(0),
            group_ids=[],
        )
        await apply_batch(conn, schema, [alone], {})  # refreshed: its platform is not listed
        before = await _summary_index_oids(conn, schema)
        assert await catch_up(connector(database_url), schema, bulk_indexes=True)
        assert await _summary_index_oids(conn, schema) == before
        await assert_summaries_exact(conn, schema)


def _deferral(database_url: str, schema: str, *, bulk_indexes: bool) -> SummaryDeferral:
    """A projector instance's summary deferral of generation ``schema`` (no threshold)."""
    failures = Counter("failures", "-", ["kind"], registry=CollectorRegistry())
    retry = Retrier((0.01, 0.01), failures)
    connect = connector(database_url)
    return SummaryDeferral(
        connect, lambda: schema, lambda: 0, None, retry, bulk_indexes=bulk_indexes
    )


async def test_the_live_projector_creates_summary_indexes_a_stopped_catch_up_left_dropped(
    database_url: str,
) -> None:
    async with connected(database_url) as conn:
        schema = await generations.migrate(conn)
        definitions = await index_definitions(conn, schema)
        await defer_indexes(conn, schema, SUMMARY_INDEXES)  # stopped before creating them
        await _deferral(database_url, schema, bulk_indexes=False).check()
        assert await deferred_count(conn, schema) == len(SUMMARY_INDEXES)  # not its business
        await _deferral(database_url, schema, bulk_indexes=True).check()
        assert await index_definitions(conn, schema) == definitions


async def test_two_instances_catching_up_at_once_catch_up_one_after_the_other(
    database_url: str,
) -> None:
    """Both instances of a group may find the catch-up due at once (same group lag): one
    rebuilds every platform, the other waits for it and finds nothing listed (concurrently,
    both analyzed, their rebuilds split the platforms, and one read the definition of an index
    the other was dropping: "cache lookup failed", 8 of 30 rounds)."""
    async with connected(database_url) as conn:
        schema = await generations.migrate(conn)
        await _deferred_history(conn, schema, 1_000)
        definitions = await index_definitions(conn, schema)
        for _ in range(12):
            await conn.execute(
                f'INSERT INTO "{schema}".summary_deferred (platform_id) '
                f'SELECT platform_id FROM "{schema}".watermarks ON CONFLICT DO NOTHING'
            )
            both = [catch_up(connector(database_url), schema, bulk_indexes=True) for _ in "ab"]
            assert sorted(map(len, await asyncio.gather(*both))) == [0, 3]
            assert await index_definitions(conn, schema) == definitions
        await assert_summaries_exact(conn, schema)


WAITING_SQL = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event = 'advisory' AND query LIKE '%advisory_lock%'
"""


async def _until_waiting(conn: asyncpg.Connection) -> None:
    """Until a session of the database waits for an advisory lock (at most 10 s)."""
    for _ in range(200):
        if await conn.fetchval(WAITING_SQL):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no catch-up waits for the lock")


async def test_a_catch_up_waits_for_the_one_in_flight_before_reading_anything(
    database_url: str,
) -> None:
    async with connected(database_url) as conn, connected(database_url) as in_flight:
        schema = await generations.migrate(conn)
        await _deferred_history(conn, schema, 1_000)
        lock = "SELECT pg_advisory_{}($1, hashtext($2))"
        await in_flight.execute(lock.format("lock"), CATCH_UP_LOCK_CLASS, schema)
        waiting = asyncio.create_task(catch_up(connector(database_url), schema))
        await _until_waiting(conn)
        assert not waiting.done()
        await in_flight.execute(lock.format("unlock"), CATCH_UP_LOCK_CLASS, schema)
        assert len(await waiting) == 3
        await assert_summaries_exact(conn, schema)


async def test_a_catch_up_stopped_while_waiting_leaves_nothing_locked(database_url: str) -> None:
    """A projector stopping (its catch-up task cancelled) while another instance catches up."""
    async with connected(database_url) as conn, connected(database_url) as in_flight:
        schema = await generations.migrate(conn)
        lock = "SELECT pg_advisory_{}($1, hashtext($2))"
        await in_flight.execute(lock.format("lock"), CATCH_UP_LOCK_CLASS, schema)
        waiting = asyncio.create_task(catch_up(connector(database_url), schema))
        await _until_waiting(conn)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await in_flight.execute(lock.format("unlock"), CATCH_UP_LOCK_CLASS, schema)
        try_lock = "SELECT pg_try_advisory_lock($1, hashtext($2))"
        assert await conn.fetchval(try_lock, CATCH_UP_LOCK_CLASS, schema)


class _PausedBeforeDrop:
    """A connection that stops before its first ``DROP INDEX`` until ``resume`` is set."""

    def __init__(self) -> None:
        self.conn: asyncpg.Connection | None = None
        self.reached, self.resume = asyncio.Event(), asyncio.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.conn, name)

    async def execute(self, query: str, *args: object) -> str:
        assert self.conn is not None
        if query.startswith("DROP INDEX") and not self.reached.is_set():
            self.reached.set()
            await self.resume.wait()
        result: str = await self.conn.execute(query, *args)
        return result


async def test_an_instance_starting_during_a_catch_up_leaves_its_index_drop_alone(
    database_url: str,
) -> None:
    """A stopped catch-up left the summary indexes dropped; another instance's catch-up has read
    their records and is about to drop them again when a third one starts (a rolling
    restart). Unordered, the start created them in between and the catch-up then dropped them
    for good, forgotten (found by trying to break the catch-up lock)."""
    async with connected(database_url) as conn:
        schema = await generations.migrate(conn)
        await _deferred_history(conn, schema, 1_000)
        definitions = await index_definitions(conn, schema)
        await defer_indexes(conn, schema, SUMMARY_INDEXES)
        paused = _PausedBeforeDrop()

        @asynccontextmanager
        async def first_paused() -> AsyncIterator[asyncpg.Connection]:
            async with connected(database_url) as c:
                if paused.conn is not None:
                    yield c
                else:
                    paused.conn = c
                    yield cast(asyncpg.Connection, paused)

        catching_up = asyncio.create_task(catch_up(first_paused, schema, bulk_indexes=True))
        await paused.reached.wait()
        await _deferral(database_url, schema, bulk_indexes=True).check()  # another one starts
        paused.resume.set()
        assert await catching_up
        assert await index_definitions(conn, schema) == definitions
        assert await deferred_count(conn, schema) == 0
