"""Several projector instances (SPEC.md §6): two connections apply the same stream at once,
each in its own batch split (as around a rebalance, when both consume the same partitions).
No deadlock, each event applied once, and the read models equal a single sequential run.
"""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from certstats_contracts.decoded import Event
from certstats_projector import generations
from certstats_projector.projection import AppliedBatch, apply_batch
from tests.integration.projection_histories import history, snapshot
from tests.integration.projection_support import Projection, projection


async def instance(
    database_url: str, schema: str, events: list[Event], rng: random.Random
) -> list[AppliedBatch]:
    """One projector instance: the whole stream, in random batch sizes, in order."""
    conn = await asyncpg.connect(database_url)
    try:
        results, i = [], 0
        while i < len(events):
            size = rng.randrange(5, 60)
            offsets = {("t", 0): i + size}
            results.append(await apply_batch(conn, schema, events[i : i + size], offsets))
            i += size
        return results
    finally:
        await conn.close()


@pytest.mark.parametrize("seed", range(3))
async def test_two_instances_on_one_stream_equal_one_run(database_url: str, seed: int) -> None:
    rng = random.Random(seed)
    events = history(rng, 400)
    async with projection(database_url) as proj:
        runs = await asyncio.gather(
            instance(database_url, proj.schema, events, random.Random(rng.random())),
            instance(database_url, proj.schema, events, random.Random(rng.random())),
        )
        applied = sum(batch.applied_total for run in runs for batch in run)
        assert applied == len({(e.platform_id, e.id) for e in events})
        sequential = Projection(proj.conn, await generations.create_building_generation(proj.conn))
        await sequential.apply(events)
        assert await snapshot(proj, proj.schema) == await snapshot(proj, sequential.schema)
