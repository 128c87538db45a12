"""Pure reduction rules of the projection (SPEC.md §3 last writer wins, ties: later consumed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certstats_contracts.decoded import GroupDeleted, UserState
from certstats_projector.projection.reduce import (
    EventsByType,
    by_time,
    entity_key,
    final_rows,
    in_key_order,
    latest,
    payload,
)
from tests.integration.projection_support import at, event, user_state

BY_USER = entity_key("user_id")


def test_latest_keeps_greatest_time_per_entity_sorted_by_key() -> None:
    events = [user_state("u2", 1), user_state("u1", 5), user_state("u1", 3), user_state("u2", 2)]
    winners = latest(events, BY_USER, by_time)
    assert [(BY_USER(e), e.time) for e in winners] == [
        (("acme", "u1"), at(5)),
        (("acme", "u2"), at(2)),
    ]


def test_latest_tie_goes_to_the_later_event() -> None:
    first, second = user_state("u1", 4, first_name="A"), user_state("u1", 4, first_name="B")
    assert latest([first, second], BY_USER, by_time) == [second]
    assert latest([second, first], BY_USER, by_time) == [first]


def test_keys_separate_platforms() -> None:
    events = [user_state("u1", 1, platform="b"), user_state("u1", 1, platform="a")]
    assert [BY_USER(e) for e in latest(events, BY_USER, by_time)] == [("a", "u1"), ("b", "u1")]


def test_entity_key_with_several_fields() -> None:
    role = event("group.role_granted", 1, group_id="g", user_id="u", role="coach")
    assert entity_key("group_id", "user_id", "role")(role) == ("acme", "g", "u", "coach")


def test_final_rows_one_per_entity_first_extras_win() -> None:
    events = [
        event("enrollment.deleted", 2, enrollment_id="e2", user_id="u9", deleted_at=at(2)),
        event("enrollment.deleted", 1, enrollment_id="e1", user_id="u1", deleted_at=at(1)),
        event("enrollment.deleted", 3, enrollment_id="e2", user_id="u8", deleted_at=at(3)),
    ]
    assert final_rows(events, "enrollment_id", "user_id") == [
        ("acme", "e1", "u1"),
        ("acme", "e2", "u9"),
    ]


def test_events_by_type_merges_types_back_in_consumption_order() -> None:
    a = user_state("u1", 1)
    b = event("user.deleted", 2, user_id="u1", deleted_at=at(2))
    c = user_state("u1", 3, kind="user.updated")
    d = user_state("u2", 1)
    batch = EventsByType([a, b, c, d])
    assert batch.of("user.updated", "user.registered") == [a, c, d]
    assert batch.of("path.deleted") == []
    assert batch.counts() == {"user.registered": 2, "user.deleted": 1, "user.updated": 1}


def test_payload_checks_the_model() -> None:
    state = user_state("u1", 1)
    assert payload(state, UserState).user_id == "u1"
    with pytest.raises(TypeError):
        payload(state, GroupDeleted)


_KEY_TEXT = st.text(alphabet=st.sampled_from(["a", "b", "é", "0", "-", "\U0001f600"]), max_size=3)


@given(st.integers(1, 3).flatmap(lambda width: st.sets(st.tuples(*[_KEY_TEXT] * width))))
def test_in_key_order_is_sorted_order(keys: set[tuple[str, ...]]) -> None:
    assert in_key_order(keys) == sorted(keys)
