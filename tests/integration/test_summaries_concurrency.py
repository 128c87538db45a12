"""Concurrent commit lanes (SPEC.md §6; docs/DECISIONS.md "Summary read models"): one
connection commits catalog changes (a session archived and unarchived, its path moved between
certificates) while others commit enrollments of new learners into that session. After every
round the maintained summaries equal a recomputation: a lane never recomputes a learner from a
catalog state another lane is changing (the per-platform locks of the summary refresh). The
lock is exclusive only when a batch changed link-deciding catalog state."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest

from certstats_contracts.decoded import Event
from certstats_projector.projection import apply_batch, catch_up_summaries, deferred_platforms
from certstats_projector.projection.summaries import SUMMARY_LOCK_CLASS
from tests.integration.projection_support import (
    Projection,
    at,
    enrollment,
    event,
    projection,
    session_state,
)
from tests.integration.summary_support import assert_summaries_exact

CATALOG = [
    event("certificate.created", 1, certificate_id="c1", title="C1"),
    event("certificate.created", 1, certificate_id="c2", title="C2"),
    event("path.created", 1, path_id="p1", name="P", certificate_id="c1"),
    session_state("s1", 1),
]
"""Two certificates, path ``p1`` granting ``c1``, its session ``s1``: what the rounds change."""

LEARNER_LANES = 3
ROUNDS = 40


@pytest.fixture
async def proj(database_url: str) -> AsyncIterator[Projection]:
    async with projection(database_url) as p:
        yield p


def catalog_change(number: int) -> list[Event]:
    """Round ``number``'s catalog batch: toggle the archive flag of ``s1``; every third round
    also move path ``p1`` to the other certificate."""
    time = number + 10
    toggle = (
        event("path_session.archived", time, session_id="s1", archived_at=at(time))
        if number % 2 == 0
        else event("path_session.unarchived", time, session_id="s1")
    )
    if number % 3:
        return [toggle]
    certificate = "c2" if number % 6 == 0 else "c1"
    return [toggle, event("path.updated", time, path_id="p1", name="P", certificate_id=certificate)]


async def lane(
    database_url: str,
    schema: str,
    batches: Sequence[list[Event]],
    slot: int,
    defer: bool = False,
) -> None:
    """One commit lane on its own connection: ``batches`` in order."""
    conn = await asyncpg.connect(database_url)
    try:
        for batch in batches:
            await apply_batch(conn, schema, batch, {}, slot=slot, defer_summaries=defer)
    finally:
        await conn.close()


async def catching_up(database_url: str, schema: str) -> None:
    """A summary catch-up on its own two connections (docs/DECISIONS.md "Deferred
    summaries")."""
    conn, other = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    try:
        await catch_up_summaries(conn, schema, also=[other])
    finally:
        await conn.close()
        await other.close()


@pytest.mark.parametrize("shared_slot", [False, True])
async def test_catalog_and_learner_lanes_leave_exact_summaries(
    proj: Projection, database_url: str, shared_slot: bool
) -> None:
    await proj.apply(CATALOG)
    ids = itertools.count()
    for number in range(ROUNDS):
        learner_batches = [
            [enrollment(f"e{n}", number + 10, user_id=f"u{n}") for n in itertools.islice(ids, 4)]
            for _ in range(LEARNER_LANES)
        ]
        await asyncio.gather(
            lane(database_url, proj.schema, [catalog_change(number)], 0),
            *(
                lane(database_url, proj.schema, [batch], 0 if shared_slot else n + 1)
                for n, batch in enumerate(learner_batches)
            ),
        )
        truth = await assert_summaries_exact(proj.conn, proj.schema)
        assert len(truth.learners) == 4 * LEARNER_LANES * (number + 1)


async def test_deferring_lanes_and_catch_ups_leave_exact_summaries(
    proj: Projection, database_url: str
) -> None:
    """Catch-up mode: each round, lanes that defer the refresh and lanes that refresh commit
    beside the catalog lane and a catch-up rebuild; a deferred listing is never lost to a
    concurrent catch-up (its shared lock), so after a last catch-up the summaries are exact."""
    await proj.apply(CATALOG)
    ids = itertools.count()
    for number in range(ROUNDS // 2):
        learner_batches = [
            [enrollment(f"e{n}", number + 10, user_id=f"u{n}") for n in itertools.islice(ids, 4)]
            for _ in range(LEARNER_LANES)
        ]
        await asyncio.gather(
            lane(database_url, proj.schema, [catalog_change(number)], 0, defer=number % 2 == 0),
            catching_up(database_url, proj.schema),
            *(
                lane(database_url, proj.schema, [batch], n + 1, defer=(n + number) % 2 == 0)
                for n, batch in enumerate(learner_batches)
            ),
        )
        await catch_up_summaries(proj.conn, proj.schema)
        assert await deferred_platforms(proj.conn, proj.schema) == []
        truth = await assert_summaries_exact(proj.conn, proj.schema)
        assert len(truth.learners) == 4 * LEARNER_LANES * (number + 1)


async def test_a_catch_up_waits_for_a_deferring_batch_in_flight(
    proj: Projection, database_url: str
) -> None:
    """The platform is listed as deferred already; a deferring batch in flight (its listing a
    no-op) holds the platform's shared lock, so a catch-up rebuild waits for its commit and
    sees its learner: without the lock, the rebuild would miss the learner and unlist the
    platform."""
    await proj.apply(
        [
            event("certificate.created", 1, certificate_id="c1", title="C1"),
            event("path.created", 1, path_id="p1", name="P", certificate_id="c1"),
            session_state("s1", 1),
        ]
    )
    await apply_batch(proj.conn, proj.schema, [enrollment("e1", 2)], {}, defer_summaries=True)
    in_flight = proj.conn.transaction()
    await in_flight.start()
    late = enrollment("e2", 3, user_id="u2")
    await apply_batch(proj.conn, proj.schema, [late], {}, defer_summaries=True)
    catch_up = asyncio.create_task(catching_up(database_url, proj.schema))
    await asyncio.sleep(0.5)
    assert not catch_up.done()
    await in_flight.commit()
    await catch_up
    assert await deferred_platforms(proj.conn, proj.schema) == []
    truth = await assert_summaries_exact(proj.conn, proj.schema)
    assert len(truth.learners) == 2


SUMMARY_LOCK_MODES_SQL = """
SELECT coalesce(array_agg(DISTINCT mode ORDER BY mode), '{}') FROM pg_locks
WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = $1
"""
"""Modes of the summary advisory locks this connection holds (``classid``: their first key)."""


async def summary_lock_modes(proj: Projection, events: list[Event]) -> list[str]:
    """Apply ``events`` inside an outer transaction, rolled back after reading the modes of
    the summary locks the batch took (transaction locks: held until the outer one ends)."""
    outer = proj.conn.transaction()
    await outer.start()
    try:
        await apply_batch(proj.conn, proj.schema, events, {})
        modes: list[str] = await proj.conn.fetchval(SUMMARY_LOCK_MODES_SQL, SUMMARY_LOCK_CLASS)
    finally:
        await outer.rollback()
    return modes


async def test_only_a_changed_catalog_state_takes_the_lock_exclusively(proj: Projection) -> None:
    await proj.apply(
        [
            event("certificate.created", 1, certificate_id="c1", title="C1"),
            event("path.created", 1, path_id="p1", name="P", certificate_id="c1"),
            session_state("s1", 1),
            event("path_session.archived", 2, session_id="s1", archived_at=at(2)),
        ]
    )
    learner = enrollment("e1", 3, user_id="u1")
    archived_again = event("path_session.archived", 4, session_id="s1", archived_at=at(4))
    renamed = event("certificate.updated", 4, certificate_id="c1", title="Renamed")
    unarchived = event("path_session.unarchived", 4, session_id="s1")
    assert await summary_lock_modes(proj, [learner]) == ["ShareLock"]
    assert await summary_lock_modes(proj, [learner, archived_again, renamed]) == ["ShareLock"]
    assert await summary_lock_modes(proj, [archived_again, renamed]) == []
    assert await summary_lock_modes(proj, [learner, unarchived]) == ["ExclusiveLock"]
