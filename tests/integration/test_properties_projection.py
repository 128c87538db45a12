"""Property: whatever the delivery (shuffled across keys, duplicated, cut into random batches,
one batch re-applied), the projected read models answer like the reference model fed the
history once, in order (SPEC.md 1, 3, 5.4). Real PostgreSQL through ``apply_batch``; answers
read through the query API."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_contracts.envelope import DomainEvent
from tests.integration.test_api_harness import SECRET, Api, api  # noqa: F401 (fixture)
from tests.reference.api import ApiAsker
from tests.reference.compare import compare_all, requests_for
from tests.reference.loading import deliver_messily, reset
from tests.reference.model import ReferenceModel
from tests.reference.strategies import INTEGRATION_SETTINGS, histories, queries


@settings(INTEGRATION_SETTINGS, max_examples=25)
@given(events=histories(), data=st.data(), seed=st.integers(0, 2**32 - 1))
async def test_messy_delivery_projects_like_the_reference_model(
    api: Api,  # noqa: F811
    events: list[DomainEvent],
    data: st.DataObject,
    seed: int,
) -> None:
    await reset(api.conn, api.schema)
    await deliver_messily(api.conn, api.schema, events, random.Random(seed))
    model, asker = ReferenceModel(events), ApiAsker(api.client, SECRET)
    for platform in sorted({e.platform_id for e in events}):
        query = data.draw(queries((platform,)))
        everything = replace(query, platform_admin=True, user_status="all", q=None)
        await compare_all(model, asker, everything, requests_for())
        await compare_all(model, asker, query, requests_for())
