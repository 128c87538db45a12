"""The CloudEvents 1.0 envelope (structured JSON mode) and its parsing (SPEC.md section 3).

``parse_event(raw)`` turns one Kafka message value into a validated :class:`DomainEvent`, or
raises :class:`UnknownEventType` (skip and count) or :class:`MalformedEvent` (dead-letter).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    create_model,
    model_validator,
)

from certstats_contracts.events import (
    EVENT_DATA_MODELS,
    NUL_FREE,
    EntityId,
    EventData,
    Instant,
    reject_nul,
)

DEFAULT_TOPIC = "lms.events"
"""Default topic LMS services publish to (SPEC.md section 3)."""


class MalformedEvent(ValueError):
    """The message is not a valid v1 event: bad JSON, missing/invalid field, bad timestamp."""


class UnknownEventType(ValueError):
    """The envelope is valid but its ``type`` is not part of contract v1 (forward compatibility)."""

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope as published by LMS services.

    ``data`` stays untyped here; :func:`parse_event` validates it against the model of ``type``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = Field(description="CloudEvents spec version.")
    id: EntityId = Field(description="Unique per event: the same id twice is the same event.")
    source: str = Field(min_length=1, examples=["lms/enrollment-service"])
    type: str = Field(min_length=1, examples=["enrollment.created"])
    time: Instant = Field(description="When the fact happened; orders last-writer-wins updates.")
    platformid: EntityId = Field(description="The tenant: one customer's LMS platform.")
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any] = Field(description="The payload; its shape depends on `type`.")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get(NUL_FREE):
            return data
        if isinstance(data, dict):
            reject_nul({k: v for k, v in data.items() if k != "data"})
        return data


class DomainEvent(BaseModel):
    """A validated event: envelope fields plus the typed payload."""

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    time: Instant
    platform_id: str
    data: EventData


def _typed_envelope(event_type: str, data_model: type[EventData]) -> type[DomainEvent]:
    """A :class:`DomainEvent` validated straight from the CloudEvents JSON of ``event_type``:
    the envelope fields it does not keep are checked, then left out of dumps and reprs."""
    hidden: Any = Field(exclude=True, repr=False)
    return create_model(
        "Typed" + "".join(w.capitalize() for w in event_type.replace(".", "_").split("_")),
        __base__=DomainEvent,
        specversion=(Literal["1.0"], hidden),
        source=(str, Field(min_length=1, exclude=True, repr=False)),
        datacontenttype=(Literal["application/json"], Field("application/json", exclude=True)),
        id=(EntityId, ...),
        type=(Literal[event_type], ...),
        time=(Instant, ...),
        platform_id=(EntityId, Field(validation_alias="platformid")),
        data=(data_model, ...),
    )


_TYPED_EVENTS: TypeAdapter[DomainEvent] = TypeAdapter(
    Annotated[
        Union[tuple(_typed_envelope(t, m) for t, m in EVENT_DATA_MODELS.items())],  # noqa: UP007
        Field(discriminator="type"),
    ],
    config=ConfigDict(cache_strings="none"),
)
"""One validation pass, envelope and payload together, dispatched on ``type``. No string
cache: ids are mostly unique, and the cache lookups cost ~10% of the pass."""


def parse_event(raw: bytes | str) -> DomainEvent:
    """Validate one message value (JSON text) into a :class:`DomainEvent` (SPEC.md §3).

    One pydantic pass over the typed envelope of the event's type; anything it rejects is
    diagnosed again envelope first, then payload, so the error names the failing field.

    Raises:
        MalformedEvent: invalid JSON, envelope or payload (the message goes to the DLQ).
        UnknownEventType: a well-formed envelope whose type is not in contract v1.
    """
    # A NUL can only reach a JSON string as the escape \u0000: without one, skip the walk.
    text = raw if isinstance(raw, bytes) else raw.encode()
    if b"\\u0000" not in text:
        try:
            return _TYPED_EVENTS.validate_json(text, context={NUL_FREE: True})
        except ValidationError:
            pass
    _diagnose(text)
    try:  # the two passes accept it, so it holds no NUL: the single pass accepts it too
        return _TYPED_EVENTS.validate_json(text, context={NUL_FREE: True})
    except ValidationError as exc:
        raise MalformedEvent(_describe(exc)) from None


def _diagnose(text: bytes) -> None:
    """Validate envelope then payload (NULs included); raise what is wrong, if anything."""
    try:
        envelope = CloudEvent.model_validate_json(text)
    except ValidationError as exc:
        raise MalformedEvent(_describe(exc)) from None
    model = EVENT_DATA_MODELS.get(envelope.type)
    if model is None:
        raise UnknownEventType(envelope.type)
    try:
        model.model_validate(envelope.data)
    except ValidationError as exc:
        raise MalformedEvent(f"{envelope.type}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "<root>"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


_SUBJECT_FIELD = {
    "user": "user_id",
    "enrollment": "user_id",
    "group": "group_id",
    "path": "path_id",
    "path_session": "session_id",
}


def message_key(platform_id: str, event_type: str, data: EventData) -> bytes:
    """Kafka message key ``<platformid>:<entity id>`` (SPEC.md section 3).

    The entity is the user for learner facts (``user.*``, ``enrollment.*``,
    ``certificate.granted``/``revoked``) and the entity itself otherwise.
    """
    family = event_type.rsplit(".", 1)[0]
    if event_type in ("certificate.granted", "certificate.revoked"):
        field = "user_id"
    elif family == "certificate":
        field = "certificate_id"
    else:
        field = _SUBJECT_FIELD[family]
    return f"{platform_id}:{getattr(data, field)}".encode()


def make_cloud_event(
    *, event_id: str, event_type: str, time: str, platform_id: str, source: str, data: EventData
) -> dict[str, Any]:
    """Build the structured-mode CloudEvents JSON document for ``data`` (JSON-ready dict)."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": event_type,
        "time": time,
        "platformid": platform_id,
        "datacontenttype": "application/json",
        "data": data.model_dump(mode="json"),
    }
