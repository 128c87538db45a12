"""Response models of the statistics endpoints (SPEC.md §5): they document the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from certstats_contracts.events import PathStatus

CertificateStatus = Literal["valid", "expiring_soon", "expired", "not_obtained"]


class OwnerGroup(BaseModel):
    """The group owning a certificate."""

    group_id: str
    name: str | None = Field(description="Null while the group is known only by reference.")


class CertificateRow(BaseModel):
    """One certificate with its counts over the population (SPEC.md §5.1)."""

    certificate_id: str
    title: str | None
    owner_group: OwnerGroup | None
    validity_months: int | None = Field(description="Null: the certificate never expires.")
    certified_learners: int
    enrolled_learners: int
    associated_paths: int
    valid_learners: int
    expiring_soon_learners: int
    expired_learners: int


class CertificateDetail(CertificateRow):
    """One certificate's row plus the freshness fields of a page."""

    as_of: datetime = Field(description="Instant statuses were evaluated at.")
    data_as_of: datetime | None = Field(description="Watermark: newest applied event time.")


class LearnerRow(BaseModel):
    """One learner of a certificate (SPEC.md §5.2); dates are calendar dates in ``tz``."""

    user_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    latest_status: CertificateStatus
    delivery_date: str | None = Field(examples=["2026-03-01"])
    expiration_date: str | None = Field(examples=["2027-03-01"])


class HistoryRow(BaseModel):
    """One enrollment (or unlinked grant) of a learner for a certificate (SPEC.md §5.3)."""

    enrollment_id: str | None = Field(description="Null for a grant with no listed enrollment.")
    certification_status: CertificateStatus
    delivery_date: str | None
    expiration_date: str | None
    path_id: str | None
    path_name: str | None
    session_id: str | None
    session_name: str | None
    path_status: PathStatus | None
    automatic_reenrollment: bool | None


class PathRow(BaseModel):
    """An associated path of a certificate."""

    path_id: str
    name: str | None


class _Page(BaseModel):
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    as_of: datetime
    data_as_of: datetime | None


class CertificatePage(_Page):
    """A page of certificate rows (SPEC.md §5.1)."""

    items: list[CertificateRow]


class LearnerPage(_Page):
    """A page of learner rows (SPEC.md §5.2)."""

    items: list[LearnerRow]


class HistoryPage(_Page):
    """A page of history rows (SPEC.md §5.3)."""

    items: list[HistoryRow]


class PathPage(_Page):
    """A page of associated paths."""

    items: list[PathRow]


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
