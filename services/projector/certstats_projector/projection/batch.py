"""One consumed batch -> one transaction of read-model writes (SPEC.md §1, §3, §6).

In a single transaction: the event-id dedup, every read-model write (set-based, about one
statement per table and kind), the consumer offsets and the watermark. Tables are written in
a fixed order, and rows in key order, so concurrent projector instances do not deadlock.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import asyncpg

from certstats_contracts.decoded import Event

from .catalog import apply_certificates, apply_paths
from .enrollments import apply_enrollments
from .grants import apply_grants
from .groups import apply_groups
from .reduce import EntityKey, EventsByType
from .references import ensure_referenced
from .sessions import apply_sessions
from .sql import SET_SEARCH_PATH_SQL
from .summaries import prepare_summaries
from .tracking import (
    advance_offsets,
    advance_watermarks,
    keep_new,
    read_offsets,
    read_stored_lag,
)
from .users import apply_users

Handler = Callable[[asyncpg.Connection, EventsByType], Awaitable[None]]

HANDLERS: tuple[Handler, ...] = (
    apply_users,
    apply_groups,
    apply_certificates,
    apply_paths,
    apply_sessions,
    apply_enrollments,
    apply_grants,
)
"""Every writer after the placeholders, in the fixed table order of a batch."""

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

BATCH_SETTINGS_SQL = """
SELECT set_config('search_path', $1, true), set_config('synchronous_commit', 'off', true)
"""
"""Transaction-local settings of a batch: the generation schema, and no wait for the WAL flush.
Asynchronous commit is safe here: a crash can lose only whole recent batches, offsets
included, and those are consumed again (docs/DECISIONS.md, "Asynchronous commit")."""


class InvalidSchemaName(ValueError):
    """The generation schema name is not a plain lowercase SQL identifier."""


@dataclass(frozen=True)
class AppliedBatch:
    """What one ``apply_batch`` call did.

    ``applied``: event type -> number of events applied (new ids only);
    ``duplicates``: events skipped because their id was already applied (earlier or in-batch);
    ``users``: ``(platform_id, user_id)`` of the users learner facts referred to or profiles
    named (they have a row once the transaction commits; see ``KnownUsers``).
    """

    applied: Mapping[str, int] = field(default_factory=dict)
    duplicates: int = 0
    users: list[EntityKey] = field(default_factory=list)

    @property
    def applied_total(self) -> int:
        """Number of events applied."""
        return sum(self.applied.values())


async def apply_batch(
    conn: asyncpg.Connection,
    schema: str,
    events: Sequence[Event],
    next_offsets: Mapping[tuple[str, int], int],
    known_users: AbstractSet[EntityKey] = frozenset(),
    *,
    slot: int = 0,
    defer_summaries: bool = False,
    high_watermarks: Mapping[tuple[str, int], int] | None = None,
) -> AppliedBatch:
    """Apply ``events`` (consumption order) to generation ``schema`` in one transaction, and
    store ``next_offsets`` ((topic, partition) -> next offset to read) with it.
    ``known_users`` are ``(platform_id, user_id)`` known to have a row in ``schema`` already
    (no placeholder insert for them). ``slot`` is the summary counters' slot: distinct for
    batches that may commit concurrently (:func:`.summaries.summary_slot`). With
    ``defer_summaries`` (catch-up mode) the summaries are not refreshed: the platforms
    concerned are listed as deferred, for :func:`.summaries.catch_up_summaries`.
    ``high_watermarks`` ((topic, partition) -> high watermark the consumer knows) are stored
    beside the offsets of those partitions, for :func:`stored_lag`.

    Offsets are stored for every given partition, even when all its events were duplicates
    or dead-lettered; they never move backwards. Idempotent: re-applying a batch changes
    nothing but returns every event as a duplicate.

    Raises:
        InvalidSchemaName: ``schema`` is not a plain identifier.
        asyncpg.PostgresError: the transaction failed and was rolled back (nothing applied).
    """
    _check_schema(schema)
    async with conn.transaction():
        await conn.execute(BATCH_SETTINGS_SQL, schema)
        summaries = await prepare_summaries(conn, schema, [] if defer_summaries else events)
        new = await keep_new(conn, events)
        batch = EventsByType(new)
        users = await ensure_referenced(conn, batch, known_users)
        for handler in HANDLERS:
            await handler(conn, batch)
        if defer_summaries:
            await summaries.defer(conn, batch)
        else:
            await summaries.refresh(conn, batch, slot)
        await advance_offsets(conn, next_offsets, high_watermarks or {})
        await advance_watermarks(conn, new)
    return AppliedBatch(applied=batch.counts(), duplicates=len(events) - len(new), users=users)


async def stored_offsets(
    conn: asyncpg.Connection, schema: str, topics: Sequence[str]
) -> dict[tuple[str, int], int]:
    """The next offset to read per (topic, partition) of ``topics`` stored in ``schema``.

    Partitions never projected are absent. Raises ``InvalidSchemaName`` like ``apply_batch``.
    """
    _check_schema(schema)
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        return await read_offsets(conn, topics)


async def stored_lag(
    conn: asyncpg.Connection, schema: str, partitions: Sequence[tuple[str, int]]
) -> int:
    """Messages left to apply over ``partitions`` ((topic, partition)) as stored in
    ``schema``: each one's high watermark stored with its offset by the last batch that
    committed it, minus that offset (none stored: 0). How far the other instances of a
    consumer group are behind, as of their last commits (SPEC.md §6 lag; docs/DECISIONS.md
    "Deferred summaries"). Raises ``InvalidSchemaName`` like ``apply_batch``.
    """
    _check_schema(schema)
    async with conn.transaction():
        await conn.execute(SET_SEARCH_PATH_SQL, schema)
        return await read_stored_lag(conn, partitions)


def _check_schema(schema: str) -> None:
    if not _SCHEMA_NAME.fullmatch(schema):
        raise InvalidSchemaName(f"not a generation schema name: {schema!r}")
