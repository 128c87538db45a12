"""Contract v1 as the projector reads it: msgspec Structs, decoded in one pass (SPEC.md §3).

The pydantic models of :mod:`certstats_contracts.events` and :mod:`.envelope` are the contract:
their JSON Schemas are published and :func:`~certstats_contracts.envelope.parse_event` gives the
verdict on every message. The projector decodes millions of messages, and a pydantic pass costs
about 1.8 ``json.loads`` per event (bench/PROJECTOR_BENCHMARK.md); the Structs below hold the
same fields with the same constraints, and msgspec decodes them at about a fifth of a
``json.loads`` (about half of one with :func:`decode_event`'s checks).

:func:`decode_event` takes msgspec's answer only when it accepts the message, and only for
messages whose verdict msgspec cannot get wrong (see :func:`decode_event`); anything else goes
to ``parse_event``, whose result is converted. So the verdict is always ``parse_event``'s, and
an accepted message has the values ``parse_event`` gives. ``tests/unit/test_decoded.py`` holds
the Structs to the pydantic models field by field, and compares the two decoders on generated
and mutated messages.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Union, cast

import msgspec
from msgspec import Meta, Struct

from certstats_contracts.envelope import DomainEvent, parse_event
from certstats_contracts.events import (
    EARLIEST_INSTANT,
    EVENT_DATA_MODELS,
    LATEST_INSTANT,
    MAX_VALIDITY_MONTHS,
    CompletionStatus,
    EnrollmentMethod,
    GroupRole,
    PathStatus,
)

EntityId = Annotated[str, Meta(min_length=1, max_length=200)]
NonEmpty = Annotated[str, Meta(min_length=1)]


def _check_instants(struct: Struct, names: tuple[str, ...]) -> None:
    """Raise ``ValueError`` unless every instant ``names`` of ``struct`` is in UTC and in
    [1900, 9000) (``events.Instant``). Another offset is not wrong, but ``parse_event``
    converts it to UTC: such a message is left to it."""
    for name in names:
        value = getattr(struct, name)
        if value is not None and (
            value.tzinfo is not UTC or not EARLIEST_INSTANT <= value < LATEST_INSTANT
        ):
            raise ValueError(f"{name}: not a UTC instant in [1900, 9000)")


class Payload(Struct, frozen=True, kw_only=True):
    """Base of every ``data`` Struct (``events.EventData``): frozen, unknown fields ignored."""

    instants: ClassVar[tuple[str, ...]] = ()
    """The payload's instant fields, checked after decoding."""

    def __post_init__(self) -> None:
        _check_instants(self, self.instants)


class UserState(Payload, frozen=True, kw_only=True):
    """``events.UserState``: ``user.registered`` and ``user.updated``."""

    instants = ("registered_at",)
    user_id: EntityId
    first_name: str
    last_name: str
    email: str
    registered_at: datetime
    custom_fields: dict[str, str] = {}
    group_ids: list[EntityId] = []


class UserDeleted(Payload, frozen=True, kw_only=True):
    """``events.UserDeleted``."""

    instants = ("deleted_at",)
    user_id: EntityId
    deleted_at: datetime


class UserReactivated(Payload, frozen=True, kw_only=True):
    """``events.UserReactivated``."""

    instants = ("reactivated_at",)
    user_id: EntityId
    reactivated_at: datetime


class GroupState(Payload, frozen=True, kw_only=True):
    """``events.GroupState``: ``group.created`` and ``group.updated``."""

    group_id: EntityId
    name: str
    parent_group_id: EntityId | None = None


class GroupDeleted(Payload, frozen=True, kw_only=True):
    """``events.GroupDeleted``."""

    group_id: EntityId


class GroupRoleChange(Payload, frozen=True, kw_only=True):
    """``events.GroupRoleChange``: ``group.role_granted`` and ``group.role_revoked``."""

    group_id: EntityId
    user_id: EntityId
    role: GroupRole


class CertificateState(Payload, frozen=True, kw_only=True):
    """``events.CertificateState``: ``certificate.created`` and ``certificate.updated``."""

    certificate_id: EntityId
    title: str
    owner_group_id: EntityId | None = None
    validity_months: Annotated[int, Meta(ge=1, le=MAX_VALIDITY_MONTHS)] | None = None


class CertificateDeleted(Payload, frozen=True, kw_only=True):
    """``events.CertificateDeleted``."""

    certificate_id: EntityId


class PathState(Payload, frozen=True, kw_only=True):
    """``events.PathState``: ``path.created`` and ``path.updated``."""

    path_id: EntityId
    name: str
    certificate_id: EntityId | None = None
    author_ids: list[EntityId] = []


class PathDeleted(Payload, frozen=True, kw_only=True):
    """``events.PathDeleted``."""

    path_id: EntityId


