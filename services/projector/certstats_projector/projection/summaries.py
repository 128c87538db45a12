"""Summary read models, maintained in the batch transaction (SPEC.md §2, §5; docs/DECISIONS.md
"Summary read models"): ``certificate_learners`` (one row per linked certificate/learner pair),
the additive counters ``certificate_stats`` and ``certificate_expiry``, and ``summary_horizon``.

A batch calls :func:`prepare_summaries` first (before any write), then
:meth:`SummaryRefresh.refresh` after the handlers, as its last step before the offsets and
the watermark. Concurrency, the whole argument:

- The refresh first compares the link-deciding state of the batch's catalog entities
  (``certificate.*``, ``path.*``, ``path_session.*`` events) with the one read before the
  handlers; only the entity's own commit lane writes it, so the answer holds until commit.
- It then takes a per (generation, platform) advisory transaction lock for every platform of
  the batch's learners and changed catalog entities, in key order, in one statement: exclusive
  on the platforms whose catalog state changed, shared on the others, held until commit (none
  when nothing the summaries depend on changed). The handlers before it run
  unlocked, so commit lanes overlap there.
- The refresh statement runs after the locks were granted, under READ COMMITTED: it sees every
  batch that committed before. A catalog-changing batch refreshes alone on its platform, so it
  sees every committed learner fact and no learner refresh of that platform is in flight until
  it commits; a learner batch sees every catalog change committed before its refresh, and none
  can commit until it ends.
- No deadlock through the late lock: what a batch writes while holding it (summary rows, its
  slot's counters, its partitions' offsets, watermarks) other batches write only after their
  own refresh, in key order, so a holder never waits for a batch still in its handlers.
- Two shared-lock batches never recompute the same learner: learner facts and user events are
  keyed by the user, so one user's events come from one partition, hence one commit lane of one
  projector instance. (Around a rebalance two instances may both hold a partition; the newer
  one resumes at the stored offset, so its batch repeats event ids of the older one's batch in
  flight, and the event-id dedup insert waits for that batch to commit before the refresh.)
- Catch-up mode (docs/DECISIONS.md "Deferred summaries"): a deferring batch lists its
  platforms under their shared locks instead of refreshing; :func:`catch_up_summaries` rebuilds
  the listed platforms under their exclusive locks, so a listing is either in its rebuild or
  made again after it; a refreshing batch leaves out the learners of listed platforms.
- Counters are written under the batch's ``slot`` (one per commit lane among concurrent
  writers) in key order, so lanes never wait on each other's counter rows, and two writers
  sharing a slot cannot deadlock.

Assumed, like the rest of the projection: an enrollment or grant keeps its learner (its message
key), and a grant names an enrollment of its own learner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import asyncpg

from certstats_contracts.decoded import Event

from .reduce import EntityKey, EventsByType, entity_key, in_key_order
from .sql import SET_SEARCH_PATH_SQL
from .summary_sql import (
    CATALOG_STATE_SQL,
    CHANGED_CATALOG_SQL,
    DEFER_SQL,
    DEFERRED_PLATFORMS_SQL,
    EVERY_PLATFORM_LISTED_SQL,
    LOCK_PLATFORMS_SQL,
    REBUILD_PLATFORMS_SQL,
    REBUILD_SQL,
    REFRESH_PLANNER_SQL,
    REFRESH_SQL,
)

SUMMARY_LOCK_CLASS = 0x63657370
"""First key of the two-int advisory locks of :func:`prepare_summaries` (the two-int key space
never meets the one-bigint keys of the generation and migration locks)."""

CATALOG_KINDS = ("certificate", "path", "path_session")
"""Families of the catalog events that may change links, in ``CHANGED_CATALOG_SQL`` and
``REFRESH_SQL`` parameter order."""

LINK_CHANGING_TYPES = frozenset(
    {
        "certificate.created",
        "certificate.updated",
        "certificate.deleted",
        *(f"path.{kind}" for kind in ("created", "updated", "deleted")),
        *(
            f"path_session.{kind}"
            for kind in ("created", "updated", "archived", "unarchived", "deleted")
        ),
    }
)
"""Event types that may change the link-deciding state of the catalog."""

LEARNER_TYPES = (
    "enrollment.created",
    "enrollment.deleted",
    "certificate.granted",
    "certificate.revoked",
    "user.registered",
    "user.updated",
    "user.deleted",
    "user.reactivated",
)
"""Events whose user's rows are recomputed (status and last name are copied from users). Path
status events change no link: their placeholder enrollment has no session."""

_ID_FIELD = {"certificate": "certificate_id", "path": "path_id", "path_session": "session_id"}
_BY_USER = entity_key("user_id")

CatalogStates = dict[str, dict[EntityKey, str | None]]
"""Family -> (platform_id, entity id) -> link-deciding state (None: no row)."""


@dataclass(frozen=True)
class SummaryRefresh:
    """What a batch's summary refresh needs from before its writes: the generation schema and
    the link-deciding state of the catalog entities its events name (:func:`prepare_summaries`)."""

    schema: str
    catalog_before: CatalogStates

    async def refresh(self, conn: asyncpg.Connection, batch: EventsByType, slot: int) -> int:
        """After the handlers: take the platform locks (see the module docstring), recompute
        the summary rows of the learners ``batch`` (the new events) and its catalog changes may
        have changed, and add the differences to the counters of ``slot``. Returns the number
        of (certificate, learner) rows that changed."""
        learners = in_key_order({_BY_USER(event) for event in batch.of(*LEARNER_TYPES)})
        changed = await self._changed_catalog(conn)
        if not learners and not changed:
            return 0  # nothing the summaries depend on changed
        exclusive = {platform: False for platform, _ in learners}
        arguments: list[object] = [[k[0] for k in learners], [k[1] for k in learners], slot]
        for kind in CATALOG_KINDS:
            keys = sorted(changed.get(kind, ()))
            exclusive.update((platform, True) for platform, _ in keys)
            arguments += [[k[0] for k in keys], [k[1] for k in keys]]
        platforms = sorted(exclusive)
        await _lock_platforms(conn, self.schema, platforms, [exclusive[p] for p in platforms])
        await conn.execute(REFRESH_PLANNER_SQL)
        rows: int = await conn.fetchval(REFRESH_SQL, *arguments)
        return rows

    async def defer(self, conn: asyncpg.Connection, batch: EventsByType) -> None:
        """Instead of :meth:`refresh` (catch-up mode, docs/DECISIONS.md "Deferred summaries"):
        list the platforms of the batch's learner and link-changing catalog events in
        ``summary_deferred``, for :func:`catch_up_summaries`, under their shared locks (so a
        catch-up in flight either sees this batch or waits for it: the listing is never lost
        to its delete)."""
        events = batch.of(*LEARNER_TYPES, *LINK_CHANGING_TYPES)
        platforms = sorted({event.platform_id for event in events})
        if platforms:
            await _lock_platforms(conn, self.schema, platforms, [False] * len(platforms))
            await conn.execute(DEFER_SQL, platforms)

    async def _changed_catalog(self, conn: asyncpg.Connection) -> dict[str, list[EntityKey]]:
        """Family -> the batch's catalog entities whose link-deciding state changed."""
        if not self.catalog_before:
            return {}
        arguments: list[list[str | None]] = []
        for kind in CATALOG_KINDS:
            states = self.catalog_before.get(kind, {})
            keys = sorted(states)
            arguments += [[k[0] for k in keys], [k[1] for k in keys], [states[k] for k in keys]]
        changed: dict[str, list[EntityKey]] = {}
        for row in await conn.fetch(CHANGED_CATALOG_SQL, *arguments):
            changed.setdefault(row["kind"], []).append((row["platform_id"], row["id"]))
        return changed


