"""Enrollments and their path status (SPEC.md §2 Enrollment, Path status; §3 ``enrollment.*``).

- ``enrollment.created``: full state, last writer wins by event time.
- ``enrollment.status_changed`` / ``.completed``: the path status, last writer wins by the
  payload's ``changed_at`` / ``completed_at`` (ties: the later consumed).
- ``enrollment.deleted``: final flag.
Every kind creates a placeholder row when the enrollment is not known yet; all carry the user.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from certstats_contracts.decoded import (
    EnrollmentCompleted,
    EnrollmentCreated,
    EnrollmentStatusChanged,
    Event,
)

from .reduce import EventsByType, by_time, entity_key, final_rows, in_key_order, latest, payload
from .sql import Row, execute_rows, final_flag_sql, insert_rows, plain_insert, texts

UPSERT_ENROLLMENT_STATE_SQL = f"""
INSERT INTO enrollments AS e (platform_id, enrollment_id, user_id, session_id, enrolled_at,
                              method, automatic_reenrollment, previous_enrollment_id,
                              state_event_at)
SELECT * FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
                     $5::timestamptz[],
                     {texts(6)}, $7::boolean[], {texts(8)}, $9::timestamptz[])
ON CONFLICT (platform_id, enrollment_id) DO UPDATE
SET user_id = EXCLUDED.user_id, session_id = EXCLUDED.session_id,
    enrolled_at = EXCLUDED.enrolled_at, method = EXCLUDED.method,
    automatic_reenrollment = EXCLUDED.automatic_reenrollment,
    previous_enrollment_id = EXCLUDED.previous_enrollment_id,
    state_event_at = EXCLUDED.state_event_at
WHERE e.state_event_at IS NULL OR e.state_event_at <= EXCLUDED.state_event_at
"""

NEW_ENROLLMENTS_SQL = plain_insert(UPSERT_ENROLLMENT_STATE_SQL)
"""Enrollment states whose enrollment has no row yet (nearly all: see ``insert_rows``)."""

UPSERT_PATH_STATUS_SQL = f"""
INSERT INTO enrollments AS e (platform_id, enrollment_id, user_id, path_status,
                              path_status_changed_at)
SELECT * FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
                     $5::timestamptz[])
ON CONFLICT (platform_id, enrollment_id) DO UPDATE
SET path_status = EXCLUDED.path_status,
    path_status_changed_at = EXCLUDED.path_status_changed_at
WHERE e.path_status_changed_at IS NULL
   OR e.path_status_changed_at <= EXCLUDED.path_status_changed_at
"""

DELETE_ENROLLMENTS_SQL = final_flag_sql("enrollments", "enrollment_id", with_user=True)

STATUS_TYPES = ("enrollment.status_changed", "enrollment.completed")

_BY_ENROLLMENT = entity_key("enrollment_id")


def status_rows(events: Iterable[Event]) -> list[Row]:
    """Rows of ``UPSERT_PATH_STATUS_SQL``, one per enrollment, sorted by key: the status of
    the greatest ``changed_at`` / ``completed_at``, ties to the later event (SPEC.md §2)."""
    winners: dict[tuple[str, str], tuple[datetime, Row]] = {}
    for event in events:
        data = event.data
        if type(data) is EnrollmentCompleted:  # exact types: isinstance goes through ABCMeta
            version = data.completed_at
        elif type(data) is EnrollmentStatusChanged:
            version = data.changed_at
        else:
            raise TypeError(f"{event.type} is not a path status event")
        key = (event.platform_id, data.enrollment_id)
        held = winners.get(key)
        if held is None or version >= held[0]:
            winners[key] = (version, (*key, data.user_id, data.status.value, version))
    return [winners[key][1] for key in in_key_order(winners)]


def _enrollment_row(event: Event) -> Row:
    """Row of ``UPSERT_ENROLLMENT_STATE_SQL``."""
    enr = payload(event, EnrollmentCreated)
    return (
        event.platform_id,
        enr.enrollment_id,
        enr.user_id,
        enr.session_id,
        enr.enrolled_at,
        enr.method.value,
        enr.automatic_reenrollment,
        enr.previous_enrollment_id,
        event.time,
    )


async def apply_enrollments(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Apply the batch's enrollment states, path statuses and deletions."""
    states = [
        _enrollment_row(event)
        for event in latest(batch.of("enrollment.created"), _BY_ENROLLMENT, by_time)
    ]
    await insert_rows(conn, NEW_ENROLLMENTS_SQL, UPSERT_ENROLLMENT_STATE_SQL, states)
    await execute_rows(conn, UPSERT_PATH_STATUS_SQL, status_rows(batch.of(*STATUS_TYPES)))
    deleted = final_rows(batch.of("enrollment.deleted"), "enrollment_id", "user_id")
    await execute_rows(conn, DELETE_ENROLLMENTS_SQL, deleted)
