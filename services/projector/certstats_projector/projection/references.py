"""Placeholder rows for referenced users and groups (SPEC.md §3, docs/DECISIONS.md).

An event may name a user or a group not seen yet. Such a reference makes sure the row exists
(a user: ``active``, no profile; a group: not deleted, no name) so that queries can join on
it; the entity's own state event completes the row later. Existing rows are left untouched.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg

from certstats_contracts.events import CertificateState, GroupState, UserState

from .reduce import EntityKey, EventsByType, entity_key, payload
from .sql import execute_rows

USER_REFERENCING_TYPES = (
    "enrollment.created",
    "enrollment.status_changed",
    "enrollment.completed",
    "enrollment.deleted",
    "certificate.granted",
    "certificate.revoked",
    "group.role_granted",
    "group.role_revoked",
)

ENSURE_USERS_SQL = """
INSERT INTO users (platform_id, user_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT DO NOTHING
"""

ENSURE_GROUPS_SQL = """
INSERT INTO groups (platform_id, group_id)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT DO NOTHING
"""


_BY_USER = entity_key("user_id")
_BY_GROUP = entity_key("group_id")


def referenced_users(batch: EventsByType) -> list[EntityKey]:
    """Sorted distinct ``(platform_id, user_id)`` named by learner facts and roles."""
    return sorted({_BY_USER(event) for event in batch.of(*USER_REFERENCING_TYPES)})


def referenced_groups(batch: EventsByType) -> list[EntityKey]:
    """Sorted distinct ``(platform_id, group_id)`` named by memberships, roles, parents, owners."""
    return sorted(set(_group_references(batch)))


def _group_references(batch: EventsByType) -> Iterator[EntityKey]:
    for event in batch.of("user.registered", "user.updated"):
        for group_id in payload(event, UserState).group_ids:
            yield (event.platform_id, group_id)
    for event in batch.of("group.role_granted", "group.role_revoked"):
        yield _BY_GROUP(event)
    for event in batch.of("group.created", "group.updated"):
        if (parent := payload(event, GroupState).parent_group_id) is not None:
            yield (event.platform_id, parent)
    for event in batch.of("certificate.created", "certificate.updated"):
        if (owner := payload(event, CertificateState).owner_group_id) is not None:
            yield (event.platform_id, owner)


async def ensure_referenced(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Create placeholder rows for every user and group the batch refers to."""
    await execute_rows(conn, ENSURE_USERS_SQL, referenced_users(batch))
    await execute_rows(conn, ENSURE_GROUPS_SQL, referenced_groups(batch))
