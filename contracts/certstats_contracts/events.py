"""Event contract v1: the ``data`` payloads of every LMS domain event (SPEC.md section 3).

Every model is frozen and ignores unknown fields (forward compatibility). Instants are
timezone-aware ``datetime`` values in UTC; a naive timestamp is rejected
as malformed, because an instant without an offset cannot be placed in UTC (SPEC.md section 2,
"Time").
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

EARLIEST_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)
"""Instants outside [1900-01-01, 9000-01-01) UTC are malformed: no LMS fact is that old, and
sentinels like 9999-12-31 overflow once shown in a time zone east of UTC (send null for
"never expires")."""


def _require_text(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError("timestamp must be an RFC 3339 string")
    return value


def _require_tz_and_range(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a UTC offset (RFC 3339)")
    try:
        in_range = EARLIEST_INSTANT <= value.astimezone(UTC) < LATEST_INSTANT
    except OverflowError:  # beyond datetime's years 1..9999 once in UTC
        in_range = False
    if not in_range:
        raise ValueError("timestamp must lie in years 1900 to 8999 (UTC)")
    return value


def _in_utc(value: datetime) -> datetime:
    """The same instant with ``datetime.UTC`` as its time zone. pydantic-core gives every
    parsed value its own ``TzInfo``: each comparison, ``astimezone`` or asyncpg encoding of
    such a value calls back into it (about 20 times slower than with ``datetime.UTC``)."""
    return value.astimezone(UTC)


class _NativeFromJson:
    """Validates an instant read from JSON natively (pydantic-core): a string only
    (``strict``), with an offset, in [1900, 9000) UTC; the same verdicts as the Python
    validators of :data:`Instant`, which still check Python values, at a fraction of the
    cost per event (only the error texts differ). The instant comes out in UTC
    (:func:`_in_utc`): the projector compares and encodes every one."""

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.json_or_python_schema(
            json_schema=core_schema.chain_schema(
                [
                    core_schema.str_schema(),
                    core_schema.datetime_schema(
                        tz_constraint="aware", ge=EARLIEST_INSTANT, lt=LATEST_INSTANT
                    ),
                    core_schema.no_info_plain_validator_function(_in_utc),
                ]
            ),
            python_schema=handler(source),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(core_schema.datetime_schema())  # a date-time string, as documented


Instant = Annotated[
    datetime,
    BeforeValidator(_require_text),
    AfterValidator(_require_tz_and_range),
    AfterValidator(_in_utc),
    _NativeFromJson(),
]
"""An RFC 3339 timestamp with an offset, in [1900, 9000) UTC; anything else is malformed.
Validated values come out in UTC (``datetime.UTC``), from JSON or from Python."""

EntityId = Annotated[str, Field(min_length=1, max_length=200)]

MAX_VALIDITY_MONTHS = 1200
"""A century: larger validity periods are malformed (and would overflow the read model)."""


NUL_FREE = "nul_free"
"""Validation-context flag: the caller proved the input holds no NUL (the raw JSON has no
``\\u0000`` escape), so the per-value walk of :func:`reject_nul` is skipped."""


def reject_nul(value: Any) -> Any:
    """Raise ``ValueError`` when any string in ``value`` (nested dicts/lists, keys included)
    holds a NUL character: PostgreSQL text cannot store it, so such an event is malformed."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL (U+0000) characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key)
            reject_nul(item)
    elif isinstance(value, list | tuple):
        for item in value:
            reject_nul(item)
    return value


class PathStatus(StrEnum):
    """Status of a learner in a path (SPEC.md section 2, codes as in the LMS API)."""

    SESSION_NOT_OPENED = "sessionNotOpened"
    NOT_YET_STARTED = "notYetStarted"
    ON_TIME = "onTime"
    AWAITING_CORRECTION = "awaitingCorrection"
    LATE = "late"
    TO_RETAKE = "toRetake"
    UNSUCCESSFUL = "unsuccessful"
    SUCCESSFUL = "successful"


class CompletionStatus(StrEnum):
    """Final result carried by ``enrollment.completed``."""

    SUCCESSFUL = "successful"
    UNSUCCESSFUL = "unsuccessful"


class GroupRole(StrEnum):
    """A role held in a group; it applies to the group and all its subgroups (SPEC.md section 2)."""

    ADMIN = "admin"
    COACH = "coach"


class EnrollmentMethod(StrEnum):
    """How a learner came into a path session."""

    ASSIGNED = "assigned"
    SELF_ENROLLED = "self_enrolled"


class EventData(BaseModel):
    """Base of all event payloads: frozen, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get(NUL_FREE):
            return data
        return reject_nul(data)


# --- users -----------------------------------------------------------------------------------


class UserState(EventData):
    """Full current state of a user: ``user.registered`` and ``user.updated``."""

    user_id: EntityId = Field(description="The user's id, unique within the platform.")
    first_name: str = Field(description="Given name.", examples=["Zoë"])
    last_name: str = Field(description="Family name.", examples=["Núñez"])
    email: str = Field(description="E-mail address.", examples=["zoe@example.com"])
    registered_at: Instant = Field(description="When the user registered on the platform.")
    custom_fields: dict[str, str] = Field(
        default_factory=dict, description="User custom fields: name to text value."
    )
    group_ids: list[EntityId] = Field(
        default_factory=list, description="Groups the user is a direct member of."
    )


class UserDeleted(EventData):
    """``user.deleted``: the user's status becomes ``deleted``; their data is kept."""

    user_id: EntityId
    deleted_at: Instant


class UserReactivated(EventData):
    """``user.reactivated``: the user's status becomes ``active`` again."""

    user_id: EntityId
    reactivated_at: Instant


