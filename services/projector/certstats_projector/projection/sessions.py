"""Path sessions (SPEC.md §2 Path session; §3 ``path_session.*``).

- ``path_session.created`` / ``.updated``: full state, last writer wins by event time.
- ``path_session.archived`` / ``.unarchived``: a toggle with its own version
  (``archive_event_at``), last writer wins by event time.
- ``path_session.deleted``: final flag.
"""

from __future__ import annotations

import json

import asyncpg

from certstats_contracts.decoded import Event, PathSessionState

from .reduce import EventsByType, by_time, entity_key, final_rows, latest, payload
from .sql import Row, execute_rows, final_flag_sql, texts

UPSERT_SESSION_STATE_SQL = f"""
INSERT INTO path_sessions AS s (platform_id, session_id, path_id, name, starts_at, ends_at,
                                instructor_ids, automatic_reenrollment, state_event_at)
SELECT platform_id, session_id, path_id, name, starts_at, ends_at,
       ARRAY(SELECT jsonb_array_elements_text(instructor_ids::jsonb)),
       automatic_reenrollment, state_event_at
FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
            $5::timestamptz[],
            $6::timestamptz[], {texts(7)}, $8::boolean[], $9::timestamptz[])
     AS i(platform_id, session_id, path_id, name, starts_at, ends_at, instructor_ids,
          automatic_reenrollment, state_event_at)
ON CONFLICT (platform_id, session_id) DO UPDATE
SET path_id = EXCLUDED.path_id, name = EXCLUDED.name, starts_at = EXCLUDED.starts_at,
    ends_at = EXCLUDED.ends_at, instructor_ids = EXCLUDED.instructor_ids,
    automatic_reenrollment = EXCLUDED.automatic_reenrollment,
    state_event_at = EXCLUDED.state_event_at
WHERE s.state_event_at IS NULL OR s.state_event_at <= EXCLUDED.state_event_at
"""

UPSERT_SESSION_ARCHIVE_SQL = f"""
INSERT INTO path_sessions AS s (platform_id, session_id, archived, archive_event_at)
SELECT * FROM unnest({texts(1)}, {texts(2)}, $3::boolean[], $4::timestamptz[])
ON CONFLICT (platform_id, session_id) DO UPDATE
SET archived = EXCLUDED.archived, archive_event_at = EXCLUDED.archive_event_at
WHERE s.archive_event_at IS NULL OR s.archive_event_at <= EXCLUDED.archive_event_at
"""

DELETE_SESSIONS_SQL = final_flag_sql("path_sessions", "session_id")

ARCHIVE_TYPES = ("path_session.archived", "path_session.unarchived")

_BY_SESSION = entity_key("session_id")


def _session_row(event: Event) -> Row:
    """Row of ``UPSERT_SESSION_STATE_SQL``; instructor ids as JSON text."""
    session = payload(event, PathSessionState)
    return (
        event.platform_id,
        session.session_id,
        session.path_id,
        session.name,
        session.starts_at,
        session.ends_at,
        json.dumps(session.instructor_ids),
        session.automatic_reenrollment,
        event.time,
    )


async def apply_sessions(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Apply the batch's session states, archive toggles and deletions."""
    states = [
        _session_row(event)
        for event in latest(
            batch.of("path_session.created", "path_session.updated"), _BY_SESSION, by_time
        )
    ]
    await execute_rows(conn, UPSERT_SESSION_STATE_SQL, states)
    toggles = [
        (*_BY_SESSION(event), event.type == "path_session.archived", event.time)
        for event in latest(batch.of(*ARCHIVE_TYPES), _BY_SESSION, by_time)
    ]
    await execute_rows(conn, UPSERT_SESSION_ARCHIVE_SQL, toggles)
    deleted = final_rows(batch.of("path_session.deleted"), "session_id")
    await execute_rows(conn, DELETE_SESSIONS_SQL, deleted)