async def prepare_summaries(
    conn: asyncpg.Connection, schema: str, events: Sequence[Event]
) -> SummaryRefresh:
    """At the start of the batch transaction, before any write: read the link-deciding state
    of the catalog entities named by ``events`` (consumption order, duplicates included), for
    the refresh of generation ``schema`` to compare with."""
    catalog: CatalogStates = {}
    for event in events:
        if event.type in LINK_CHANGING_TYPES:
            kind = event.type.rsplit(".", 1)[0]
            entity = (event.platform_id, getattr(event.data, _ID_FIELD[kind]))
            catalog.setdefault(kind, {})[entity] = None
    if catalog:
        arguments: list[list[str]] = []
        for kind in CATALOG_KINDS:
            keys = sorted(catalog.get(kind, {}))
            arguments += [[k[0] for k in keys], [k[1] for k in keys]]
        for row in await conn.fetch(CATALOG_STATE_SQL, *arguments):
            catalog[row["kind"]][(row["platform_id"], row["id"])] = row["state"]
    return SummaryRefresh(schema, catalog)


def summary_slot(next_offsets: Mapping[tuple[str, int], int]) -> int:
    """The counter slot of a consumed batch: its smallest partition number (0 for none).
    Partitions are owned by one commit lane of one projector instance, so concurrent lanes
    get different slots (topics sharing partition numbers only share a slot, which is safe)."""
    return min((partition for _, partition in next_offsets), default=0)


async def _lock_platforms(
    conn: asyncpg.Connection, schema: str, platforms: list[str], exclusive: list[bool]
) -> None:
    """The per (generation, platform) advisory transaction locks of ``platforms``, in key order,
    exclusive where ``exclusive`` says so (``LOCK_PLATFORMS_SQL``)."""
    await conn.execute(LOCK_PLATFORMS_SQL, SUMMARY_LOCK_CLASS, schema, platforms, exclusive)


SUMMARY_TABLES = ("certificate_learners", "certificate_stats", "certificate_expiry")
"""The summary tables analyzed after a bulk rewrite (the query API plans with their
statistics)."""

