"""Enrollments of the ``ou`` stream and the events of their lives (SPEC.md section 7).

One enrollment per registration row; a repeat of a module links the previous registration of
that module and is an automatic re-enrollment when that one ended in Pass or Distinction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from certstats_contracts.events import (
    CertificateGranted,
    CompletionStatus,
    EnrollmentCompleted,
    EnrollmentCreated,
    EnrollmentDeleted,
    EnrollmentMethod,
    EnrollmentStatusChanged,
    PathStatus,
)
from certstats_importer import ids
from certstats_importer.catalog import VALIDITY_MONTHS
from certstats_importer.dataset import Registration
from certstats_importer.facts import Fact
from certstats_importer.timeline import add_months, day

PASSED = frozenset({"Pass", "Distinction"})


@dataclass(frozen=True, slots=True)
class PresentationTimes:
    """Start and end (start + module_presentation_length days) of a presentation."""

    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Enrollment:
    """A registration placed in time and linked to the learner's previous one of the module."""

    row: Registration
    times: PresentationTimes
    previous: Registration | None

    @property
    def enrollment_id(self) -> str:
        return ids.enrollment_id(self.row.module, self.row.presentation, self.row.student)

    @property
    def enrolled_at(self) -> datetime:
        """start + date_registration days (the start when empty)."""
        return day(self.times.starts_at, self.row.date_registration or 0)

    @property
    def automatic(self) -> bool:
        """Created by automatic re-enrollment: the previous registration was passed."""
        return self.previous is not None and self.previous.final_result in PASSED

    @property
    def closed_at(self) -> datetime:
        """When the enrollment ends: withdrawal (start + date_unregistration) or ``ends_at``."""
        if self.row.final_result == "Withdrawn" and self.row.date_unregistration is not None:
            return day(self.times.starts_at, self.row.date_unregistration)
        return self.times.ends_at


def plan_enrollments(
    registrations: list[Registration], times: dict[tuple[str, str], PresentationTimes]
) -> list[Enrollment]:
    """Enrollments ordered by (student, module, presentation start), repeats linked."""

    def order(row: Registration) -> tuple[int, str, datetime]:
        return row.student, row.module, times[row.module, row.presentation].starts_at

    planned: list[Enrollment] = []
    for _, rows in groupby(sorted(registrations, key=order), key=lambda r: order(r)[:2]):
        previous: Registration | None = None
        for row in rows:
            planned.append(Enrollment(row, times[row.module, row.presentation], previous))
            previous = row
    return planned


def enrollment_facts(enrollment: Enrollment, first_submission: int | None) -> Iterator[Fact]:
    """``enrollment.created``, ``status_changed`` (onTime at the first submission, when it
    comes before the enrollment closes) and the outcome events."""
    row, enr_id = enrollment.row, enrollment.enrollment_id
    user_id = ids.learner_id(row.student)
    yield Fact(
        enrollment.enrolled_at,
        "enrollment.created",
        EnrollmentCreated(
            enrollment_id=enr_id,
            user_id=user_id,
            session_id=ids.session_id(row.module, row.presentation),
            enrolled_at=enrollment.enrolled_at,
            method=EnrollmentMethod.ASSIGNED,
            automatic_reenrollment=enrollment.automatic,
            previous_enrollment_id=_previous_id(enrollment.previous),
        ),
        (enr_id,),
    )
    if first_submission is not None:
        submitted_at = day(enrollment.times.starts_at, first_submission)
        if submitted_at < enrollment.closed_at:
            status = EnrollmentStatusChanged(
                enrollment_id=enr_id, user_id=user_id, status=PathStatus.ON_TIME,
                changed_at=submitted_at,
            )  # fmt: skip
            yield Fact(submitted_at, "enrollment.status_changed", status, (enr_id,))
    yield from _outcome_facts(enrollment, user_id)


def _previous_id(previous: Registration | None) -> str | None:
    if previous is None:
        return None
    return ids.enrollment_id(previous.module, previous.presentation, previous.student)


def _outcome_facts(enrollment: Enrollment, user_id: str) -> Iterator[Fact]:
    row, enr_id, at = enrollment.row, enrollment.enrollment_id, enrollment.closed_at
    if row.final_result == "Withdrawn":
        deleted = EnrollmentDeleted(enrollment_id=enr_id, user_id=user_id, deleted_at=at)
        yield Fact(at, "enrollment.deleted", deleted, (enr_id,))
        return
    passed = row.final_result in PASSED
    status = CompletionStatus.SUCCESSFUL if passed else CompletionStatus.UNSUCCESSFUL
    completed = EnrollmentCompleted(
        enrollment_id=enr_id, user_id=user_id, status=status, completed_at=at
    )
    yield Fact(at, "enrollment.completed", completed, (enr_id,))
    if passed:
        yield _grant_fact(enrollment, user_id)


def _grant_fact(enrollment: Enrollment, user_id: str) -> Fact:
    row, at = enrollment.row, enrollment.times.ends_at
    months = VALIDITY_MONTHS[row.module]
    grant = CertificateGranted(
        grant_id=ids.grant_id(row.module, row.presentation, row.student),
        certificate_id=ids.certificate_id(row.module),
        user_id=user_id,
        enrollment_id=enrollment.enrollment_id,
        session_id=ids.session_id(row.module, row.presentation),
        delivered_at=at,
        expires_at=add_months(at, months) if months else None,
    )
    return Fact(at, "certificate.granted", grant, (grant.grant_id,))
