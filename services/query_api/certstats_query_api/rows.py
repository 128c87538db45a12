"""Rows of each list as JSON objects and as CSV cells (SPEC.md §5.1-§5.3, §5.5).

JSON carries status codes and ``*_date`` strings; CSV carries labels and dates. Dates are the
calendar dates of the stored UTC instants in the requested time zone (SPEC.md §2 "Time").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from certstats_contracts.events import PathStatus
from certstats_query_api.csv_export import Cell, guard_sql, sql_literal

Record = asyncpg.Record

CERTIFICATE_STATUS_LABELS = {
    "valid": "Valid",
    "expiring_soon": "Expiring soon",
    "expired": "Expired",
    "not_obtained": "Not obtained",
}
PATH_STATUS_LABELS = {
    PathStatus.SESSION_NOT_OPENED: "Pending session opening",
    PathStatus.NOT_YET_STARTED: "Not yet started",
    PathStatus.ON_TIME: "On time",
    PathStatus.AWAITING_CORRECTION: "Awaiting correction",
    PathStatus.LATE: "Late",
    PathStatus.TO_RETAKE: "To retake",
    PathStatus.UNSUCCESSFUL: "Unsuccessful",
    PathStatus.SUCCESSFUL: "Successful",
}


def local_date(instant: datetime | None, tz: ZoneInfo) -> date | None:
    """The calendar date of ``instant`` in ``tz`` (None stays None)."""
    return None if instant is None else _local_date(instant, tz)


@lru_cache(maxsize=65_536)
def _local_date(instant: datetime, tz: ZoneInfo) -> date:
    """Memoized: grants share instants (a session's end), and a million-row CSV converts two
    per row (about a third of its formatting time without the cache; bounded to ~10 MB)."""
    return instant.astimezone(tz).date()


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True)
class RowFormat:
    """How one list's records become JSON objects and CSV rows under ``header``: ``csv`` in
    Python, or (None) the list's SQL computes the CSV cells (``csv_sql``, see
    :data:`LEARNER_CSV_SQL`)."""

    header: tuple[str, ...]
    json: Callable[[Record, ZoneInfo], dict[str, Any]]
    csv: Callable[[Record, ZoneInfo], list[Cell]] | None


CERTIFICATE_COUNTS = (
    "certified_learners",
    "enrolled_learners",
    "associated_paths",
    "valid_learners",
    "expiring_soon_learners",
    "expired_learners",
)
"""The count fields of a certificate row, in display order (SPEC.md §5.1)."""


def _certificate_json(r: Record, tz: ZoneInfo) -> dict[str, Any]:
    owner = r["owner_group_id"]
    return {
        "certificate_id": r["certificate_id"],
        "title": r["title"],
        "owner_group": None
        if owner is None
        else {"group_id": owner, "name": r["owner_group_name"]},
        "validity_months": r["validity_months"],
        **{name: r[name] for name in CERTIFICATE_COUNTS},
    }


def _certificate_csv(r: Record, tz: ZoneInfo) -> list[Cell]:
    return [
        r["title"],
        r["owner_group_name"],
        r["validity_months"],
        r["certified_learners"],
        r["enrolled_learners"],
        r["associated_paths"],
    ]


def _learner_json(r: Record, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "user_id": r["user_id"],
        "first_name": r["first_name"],
        "last_name": r["last_name"],
        "email": r["email"],
        "latest_status": r["latest_status"],
        "delivery_date": _iso(local_date(r["delivered_at"], tz)),
        "expiration_date": _iso(local_date(r["expires_at"], tz)),
    }


def _local_date_sql(instant: str) -> str:
    """SQL of the ``YYYY-MM-DD`` calendar date of the timestamptz ``instant`` in the session's
    ``TimeZone`` (:func:`local_date`; NULL stays NULL)."""
    return f"to_char({instant}, 'YYYY-MM-DD')"


SET_ZONE_SQL = "SELECT set_config('TimeZone', $1::text, true)"
"""Binds $1 a zone name :func:`~certstats_query_api.params.parse_tz` accepted: the time zone
of the rest of the transaction, in which :data:`LEARNER_CSV_SQL` writes its dates. Not
``AT TIME ZONE``: it reads names such as ``WET``, ``EST`` or ``MET`` as fixed-offset
abbreviations, where the tz database (and Python) have daylight saving time."""


_LABEL_CASES = " ".join(
    f"WHEN {sql_literal(code)} THEN {sql_literal(label)}"
    for code, label in CERTIFICATE_STATUS_LABELS.items()
)

_NAME_SQL = "nullif(concat_ws(' ', nullif(first_name, ''), nullif(last_name, '')), '')"

LEARNER_CSV_SQL = f"""{guard_sql(_NAME_SQL)},
       {guard_sql("nullif(email, '')")},
       CASE latest_status {_LABEL_CASES} END,
       {_local_date_sql("delivered_at")},
       {_local_date_sql("expires_at")}"""
"""The CSV cells of a learner row (SPEC.md §5.2, §5.5) as the select list over the learner
lists' ``rows``: ``Learner name`` (first and last name joined by a space, empty parts left
out) and e-mail, both formula-guarded; the latest status's label; delivery and expiration
dates in the zone set by :data:`SET_ZONE_SQL`; empty cells are NULL (for ``COPY``, which
quotes ``''``). PostgreSQL formats the million-row exports (no per-row Python); the rules are
those of the JSON rows, rendered from the same constants (``tests/integration/
test_api_csv_cells.py`` compares both in every zone, and the bytes with Python's writer)."""


def _history_json(r: Record, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "enrollment_id": r["enrollment_id"],
        "certification_status": r["certification_status"],
        "delivery_date": _iso(local_date(r["delivered_at"], tz)),
        "expiration_date": _iso(local_date(r["expires_at"], tz)),
        **{k: r[k] for k in ("path_id", "path_name", "session_id", "session_name")},
        "path_status": r["path_status"],
        "automatic_reenrollment": r["automatic_reenrollment"],
    }


def _history_csv(r: Record, tz: ZoneInfo) -> list[Cell]:
    reenrolled = r["automatic_reenrollment"]
    status = r["path_status"]
    return [
        CERTIFICATE_STATUS_LABELS[r["certification_status"]],
        local_date(r["delivered_at"], tz),
        local_date(r["expires_at"], tz),
        r["path_name"],
        r["session_name"],
        None if status is None else PATH_STATUS_LABELS[PathStatus(status)],
        None if reenrolled is None else ("Yes" if reenrolled else "No"),
    ]


FORMATS = {
    "certificates": RowFormat(
        (
            "Title",
            "Owner group",
            "Validity period",
            "Certified learners",
            "Enrolled learners",
            "Associated paths",
        ),
        _certificate_json,
        _certificate_csv,
    ),
    "learners": RowFormat(
        ("Learner name", "Learner email", "Latest status", "Delivery date", "Expiration date"),
        _learner_json,
        None,
    ),
    "history": RowFormat(
        (
            "Certification status",
            "Delivery date",
            "Expiration date",
            "Path name",
            "Path session",
            "Path status",
            "Automatic re-enrollment activated?",
        ),
        _history_json,
        _history_csv,
    ),
    "paths": RowFormat(
        ("Path name",),
        lambda r, tz: {"path_id": r["path_id"], "name": r["name"]},
        lambda r, tz: [r["name"]],
    ),
}
"""Row format per list kind (``certified_learners`` uses ``learners``)."""
