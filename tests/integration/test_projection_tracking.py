"""Dedup, offsets, watermark and atomicity of ``apply_batch`` (SPEC.md §1, §3, §5.6, §6)."""

from __future__ import annotations

from functools import partial

import pytest

from certstats_contracts.decoded import EVENTS, GroupDeleted
from certstats_projector import generations
from certstats_projector.projection import (
    InvalidSchemaName,
    apply_batch,
    stored_lag,
    stored_offsets,
)
from tests.integration.projection_support import (
    PLATFORM,
    Projection,
    at,
    event,
    grant,
    user_state,
)


async def test_same_batch_twice_applies_once(proj: Projection) -> None:
    batch = [user_state("u1", 1), grant("gr1", 2), event("group.deleted", 3, group_id="g1")]
    first = await proj.apply(batch, {("t", 0): 3})
    assert (first.applied_total, first.duplicates) == (3, 0)
    assert first.applied == {"user.registered": 1, "certificate.granted": 1, "group.deleted": 1}
    again = await proj.apply(batch, {("t", 0): 3})
    assert (again.applied_total, again.duplicates, dict(again.applied)) == (0, 3, {})
    assert len(await proj.rows("applied_events")) == 3
    marks = await proj.rows("watermarks")
    assert [(w["data_as_of"], w["applied_events"]) for w in marks] == [(at(3), 3)]


async def test_duplicate_id_inside_batch_keeps_first_occurrence(proj: Projection) -> None:
    first = user_state("u1", 1, first_name="First")
    copy = EVENTS["user.updated"](id=first.id, time=at(9), platform_id=PLATFORM, data=first.data)
    renamed = user_state("u1", 9, kind="user.updated", first_name="Renamed", event_id=first.id)
    result = await proj.apply([first, copy, renamed])
    assert (result.applied_total, result.duplicates) == (1, 2)
    user = await proj.row("users", user_id="u1")
    assert user is not None and user["first_name"] == "First"


async def test_duplicate_across_batches_is_skipped_even_if_it_would_win(proj: Projection) -> None:
    older = user_state("u1", 1, first_name="One")
    await proj.apply([older, user_state("u1", 2, kind="user.updated", first_name="Two")])
    result = await proj.apply([older])
    assert result.duplicates == 1
    user = await proj.row("users", user_id="u1")
    assert user is not None and user["first_name"] == "Two"


async def test_same_event_id_on_another_platform_is_another_event(proj: Projection) -> None:
    mine = user_state("u1", 1, event_id="same")
    theirs = user_state("u1", 1, event_id="same", platform="other")
    result = await proj.apply([mine, theirs])
    assert (result.applied_total, result.duplicates) == (2, 0)
    marks = await proj.rows("watermarks")
    assert [(w["platform_id"], w["applied_events"]) for w in marks] == [
        ("acme", 1),
        ("other", 1),
    ]


async def test_offsets_never_move_backwards_and_are_stored_without_events(
    proj: Projection,
) -> None:
    await proj.apply([user_state("u1", 1)], {("a", 0): 10, ("a", 1): 5, ("b", 0): 7})
    await proj.apply([], {("a", 0): 4, ("a", 1): 6, ("a", 2): 1})
    offsets = await stored_offsets(proj.conn, proj.schema, ["a"])
    assert offsets == {("a", 0): 10, ("a", 1): 6, ("a", 2): 1}
    assert await stored_offsets(proj.conn, proj.schema, ["b", "c"]) == {("b", 0): 7}


