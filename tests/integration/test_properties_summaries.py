"""Property: whatever the delivery (shuffled across keys, duplicated, cut into random batches
under random counter slots, one batch re-applied), the maintained summary read models equal
their recomputation from scratch, and their pairs are the query API's links at the end of
time (SPEC.md §3, §5; docs/DECISIONS.md "Summary read models"). Histories hold every catalog
change: sessions archived, unarchived, deleted; paths moved to another certificate or deleted;
certificates deleted or created after their grants; users deleted, reactivated, renamed."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_contracts.envelope import DomainEvent
from certstats_projector.projection import apply_batch, catch_up_summaries, deferred_platforms
from tests.integration.projection_support import Projection, projection
from tests.integration.summary_support import api_links, assert_summaries_exact, summary_links
from tests.reference.builders import as_consumed
from tests.reference.loading import reset
from tests.reference.ordering import shuffle_across_keys, split_batches, with_duplicates
from tests.reference.strategies import INTEGRATION_SETTINGS, histories


@pytest.fixture
async def proj(database_url: str) -> AsyncIterator[Projection]:
    async with projection(database_url) as p:
        yield p


@settings(INTEGRATION_SETTINGS, max_examples=40)
@given(events=histories(), seed=st.integers(0, 2**32 - 1))
async def test_maintained_summaries_equal_a_recomputation(
    proj: Projection, events: list[DomainEvent], seed: int
) -> None:
    await reset(proj.conn, proj.schema)
    rnd = random.Random(seed)
    batches = split_batches(with_duplicates(shuffle_across_keys(events, rnd), rnd), rnd)
    for number, batch in enumerate([*batches, rnd.choice(batches)]):
        offsets = {("properties", 0): number + 1}
        await apply_batch(
            proj.conn, proj.schema, as_consumed(batch), offsets, slot=rnd.randrange(3)
        )
    truth = await assert_summaries_exact(proj.conn, proj.schema)
    for platform in sorted({e.platform_id for e in events}):
        assert summary_links(truth, platform) == await api_links(proj.conn, proj.schema, platform)


@settings(INTEGRATION_SETTINGS, max_examples=30)
@given(events=histories(), seed=st.integers(0, 2**32 - 1))
async def test_deferred_summaries_caught_up_equal_a_recomputation(
    proj: Projection, events: list[DomainEvent], seed: int
) -> None:
    """Catch-up mode (docs/DECISIONS.md "Deferred summaries"): batches that defer the refresh
    mixed with batches that refresh (skipping deferred platforms) and catch-ups at random
    points, then a last catch-up, leave the summaries exact and nothing deferred."""
    await reset(proj.conn, proj.schema)
    rnd = random.Random(seed)
    batches = split_batches(with_duplicates(shuffle_across_keys(events, rnd), rnd), rnd)
    for number, batch in enumerate(batches):
        offsets = {("properties", 0): number + 1}
        defer = rnd.random() < 0.5
        await apply_batch(
            proj.conn,
            proj.schema,
            as_consumed(batch),
            offsets,
            slot=rnd.randrange(3),
            defer_summaries=defer,
        )
        if rnd.random() < 0.2:
            await catch_up_summaries(proj.conn, proj.schema)
    listed = await deferred_platforms(proj.conn, proj.schema)
    assert await catch_up_summaries(proj.conn, proj.schema) == listed
    assert await deferred_platforms(proj.conn, proj.schema) == []
    truth = await assert_summaries_exact(proj.conn, proj.schema)
    for platform in sorted({e.platform_id for e in events}):
        assert summary_links(truth, platform) == await api_links(proj.conn, proj.schema, platform)
