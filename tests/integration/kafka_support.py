"""Helpers for the projector's Kafka tests: publish real messages, read a DLQ, snapshot the
read models, and build the expected read models by applying the same events directly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from certstats_contracts.envelope import DomainEvent, MalformedEvent, UnknownEventType, parse_event
from certstats_projector import generations
from certstats_projector.projection import apply_batch, deferred_platforms
from certstats_projector.projection.summary_sql import SUMMED_COUNTERS_SQL
from certstats_projector.settings import ProjectorSettings
from tests.reference.builders import as_consumed

READ_MODEL_TABLES = (
    "users",
    "group_memberships",
    "groups",
    "group_roles",
    "certificates",
    "paths",
    "path_sessions",
    "enrollments",
    "certificate_grants",
    "applied_events",
    "watermarks",
    "certificate_learners",
    "summary_deferred",
)
Message = tuple[bytes | None, bytes]


def settings_for(database_url: str, bootstrap: str, topic: str, **extra: Any) -> ProjectorSettings:
    """Projector settings for one test: its own topic and group, no HTTP server by default."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap,
        "topics": [topic],
        "consumer_group": f"g-{topic}",
        "http_port": None,
        "retry_initial_s": 0.05,
        "lag_refresh_s": 0.2,
    }
    return ProjectorSettings(**(values | extra))


async def publish(bootstrap: str, topic: str, messages: Iterable[Message]) -> dict[int, int]:
    """Publish ``messages`` (key, value) in order; returns partition -> next offset (end)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        ends: dict[int, int] = {}
        for meta in await asyncio.gather(*futures):
            ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
        return ends
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord[Any, Any]]:
    """The first ``count`` records of ``topic`` (all partitions), waiting up to 20 s."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    try:
        async with asyncio.timeout(20):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
        return records
    finally:
        await consumer.stop()


def valid_events(messages: Iterable[Message]) -> list[DomainEvent]:
    """The events the projector must apply: every message that parses, in order."""
    events = []
    for _, value in messages:
        try:
            events.append(parse_event(value))
        except (MalformedEvent, UnknownEventType):
            continue
    return events


async def snapshot(conn: asyncpg.Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read-model table of ``schema`` and the summed summary counters,
    sorted (test-owned table names)."""
    queries = {table: f"SELECT * FROM {schema}.{table}" for table in READ_MODEL_TABLES}
    queries.update({t: sql.format(schema=schema) for t, sql in SUMMED_COUNTERS_SQL.items()})
    result = {}
    for table, sql in queries.items():
        result[table] = sorted(tuple(row.values()) for row in await conn.fetch(sql))
    return result


async def expected_snapshot(
    database_url: str, events: Sequence[DomainEvent]
) -> dict[str, list[tuple[Any, ...]]]:
    """Read models of one uninterrupted in-order application of ``events`` (a fresh
    generation schema in the same database, applied directly, in one batch)."""
    conn = await asyncpg.connect(database_url)
    try:
        await generations.migrate(conn)
        schema = await generations.create_building_generation(conn)
        await apply_batch(conn, schema, as_consumed(events), {})
        return await snapshot(conn, schema)
    finally:
        await conn.close()


@asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A connection to ``database_url`` and the name of its current generation schema."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn, await generations.current_schema(conn)
    finally:
        await conn.close()


async def projected(database_url: str) -> tuple[dict[str, list[tuple[Any, ...]]], dict[int, int]]:
    """Snapshot of the current generation and its stored offsets (partition -> next offset)."""
    async with connected(database_url) as (conn, schema):
        rows = await conn.fetch(f"SELECT partition, next_offset FROM {schema}.consumer_offsets")
        return await snapshot(conn, schema), {r["partition"]: r["next_offset"] for r in rows}


async def wait_for_stored(database_url: str, at_least: int, timeout_s: float = 60) -> int:
    """Poll until the current generation's stored offsets sum to ``at_least``; returns the sum.

    Raises:
        TimeoutError: not reached within ``timeout_s`` seconds.
    """
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                total = await _stored_total(conn)
                if total >= at_least:
                    return total
                await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def wait_for_summaries(database_url: str, timeout_s: float = 60) -> None:
    """Poll until the current generation lists no deferred summaries (catch-up done).

    Raises:
        TimeoutError: still listed after ``timeout_s`` seconds.
    """
    async with connected(database_url) as (conn, schema), asyncio.timeout(timeout_s):
        while True:
            if not await deferred_platforms(conn, schema):
                return
            await asyncio.sleep(0.05)


async def _stored_total(conn: asyncpg.Connection) -> int:
    try:
        schema = await generations.current_schema(conn)
        total = await conn.fetchval(
            f"SELECT coalesce(sum(next_offset), 0) FROM {schema}.consumer_offsets"
        )
    except (generations.NoCurrentGeneration, asyncpg.UndefinedTableError):
        return 0
    return int(total)
