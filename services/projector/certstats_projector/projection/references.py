"""Placeholder users for learner facts about users not registered yet (SPEC.md §3,
docs/DECISIONS.md "Placeholders").

An enrollment or grant event may name a user whose ``user.registered`` has not arrived. The
user's row is then created (``active``, no profile) and completed by the profile later;
existing rows are left untouched. These events are keyed by the user, like the user's own
events, so the row is only ever written by the projector instance owning that partition.
A projector remembers the users it saw committed (:class:`KnownUsers`) and skips their rows.
Role events (keyed by group) and references to groups create no placeholder: the queries
treat a missing user or group row as a placeholder (docs/DECISIONS.md, "Projection writes").
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import asyncpg

from .reduce import EntityKey, EventsByType, entity_key, in_key_order
from .sql import execute_rows, texts
from .users import USER_STATE_TYPES

USER_REFERENCING_TYPES = (
    "enrollment.created",
    "enrollment.status_changed",
    "enrollment.completed",
    "enrollment.deleted",
    "certificate.granted",
    "certificate.revoked",
)

ENSURE_USERS_SQL = f"""
INSERT INTO users (platform_id, user_id)
SELECT * FROM unnest({texts(1)}, {texts(2)})
ON CONFLICT DO NOTHING
"""

_BY_USER = entity_key("user_id")


def referenced_users(batch: EventsByType) -> set[EntityKey]:
    """The distinct ``(platform_id, user_id)`` named by the batch's learner facts."""
    return {_BY_USER(event) for event in batch.of(*USER_REFERENCING_TYPES)}


async def ensure_referenced(
    conn: asyncpg.Connection, batch: EventsByType, known: AbstractSet[EntityKey]
) -> list[EntityKey]:
    """Create placeholder rows for the users the batch's learner facts refer to, skipping the
    ``known`` ones (rows this projector saw committed: user rows are never deleted) and those
    with a profile in the batch (``apply_users`` writes their row, as an insert when new).

    Returns every ``(platform_id, user_id)`` referenced or with a profile in the batch, sorted:
    once the batch commits, they all have a row (remembering the registered ones too spares
    their first learner fact in a later batch the insert's probe: it always found the row).
    """
    referenced = referenced_users(batch)
    profiled = {_BY_USER(event) for event in batch.of(*USER_STATE_TYPES)}
    missing = in_key_order(k for k in referenced if k not in known and k not in profiled)
    await execute_rows(conn, ENSURE_USERS_SQL, missing)
    return in_key_order(profiled | referenced)


class KnownUsers:
    """Users whose rows exist in one generation, learnt from committed batches (at most
    ``limit``; forgotten all at once beyond it). Only ever a shortcut: an unknown user gets
    the ``ON CONFLICT DO NOTHING`` insert."""

    def __init__(self, limit: int = 1_000_000) -> None:
        self._limit = limit
        self._schema: str | None = None
        self._users: set[EntityKey] = set()

    def of(self, schema: str) -> AbstractSet[EntityKey]:
        """The users known to have a row in generation ``schema``."""
        return self._users if schema == self._schema else frozenset()

    def remember(self, schema: str, users: list[EntityKey]) -> None:
        """Record ``users`` as having rows in ``schema``; call only after the batch committed."""
        if schema != self._schema or len(self._users) + len(users) > self._limit:
            self._schema, self._users = schema, set()
        self._users.update(users)