class PathSessionState(Payload, frozen=True, kw_only=True):
    """``events.PathSessionState``: ``path_session.created`` and ``path_session.updated``."""

    instants = ("starts_at", "ends_at")
    session_id: EntityId
    path_id: EntityId
    name: str
    starts_at: datetime
    ends_at: datetime | None = None
    instructor_ids: list[EntityId] = []
    automatic_reenrollment: bool = False


class PathSessionArchived(Payload, frozen=True, kw_only=True):
    """``events.PathSessionArchived``."""

    instants = ("archived_at",)
    session_id: EntityId
    archived_at: datetime


class PathSessionUnarchived(Payload, frozen=True, kw_only=True):
    """``events.PathSessionUnarchived``."""

    session_id: EntityId


class PathSessionDeleted(Payload, frozen=True, kw_only=True):
    """``events.PathSessionDeleted``."""

    instants = ("deleted_at",)
    session_id: EntityId
    deleted_at: datetime


class EnrollmentCreated(Payload, frozen=True, kw_only=True):
    """``events.EnrollmentCreated``."""

    instants = ("enrolled_at",)
    enrollment_id: EntityId
    user_id: EntityId
    session_id: EntityId
    enrolled_at: datetime
    method: EnrollmentMethod
    automatic_reenrollment: bool = False
    previous_enrollment_id: EntityId | None = None


class EnrollmentStatusChanged(Payload, frozen=True, kw_only=True):
    """``events.EnrollmentStatusChanged``."""

    instants = ("changed_at",)
    enrollment_id: EntityId
    user_id: EntityId
    status: PathStatus
    changed_at: datetime


class EnrollmentCompleted(Payload, frozen=True, kw_only=True):
    """``events.EnrollmentCompleted``."""

    instants = ("completed_at",)
    enrollment_id: EntityId
    user_id: EntityId
    status: CompletionStatus
    completed_at: datetime


class EnrollmentDeleted(Payload, frozen=True, kw_only=True):
    """``events.EnrollmentDeleted``."""

    instants = ("deleted_at",)
    enrollment_id: EntityId
    user_id: EntityId
    deleted_at: datetime


class CertificateGranted(Payload, frozen=True, kw_only=True):
    """``events.CertificateGranted``."""

    instants = ("delivered_at", "expires_at")
    grant_id: EntityId
    certificate_id: EntityId
    user_id: EntityId
    enrollment_id: EntityId | None = None
    session_id: EntityId | None = None
    delivered_at: datetime
    expires_at: datetime | None = None


class CertificateRevoked(Payload, frozen=True, kw_only=True):
    """``events.CertificateRevoked``."""

    instants = ("revoked_at",)
    grant_id: EntityId
    user_id: EntityId
    revoked_at: datetime


_PAYLOAD_STRUCTS = {
    struct.__name__: struct
    for struct in (
        UserState,
        UserDeleted,
        UserReactivated,
        GroupState,
        GroupDeleted,
        GroupRoleChange,
        CertificateState,
        CertificateDeleted,
        PathState,
        PathDeleted,
        PathSessionState,
        PathSessionArchived,
        PathSessionUnarchived,
        PathSessionDeleted,
        EnrollmentCreated,
        EnrollmentStatusChanged,
        EnrollmentCompleted,
        EnrollmentDeleted,
        CertificateGranted,
        CertificateRevoked,
    )
}

PAYLOADS: dict[str, type[Payload]] = {
    event_type: _PAYLOAD_STRUCTS[model.__name__] for event_type, model in EVENT_DATA_MODELS.items()
}
"""Event type -> payload Struct: the Struct named like the pydantic model of
``events.EVENT_DATA_MODELS``."""


class Event(
    Struct, frozen=True, kw_only=True, tag_field="type", rename={"platform_id": "platformid"}
):
    """A decoded event (``envelope.DomainEvent``): ``type`` is the class's tag,
    ``platform_id`` reads ``platformid``."""

    type: ClassVar[str]
    id: EntityId
    time: datetime
    platform_id: EntityId
    data: Payload

    def __post_init__(self) -> None:
        _check_instants(self, ("time",))


