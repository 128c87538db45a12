"""Rebuild without downtime on a real broker and a real PostgreSQL (SPEC.md §6): the query API
answers throughout, the live projector follows the promoted generation, and the rebuilt read
models equal those of one fresh projection of the same topics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from bench.synthetic import synthetic_stream
from certstats_projector import generations
from certstats_projector.app import Projector, project_until_caught_up
from certstats_projector.deferred_indexes import deferrable
from certstats_projector.rebuild import REBUILD_LOCK, RebuildBusy, RebuildProgress, rebuild
from certstats_projector.replay import LogBehindTarget
from certstats_query_api.app import create_app
from certstats_query_api.settings import ApiSettings
from tests.integration.kafka_support import (
    Message,
    expected_snapshot,
    projected,
    publish,
    settings_for,
    valid_events,
    wait_for_stored,
)
from tests.integration.test_api_harness import SECRET, token
from tests.integration.test_deferred_indexes import index_definitions

GENERATIONS_SQL = "SELECT schema_name, state FROM certstats_meta.generations ORDER BY generation"
PROMOTED_AT_SQL = "SELECT promoted_at FROM certstats_meta.generations WHERE state = 'current'"
SCHEMAS_SQL = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'certstats_g%' ORDER BY 1"
G1, G2 = "certstats_g1", "certstats_g2"


@contextlib.asynccontextmanager
async def query_api(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The query API app on ``database_url``, served in-process over ASGI."""
    settings = ApiSettings(database_url=database_url, jwt_secret=SECRET, pool_max_size=4)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


Answer = tuple[datetime, int, str | None]
"""When a response arrived, its status and its ``data_as_of``."""


async def poll(client: httpx.AsyncClient, answers: list[Answer]) -> None:
    """Ask for platform p0's certificate list until cancelled, recording every answer."""
    headers = {"Authorization": f"Bearer {token(platform_id='p0', roles=['platform_admin'])}"}
    while True:
        response = await client.get("/v1/path-certificates", headers=headers)
        as_of = response.json().get("data_as_of") if response.status_code == 200 else None
        answers.append((datetime.now(UTC), response.status_code, as_of))
        await asyncio.sleep(0.01)


async def publish_slowly(bootstrap: str, topic: str, messages: Sequence[Message]) -> None:
    """Publish ``messages`` in chunks of 100, pausing between chunks (live traffic)."""
    for start in range(0, len(messages), 100):
        await publish(bootstrap, topic, messages[start : start + 100])
        await asyncio.sleep(0.02)


