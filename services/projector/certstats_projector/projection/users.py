"""Users, their group memberships and their status (SPEC.md §2 User, §3 ``user.*``).

- ``user.registered`` / ``user.updated``: the full profile, last writer wins by event time;
  an applied profile rewrites the user's ``group_memberships`` from ``group_ids``.
- ``user.deleted`` / ``user.reactivated``: a toggle of ``status``, last writer wins by event
  time, versioned apart from the profile so a later profile never undoes a deletion.
"""

from __future__ import annotations

import json

import asyncpg

from certstats_contracts.decoded import Event, UserState

from .reduce import EventsByType, by_time, entity_key, latest, payload
from .sql import Row, execute_rows, insert_rows, texts

USER_STATE_TYPES = ("user.registered", "user.updated")
USER_STATUS = {"user.deleted": "deleted", "user.reactivated": "active"}

_INSERT_PROFILES_SQL = f"""
    INSERT INTO users AS u (platform_id, user_id, first_name, last_name, email, registered_at,
                            custom_fields, group_ids, state_event_at)
    SELECT platform_id, user_id, first_name, last_name, email, registered_at,
           custom_fields::jsonb, ARRAY(SELECT jsonb_array_elements_text(group_ids::jsonb)),
           state_event_at
    FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
                {texts(5)}, $6::timestamptz[], {texts(7)}, {texts(8)},
                $9::timestamptz[])
         AS i(platform_id, user_id, first_name, last_name, email, registered_at,
              custom_fields, group_ids, state_event_at)"""

UPSERT_USER_STATE_SQL = f"""
WITH applied AS ({_INSERT_PROFILES_SQL}
    ON CONFLICT (platform_id, user_id) DO UPDATE
    SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name,
        email = EXCLUDED.email, registered_at = EXCLUDED.registered_at,
        custom_fields = EXCLUDED.custom_fields, group_ids = EXCLUDED.group_ids,
        state_event_at = EXCLUDED.state_event_at
    WHERE u.state_event_at IS NULL OR u.state_event_at <= EXCLUDED.state_event_at
    RETURNING u.platform_id, u.user_id, u.group_ids
), left_groups AS (
    -- the user's memberships are found by one index probe per applied user (OFFSET 0 keeps
    -- the lateral subquery from becoming a join that may hash a scan of the whole table)
    DELETE FROM group_memberships m
    WHERE m.ctid = ANY (ARRAY(
        SELECT x.ctid FROM applied a CROSS JOIN LATERAL (
            SELECT x.ctid FROM group_memberships x
            WHERE x.platform_id = a.platform_id AND x.user_id = a.user_id
              AND x.group_id <> ALL (a.group_ids)
            OFFSET 0
        ) x))
)
INSERT INTO group_memberships (platform_id, group_id, user_id)
SELECT a.platform_id, g.group_id, a.user_id
FROM applied a CROSS JOIN LATERAL unnest(a.group_ids) AS g(group_id)
ON CONFLICT DO NOTHING
"""

NEW_USERS_SQL = f"""
WITH applied AS ({_INSERT_PROFILES_SQL}
    RETURNING u.platform_id, u.user_id, u.group_ids
)
INSERT INTO group_memberships (platform_id, group_id, user_id)
SELECT a.platform_id, g.group_id, a.user_id
FROM applied a CROSS JOIN LATERAL unnest(a.group_ids) AS g(group_id)
"""
"""``UPSERT_USER_STATE_SQL`` for users without a row (see ``insert_rows``): a user with no row
has no memberships either (only a profile writes them), so nothing to delete or to meet."""

CUSTOM_PLANS_SQL = """
SELECT current_setting('plan_cache_mode'), set_config('plan_cache_mode', 'force_custom_plan', true)
"""
"""Plans the next statements for the tables' current size; returns the previous mode, for
``RESTORE_PLANS_SQL``. Around ``UPSERT_USER_STATE_SQL``: a generic plan is made once, at the
sixth run, i.e. on the first batches of a fresh generation, before any ANALYZE, and then kept;
for its delete of left memberships it scanned the whole ``group_memberships`` in every batch
(as a hash join, or a ``ctid = ANY`` filter), ~75-90 µs per updated user at a million events.
Planned per batch (~0.1 ms), it probes the index per user and fetches the rows by ctid."""

RESTORE_PLANS_SQL = "SELECT set_config('plan_cache_mode', $1, true)"

UPSERT_USER_STATUS_SQL = f"""
INSERT INTO users AS u (platform_id, user_id, status, status_event_at)
SELECT * FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, $4::timestamptz[])
ON CONFLICT (platform_id, user_id) DO UPDATE
SET status = EXCLUDED.status, status_event_at = EXCLUDED.status_event_at
WHERE u.status_event_at IS NULL OR u.status_event_at <= EXCLUDED.status_event_at
"""

_BY_USER = entity_key("user_id")


def _profile_row(event: Event) -> Row:
    """Row of ``UPSERT_USER_STATE_SQL``; arrays and objects as JSON text."""
    user = payload(event, UserState)
    return (
        event.platform_id,
        user.user_id,
        user.first_name,
        user.last_name,
        user.email,
        user.registered_at,
        json.dumps(user.custom_fields),
        json.dumps(list(dict.fromkeys(user.group_ids))),
        event.time,
    )


async def apply_users(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Apply the batch's user profiles (registrations, then updates), then its status
    toggles."""
    registered: list[Row] = []  # nearly always new users: a plain insert first
    updated: list[Row] = []
    for event in latest(batch.of(*USER_STATE_TYPES), _BY_USER, by_time):
        (registered if event.type == "user.registered" else updated).append(_profile_row(event))
    await insert_rows(conn, NEW_USERS_SQL, UPSERT_USER_STATE_SQL, registered)
    if updated:
        previous = await conn.fetchval(CUSTOM_PLANS_SQL)
        await execute_rows(conn, UPSERT_USER_STATE_SQL, updated)
        await conn.execute(RESTORE_PLANS_SQL, previous)
    toggles = [
        (*_BY_USER(event), USER_STATUS[event.type], event.time)
        for event in latest(batch.of(*USER_STATUS), _BY_USER, by_time)
    ]
    await execute_rows(conn, UPSERT_USER_STATUS_SQL, toggles)