def _struct_name(event_type: str, suffix: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[._]", event_type)) + suffix


def _event_struct(event_type: str, payload: type[Payload]) -> type[Event]:
    """The :class:`Event` of ``event_type``: tagged with it, ``data`` typed as ``payload``."""
    struct = msgspec.defstruct(  # typed as returning type[Struct]
        _struct_name(event_type, "Event"),
        [("data", payload)],
        bases=(Event,),
        tag=event_type,
        namespace={"type": event_type, "__module__": __name__},
        frozen=True,
        kw_only=True,
    )
    return cast("type[Event]", struct)


def _message_struct(event: type[Event]) -> type[Event]:
    """``event`` as read from a message: the envelope fields the projector does not keep are
    checked like the rest (``envelope.CloudEvent``)."""
    struct = msgspec.defstruct(
        _struct_name(event.type, "Message"),
        [
            ("specversion", Literal["1.0"]),
            ("source", NonEmpty),
            ("datacontenttype", Literal["application/json"], "application/json"),
        ],
        bases=(event,),
        tag=event.type,
        namespace={"__module__": __name__},
        frozen=True,
        kw_only=True,
    )
    return cast("type[Event]", struct)


EVENTS: dict[str, type[Event]] = {t: _event_struct(t, p) for t, p in PAYLOADS.items()}
"""Event type -> its :class:`Event` Struct."""

_ANY_EVENT: Any = Union[tuple(EVENTS.values())]  # noqa: UP007 (a runtime union of classes)
_DECODER = msgspec.json.Decoder(Union[tuple(_message_struct(e) for e in EVENTS.values())])  # noqa: UP007


def from_domain_event(event: DomainEvent) -> Event:
    """``event`` (validated by pydantic, SPEC.md §3) as an :class:`Event` of its type with the
    same values: ids and payload fields as they are, instants (UTC, as ``events.Instant``
    gives them) unchanged.

    Raises:
        msgspec.ValidationError: ``event`` was not validated by the contract models (an
            instant out of [1900, 9000), a type without a Struct).
    """
    converted: Event = msgspec.convert(event, _ANY_EVENT, from_attributes=True)
    return converted


_ESCAPES_LEFT_TO_PARSE_EVENT = re.compile(rb"\\u00(?:00|2[eE]|3[0-9])")
"""Escapes of NUL, ``.`` and digits. Text with a NUL is malformed (``events.reject_nul``) and
msgspec does not look; an escaped dot or digit can hide a sub-microsecond fraction from
:data:`_SUBMICROSECOND` (msgspec unescapes a timestamp before reading it). No JSON encoder
escapes a dot or a digit; a message that does is left to ``parse_event``."""

_SUBMICROSECOND = re.compile(rb"\.[0-9]{7}")
"""A fraction of a second of more than six digits: msgspec rounds it to the microsecond,
pydantic truncates it; such a message is left to ``parse_event``."""

MAX_NESTING = 200
"""pydantic's JSON parser (jiter) rejects a document nested deeper than this (``recursion
limit exceeded``); msgspec skips unknown fields of any depth (and past ~1,000 levels raises
``RecursionError``). A message with more ``[`` and ``{`` bytes than this is left to
``parse_event``."""

_NESTING_BYTES = 2 * (MAX_NESTING + 1)
"""A message nested deeper than :data:`MAX_NESTING` holds at least this many bracket bytes."""

MAX_INTEGER_DIGITS = 4300
"""jiter rejects an integer of more digits (``number out of range``), even in a field it
ignores; msgspec skips it. Only a message longer than this can hold one."""

_LONG_DIGIT_RUN = re.compile(rb"[0-9]{%d}" % (MAX_INTEGER_DIGITS + 1))


def _msgspec_agrees(raw: bytes) -> bool:
    """Whether msgspec's answer on ``raw`` is ``parse_event``'s, when msgspec accepts it.

    msgspec checks what it keeps; jiter checks the whole document, the fields it ignores
    included. So a message goes to ``parse_event`` when it holds an escape of
    :data:`_ESCAPES_LEFT_TO_PARSE_EVENT`, a :data:`_SUBMICROSECOND` fraction, more than
    :data:`MAX_NESTING` brackets, a digit run longer than :data:`MAX_INTEGER_DIGITS`, or bytes
    that are not UTF-8 (surrogates included). Each check is a cheap scan of the bytes; a
    false alarm costs only the slower decoder. (Found by trying to break the decoder:
    docs/DECISIONS.md "msgspec decodes, pydantic judges".)
    """
    if _ESCAPES_LEFT_TO_PARSE_EVENT.search(raw) or _SUBMICROSECOND.search(raw):
        return False
    if len(raw) > _NESTING_BYTES and raw.count(b"[") + raw.count(b"{") > MAX_NESTING:
        return False
    if len(raw) > MAX_INTEGER_DIGITS and _LONG_DIGIT_RUN.search(raw):
        return False
    if not raw.isascii():
        try:
            raw.decode()
        except UnicodeDecodeError:
            return False
    return True


def decode_event(raw: bytes) -> Event:
    """One message value (JSON text, UTF-8 bytes) as an :class:`Event`, with ``parse_event``'s
    verdict (SPEC.md §3: applied, dead-lettered or skipped as an unknown type).

    msgspec decodes it when :func:`_msgspec_agrees`; whatever msgspec rejects (a wrong field,
    an unknown type, an offset other than UTC, a lax form pydantic accepts, like
    ``"2025-01-01T10:00Z"``) or fails on goes to ``parse_event``.

    Raises:
        MalformedEvent: what ``parse_event`` rejects (the message goes to the DLQ).
        UnknownEventType: a well-formed envelope whose type is not in contract v1.
    """
    if _msgspec_agrees(raw):
        try:
            event: Event = _DECODER.decode(raw)
            return event
        except (msgspec.DecodeError, RecursionError):  # ValidationError included
            pass
    return from_domain_event(parse_event(raw))
