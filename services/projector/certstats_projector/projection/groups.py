"""Groups (the tree) and group roles (SPEC.md §2 Group, Group role; §3 ``group.*``).

- ``group.created`` / ``group.updated``: name and parent, last writer wins by event time.
- ``group.deleted``: final flag. Memberships and roles of the group are kept as rows; the
  query side treats a deleted group as absent (docs/DECISIONS.md, "Deleted groups").
- ``group.role_granted`` / ``group.role_revoked``: a toggle per (group, user, role), last
  writer wins by event time.
"""

from __future__ import annotations

import asyncpg

from certstats_contracts.decoded import GroupState

from .reduce import EventsByType, by_time, entity_key, final_rows, latest, payload
from .sql import execute_rows, final_flag_sql, texts

UPSERT_GROUP_STATE_SQL = f"""
INSERT INTO groups AS g (platform_id, group_id, name, parent_group_id, state_event_at)
SELECT * FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
                     $5::timestamptz[])
ON CONFLICT (platform_id, group_id) DO UPDATE
SET name = EXCLUDED.name, parent_group_id = EXCLUDED.parent_group_id,
    state_event_at = EXCLUDED.state_event_at
WHERE g.state_event_at IS NULL OR g.state_event_at <= EXCLUDED.state_event_at
"""

DELETE_GROUPS_SQL = final_flag_sql("groups", "group_id")

UPSERT_GROUP_ROLES_SQL = f"""
INSERT INTO group_roles AS r (platform_id, group_id, user_id, role, granted, role_event_at)
SELECT * FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
                     $5::boolean[], $6::timestamptz[])
ON CONFLICT (platform_id, group_id, user_id, role) DO UPDATE
SET granted = EXCLUDED.granted, role_event_at = EXCLUDED.role_event_at
WHERE r.role_event_at <= EXCLUDED.role_event_at
"""

_BY_GROUP = entity_key("group_id")
_BY_ROLE = entity_key("group_id", "user_id", "role")


async def apply_groups(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Apply the batch's group states, deletions and role toggles."""
    states = []
    for event in latest(batch.of("group.created", "group.updated"), _BY_GROUP, by_time):
        group = payload(event, GroupState)
        states.append(
            (event.platform_id, group.group_id, group.name, group.parent_group_id, event.time)
        )
    await execute_rows(conn, UPSERT_GROUP_STATE_SQL, states)
    await execute_rows(conn, DELETE_GROUPS_SQL, final_rows(batch.of("group.deleted"), "group_id"))
    roles = [
        (*_BY_ROLE(event), event.type == "group.role_granted", event.time)
        for event in latest(batch.of("group.role_granted", "group.role_revoked"), _BY_ROLE, by_time)
    ]
    await execute_rows(conn, UPSERT_GROUP_ROLES_SQL, roles)
