"""Property: the query API equals the reference model for random histories, requesters,
filters and page sizes, its CSV twins hold the JSON rows, and count columns equal their
drill-downs (SPEC.md 4, 5, 5.4). Real PostgreSQL, the real app over ASGI."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_contracts.envelope import DomainEvent
from certstats_projector.projection import apply_batch
from tests.integration.test_api_harness import SECRET, Api, api  # noqa: F401 (fixture)
from tests.reference.api import ApiAsker
from tests.reference.builders import as_consumed
from tests.reference.compare import (
    compare_all,
    drill_down_invariants,
    history_newest_first,
    requests_for,
)
from tests.reference.loading import reset
from tests.reference.model import ReferenceModel
from tests.reference.strategies import INTEGRATION_SETTINGS, histories, queries


@settings(INTEGRATION_SETTINGS, max_examples=40)
@given(events=histories(), data=st.data())
async def test_api_answers_like_the_reference_model(
    api: Api,  # noqa: F811
    events: list[DomainEvent],
    data: st.DataObject,
) -> None:
    await reset(api.conn, api.schema)
    await apply_batch(api.conn, api.schema, as_consumed(events), {})
    model = ReferenceModel(events)
    asker = ApiAsker(api.client, SECRET, page_size=data.draw(st.sampled_from((1000, 2))))
    platforms = tuple(sorted({e.platform_id for e in events}))
    for _ in range(3):
        query = data.draw(queries(platforms))
        asker.served.clear()
        answers = await compare_all(model, asker, query, requests_for())
        for (name, _), rows in asker.served.items():
            if name == "history":
                history_newest_first(model, query, rows)
        if query.q is None:
            drill_down_invariants(answers)