async def fetch_one(database_url: str, sql: str) -> Any:
    """The single value ``sql`` answers (test-owned SQL)."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def generations_state(database_url: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(meta rows (schema, state), generation schemas present in the database)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = [(r["schema_name"], r["state"]) for r in await conn.fetch(GENERATIONS_SQL)]
        return rows, [r["nspname"] for r in await conn.fetch(SCHEMAS_SQL)]
    finally:
        await conn.close()


async def indexes_as_migrated(database_url: str, schema: str) -> bool:
    """Whether ``schema`` has the indexes (names and definitions) of a freshly migrated
    generation (one is created to compare with, as a building generation)."""
    conn = await asyncpg.connect(database_url)
    try:
        fresh = await generations.create_building_generation(conn)
        return await index_definitions(conn, schema) == await index_definitions(conn, fresh)
    finally:
        await conn.close()


async def deferred_in(database_url: str, schema: str) -> tuple[set[str], set[str]]:
    """(indexes recorded as deferred in ``schema``, the deferrable ones it lacks)."""
    conn = await asyncpg.connect(database_url)
    try:
        recorded = {
            r[0] for r in await conn.fetch(f"SELECT index_name FROM {schema}.deferred_indexes")
        }
        present = await index_definitions(conn, schema)
        return recorded, set(deferrable(summaries_deferred=True)) - set(present)
    finally:
        await conn.close()


@pytest.mark.parametrize("instances", [1, 2])
async def test_rebuild_during_live_traffic(
    database_url: str, kafka_bootstrap: str, topic: str, instances: int
) -> None:
    messages = list(synthetic_stream(8000, seed=31))
    await publish(kafka_bootstrap, topic, messages[:4000])
    settings = settings_for(database_url, kafka_bootstrap, topic, batch_max_records=200)
    answers: list[Answer] = []
    live = [Projector(settings) for _ in range(instances)]
    async with contextlib.AsyncExitStack() as running:
        for projector in live:
            await running.enter_async_context(projector.app)
        client = await running.enter_async_context(query_api(database_url))
        await wait_for_stored(database_url, 4000)
        polling = asyncio.create_task(poll(client, answers))
        traffic = asyncio.create_task(publish_slowly(kafka_bootstrap, topic, messages[4000:7000]))
        result = await rebuild(settings, batch_max_records=300, tail_max=300)
        await traffic
        await publish(kafka_bootstrap, topic, messages[7000:])  # after the promotion
        await wait_for_stored(database_url, len(messages))
        polling.cancel()
        assert [projector.applier.schema for projector in live] == [G2] * instances

    assert (result.retired, result.schema, result.resumed) == (G1, G2, False)
    assert await generations_state(database_url) == ([(G2, "current")], [G2])
    promoted_at = await fetch_one(database_url, PROMOTED_AT_SQL)
    assert {status for _, status, _ in answers} == {200}
    assert min(at for at, _, _ in answers) < promoted_at < max(at for at, _, _ in answers)
    watermarks = [datetime.fromisoformat(a) for _, _, a in answers if a is not None]
    assert watermarks == sorted(watermarks), "a response went back in time"
    tables, offsets = await projected(database_url)
    assert sum(offsets.values()) == len(messages)
    assert tables == await expected_snapshot(database_url, valid_events(messages))
    assert await indexes_as_migrated(database_url, G2)


async def test_cancelled_rebuild_keeps_current_and_resumes(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    messages = list(synthetic_stream(3000, seed=32))
    await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic)
    await project_until_caught_up(settings, timeout_s=120)
    before, _ = await projected(database_url)
    halfway = asyncio.Event()

    def cancel_halfway(progress: RebuildProgress) -> None:
        if progress.done >= 1000:
            halfway.set()

    first = asyncio.create_task(rebuild(settings, cancel_halfway, batch_max_records=100))
    await halfway.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    assert await generations_state(database_url) == ([(G1, "current"), (G2, "building")], [G1, G2])
    assert (await projected(database_url))[0] == before
    recorded, missing = await deferred_in(database_url, G2)
    assert recorded == missing  # every index it lacks is recorded (all, unless stopped after)
    seen: list[RebuildProgress] = []
    result = await rebuild(settings, seen.append, batch_max_records=100)
    assert result.resumed and result.schema == G2
    assert 1000 <= seen[0].resumed_from < len(messages)
    assert seen[-1].promoted and not any(p.promoted for p in seen[:-1])
    assert result.replayed == len(messages) - seen[0].resumed_from
    tables, offsets = await projected(database_url)
    assert sum(offsets.values()) == len(messages)
    assert tables == await expected_snapshot(database_url, valid_events(messages))
    assert await indexes_as_migrated(database_url, G2)


async def test_one_rebuild_at_a_time(database_url: str, kafka_bootstrap: str, topic: str) -> None:
    settings = settings_for(database_url, kafka_bootstrap, topic)
    holder = await asyncpg.connect(database_url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", REBUILD_LOCK)
        with pytest.raises(RebuildBusy):
            await rebuild(settings)
    finally:
        await holder.close()


async def test_rebuild_stops_when_the_topic_lost_records(
    database_url: str, kafka_bootstrap: str, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offsets stored beyond the log's end (records deleted by retention, or a broker that
    restarted empty): the replay can never reach them, so it says so instead of waiting."""
    monkeypatch.setattr("certstats_projector.replay.STALL_S", 0.5)
    await publish(kafka_bootstrap, topic, list(synthetic_stream(200, seed=7)))
    config = settings_for(database_url, kafka_bootstrap, topic)
    await project_until_caught_up(config)
    conn = await asyncpg.connect(database_url)
    try:  # as if the broker had lost the last records after the live projector consumed them
        await conn.execute(f"UPDATE {G1}.consumer_offsets SET next_offset = next_offset + 5")
    finally:
        await conn.close()

    with pytest.raises(LogBehindTarget, match="the topic lost records"):
        await asyncio.wait_for(rebuild(config, lambda _: None), timeout=60)
