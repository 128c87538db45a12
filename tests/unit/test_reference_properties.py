"""Properties of the reference model itself (SPEC.md 5.4): results depend only on the set of
events, and count columns match their drill-downs."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_contracts.envelope import DomainEvent
from tests.reference.builders import key_of
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


@settings(max_examples=40, deadline=None)
@given(events=histories(), seed=st.integers(0, 2**32))
def test_redelivery_keeps_each_key_in_order_and_only_adds_repeats(
    events: list[DomainEvent], seed: int
) -> None:
    rnd = random.Random(seed)
    delivered = with_duplicates(shuffle_across_keys(events, rnd), rnd)
    seen: set[tuple[str, str]] = set()
    first_seen = []
    for e in delivered:
        if (e.platform_id, e.id) not in seen:
            seen.add((e.platform_id, e.id))
            first_seen.append(e)
    assert sorted((e.platform_id, e.id) for e in first_seen) == sorted(
        (e.platform_id, e.id) for e in events
    )
    for key in {key_of(e) for e in events}:
        in_key = [e for e in events if key_of(e) == key]
        assert [e for e in first_seen if key_of(e) == key] == in_key
