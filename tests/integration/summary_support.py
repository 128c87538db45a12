"""The truth of the summary read models, recomputed from the normalized tables, and the check
that the projector-maintained tables equal it (counters summed over slots, zero counts ignored).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from certstats_projector.projection.summary_sql import LINKED_PAIRS_SQL
from certstats_query_api.sql.scope import SCOPE_CTES

PairKey = tuple[str, str, str]
"""(platform_id, certificate_id, user_id)."""

_LEARNER_COLUMNS = (
    "enrolled, grant_id, delivered_at, expires_at, user_status, last_name, first_name, email"
)
_MAINTAINED_LEARNERS_SQL = (
    f"SELECT platform_id, certificate_id, user_id, {_LEARNER_COLUMNS} FROM certificate_learners"
)
_MAINTAINED_STATS_SQL = """
SELECT platform_id, certificate_id, user_status, sum(linked) AS linked,
       sum(certified) AS certified, sum(enrolled) AS enrolled
FROM certificate_stats GROUP BY 1, 2, 3
"""
_MAINTAINED_EXPIRY_SQL = """
SELECT platform_id, certificate_id, user_status, expires_on, sum(learners) AS learners
FROM certificate_expiry GROUP BY 1, 2, 3, 4
"""
_MAINTAINED_HORIZON_SQL = (
    "SELECT platform_id, max(delivered_until) AS until FROM summary_horizon GROUP BY 1"
)
_API_LINKS_SQL = (
    SCOPE_CTES + "SELECT certificate_id, user_id, enrolled, delivered_at, expires_at FROM links"
)
"""The query API's links of platform ``$1`` as a platform admin at ``as_of`` = ``$4``."""


@dataclass(frozen=True)
class Summaries:
    """The summary read models' content: learner rows by pair; counts without zeros."""

    learners: dict[PairKey, tuple[Any, ...]]
    stats: dict[tuple[str, str, str], tuple[int, int, int]]
    expiry: dict[tuple[str, str, str, date], int]


def _from_pairs(rows: list[asyncpg.Record]) -> Summaries:
    learners = {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}
    stats: Counter[tuple[str, str, str, str]] = Counter()
    expiry: Counter[tuple[str, str, str, date]] = Counter()
    for (platform, certificate, _), (enrolled, grant, _, expires, status, *_) in learners.items():
        stats[(platform, certificate, status, "linked")] += 1
        stats[(platform, certificate, status, "certified")] += grant is not None
        stats[(platform, certificate, status, "enrolled")] += enrolled
        if grant is not None and expires is not None:
            expiry[(platform, certificate, status, expires.astimezone(UTC).date())] += 1
    keys = {k[:3] for k in stats}
    return Summaries(
        learners=learners,
        stats={
            k: (stats[(*k, "linked")], stats[(*k, "certified")], stats[(*k, "enrolled")])
            for k in keys
        },
        expiry=dict(expiry),
    )


async def _in_schema(conn: asyncpg.Connection, schema: str, sql: str) -> list[asyncpg.Record]:
    async with conn.transaction():
        await conn.execute("SELECT set_config('search_path', $1, true)", schema)
        return list(await conn.fetch(sql))


async def truth(conn: asyncpg.Connection, schema: str) -> Summaries:
    """The summaries recomputed from scratch (``LINKED_PAIRS_SQL``, counted in Python)."""
    return _from_pairs(await _in_schema(conn, schema, LINKED_PAIRS_SQL))


async def maintained(conn: asyncpg.Connection, schema: str) -> Summaries:
    """The summary tables as the projector left them (counters summed over slots)."""
    stats = {
        (r["platform_id"], r["certificate_id"], r["user_status"]): (
            r["linked"],
            r["certified"],
            r["enrolled"],
        )
        for r in await _in_schema(conn, schema, _MAINTAINED_STATS_SQL)
        if (r["linked"], r["certified"], r["enrolled"]) != (0, 0, 0)
    }
    expiry = {
        (r["platform_id"], r["certificate_id"], r["user_status"], r["expires_on"]): r["learners"]
        for r in await _in_schema(conn, schema, _MAINTAINED_EXPIRY_SQL)
        if r["learners"] != 0
    }
    rows = await _in_schema(conn, schema, _MAINTAINED_LEARNERS_SQL)
    return Summaries({(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}, stats, expiry)


async def assert_summaries_exact(conn: asyncpg.Connection, schema: str) -> Summaries:
    """Assert the maintained summaries equal the truth, and each platform's horizon is at or
    after the newest ``delivered_at`` of its rows; returns the truth."""
    expected, kept = await truth(conn, schema), await maintained(conn, schema)
    assert kept.learners == expected.learners
    assert kept.stats == expected.stats
    assert kept.expiry == expected.expiry
    horizon = {
        r["platform_id"]: r["until"]
        for r in await _in_schema(conn, schema, _MAINTAINED_HORIZON_SQL)
    }
    for (platform, *_), row in expected.learners.items():
        if row[2] is not None:
            assert horizon[platform] >= row[2]
    return expected


async def api_links(
    conn: asyncpg.Connection, schema: str, platform: str
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The query API's links of ``platform`` at the end of time:
    (certificate, user) -> (enrolled, delivered_at, expires_at)."""
    never = datetime.max.replace(tzinfo=UTC)
    async with conn.transaction():
        await conn.execute("SELECT set_config('search_path', $1, true)", schema)
        rows = await conn.fetch(
            _API_LINKS_SQL, platform, "-", True, never, None, None, None, None, "all", never, None
        )
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def summary_links(summaries: Summaries, platform: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The summary's pairs of ``platform`` in the shape of :func:`api_links`."""
    return {
        (certificate, user): (row[0], row[2], row[3])
        for (p, certificate, user), row in summaries.learners.items()
        if p == platform
    }
