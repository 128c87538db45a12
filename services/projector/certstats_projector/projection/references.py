"""Placeholder users for learner facts about users not registered yet (SPEC.md §3,
docs/DECISIONS.md "Placeholders").

An enrollment or grant event may name a user whose ``user.registered`` has not arrived. The
user's row is then created (``active``, no profile) and completed by the profile later;
existing rows are left untouched. These events are keyed by the user, like the user's own
events, so the row is only ever written by the projector instance owning that partition.
Role events (keyed by group) and references to groups create no placeholder: the queries
treat a missing user or group row as a placeholder (docs/DECISIONS.md, "Projection writes").
"""

from __future__ import annotations

import asyncpg

from .reduce import EntityKey, EventsByType, entity_key
from .sql import execute_rows

USER_REFERENCING_TYPES = (
    "enrollment.created",
    "enrollment.status_changed",
    "enrollment.completed",
    "enrollment.deleted",
    "certificate.granted",
    "certificate.revoked",
)

ENSURE_USERS_SQL = """
INSERT INTO users (platform_id, user_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT DO NOTHING
"""

_BY_USER = entity_key("user_id")


def referenced_users(batch: EventsByType) -> list[EntityKey]:
    """Sorted distinct ``(platform_id, user_id)`` named by the batch's learner facts."""
    return sorted({_BY_USER(event) for event in batch.of(*USER_REFERENCING_TYPES)})


async def ensure_referenced(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Create placeholder rows for the users the batch's learner facts refer to."""
    await execute_rows(conn, ENSURE_USERS_SQL, referenced_users(batch))