# --- groups ----------------------------------------------------------------------------------


class GroupState(EventData):
    """Full current state of a group: ``group.created`` and ``group.updated``."""

    group_id: EntityId
    name: str
    parent_group_id: EntityId | None = Field(
        default=None, description="Parent in the group tree; null for a root group."
    )


class GroupDeleted(EventData):
    """``group.deleted`` (final): removed from the tree, memberships and roles."""

    group_id: EntityId


class GroupRoleChange(EventData):
    """``group.role_granted`` and ``group.role_revoked``: last writer wins by event time."""

    group_id: EntityId
    user_id: EntityId
    role: GroupRole


# --- certificates and paths ------------------------------------------------------------------


class CertificateState(EventData):
    """Full current state of a path certificate: ``certificate.created`` / ``.updated``."""

    certificate_id: EntityId
    title: str
    owner_group_id: EntityId | None = Field(default=None, description="Owning group, if any.")
    validity_months: int | None = Field(
        default=None,
        ge=1,
        le=MAX_VALIDITY_MONTHS,
        strict=True,
        description="Validity period in months; null = never expires.",
    )


class CertificateDeleted(EventData):
    """``certificate.deleted`` (final)."""

    certificate_id: EntityId


class PathState(EventData):
    """Full current state of a path: ``path.created`` and ``path.updated``."""

    path_id: EntityId
    name: str
    certificate_id: EntityId | None = Field(
        default=None, description="The certificate this path grants, if any."
    )
    author_ids: list[EntityId] = Field(default_factory=list, description="Authors of the path.")


class PathDeleted(EventData):
    """``path.deleted`` (final)."""

    path_id: EntityId


# --- path sessions ---------------------------------------------------------------------------


class PathSessionState(EventData):
    """Full current state of a path session: ``path_session.created`` / ``.updated``."""

    session_id: EntityId
    path_id: EntityId
    name: str
    starts_at: Instant
    ends_at: Instant | None = None
    instructor_ids: list[EntityId] = Field(default_factory=list)
    automatic_reenrollment: bool = Field(
        default=False, description="Whether the session re-enrolls learners automatically."
    )


class PathSessionArchived(EventData):
    """``path_session.archived``: toggle, last writer wins by event time."""

    session_id: EntityId
    archived_at: Instant


class PathSessionUnarchived(EventData):
    """``path_session.unarchived``: toggle, last writer wins by event time."""

    session_id: EntityId


class PathSessionDeleted(EventData):
    """``path_session.deleted`` (final)."""

    session_id: EntityId
    deleted_at: Instant


# --- enrollments -----------------------------------------------------------------------------


class EnrollmentCreated(EventData):
    """``enrollment.created``: a learner assigned or self-enrolled in a path session."""

    enrollment_id: EntityId
    user_id: EntityId
    session_id: EntityId
    enrolled_at: Instant
    method: EnrollmentMethod
    automatic_reenrollment: bool = Field(
        default=False, description="This enrollment was created by automatic re-enrollment."
    )
    previous_enrollment_id: EntityId | None = None


class EnrollmentStatusChanged(EventData):
    """``enrollment.status_changed``: the learner's path status at ``changed_at``."""

    enrollment_id: EntityId
    user_id: EntityId
    status: PathStatus
    changed_at: Instant


class EnrollmentCompleted(EventData):
    """``enrollment.completed``: the learner's final result at ``completed_at``."""

    enrollment_id: EntityId
    user_id: EntityId
    status: CompletionStatus
    completed_at: Instant


class EnrollmentDeleted(EventData):
    """``enrollment.deleted`` (final)."""

    enrollment_id: EntityId
    user_id: EntityId
    deleted_at: Instant


# --- certificate grants ----------------------------------------------------------------------


class CertificateGranted(EventData):
    """``certificate.granted``: a certificate delivered to a learner."""

    grant_id: EntityId
    certificate_id: EntityId
    user_id: EntityId
    enrollment_id: EntityId | None = None
    session_id: EntityId | None = None
    delivered_at: Instant
    expires_at: Instant | None = Field(
        default=None, description="When the grant expires; null = never (SPEC.md section 2)."
    )


class CertificateRevoked(EventData):
    """``certificate.revoked`` (final)."""

    grant_id: EntityId
    user_id: EntityId
    revoked_at: Instant


EVENT_DATA_MODELS: dict[str, type[EventData]] = {
    "user.registered": UserState,
    "user.updated": UserState,
    "user.deleted": UserDeleted,
    "user.reactivated": UserReactivated,
    "group.created": GroupState,
    "group.updated": GroupState,
    "group.deleted": GroupDeleted,
    "group.role_granted": GroupRoleChange,
    "group.role_revoked": GroupRoleChange,
    "certificate.created": CertificateState,
    "certificate.updated": CertificateState,
    "certificate.deleted": CertificateDeleted,
    "path.created": PathState,
    "path.updated": PathState,
    "path.deleted": PathDeleted,
    "path_session.created": PathSessionState,
    "path_session.updated": PathSessionState,
    "path_session.archived": PathSessionArchived,
    "path_session.unarchived": PathSessionUnarchived,
    "path_session.deleted": PathSessionDeleted,
    "enrollment.created": EnrollmentCreated,
    "enrollment.status_changed": EnrollmentStatusChanged,
    "enrollment.completed": EnrollmentCompleted,
    "enrollment.deleted": EnrollmentDeleted,
    "certificate.granted": CertificateGranted,
    "certificate.revoked": CertificateRevoked,
}
"""Event type -> payload model, for every type of contract v1 (SPEC.md section 3)."""
