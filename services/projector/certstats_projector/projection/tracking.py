"""Tracking tables written in the batch transaction: applied event ids, consumer offsets and
the watermark (SPEC.md §1 exactly-once effect, §5.6 freshness, §6 lag).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from certstats_contracts.decoded import Event

from .reduce import in_key_order
from .sql import execute_rows, parameters, texts

RECORD_NEW_SQL = f"""
INSERT INTO applied_events (platform_id, event_id)
SELECT * FROM unnest({texts(1)}, {texts(2)})
"""
"""Records ids expected to be new; fails on the primary key if one was applied before."""

RECORD_APPLIED_SQL = f"""
WITH batch AS (
    SELECT * FROM unnest({texts(1)}, {texts(2)})
                  WITH ORDINALITY AS b(platform_id, event_id, n)
), recorded AS (
    INSERT INTO applied_events (platform_id, event_id)
    SELECT platform_id, event_id FROM batch
    ON CONFLICT DO NOTHING
    RETURNING platform_id, event_id
)
SELECT coalesce(array_agg(b.n::integer), '{{}}') FROM batch b
WHERE NOT EXISTS (
    SELECT FROM recorded r WHERE r.platform_id = b.platform_id AND r.event_id = b.event_id
)
"""
"""Records the ids; returns the 1-based positions of those applied before (one int array,
usually empty, so a batch of new events costs no per-row result decoding)."""

ADVANCE_OFFSETS_SQL = f"""
INSERT INTO consumer_offsets AS o (topic, partition, next_offset, high_watermark)
SELECT * FROM unnest({texts(1)}, $2::integer[], $3::bigint[], $4::bigint[])
ON CONFLICT (topic, partition) DO UPDATE
SET next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset),
    high_watermark = GREATEST(o.high_watermark, EXCLUDED.high_watermark), updated_at = now()
"""
"""Next offsets and high watermarks never move back (``GREATEST`` ignores a NULL one)."""

ADVANCE_WATERMARKS_SQL = f"""
INSERT INTO watermarks AS w (platform_id, data_as_of, applied_events)
SELECT * FROM unnest({texts(1)}, $2::timestamptz[], $3::bigint[])
ON CONFLICT (platform_id) DO UPDATE
SET data_as_of = GREATEST(w.data_as_of, EXCLUDED.data_as_of),
    applied_events = w.applied_events + EXCLUDED.applied_events
"""

STORED_OFFSETS_SQL = """
SELECT topic, partition, next_offset FROM consumer_offsets WHERE topic = any($1::text[])
"""

STORED_LAG_SQL = """
SELECT coalesce(sum(greatest(o.high_watermark - o.next_offset, 0)), 0)::bigint
FROM unnest($1::text[], $2::integer[]) AS x (topic, partition)
JOIN consumer_offsets o ON o.topic = x.topic AND o.partition = x.partition
"""
"""Messages left over the partitions ``$1``/``$2`` (topics, partitions), by the high
watermarks stored with their offsets (none stored, or NULL: none left)."""


async def keep_new(conn: asyncpg.Connection, events: Sequence[Event]) -> list[Event]:
    """Record the batch's event ids and return the events never applied before, in order.

    The same ``(platform_id, id)`` seen earlier (in a past batch or earlier in this one) is
    the same event and is dropped (SPEC.md §3).
    """
    first: dict[tuple[str, str], Event] = {}
    for event in events:
        first.setdefault((event.platform_id, event.id), event)
    keys = in_key_order(first)
    columns = [k[0] for k in keys], [k[1] for k in keys]
    if not await _record_all_new(conn, columns):
        arguments = parameters(RECORD_APPLIED_SQL, columns)
        for position in await conn.fetchval(RECORD_APPLIED_SQL, *arguments):
            del first[keys[position - 1]]
    return list(first.values())


async def _record_all_new(conn: asyncpg.Connection, columns: tuple[list[str], list[str]]) -> bool:
    """Fast path: a plain insert of every id, in a savepoint. False, with nothing recorded,
    when some id was applied before (a plain insert skips the cost of speculative insertion,
    about a sixth of PostgreSQL's work per event on the benchmark mix)."""
    try:
        async with conn.transaction():
            await conn.execute(RECORD_NEW_SQL, *parameters(RECORD_NEW_SQL, columns))
    except asyncpg.UniqueViolationError:
        return False
    return True


async def advance_offsets(
    conn: asyncpg.Connection,
    next_offsets: Mapping[tuple[str, int], int],
    high_watermarks: Mapping[tuple[str, int], int],
) -> None:
    """Store the next offset to read per (topic, partition), with its high watermark when
    ``high_watermarks`` has it; neither moves back."""
    rows = [
        (topic, partition, offset, high_watermarks.get((topic, partition)))
        for (topic, partition), offset in sorted(next_offsets.items())
    ]
    await execute_rows(conn, ADVANCE_OFFSETS_SQL, rows)


async def advance_watermarks(conn: asyncpg.Connection, applied: Sequence[Event]) -> None:
    """Per platform: newest event time seen (never moves back) and applied-event count."""
    times: dict[str, list[datetime]] = {}
    for event in applied:
        times.setdefault(event.platform_id, []).append(event.time)
    rows = [(platform, max(times[platform]), len(times[platform])) for platform in sorted(times)]
    await execute_rows(conn, ADVANCE_WATERMARKS_SQL, rows)


async def read_stored_lag(conn: asyncpg.Connection, partitions: Sequence[tuple[str, int]]) -> int:
    """Messages left over ``partitions`` ((topic, partition); search_path already set to the
    generation), by the high watermarks stored with their offsets."""
    lag: int = await conn.fetchval(
        STORED_LAG_SQL, [t for t, _ in partitions], [p for _, p in partitions]
    )
    return lag


async def read_offsets(
    conn: asyncpg.Connection, topics: Sequence[str]
) -> dict[tuple[str, int], int]:
    """Stored next offsets of ``topics`` (search_path already set to the generation)."""
    rows = await conn.fetch(STORED_OFFSETS_SQL, list(topics))
    return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
