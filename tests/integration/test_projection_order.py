"""Results depend only on the set of events (SPEC.md §5.4): not on arrival order across keys,
batch boundaries, nor duplicates. Random histories with small id pools and few distinct times
(so last-writer-wins ties happen) are applied in order into one generation and shuffled,
split and duplicated into another; every read-model table must end up identical.
"""

from __future__ import annotations

import random

import pytest

from certstats_projector import generations
from tests.integration.projection_histories import (
    batches_with_duplicates,
    history,
    shuffle_across_keys,
    snapshot,
)
from tests.integration.projection_support import Projection, projection


@pytest.mark.parametrize("seed", range(6))
async def test_shuffled_split_duplicated_history_gives_same_read_models(
    database_url: str, seed: int
) -> None:
    rng = random.Random(seed)
    events = history(rng, 160)
    async with projection(database_url) as proj:
        await proj.apply(events)
        shuffled = Projection(proj.conn, await generations.create_building_generation(proj.conn))
        for batch in batches_with_duplicates(rng, shuffle_across_keys(rng, events)):
            await shuffled.apply(batch)
        await shuffled.apply(events)
        assert await snapshot(proj, shuffled.schema) == await snapshot(proj, proj.schema)
