"""The whole ``ou`` event stream from the OULAD CSVs, in time order (SPEC.md section 7).

Library entry point: :func:`oulad_events`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from certstats_importer.dataset import Dataset, load_dataset
from certstats_importer.enrollments import (
    Enrollment,
    PresentationTimes,
    enrollment_facts,
    plan_enrollments,
)
from certstats_importer.facts import Fact
from certstats_importer.learners import learner_facts
from certstats_importer.reference import catalogue_facts, group_facts, staff_facts
from certstats_importer.sessions import session_facts
from certstats_importer.timeline import day, presentation_start

DEFAULT_SHIFT_YEARS = 11


def oulad_events(
    data_dir: Path, shift_years: int = DEFAULT_SHIFT_YEARS
) -> Iterator[dict[str, Any]]:
    """CloudEvents documents (JSON-ready dicts) of platform ``ou``, sorted by ``time``.

    The dataset is read and validated completely before this returns, so an error surfaces
    before the first event is consumed. Same input -> same documents, ids and order
    (ties keep the generation order: reference events, then each enrollment's life).

    Raises:
        OuladInputError: a CSV is missing or malformed (message names the file and line).
    """
    facts = oulad_facts(load_dataset(data_dir), shift_years)
    return (fact.document() for fact in facts)


def oulad_facts(dataset: Dataset, shift_years: int) -> list[Fact]:
    """Every event of the stream as :class:`Fact`, stably sorted by time."""
    times = presentation_times(dataset, shift_years)
    enrollments = plan_enrollments(dataset.registrations, times)
    reference_at = min(t.starts_at for t in times.values()) - timedelta(days=1)
    modules = sorted({module for module, _ in times})
    facts = [
        *group_facts(reference_at),
        *staff_facts(reference_at, modules),
        *catalogue_facts(reference_at, modules),
        *session_facts(reference_at, times, enrollments),
        *learner_facts(reference_at, enrollments),
    ]
    for enrollment in sorted(enrollments, key=_by_session):
        key = (enrollment.row.module, enrollment.row.presentation, enrollment.row.student)
        facts.extend(enrollment_facts(enrollment, dataset.first_submissions.get(key)))
    facts.sort(key=lambda fact: fact.time)
    return facts


def presentation_times(
    dataset: Dataset, shift_years: int
) -> dict[tuple[str, str], PresentationTimes]:
    """(module, presentation) -> start and end instants, shifted by ``shift_years``."""
    times = {}
    for (module, presentation), length in dataset.lengths.items():
        start = presentation_start(presentation, shift_years)
        times[module, presentation] = PresentationTimes(start, day(start, length))
    return times


def _by_session(enrollment: Enrollment) -> tuple[str, datetime, int]:
    return enrollment.row.module, enrollment.times.starts_at, enrollment.row.student
