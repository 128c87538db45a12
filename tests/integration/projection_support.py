"""Helpers for the projection tests: build events, apply them, read rows back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from certstats_contracts.decoded import Event, from_domain_event
from certstats_contracts.envelope import DomainEvent
from certstats_contracts.events import EVENT_DATA_MODELS
from certstats_projector import generations
from certstats_projector.projection import AppliedBatch, apply_batch

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PLATFORM = "acme"


def at(minutes: int) -> datetime:
    """An instant ``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


def event(
    event_type: str,
    time: int,
    *,
    platform: str = PLATFORM,
    event_id: str | None = None,
    **data: Any,
) -> Event:
    """A validated event of ``event_type`` at ``at(time)``, with a fresh id unless given, as
    the projector decodes it."""
    return from_domain_event(
        DomainEvent(
            id=event_id or str(uuid.uuid4()),
            type=event_type,
            time=at(time),
            platform_id=platform,
            data=EVENT_DATA_MODELS[event_type].model_validate(data),
        )
    )


class Projection:
    """A migrated database and its current generation schema, for one test."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self.conn = conn
        self.schema = schema

    async def apply(
        self, events: Sequence[Event], offsets: dict[tuple[str, int], int] | None = None
    ) -> AppliedBatch:
        """Apply ``events`` as one batch."""
        return await apply_batch(self.conn, self.schema, events, offsets or {})

    async def rows(self, table: str, order_by: str = "1, 2") -> list[dict[str, Any]]:
        """Every row of ``table`` as dicts (table names come from the test code)."""
        records = await self.conn.fetch(f"SELECT * FROM {self.schema}.{table} ORDER BY {order_by}")
        return [dict(r) for r in records]

    async def row(self, table: str, **key: str) -> dict[str, Any] | None:
        """The row of ``table`` matching ``key`` columns (platform defaults to PLATFORM)."""
        key.setdefault("platform_id", PLATFORM)
        where = " AND ".join(f"{column} = ${i}" for i, column in enumerate(key, start=1))
        record = await self.conn.fetchrow(
            f"SELECT * FROM {self.schema}.{table} WHERE {where}", *key.values()
        )
        return None if record is None else dict(record)


@asynccontextmanager
async def projection(database_url: str) -> AsyncIterator[Projection]:
    """Connect to ``database_url``, migrate it, and yield a :class:`Projection`."""
    conn = await asyncpg.connect(database_url)
    try:
        yield Projection(conn, await generations.migrate(conn))
    finally:
        await conn.close()


def user_state(
    user_id: str,
    time: int,
    *,
    kind: str = "user.registered",
    groups: Sequence[str] = (),
    first_name: str = "Zoë",
    **data: Any,
) -> Event:
    """A ``user.registered`` (or ``kind``) event with a full profile."""
    return event(
        kind,
        time,
        user_id=user_id,
        first_name=first_name,
        last_name="Núñez",
        email=f"{user_id}@learners.example",
        registered_at=at(0),
        group_ids=list(groups),
        **data,
    )


def session_state(session_id: str, time: int, *, path_id: str = "p1", **data: Any) -> Event:
    """A ``path_session.created`` event starting at T0, ending a day later."""
    data.setdefault("name", f"Session {session_id}")
    return event(
        data.pop("kind", "path_session.created"),
        time,
        session_id=session_id,
        path_id=path_id,
        starts_at=at(0),
        ends_at=at(24 * 60),
        **data,
    )


def enrollment(enrollment_id: str, time: int, *, user_id: str = "u1", **data: Any) -> Event:
    """An ``enrollment.created`` event in session ``s1`` (override with ``session_id=``)."""
    data.setdefault("session_id", "s1")
    data.setdefault("method", "assigned")
    return event(
        "enrollment.created",
        time,
        enrollment_id=enrollment_id,
        user_id=user_id,
        enrolled_at=at(time),
        **data,
    )


def grant(grant_id: str, time: int, *, user_id: str = "u1", **data: Any) -> Event:
    """A ``certificate.granted`` event of certificate ``c1`` delivered at ``at(time)``."""
    data.setdefault("certificate_id", "c1")
    return event(
        "certificate.granted",
        time,
        grant_id=grant_id,
        user_id=user_id,
        delivered_at=at(time),
        **data,
    )
