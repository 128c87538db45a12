"""Reference model, part 4: a learner's history for one certificate (SPEC.md 5.3, DECISIONS).

Rows: one per visible enrollment of U in a session granting C (archived included), plus one per
visible grant of C (delivered by ``as_of``) whose enrollment is none of those.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.reference import rules
from tests.reference.entities import Enrollment, Grant, PlatformState


def local_date(instant: datetime | None, tz: str) -> str | None:
    """Calendar date of ``instant`` in ``tz`` as ISO text (SPEC.md 2, "Time")."""
    return None if instant is None else instant.astimezone(ZoneInfo(tz)).date().isoformat()


def _grant_cells(grant: Grant | None, as_of: datetime, window: int, tz: str) -> dict[str, Any]:
    return {
        "certification_status": rules.certificate_status(grant, as_of, window),
        "delivery_date": local_date(grant.delivered_at if grant else None, tz),
        "expiration_date": local_date(grant.expires_at if grant else None, tz),
    }


def _session_cells(st: PlatformState, session_id: str | None) -> dict[str, Any]:
    """Path and session of a known session; empty cells otherwise (DECISIONS)."""
    session = st.sessions.get(session_id) if session_id is not None else None
    if session is None or session.state_at is None:
        return {"path_id": None, "path_name": None, "session_id": None, "session_name": None}
    path = st.paths.get(session.path_id) if session.path_id is not None else None
    return {
        "path_id": session.path_id,
        "path_name": path.name if path else None,
        "session_id": session.session_id,
        "session_name": session.name,
    }


def _enrollment_row(
    st: PlatformState, n: Enrollment, grants: list[Grant], as_of: datetime, window: int, tz: str
) -> dict[str, Any]:
    """Certification status of the most recent visible grant linked to this enrollment."""
    grant = rules.most_recent(g for g in grants if g.enrollment_id == n.enrollment_id)
    return {
        "enrollment_id": n.enrollment_id,
        **_grant_cells(grant, as_of, window, tz),
        **_session_cells(st, n.session_id),
        "path_status": rules.path_status(st, n, as_of),
        "automatic_reenrollment": n.automatic_reenrollment,
    }


def _grant_row(
    st: PlatformState, g: Grant, as_of: datetime, window: int, tz: str
) -> dict[str, Any]:
    """A grant linked to no listed enrollment: no enrollment, path status or flag cells."""
    return {
        "enrollment_id": None,
        **_grant_cells(g, as_of, window, tz),
        **_session_cells(st, g.session_id),
        "path_status": None,
        "automatic_reenrollment": None,
    }


def history_rows(
    st: PlatformState, cert_id: str, user_id: str, as_of: datetime, window: int, tz: str
) -> list[dict[str, Any]]:
    """History rows of ``user_id`` for ``cert_id`` (unsorted; SPEC.md 5.3)."""
    enrollments = rules.enrollments_granting(st, cert_id, user_id)
    grants = rules.grants_of(st, cert_id, user_id, as_of)
    listed = {n.enrollment_id for n in enrollments}
    return [_enrollment_row(st, n, grants, as_of, window, tz) for n in enrollments] + [
        _grant_row(st, g, as_of, window, tz) for g in grants if g.enrollment_id not in listed
    ]
