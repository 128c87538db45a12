"""Expected statistics of the ``ou`` platform computed straight from the raw OULAD CSVs.

An independent oracle for end-to-end tests: plain Python over the CSV files, sharing no code
with the importer. It follows SPEC.md section 7 (how rows become grants and enrollments) and
section 5.1 (what the certificate list counts) for a platform admin with the default filters
(``user_status=active``: every OULAD learner is active), after the WHOLE stream is projected,
so every 2013 session is archived and every withdrawal is a deleted enrollment.

- certified(C, as_of): learners with a Pass/Distinction in a presentation of C whose end
  (start + length days, the delivery instant) is <= as_of.
- enrolled(C): learners with a non-withdrawn registration in a non-2013 presentation of C.
- linked(C, as_of): certified plus learners with a non-withdrawn registration in any
  presentation of C (archived sessions included): C is listed when this is not empty.
- latest status: from each certified learner's most recent grant (greatest delivery, then
  greatest expiry, none = greatest): valid / expiring_soon / expired at as_of.
"""

from __future__ import annotations

import calendar
import csv
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

VALIDITY = {"AAA": 12, "BBB": 24, "CCC": None, "DDD": 12, "EEE": 36, "FFF": 12, "GGG": 6}


@dataclass(frozen=True)
class Grant:
    """A certificate the importer should grant: learner, module, delivery and expiry."""

    user_id: str
    module: str
    delivered_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class CertificateExpectation:
    """Expected learner sets of one certificate (``ou-cert-<module>``) at one as_of."""

    certificate_id: str
    certified: frozenset[str]
    enrolled: frozenset[str]
    linked: frozenset[str]

    @property
    def certified_learners(self) -> int:
        return len(self.certified)

    @property
    def enrolled_learners(self) -> int:
        return len(self.enrolled)


def _rows(data_dir: Path, name: str) -> list[dict[str, str]]:
    with (data_dir / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _months_later(instant: datetime, months: int) -> datetime:
    total = instant.year * 12 + instant.month - 1 + months
    year, month = divmod(total, 12)
    day = min(instant.day, calendar.monthrange(year, month + 1)[1])
    return instant.replace(year=year, month=month + 1, day=day)


def _session_ends(data_dir: Path, shift_years: int) -> dict[tuple[str, str], datetime]:
    ends = {}
    for row in _rows(data_dir, "courses.csv"):
        code = row["code_presentation"]
        start = datetime(int(code[:4]) + shift_years, 2 if code[4] == "B" else 10, 1, tzinfo=UTC)
        length = timedelta(days=int(row["module_presentation_length"]))
        ends[row["code_module"], code] = start + length
    return ends


def expected_grants(data_dir: Path, shift_years: int = 11) -> list[Grant]:
    """Every grant of the stream: one per Pass/Distinction row, delivered at the session end."""
    ends = _session_ends(data_dir, shift_years)
    grants = []
    for row in _rows(data_dir, "studentInfo.csv"):
        if row["final_result"] in ("Pass", "Distinction"):
            module, end = row["code_module"], ends[row["code_module"], row["code_presentation"]]
            months = VALIDITY[module]
            expiry = _months_later(end, months) if months else None
            grants.append(Grant(f"ou-{row['id_student']}", module, end, expiry))
    return grants


def expected_certificates(
    data_dir: Path, as_of: datetime, shift_years: int = 11
) -> dict[str, CertificateExpectation]:
    """certificate_id -> expected certified / enrolled / linked learners at ``as_of``."""
    registrations = [
        r for r in _rows(data_dir, "studentInfo.csv") if r["final_result"] != "Withdrawn"
    ]
    delivered = [g for g in expected_grants(data_dir, shift_years) if g.delivered_at <= as_of]
    expectations = {}
    for module in sorted({r["code_module"] for r in _rows(data_dir, "courses.csv")}):
        of_module = [r for r in registrations if r["code_module"] == module]
        certified = frozenset(g.user_id for g in delivered if g.module == module)
        enrolled = frozenset(
            f"ou-{r['id_student']}"
            for r in of_module
            if not r["code_presentation"].startswith("2013")
        )
        registered = frozenset(f"ou-{r['id_student']}" for r in of_module)
        expectations[f"ou-cert-{module}"] = CertificateExpectation(
            f"ou-cert-{module}", certified, enrolled, certified | registered
        )
    return expectations


def expected_latest_statuses(
    data_dir: Path,
    module: str,
    as_of: datetime,
    shift_years: int = 11,
    expiring_within_days: int = 30,
) -> dict[str, int]:
    """``{"valid": n, "expiring_soon": n, "expired": n}`` over the certified learners of
    ``ou-cert-<module>`` at ``as_of`` (their most recent grant decides)."""
    never = datetime.max.replace(tzinfo=UTC)
    latest: dict[str, Grant] = {}
    for grant in expected_grants(data_dir, shift_years):
        if grant.module != module or grant.delivered_at > as_of:
            continue
        best = latest.get(grant.user_id)
        rank = (grant.delivered_at, grant.expires_at or never)
        if best is None or rank > (best.delivered_at, best.expires_at or never):
            latest[grant.user_id] = grant
    window = as_of + timedelta(days=expiring_within_days)
    counts = Counter(
        "valid" if g.expires_at is None or g.expires_at > window
        else "expiring_soon" if g.expires_at > as_of
        else "expired"
        for g in latest.values()
    )  # fmt: skip
    return {status: counts[status] for status in ("valid", "expiring_soon", "expired")}
