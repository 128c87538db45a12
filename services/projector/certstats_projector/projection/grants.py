"""Certificate grants (SPEC.md §2 Certificate grant; §3 ``certificate.granted``/``.revoked``).

- ``certificate.granted``: full state, last writer wins by event time.
- ``certificate.revoked``: final flag; a revocation before its grant makes a placeholder row.
"""

from __future__ import annotations

import asyncpg

from certstats_contracts.decoded import CertificateGranted, Event

from .reduce import EventsByType, by_time, entity_key, final_rows, latest, payload
from .sql import Row, execute_rows, final_flag_sql, insert_rows, plain_insert, texts

UPSERT_GRANT_STATE_SQL = f"""
INSERT INTO certificate_grants AS g (platform_id, grant_id, certificate_id, user_id,
                                     enrollment_id, session_id, delivered_at, expires_at,
                                     state_event_at)
SELECT * FROM unnest({texts(1)}, {texts(2)}, {texts(3)}, {texts(4)},
                     {texts(5)}, {texts(6)}, $7::timestamptz[], $8::timestamptz[],
                     $9::timestamptz[])
ON CONFLICT (platform_id, grant_id) DO UPDATE
SET certificate_id = EXCLUDED.certificate_id, user_id = EXCLUDED.user_id,
    enrollment_id = EXCLUDED.enrollment_id, session_id = EXCLUDED.session_id,
    delivered_at = EXCLUDED.delivered_at, expires_at = EXCLUDED.expires_at,
    state_event_at = EXCLUDED.state_event_at
WHERE g.state_event_at IS NULL OR g.state_event_at <= EXCLUDED.state_event_at
"""

NEW_GRANTS_SQL = plain_insert(UPSERT_GRANT_STATE_SQL)
"""Grants that have no row yet (nearly all: see ``insert_rows``)."""

REVOKE_GRANTS_SQL = final_flag_sql("certificate_grants", "grant_id", "revoked", with_user=True)

_BY_GRANT = entity_key("grant_id")


def _grant_row(event: Event) -> Row:
    """Row of ``UPSERT_GRANT_STATE_SQL``."""
    grant = payload(event, CertificateGranted)
    return (
        event.platform_id,
        grant.grant_id,
        grant.certificate_id,
        grant.user_id,
        grant.enrollment_id,
        grant.session_id,
        grant.delivered_at,
        grant.expires_at,
        event.time,
    )


async def apply_grants(conn: asyncpg.Connection, batch: EventsByType) -> None:
    """Apply the batch's grants, then its revocations."""
    states = [
        _grant_row(event) for event in latest(batch.of("certificate.granted"), _BY_GRANT, by_time)
    ]
    await insert_rows(conn, NEW_GRANTS_SQL, UPSERT_GRANT_STATE_SQL, states)
    revoked = final_rows(batch.of("certificate.revoked"), "grant_id", "user_id")
    await execute_rows(conn, REVOKE_GRANTS_SQL, revoked)