async def test_stored_lag_reads_the_high_watermarks_stored_with_the_offsets(
    proj: Projection,
) -> None:
    """How far other instances are behind (docs/DECISIONS.md "Deferred summaries"): per
    partition, the high watermark its last batch stored minus its next offset; a watermark
    never moves back, an unknown one counts as nothing left."""
    await apply_batch(
        proj.conn,
        proj.schema,
        [],
        {("a", 0): 10, ("a", 1): 5, ("b", 0): 3},
        high_watermarks={("a", 0): 50, ("a", 1): 5, ("b", 0): 40, ("a", 9): 99},
    )
    await apply_batch(proj.conn, proj.schema, [], {("a", 0): 20}, high_watermarks={("a", 0): 30})
    await apply_batch(proj.conn, proj.schema, [], {("a", 2): 7})  # no watermark known
    lag = partial(stored_lag, proj.conn, proj.schema)
    assert await lag([("a", 0), ("a", 1), ("a", 2)]) == 30  # 50 - 20 (watermark kept), 0, NULL
    assert await lag([("a", 0), ("a", 1), ("a", 2), ("b", 0)]) == 67
    assert await lag([("a", 1), ("b", 0), ("b", 1)]) == 37  # b/1: never stored
    assert await lag([("a", 9), ("c", 0)]) == 0
    assert await lag([]) == 0


async def test_offsets_advance_when_every_event_is_a_duplicate(proj: Projection) -> None:
    batch = [user_state("u1", 1)]
    await proj.apply(batch, {("a", 0): 1})
    await proj.apply(batch, {("a", 0): 2})
    assert await stored_offsets(proj.conn, proj.schema, ["a"]) == {("a", 0): 2}


async def test_watermark_keeps_newest_time_and_counts_applied(proj: Projection) -> None:
    await proj.apply([user_state("u1", 5), user_state("u2", 3)])
    await proj.apply([user_state("u3", 4), user_state("u4", 1, platform="other")])
    marks = await proj.rows("watermarks")
    assert [(w["platform_id"], w["data_as_of"], w["applied_events"]) for w in marks] == [
        ("acme", at(5), 3),
        ("other", at(1), 1),
    ]


async def test_failed_batch_rolls_back_everything(proj: Projection) -> None:
    wrong = EVENTS["user.registered"](
        id="bad",
        time=at(2),
        platform_id=PLATFORM,
        data=GroupDeleted(group_id="g1"),
    )
    with pytest.raises((TypeError, AttributeError)):
        await proj.apply([user_state("u1", 1), wrong], {("a", 0): 9})
    assert await proj.rows("applied_events") == []
    assert await proj.rows("users") == []
    assert await stored_offsets(proj.conn, proj.schema, ["a"]) == {}
    assert await proj.rows("watermarks") == []


async def test_schema_name_must_be_an_identifier(proj: Projection) -> None:
    with pytest.raises(InvalidSchemaName):
        await apply_batch(proj.conn, "g1; DROP TABLE users", [], {})
    with pytest.raises(InvalidSchemaName):
        await stored_offsets(proj.conn, "Public", ["a"])


async def test_writes_go_to_the_given_generation_only(proj: Projection) -> None:
    other = "certstats_g_other"
    await proj.conn.execute(f"CREATE SCHEMA {other}")
    await proj.conn.execute(
        f"CREATE TABLE {other}.applied_events (LIKE {proj.schema}.applied_events)"
    )
    await proj.apply([user_state("u1", 1)])
    assert await proj.conn.fetchval(f"SELECT count(*) FROM {other}.applied_events") == 0
    search_path = await proj.conn.fetchval("SHOW search_path")
    assert proj.schema not in search_path


async def test_same_connection_moves_to_a_new_generation_after_the_old_is_dropped(
    proj: Projection,
) -> None:
    await proj.apply([user_state("u1", 1)], {("a", 0): 1})
    building = await generations.create_building_generation(proj.conn)
    await apply_batch(proj.conn, building, [user_state("u2", 1)], {("a", 0): 5})
    await proj.conn.execute(f"DROP SCHEMA {proj.schema} CASCADE")
    result = await apply_batch(proj.conn, building, [user_state("u3", 2)], {("a", 0): 6})
    assert result.applied_total == 1
    assert await stored_offsets(proj.conn, building, ["a"]) == {("a", 0): 6}
    users = await Projection(proj.conn, building).rows("users")
    assert [u["user_id"] for u in users] == ["u2", "u3"]
