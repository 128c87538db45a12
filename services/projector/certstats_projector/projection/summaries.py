"""Summary read models, maintained in the batch transaction (SPEC.md §2, §5; docs/DECISIONS.md
"Summary read models"): ``certificate_learners`` (one row per linked certificate/learner pair),
the additive counters ``certificate_stats`` and ``certificate_expiry``, and ``summary_horizon``.

A batch calls :func:`prepare_summaries` first (before any write), then
:meth:`SummaryRefresh.refresh` after the handlers. Concurrency, the whole argument:

- ``prepare_summaries`` takes a per (generation, platform) advisory transaction lock for every
  platform of the batch, in key order, in one statement: exclusive on the platforms whose
  catalog (``certificate.created``/``updated``/``deleted``, ``path.*``, ``path_session.*``)
  the batch may change, shared on the others.
- The refresh statement runs after the locks were granted, under READ COMMITTED: it sees every
  batch that committed before. A catalog batch holds its platform alone, so it sees every
  committed learner fact and no learner batch of that platform is in flight; a learner batch
  sees every catalog change committed before it, and none can commit until it ends.
- Two shared-lock batches never recompute the same learner: learner facts and user events are
  keyed by the user, so one user's events come from one partition, hence one commit lane of one
  projector instance. (Around a rebalance two instances may both hold a partition; the newer
  one resumes at the stored offset, so its batch repeats event ids of the older one's batch in
  flight, and the event-id dedup insert waits for that batch to commit before the refresh.)
- Counters are written under the batch's ``slot`` (one per commit lane among concurrent
  writers) in key order, so lanes never wait on each other's counter rows, and two writers
  sharing a slot cannot deadlock.

Assumed, like the rest of the projection: an enrollment or grant keeps its learner (its message
key), and a grant names an enrollment of its own learner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from certstats_contracts.envelope import DomainEvent

from .reduce import EntityKey, EventsByType, entity_key
from .summary_sql import (
    CATALOG_STATE_SQL,
    LOCK_PLATFORMS_SQL,
    REBUILD_SQL,
    REFRESH_PLANNER_SQL,
    REFRESH_SQL,
)

SUMMARY_LOCK_CLASS = 0x63657370
"""First key of the two-int advisory locks of :func:`prepare_summaries` (the two-int key space
never meets the one-bigint keys of the generation and migration locks)."""

CATALOG_KINDS = ("certificate", "path", "path_session")
"""Families of the catalog events that may change links, in ``REFRESH_SQL`` parameter order."""

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
"""Event types that take the platform's lock exclusively."""

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
    """What a batch's summary refresh needs from before its writes: the link-deciding state of
    the catalog entities its events name (:func:`prepare_summaries`)."""

    catalog_before: CatalogStates

    async def refresh(self, conn: asyncpg.Connection, batch: EventsByType, slot: int) -> int:
        """After the handlers: recompute the summary rows of the learners ``batch`` (the new
        events) may have changed, and add the differences to the counters of ``slot``.
        Returns the number of (certificate, learner) rows that changed."""
        learners = sorted({_BY_USER(event) for event in batch.of(*LEARNER_TYPES)})
        if not learners and not self.catalog_before:
            return 0  # nothing the summaries depend on changed
        arguments: list[object] = [[k[0] for k in learners], [k[1] for k in learners], slot]
        for kind in CATALOG_KINDS:
            states = self.catalog_before.get(kind, {})
            keys = sorted(states)
            arguments += [[k[0] for k in keys], [k[1] for k in keys], [states[k] for k in keys]]
        await conn.execute(REFRESH_PLANNER_SQL)
        changed: int = await conn.fetchval(REFRESH_SQL, *arguments)
        return changed


async def prepare_summaries(
    conn: asyncpg.Connection, schema: str, events: Sequence[DomainEvent]
) -> SummaryRefresh:
    """At the start of the batch transaction, before any write: take the platform locks (see
    the module docstring), then read the link-deciding state of the catalog entities named by
    ``events`` (consumption order, duplicates included)."""
    exclusive: dict[str, bool] = {}
    catalog: CatalogStates = {}
    for event in events:
        changes_catalog = event.type in LINK_CHANGING_TYPES
        exclusive[event.platform_id] = exclusive.get(event.platform_id, False) or changes_catalog
        if changes_catalog:
            kind = event.type.rsplit(".", 1)[0]
            entity = (event.platform_id, getattr(event.data, _ID_FIELD[kind]))
            catalog.setdefault(kind, {})[entity] = None
    platforms = sorted(exclusive)
    if not platforms:
        return SummaryRefresh({})
    await conn.execute(
        LOCK_PLATFORMS_SQL,
        SUMMARY_LOCK_CLASS,
        schema,
        platforms,
        [exclusive[p] for p in platforms],
    )
    if catalog:
        arguments: list[list[str]] = []
        for kind in CATALOG_KINDS:
            keys = sorted(catalog.get(kind, {}))
            arguments += [[k[0] for k in keys], [k[1] for k in keys]]
        for row in await conn.fetch(CATALOG_STATE_SQL, *arguments):
            catalog[row["kind"]][(row["platform_id"], row["id"])] = row["state"]
    return SummaryRefresh(catalog)


def summary_slot(next_offsets: Mapping[tuple[str, int], int]) -> int:
    """The counter slot of a consumed batch: its smallest partition number (0 for none).
    Partitions are owned by one commit lane of one projector instance, so concurrent lanes
    get different slots (topics sharing partition numbers only share a slot, which is safe)."""
    return min((partition for _, partition in next_offsets), default=0)


async def rebuild_summaries(conn: asyncpg.Connection, schema: str) -> None:
    """Recompute every summary read model of generation ``schema`` from its normalized tables
    in one transaction (counters in slot 0, zero counts left out), then ANALYZE them. For
    bulk-loaded data (the query benchmark) and repairs; projector batches writing meanwhile
    wait for it (TRUNCATE) and then apply their differences on top.

    Raises:
        asyncpg.UndefinedTableError: ``schema`` is not a migrated generation (nothing changed).
    """
    async with conn.transaction():
        await conn.execute("SELECT set_config('search_path', $1, true)", schema)
        for statement in REBUILD_SQL:
            await conn.execute(statement)
        await conn.execute("ANALYZE certificate_learners, certificate_stats, certificate_expiry")
