"""Reference model entities: plain dataclasses, one per SPEC.md section 2 entity.

``state_at`` is the envelope time of the state event the row carries; ``None`` marks a
placeholder known only from references (DECISIONS.md "Placeholders").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class User:
    user_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    registered_at: datetime | None = None
    custom_fields: dict[str, str] = field(default_factory=dict)
    group_ids: tuple[str, ...] = ()
    state_at: datetime | None = None
    status: str = "active"
    status_at: datetime | None = None


@dataclass
class Group:
    group_id: str
    name: str | None = None
    parent_group_id: str | None = None
    state_at: datetime | None = None
    deleted: bool = False


@dataclass
class Certificate:
    certificate_id: str
    title: str | None = None
    owner_group_id: str | None = None
    validity_months: int | None = None
    state_at: datetime | None = None
    deleted: bool = False


@dataclass
class Path:
    path_id: str
    name: str | None = None
    certificate_id: str | None = None
    author_ids: tuple[str, ...] = ()
    state_at: datetime | None = None
    deleted: bool = False


@dataclass
class Session:
    session_id: str
    path_id: str | None = None
    name: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    instructor_ids: tuple[str, ...] = ()
    automatic_reenrollment: bool = False
    state_at: datetime | None = None
    archived: bool = False
    archive_at: datetime | None = None
    deleted: bool = False


@dataclass
class Enrollment:
    enrollment_id: str
    user_id: str
    session_id: str | None = None
    enrolled_at: datetime | None = None
    automatic_reenrollment: bool = False
    state_at: datetime | None = None
    path_status: str | None = None
    path_status_at: datetime | None = None
    deleted: bool = False


@dataclass
class Grant:
    grant_id: str
    user_id: str
    certificate_id: str | None = None
    enrollment_id: str | None = None
    session_id: str | None = None
    delivered_at: datetime | None = None
    expires_at: datetime | None = None
    state_at: datetime | None = None
    revoked: bool = False


@dataclass
class Role:
    granted: bool
    at: datetime


@dataclass
class PlatformState:
    """Everything known about one platform after folding its events."""

    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    roles: dict[tuple[str, str, str], Role] = field(default_factory=dict)
    certificates: dict[str, Certificate] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    enrollments: dict[str, Enrollment] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
