"""Certificates and paths (SPEC.md §2 Certificate, Path; §3 ``certificate.*``, ``path.*``).

State events are last writer wins by event time; deletions are final flags.
"""

from __future__ import annotations

import json

import asyncpg

from certstats_contracts.decoded import CertificateState, Event, PathState

from .reduce import EventsByType, by_time, entity_key, final_rows, latest, payload
from .sql import Row, execute_rows, final_flag_sql, texts

UPSERT_CERTIFICATE_STATE_SQL = f"""
INSERT INTO certificates AS c (platform_id, certificate_id, title, owner_group_id,
                               validity_months, state_event_at)
SELECT * FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
                     $5::integer[], $6::timestamptz[])
ON CONFLICT (platform_id, certificate_id) DO UPDATE
SET title = EXCLUDED.title, owner_group_id = EXCLUDED.owner_group_id,
    validity_months = EXCLUDED.validity_months, state_event_at = EXCLUDED.state_event_at
WHERE c.state_event_at IS NULL OR c.state_event_at <= EXCLUDED.state_event_at
"""

DELETE_CERTIFICATES_SQL = final_flag_sql("certificates", "certificate_id")

UPSERT_PATH_STATE_SQL = f"""
INSERT INTO paths AS p (platform_id, path_id, name, certificate_id, author_ids, state_event_at)
SELECT platform_id, path_id, name, certificate_id,
       ARRAY(SELECT jsonb_array_elements_text(author_ids::jsonb)), state_event_at
FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
            {texts(5)}, $6::timestamptz[])
     AS i(platform_id, path_id, name, certificate_id, author_ids, state_event_at)
ON CONFLICT (platform_id, path_id) DO UPDATE
SET name = EXCLUDED.name, certificate_id = EXCLUDED.certificate_id,
    author_ids = EXCLUDED.author_ids, state_event_at = EXCLUDED.state_event_at
WHERE p.state_event_at IS NULL OR p.state_event_at <= EXCLUDED.state_event_at
"""

DELETE_PATHS_SQL = final_flag_sql("paths", "path_id")

_BY_CERTIFICATE = entity_key("certificate_id")
_BY_PATH = entity_key("path_id")


def _certificate_row(event: Event) -> Row:
    """Row of ``UPSERT_CERTIFICATE_STATE_SQL``."""
    cert = payload(event, CertificateState)
    return (
        event.platform_id,
        cert.certificate_id,
        cert.title,
        cert.owner_group_id,
        cert.validity_months,
        event.time,
    )


async def apply_certificates(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Apply the batch's certificate states and deletions."""
    states = [
        _certificate_row(event)
        for event in latest(
            batch.of("certificate.created", "certificate.updated"), _BY_CERTIFICATE, by_time
        )
    ]
    await execute_rows(conn, UPSERT_CERTIFICATE_STATE_SQL, states)
    deleted = final_rows(batch.of("certificate.deleted"), "certificate_id")
    await execute_rows(conn, DELETE_CERTIFICATES_SQL, deleted)


def _path_row(event: Event) -> Row:
    """Row of ``UPSERT_PATH_STATE_SQL``; author ids as JSON text."""
    path = payload(event, PathState)
    return (
        event.platform_id,
        path.path_id,
        path.name,
        path.certificate_id,
        json.dumps(path.author_ids),
        event.time,
    )


async def apply_paths(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Apply the batch's path states and deletions."""
    states = [
        _path_row(event)
        for event in latest(batch.of("path.created", "path.updated"), _BY_PATH, by_time)
    ]
    await execute_rows(conn, UPSERT_PATH_STATE_SQL, states)
    await execute_rows(conn, DELETE_PATHS_SQL, final_rows(batch.of("path.deleted"), "path_id"))
