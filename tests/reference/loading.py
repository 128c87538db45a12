"""Loading generated histories into a real read-model generation through ``apply_batch``."""

from __future__ import annotations

import random
from collections.abc import Sequence

import asyncpg

from certstats_contracts.envelope import DomainEvent
from certstats_projector.projection import apply_batch
from tests.reference.builders import as_consumed
from tests.reference.ordering import shuffle_across_keys, split_batches, with_duplicates

_TABLES_SQL = (
    "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'"
)


async def reset(conn: asyncpg.Connection, schema: str) -> None:
    """Empty every read-model and tracking table of ``schema`` (one hypothesis example each)."""
    tables = [r["tablename"] for r in await conn.fetch(_TABLES_SQL, schema)]
    await conn.execute(f"TRUNCATE {', '.join(f'{schema}.{t}' for t in tables)}")


async def deliver_messily(
    conn: asyncpg.Connection, schema: str, events: Sequence[DomainEvent], rnd: random.Random
) -> int:
    """Apply ``events`` shuffled across keys, with re-deliveries, in random batches, then
    re-apply one batch whole (a crash before the offset commit). Returns the batch count."""
    batches = split_batches(with_duplicates(shuffle_across_keys(events, rnd), rnd), rnd)
    for number, batch in enumerate(batches):
        await apply_batch(conn, schema, as_consumed(batch), {("properties", 0): number + 1})
    if batches:
        await apply_batch(conn, schema, as_consumed(rnd.choice(batches)), {("properties", 0): 1})
    return len(batches)
