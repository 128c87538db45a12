"""Summary read models maintained in the batch transaction (SPEC.md §2, §5; docs/DECISIONS.md
"Summary read models"): each example ends with the maintained tables equal to a recomputation
from scratch, and says what the rows must be."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from certstats_projector.projection import rebuild_summaries
from tests.integration.projection_support import (
    Projection,
    at,
    enrollment,
    event,
    grant,
    projection,
    session_state,
    user_state,
)
from tests.integration.summary_support import (
    Summaries,
    api_links,
    assert_summaries_exact,
    maintained,
    summary_links,
)

CATALOG = [
    event("certificate.created", 1, certificate_id="c1", title="C1"),
    event("certificate.created", 1, certificate_id="c2", title="C2"),
    event("path.created", 1, path_id="p1", name="P1", certificate_id="c1"),
    session_state("s1", 1),
    session_state("s2", 1),
]


@pytest.fixture
async def proj(database_url: str) -> AsyncIterator[Projection]:
    async with projection(database_url) as p:
        yield p


def pairs(summaries: Summaries) -> dict[tuple[str, str], tuple[object, ...]]:
    """(certificate, user) -> (enrolled, grant_id, user_status, last_name) of platform acme."""
    return {
        (c, u): (row[0], row[1], row[4], row[5]) for (_, c, u), row in summaries.learners.items()
    }


async def exact(proj: Projection) -> dict[tuple[str, str], tuple[object, ...]]:
    """Assert the maintained summaries are exact; their pairs (see :func:`pairs`)."""
    return pairs(await assert_summaries_exact(proj.conn, proj.schema))


async def test_archiving_a_session_keeps_the_link_but_not_enrolled(proj: Projection) -> None:
    await proj.apply([*CATALOG, user_state("u1", 1), enrollment("e1", 2)])
    assert await exact(proj) == {("c1", "u1"): (True, None, "active", "Núñez")}
    await proj.apply([event("path_session.archived", 3, session_id="s1", archived_at=at(3))])
    assert await exact(proj) == {("c1", "u1"): (False, None, "active", "Núñez")}
    await proj.apply([enrollment("e2", 4, session_id="s2")])
    assert await exact(proj) == {("c1", "u1"): (True, None, "active", "Núñez")}
    await proj.apply([event("path_session.unarchived", 5, session_id="s1")])
    await proj.apply([event("path_session.deleted", 6, session_id="s2", deleted_at=at(6))])
    assert await exact(proj) == {("c1", "u1"): (True, None, "active", "Núñez")}
    await proj.apply([event("path_session.deleted", 7, session_id="s1", deleted_at=at(7))])
    assert await exact(proj) == {}


async def test_grants_and_their_visibility(proj: Projection) -> None:
    await proj.apply(
        [
            *CATALOG,
            grant("g1", 2, enrollment_id="e1", session_id="s1", expires_at=at(90)),
            grant("g2", 3, certificate_id="c2", session_id="s2"),
            grant("g3", 3, certificate_id="c2", session_id="s1", expires_at=at(99)),
        ]
    )
    assert await exact(proj) == {
        ("c1", "u1"): (False, "g1", "active", ""),
        ("c2", "u1"): (False, "g2", "active", ""),  # same delivery: no expiry is the latest
    }
    await proj.apply(
        [event("certificate.revoked", 4, grant_id="g2", user_id="u1", revoked_at=at(4))]
    )
    assert (await exact(proj))[("c2", "u1")] == (False, "g3", "active", "")
    await proj.apply(
        [
            enrollment("e1", 5),
            event("enrollment.deleted", 6, enrollment_id="e1", user_id="u1", deleted_at=at(6)),
        ]
    )
    assert await exact(proj) == {("c2", "u1"): (False, "g3", "active", "")}
    await proj.apply([event("path_session.deleted", 7, session_id="s1", deleted_at=at(7))])
    assert await exact(proj) == {}


async def test_catalog_arriving_after_the_learner_facts(proj: Projection) -> None:
    await proj.apply(
        [enrollment("e1", 2, user_id="u1"), grant("g1", 2, user_id="u2", certificate_id="c2")]
    )
    assert await exact(proj) == {}
    await proj.apply(CATALOG[:1] + CATALOG[3:])  # c1, s1, s2: p1 is still unknown
    assert await exact(proj) == {}
    await proj.apply([CATALOG[2]])  # p1 arrives: s1 grants c1
    assert await exact(proj) == {("c1", "u1"): (True, None, "active", "")}
    await proj.apply([CATALOG[1]])  # c2 arrives: its grant is listed
    assert await exact(proj) == {
        ("c1", "u1"): (True, None, "active", ""),
        ("c2", "u2"): (False, "g1", "active", ""),
    }


async def test_path_certificate_change_and_deletions(proj: Projection) -> None:
    await proj.apply([*CATALOG, enrollment("e1", 2), enrollment("e2", 2, user_id="u2")])
    await proj.apply([event("path.updated", 3, path_id="p1", name="P1", certificate_id="c2")])
    assert await exact(proj) == {
        ("c2", "u1"): (True, None, "active", ""),
        ("c2", "u2"): (True, None, "active", ""),
    }
    await proj.apply([event("certificate.deleted", 4, certificate_id="c2")])
    assert await exact(proj) == {}
    await proj.apply([event("path.updated", 5, path_id="p1", name="P1", certificate_id="c1")])
    assert len(await exact(proj)) == 2
    await proj.apply([event("path.deleted", 6, path_id="p1")])
    assert await exact(proj) == {}


async def test_user_status_and_names_are_copied(proj: Projection) -> None:
    await proj.apply([*CATALOG, enrollment("e1", 2), grant("g1", 2, certificate_id="c2")])
    await proj.apply([event("user.deleted", 3, user_id="u1", deleted_at=at(3))])
    assert set((await exact(proj)).values()) == {
        (True, None, "deleted", ""),
        (False, "g1", "deleted", ""),
    }
    assert await names(proj) == {(None, None)}
    await proj.apply(
        [event("user.reactivated", 4, user_id="u1", reactivated_at=at(4)), user_state("u1", 4)]
    )
    assert set((await exact(proj)).values()) == {
        (True, None, "active", "Núñez"),
        (False, "g1", "active", "Núñez"),
    }
    assert await names(proj) == {("Zoë", "u1@learners.example")}
    await proj.apply([user_state("u1", 5, kind="user.updated", first_name="Ann")])
    await exact(proj)
    assert await names(proj) == {("Ann", "u1@learners.example")}


async def names(proj: Projection) -> set[tuple[str | None, str | None]]:
    """The distinct (first_name, email) copied into ``certificate_learners``."""
    rows = await proj.conn.fetch(
        f"SELECT DISTINCT first_name, email FROM {proj.schema}.certificate_learners"
    )
    return {(r["first_name"], r["email"]) for r in rows}


async def test_rebuild_summaries_equals_the_maintained_tables(proj: Projection) -> None:
    await proj.apply([*CATALOG, enrollment("e1", 2), grant("g1", 2, expires_at=at(99))])
    await proj.conn.execute(
        f"UPDATE {proj.schema}.certificate_stats SET slot = 7"  # rebuilt into slot 0
    )
    before = await maintained(proj.conn, proj.schema)
    await proj.conn.execute(f"DELETE FROM {proj.schema}.certificate_learners")
    await rebuild_summaries(proj.conn, proj.schema)
    assert await maintained(proj.conn, proj.schema) == before
    assert await proj.conn.fetchval(
        f"SELECT array_agg(DISTINCT slot) FROM {proj.schema}.certificate_stats"
    ) == [0]
    truth = await assert_summaries_exact(proj.conn, proj.schema)
    assert summary_links(truth, "acme") == await api_links(proj.conn, proj.schema, "acme")


async def test_rebuild_summaries_analyzes_the_tables_it_reads_first(proj: Projection) -> None:
    """Its statements are planned from statistics (a never-analyzed table is estimated at a
    few rows, and the planner then loops over indexes): a repair analyzes them first."""
    await proj.apply([*CATALOG, enrollment("e1", 2), grant("g1", 2, expires_at=at(99))])
    analyzed_sql = f"""
        SELECT count(*) FROM pg_stat_user_tables
        WHERE schemaname = '{proj.schema}' AND relname IN ('enrollments', 'certificate_grants')
          AND last_analyze IS NOT NULL"""
    assert await proj.conn.fetchval(analyzed_sql) == 0
    await rebuild_summaries(proj.conn, proj.schema)
    assert await proj.conn.fetchval(analyzed_sql) == 2
