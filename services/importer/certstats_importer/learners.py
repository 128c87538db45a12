"""Learner users of the ``ou`` stream: one ``user.registered`` per student (SPEC.md §7)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from certstats_contracts.events import UserState
from certstats_importer import ids
from certstats_importer.catalog import REGION_GROUPS, group_id_of
from certstats_importer.enrollments import Enrollment
from certstats_importer.facts import Fact


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
