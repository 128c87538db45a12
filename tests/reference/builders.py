"""Terse construction of :class:`DomainEvent` values for tests (contract v1, SPEC.md 3)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from certstats_contracts.decoded import Event, decode_event
from certstats_contracts.envelope import DomainEvent, make_cloud_event, message_key
from certstats_contracts.events import EVENT_DATA_MODELS

_ids = itertools.count(1)


def at(text: str) -> datetime:
    """``'2026-01-31'`` or ``'2026-01-31T10:00'`` (UTC) or any ISO instant with an offset."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event(
    event_type: str,
    time: str | datetime,
    platform_id: str = "acme",
    event_id: str | None = None,
    **data: Any,
) -> DomainEvent:
    """A validated event; ``data`` goes through the contract model of ``event_type``.

    String values of ``*_at`` fields are read with :func:`at` (UTC when no offset is given).
    """
    data = {k: at(v) if k.endswith("_at") and isinstance(v, str) else v for k, v in data.items()}
    return DomainEvent(
        id=event_id or f"ev-{next(_ids)}",
        type=event_type,
        time=at(time) if isinstance(time, str) else time,
        platform_id=platform_id,
        data=EVENT_DATA_MODELS[event_type].model_validate(data),
    )


def key_of(e: DomainEvent) -> bytes:
    """The Kafka message key of ``e`` (``<platformid>:<entity id>``)."""
    return message_key(e.platform_id, e.type, e.data)


def to_message(e: DomainEvent) -> bytes:
    """The CloudEvents JSON message value of ``e``."""
    document = make_cloud_event(
        event_id=e.id,
        event_type=e.type,
        time=e.time.isoformat(),
        platform_id=e.platform_id,
        source="tests/reference",
        data=e.data,
    )
    return json.dumps(document).encode()


def as_consumed(events: Iterable[DomainEvent]) -> list[Event]:
    """``events`` as the projector reads them: each one's message decoded by ``decode_event``."""
    return [decode_event(to_message(e)) for e in events]
