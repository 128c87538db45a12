"""A small hand-made OULAD dataset for importer and expectation tests (SPEC.md section 7).

With the default shift (11 years): GGG 2013B runs 2024-02-01 .. 2024-08-31, AAA 2013J
2024-10-01 .. 2025-06-26, BBB 2014B 2025-02-01 .. 2025-09-23, AAA 2014J and CCC 2014J
2025-10-01 .. 2026-06-27. The reference instant is 2024-01-31.

Students:
- 11: AAA 2013J Pass (registered day -10, first submission day 5), AAA 2014J Fail
  (automatic re-enrollment), BBB 2014B Pass (no registration date), CCC 2014J Withdrawn on
  day 30 (latest row: same start as AAA 2014J, greater module; Scotland, no IMD band).
- 22: AAA 2013J Fail, AAA 2014J Distinction (re-enrollment, not automatic). Wales.
- 33: BBB 2014B Withdrawn without an unregistration date; submitted on day 3.
- 44: BBB 2014B Withdrawn on day 10; submitted on days 12 and 20 (after withdrawal).
- 55: GGG 2013B Pass: delivered 2024-08-31, expires 2025-02-28 (6 months, clamped).
"""

from __future__ import annotations

import csv
from pathlib import Path

COURSES = [
    ("AAA", "2013J", 268),
    ("AAA", "2014J", 269),
    ("BBB", "2014B", 234),
    ("CCC", "2014J", 269),
    ("GGG", "2013B", 212),
]

HE, PG, A_LEVEL = "HE Qualification", "Post Graduate Qualification", "A Level or Equivalent"
LOWER, NONE = "Lower Than A Level", "No Formal quals"

# module, presentation, student, gender, region, education, imd, age, disability, result
STUDENT_INFO = [
    ("AAA", "2013J", 11, "M", "East Anglian Region", HE, "90-100%", "55<=", "N", "Pass"),
    ("AAA", "2014J", 11, "M", "London Region", HE, "80-90%", "55<=", "N", "Fail"),
    ("BBB", "2014B", 11, "M", "London Region", HE, "80-90%", "55<=", "N", "Pass"),
    ("CCC", "2014J", 11, "F", "Scotland", PG, "", "55<=", "Y", "Withdrawn"),
    ("AAA", "2013J", 22, "F", "Wales", A_LEVEL, "20-30%", "0-35", "N", "Fail"),
    ("AAA", "2014J", 22, "F", "Wales", A_LEVEL, "20-30%", "0-35", "N", "Distinction"),
    ("BBB", "2014B", 33, "M", "Ireland", LOWER, "0-10%", "35-55", "N", "Withdrawn"),
    ("BBB", "2014B", 44, "F", "Yorkshire Region", NONE, "10-20", "0-35", "Y", "Withdrawn"),
    ("GGG", "2013B", 55, "M", "North Region", LOWER, "40-50%", "0-35", "N", "Pass"),
]  # fmt: skip

# module, presentation, student, date_registration, date_unregistration
REGISTRATIONS = [
    ("AAA", "2013J", 11, "-10", ""),
    ("AAA", "2014J", 11, "-20", ""),
    ("BBB", "2014B", 11, "", ""),
    ("CCC", "2014J", 11, "-5", "30"),
    ("AAA", "2013J", 22, "-30", ""),
    ("AAA", "2014J", 22, "0", ""),
    ("BBB", "2014B", 33, "-1", ""),
    ("BBB", "2014B", 44, "-2", "10"),
    ("GGG", "2013B", 55, "-3", ""),
]

# module, presentation, id_assessment
ASSESSMENTS = [
    ("AAA", "2013J", 1),
    ("AAA", "2014J", 2),
    ("BBB", "2014B", 3),
    ("BBB", "2014B", 4),
    ("GGG", "2013B", 5),
]

# id_assessment, id_student, date_submitted
SUBMISSIONS = [(1, 11, 7), (1, 11, 5), (1, 22, 40), (3, 33, 3), (3, 44, 12), (4, 44, 20)]

HEADERS = {
    "courses.csv": ["code_module", "code_presentation", "module_presentation_length"],
    "studentInfo.csv": [
        "code_module", "code_presentation", "id_student", "gender", "region",
        "highest_education", "imd_band", "age_band", "num_of_prev_attempts",
        "studied_credits", "disability", "final_result",
    ],
    "studentRegistration.csv": [
        "code_module", "code_presentation", "id_student", "date_registration",
        "date_unregistration",
    ],
    "assessments.csv": [
        "code_module", "code_presentation", "id_assessment", "assessment_type", "date", "weight",
    ],
    "studentAssessment.csv": ["id_assessment", "id_student", "date_submitted", "is_banked"],
}  # fmt: skip


def _rows() -> dict[str, list[tuple[object, ...]]]:
    return {
        "courses.csv": list(COURSES),
        "studentInfo.csv": [(*r[:8], 0, 60, *r[8:]) for r in STUDENT_INFO],
        "studentRegistration.csv": list(REGISTRATIONS),
        "assessments.csv": [(*r, "TMA", 10, 50) for r in ASSESSMENTS],
        "studentAssessment.csv": [(*r, 0) for r in SUBMISSIONS],
    }


def write_small_oulad(directory: Path) -> Path:
    """Write the five CSV files of the small dataset into ``directory``; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in _rows().items():
        with (directory / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
            writer.writerow(HEADERS[name])
            writer.writerows(rows)
    return directory
