"""The OULAD dataset as typed records, fully validated (SPEC.md section 7).

``load_dataset(data_dir)`` reads the four CSV files the importer needs (``courses.csv``,
``studentInfo.csv``, ``studentRegistration.csv``, ``assessments.csv``,
``studentAssessment.csv``) and cross-checks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from certstats_importer.catalog import REGION_GROUPS, VALIDITY_MONTHS
from certstats_importer.csv_source import CsvFile, parse_int, parse_optional_int
from certstats_importer.timeline import DAY_LIMIT, presentation_start

FINAL_RESULTS = frozenset({"Pass", "Distinction", "Fail", "Withdrawn"})

DAYS = (-DAY_LIMIT, DAY_LIMIT)
"""Bounds of an OULAD day number (date_registration, date_unregistration, date_submitted)."""
LENGTHS = (0, DAY_LIMIT)
"""Bounds of module_presentation_length (days)."""

RegistrationKey = tuple[str, str, int]
"""(code_module, code_presentation, id_student)."""


@dataclass(frozen=True, slots=True)
class Registration:
    """One student's registration to one presentation (studentInfo + studentRegistration)."""

    module: str
    presentation: str
    student: int
    region: str
    custom_fields: dict[str, str]
    final_result: str
    date_registration: int | None
    date_unregistration: int | None


@dataclass(frozen=True, slots=True)
class Dataset:
    """Validated OULAD content.

    ``lengths`` maps (module, presentation) to module_presentation_length in days;
    ``first_submissions`` maps a registration key to its earliest date_submitted (days).
    """

    lengths: dict[tuple[str, str], int]
    registrations: list[Registration]
    first_submissions: dict[RegistrationKey, int]


_CUSTOM_FIELDS = {
    "Gender": "gender",
    "Highest education": "highest_education",
    "IMD band": "imd_band",
    "Age band": "age_band",
    "Disability": "disability",
}
"""Custom field name -> studentInfo column (SPEC.md section 7)."""


def load_dataset(data_dir: Path) -> Dataset:
    """Read and cross-check the OULAD CSVs in ``data_dir``.

    Raises:
        OuladInputError: any file missing or malformed, or rows that do not match up.
    """
    lengths = _read_courses(data_dir)
    dates = _read_registration_dates(data_dir)
    registrations = _read_student_info(data_dir, lengths, dates)
    keys = {(r.module, r.presentation, r.student) for r in registrations}
    return Dataset(lengths, registrations, _read_first_submissions(data_dir, keys))


def _read_courses(data_dir: Path) -> dict[tuple[str, str], int]:
    source = CsvFile(
        data_dir / "courses.csv", ("code_module", "code_presentation", "module_presentation_length")
    )
    lengths: dict[tuple[str, str], int] = {}
    for line, row in source.rows():
        key = (row["code_module"], row["code_presentation"])
        try:
            presentation_start(key[1], 0)
        except ValueError as exc:
            raise source.error(line, str(exc)) from None
        if key[0] not in VALIDITY_MONTHS:
            raise source.error(line, f"unknown module {key[0]!r}")
        if key in lengths:
            raise source.error(line, f"duplicate presentation {key[0]} {key[1]}")
        lengths[key] = parse_int(source, line, row, "module_presentation_length", LENGTHS)
    return lengths


def _read_registration_dates(
    data_dir: Path,
) -> dict[RegistrationKey, tuple[int | None, int | None]]:
    source = CsvFile(
        data_dir / "studentRegistration.csv",
        ("code_module", "code_presentation", "id_student", "date_registration",
         "date_unregistration"),
    )  # fmt: skip
    dates: dict[RegistrationKey, tuple[int | None, int | None]] = {}
    for line, row in source.rows():
        key = _registration_key(source, line, row)
        if key in dates:
            raise source.error(line, f"duplicate registration {key}")
        dates[key] = (
            parse_optional_int(source, line, row, "date_registration", DAYS),
            parse_optional_int(source, line, row, "date_unregistration", DAYS),
        )
    return dates


def _read_student_info(
    data_dir: Path,
    lengths: dict[tuple[str, str], int],
    dates: dict[RegistrationKey, tuple[int | None, int | None]],
) -> list[Registration]:
    source = CsvFile(
        data_dir / "studentInfo.csv",
        ("code_module", "code_presentation", "id_student", "region", "final_result",
         *_CUSTOM_FIELDS.values()),
        ("num_of_prev_attempts", "studied_credits"),
    )  # fmt: skip
    registrations: list[Registration] = []
    unmatched = set(dates)
    for line, row in source.rows():
        key = _registration_key(source, line, row)
        if key[:2] not in lengths:
            raise source.error(line, f"presentation {key[0]} {key[1]} is not in courses.csv")
        if row["region"] not in REGION_GROUPS:
            raise source.error(line, f"unknown region {row['region']!r}")
        if row["final_result"] not in FINAL_RESULTS:
            raise source.error(line, f"unknown final_result {row['final_result']!r}")
        if key not in unmatched:
            raise source.error(line, f"no (or a second) studentRegistration.csv row for {key}")
        unmatched.remove(key)
        registered, unregistered = dates[key]
        fields = {name: row[column] for name, column in _CUSTOM_FIELDS.items() if row[column]}
        registrations.append(
            Registration(*key, row["region"], fields, row["final_result"], registered, unregistered)
        )
    if unmatched:
        raise source.error(0, f"no row for registration(s) {sorted(unmatched)[:3]}")
    return registrations


def _read_first_submissions(
    data_dir: Path, registered: set[RegistrationKey]
) -> dict[RegistrationKey, int]:
    assessments = _read_assessments(data_dir)
    source = CsvFile(
        data_dir / "studentAssessment.csv",
        ("id_assessment", "id_student", "date_submitted"),
        ("is_banked", "score"),
    )
    first: dict[RegistrationKey, int] = {}
    for line, row in source.rows():
        assessment = parse_int(source, line, row, "id_assessment")
        if assessment not in assessments:
            raise source.error(line, f"unknown id_assessment {assessment}")
        key = (*assessments[assessment], parse_int(source, line, row, "id_student"))
        if key not in registered:
            raise source.error(line, f"student {key[2]} is not registered to {key[0]} {key[1]}")
        submitted = parse_int(source, line, row, "date_submitted", DAYS)
        first[key] = min(submitted, first.get(key, submitted))
    return first


def _read_assessments(data_dir: Path) -> dict[int, tuple[str, str]]:
    source = CsvFile(
        data_dir / "assessments.csv",
        ("code_module", "code_presentation", "id_assessment"),
        ("assessment_type", "date", "weight"),
    )
    return {
        parse_int(source, line, row, "id_assessment"): (
            row["code_module"],
            row["code_presentation"],
        )
        for line, row in source.rows()
    }


def _registration_key(source: CsvFile, line: int, row: dict[str, str]) -> RegistrationKey:
    student = parse_int(source, line, row, "id_student")
    return row["code_module"], row["code_presentation"], student
