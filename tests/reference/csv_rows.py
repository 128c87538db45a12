"""The CSV row (SPEC.md 5.5) a JSON row of each list must have: labels instead of codes,
empty cells for nulls, ``Learner name`` = first and last name joined by a space."""

from __future__ import annotations

from typing import Any

CERTIFICATE_LABELS = {
    "valid": "Valid",
    "expiring_soon": "Expiring soon",
    "expired": "Expired",
    "not_obtained": "Not obtained",
}
PATH_STATUS_LABELS = {
    "sessionNotOpened": "Pending session opening",
    "notYetStarted": "Not yet started",
    "onTime": "On time",
    "awaitingCorrection": "Awaiting correction",
    "late": "Late",
    "toRetake": "To retake",
    "unsuccessful": "Unsuccessful",
    "successful": "Successful",
}


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _yes_no(flag: bool | None) -> str:
    return "" if flag is None else ("Yes" if flag else "No")


def csv_row(name: str, row: dict[str, Any]) -> list[str]:
    """CSV cells of JSON ``row`` of list ``name`` (a method name of the reference model)."""
    if name == "certificate_list":
        owner = row["owner_group"] or {}
        return [_cell(v) for v in (row["title"], owner.get("name"), row["validity_months"],
                                   row["certified_learners"], row["enrolled_learners"],
                                   row["associated_paths"])]  # fmt: skip
    if name == "certificate_paths":
        return [_cell(row["name"])]
    if name == "history":
        status = row["path_status"]
        return [
            CERTIFICATE_LABELS[row["certification_status"]],
            *(
                _cell(row[k])
                for k in ("delivery_date", "expiration_date", "path_name", "session_name")
            ),
            "" if status is None else PATH_STATUS_LABELS[status],
            _yes_no(row["automatic_reenrollment"]),
        ]
    learner = " ".join(part for part in (row["first_name"], row["last_name"]) if part)
    return [learner, _cell(row["email"]), CERTIFICATE_LABELS[row["latest_status"]],
            _cell(row["delivery_date"]), _cell(row["expiration_date"])]  # fmt: skip