CATCH_UP_ANALYZED = (
    "users",
    "certificates",
    "paths",
    "path_sessions",
    "enrollments",
    "certificate_grants",
)
"""Tables the catch-up rebuild reads set-based: analyzed first, since a generation filled in
catch-up mode may have no statistics yet, and the planner then nests loops over big tables."""


ANALYZED_BY_CATCH_UP = (*CATCH_UP_ANALYZED, *SUMMARY_TABLES)
"""Tables whose statistics a catch-up that rebuilt some platform has just collected."""


async def deferred_platforms(conn: asyncpg.Connection, schema: str) -> list[str]:
    """The platforms of generation ``schema`` whose summaries are deferred (key order)."""
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        return [row[0] for row in await conn.fetch(DEFERRED_PLATFORMS_SQL)]


async def every_platform_listed(conn: asyncpg.Connection, schema: str) -> bool:
    """Whether every platform with applied events (a ``watermarks`` row) is listed in
    ``summary_deferred`` of generation ``schema``, and some is (until their catch-up, no
    reader uses the summaries)."""
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        listed: bool = await conn.fetchval(EVERY_PLATFORM_LISTED_SQL)
        return listed


async def catch_up_summaries(
    conn: asyncpg.Connection, schema: str, *, also: Sequence[asyncpg.Connection] = ()
) -> list[str]:
    """Rebuild the summaries of the platforms listed in ``summary_deferred`` of generation
    ``schema`` set-based (``REBUILD_PLATFORMS_SQL``), unlisting them, under their exclusive
    platform locks: batches of those platforms wait for it, and a batch that committed before
    it is in its rebuild (docs/DECISIONS.md "Deferred summaries"). The platforms are spread
    over ``conn`` and the ``also`` connections, one transaction each, run concurrently (their
    rows are disjoint; PostgreSQL runs each ``INSERT .. SELECT`` on one core). Returns the
    platforms rebuilt, in key order (none: nothing was deferred, or another instance rebuilt
    them).

    Raises:
        asyncpg.PostgresError: a rebuild failed and was rolled back (its platforms are still
            listed; the others' transactions are cancelled or committed).
    """
    listed = await deferred_platforms(conn, schema)
    if not listed:
        return []
    connections = [conn, *also]
    await _analyze(connections, schema, CATCH_UP_ANALYZED)
    async with asyncio.TaskGroup() as group:
        parts = [
            group.create_task(_rebuild_platforms(c, schema, listed[n :: len(connections)]))
            for n, c in enumerate(connections[: len(listed)])
        ]
    platforms = sorted(chain.from_iterable(part.result() for part in parts))
    if platforms:
        await _analyze(connections, schema, SUMMARY_TABLES)
    return platforms


async def _analyze(
    connections: Sequence[asyncpg.Connection], schema: str, tables: Sequence[str]
) -> None:
    """``ANALYZE`` the ``tables`` of generation ``schema``, spread over ``connections``
    (concurrently: PostgreSQL analyzes each table on one core)."""
    async with asyncio.TaskGroup() as group:
        for n, conn in enumerate(connections[: len(tables)]):
            group.create_task(_analyze_on(conn, schema, tables[n :: len(connections)]))


async def _analyze_on(conn: asyncpg.Connection, schema: str, tables: Sequence[str]) -> None:
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        await conn.execute(f"ANALYZE {', '.join(tables)}")


async def _rebuild_platforms(
    conn: asyncpg.Connection, schema: str, candidates: list[str]
) -> list[str]:
    """One transaction of :func:`catch_up_summaries`: lock ``candidates`` exclusively, then
    rebuild those still listed (another instance may have caught them up meanwhile)."""
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        await _lock_platforms(conn, schema, candidates, [True] * len(candidates))
        still = {row[0] for row in await conn.fetch(DEFERRED_PLATFORMS_SQL)}
        platforms = [platform for platform in candidates if platform in still]
        if platforms:
            for statement in REBUILD_PLATFORMS_SQL:
                await conn.execute(statement, platforms)
    return platforms


async def rebuild_summaries(conn: asyncpg.Connection, schema: str) -> None:
    """Recompute every summary read model of generation ``schema`` from its normalized tables
    in one transaction (counters in slot 0, zero counts left out), then ANALYZE them. For
    bulk-loaded data (the query benchmark) and repairs; projector batches writing meanwhile
    wait for it (TRUNCATE) and then apply their differences on top. The tables it reads are
    analyzed first, like the catch-up's: its statements are planned from their statistics.

    Raises:
        asyncpg.UndefinedTableError: ``schema`` is not a migrated generation (nothing changed).
    """
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        await conn.execute(f"ANALYZE {', '.join(CATCH_UP_ANALYZED)}")
        for statement in REBUILD_SQL:
            await conn.execute(statement)
        await conn.execute(f"ANALYZE {', '.join(SUMMARY_TABLES)}")
