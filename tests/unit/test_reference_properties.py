"""Properties of the reference model itself (SPEC.md 5.4): results depend only on the set of
events, and count columns match their drill-downs."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_contracts.envelope import DomainEvent
from tests.reference.compare import drill_down_invariants, model_answer, requests_for
from tests.reference.model import ReferenceModel
from tests.reference.ordering import shuffle_across_keys, with_duplicates
from tests.reference.strategies import histories, queries


@settings(max_examples=60, deadline=None)
@given(events=histories(), data=st.data(), seed=st.integers(0, 2**32))
def test_answers_ignore_cross_key_order_and_duplicates(
    events: list[DomainEvent], data: st.DataObject, seed: int
) -> None:
    rnd = random.Random(seed)
    query = data.draw(queries(tuple(sorted({e.platform_id for e in events}))))
    original = ReferenceModel(events)
    redelivered = ReferenceModel(with_duplicates(shuffle_across_keys(events, rnd), rnd))
    answers = {r: model_answer(original, query, r) for r in requests_for()}
    assert answers == {r: model_answer(redelivered, query, r) for r in answers}
    if query.q is None:
        drill_down_invariants(answers)
