"""Path sessions and learner users of the ``ou`` stream (SPEC.md section 7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from certstats_contracts.events import PathSessionArchived, PathSessionState, UserState
from certstats_importer import ids
from certstats_importer.catalog import REGION_GROUPS, group_id_of
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


def learner_facts(at: datetime, enrollments: list[Enrollment]) -> Iterator[Fact]:
    """``user.registered`` per student, by id_student: registered at their earliest
    enrollment; group and custom fields from their latest row (latest presentation start,
    then greatest module code)."""
    by_student: dict[int, list[Enrollment]] = {}
    for enrollment in enrollments:
        by_student.setdefault(enrollment.row.student, []).append(enrollment)
    for student in sorted(by_student):
        rows = by_student[student]
        latest = max(rows, key=lambda e: (e.times.starts_at, e.row.module)).row
        user = UserState(
            user_id=ids.learner_id(student),
            first_name="Learner",
            last_name=str(student),
            email=f"{ids.learner_id(student)}@learners.example",
            registered_at=min(e.enrolled_at for e in rows),
            custom_fields=latest.custom_fields,
            group_ids=[group_id_of(REGION_GROUPS[latest.region])],
        )
        yield Fact(at, "user.registered", user, (user.user_id,))
