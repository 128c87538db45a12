"""Path sessions of the ``ou`` stream: one per presentation (SPEC.md section 7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from certstats_contracts.events import PathSessionArchived, PathSessionState
from certstats_importer import ids
from certstats_importer.enrollments import Enrollment, PresentationTimes
from certstats_importer.facts import Fact
from certstats_importer.timeline import ARCHIVE_DELAY


def session_facts(
    at: datetime, times: dict[tuple[str, str], PresentationTimes], enrollments: list[Enrollment]
) -> Iterator[Fact]:
    """``path_session.created`` per presentation, by (module, start); a session is flagged
    ``automatic_reenrollment`` when some enrollment in it was automatic; sessions of 2013
    presentations are ``path_session.archived`` 180 days after they end. No instructors."""
    automatic = {(e.row.module, e.row.presentation) for e in enrollments if e.automatic}
    keys = sorted(times, key=lambda key: (key[0], times[key].starts_at))
    for module, presentation in keys:
        state = PathSessionState(
            session_id=ids.session_id(module, presentation),
            path_id=ids.path_id(module),
            name=f"{module} {presentation}",
            starts_at=times[module, presentation].starts_at,
            ends_at=times[module, presentation].ends_at,
            automatic_reenrollment=(module, presentation) in automatic,
        )
        yield Fact(at, "path_session.created", state, (state.session_id,))
    for module, presentation in keys:
        if presentation.startswith("2013"):
            archived_at = times[module, presentation].ends_at + ARCHIVE_DELAY
            sid = ids.session_id(module, presentation)
            archived = PathSessionArchived(session_id=sid, archived_at=archived_at)
            yield Fact(archived_at, "path_session.archived", archived, (sid,))
