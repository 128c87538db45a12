"""Turning consumed Kafka records into one exactly-once PostgreSQL transaction (SPEC.md §1, §3).

:func:`decode_records` sorts a batch into valid events, rejected (malformed) records and
unknown types, and computes the next offset of every partition in it. :class:`BatchApplier`
dead-letters the rejected records (awaiting the broker's acks), then commits the events and
all the offsets in one transaction, retrying the same batch with back-off on failure, so
nothing is ever committed past a failed batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

import asyncpg
import structlog
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError

from certstats_contracts.envelope import DomainEvent, MalformedEvent, UnknownEventType, parse_event
from certstats_projector.dlq import Rejected
from certstats_projector.metrics import ProjectorMetrics
from certstats_projector.progress import TopicPartitionKey
from certstats_projector.projection import AppliedBatch, apply_batch, stored_offsets

log = structlog.get_logger("certstats.projector")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    OSError,
    TimeoutError,
    KafkaError,
)
"""Failures expected to pass: connection loss, deadlock, serialization, broker hiccups."""

T = TypeVar("T")

WATERMARK_SQL = "SELECT max(data_as_of) FROM {schema}.watermarks"
"""Newest watermark of a generation (``schema`` comes from our own code, never from input)."""


@dataclass
class DecodedBatch:
    """One consumed batch, sorted: what to apply, what to dead-letter, what to skip."""

    events: list[DomainEvent] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    unknown: Counter[str] = field(default_factory=Counter)
    next_offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)


def decode_records(records: Sequence[ConsumerRecord[Any, Any]]) -> DecodedBatch:
    """Validate every record value with :func:`parse_event`, keeping consumption order.

    ``next_offsets`` maps each partition of the batch to its greatest offset + 1: skipped and
    rejected records advance the offsets like applied ones (SPEC.md §3).
    """
    batch = DecodedBatch()
    for record in records:
        try:
            batch.events.append(parse_event(record.value or b""))
        except UnknownEventType as exc:
            batch.unknown[exc.event_type] += 1
        except MalformedEvent as exc:
            batch.rejected.append(Rejected(record, str(exc)))
        key = (record.topic, record.partition)
        batch.next_offsets[key] = max(batch.next_offsets.get(key, 0), record.offset + 1)
    return batch


@asynccontextmanager
async def pooled(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection typed as a Connection (the proxy forwards every method; the
    asyncpg stubs type the two apart)."""
    async with pool.acquire() as proxy:
        yield cast(asyncpg.Connection, proxy)


class BatchApplier:
    """Applies decoded batches to one read-model generation; one batch at a time.

    ``in_flight`` is held while a batch is being committed: the rebalance listener waits on
    it so a revoked partition's batch commits before another member resumes from PostgreSQL.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        metrics: ProjectorMetrics,
        dead_letter: Callable[[Sequence[Rejected]], Awaitable[None]],
        backoff: tuple[float, float],
    ) -> None:
        self._pool = pool
        self.schema = schema
        self._metrics = metrics
        self._dead_letter = dead_letter
        self._backoff = backoff
        self.in_flight = asyncio.Lock()
        self.stored: dict[TopicPartitionKey, int] = {}
        """Next offsets this instance knows are stored (loaded on assignment, then committed)."""
        self.failing = False

    async def handle(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Decode, dead-letter and commit one batch; returns once it is durably committed."""
        if not records:
            return
        async with self.in_flight:
            started = time.perf_counter()
            batch = decode_records(records)
            for rejected in batch.rejected:
                self._log_rejected(rejected)
            where = _coordinates(records)
            if batch.rejected:
                await self.retry(lambda: self._dead_letter(batch.rejected), step="dlq", **where)
            applied = await self.retry(lambda: self._commit(batch), step="commit", **where)
            self.stored.update(batch.next_offsets)
            self._record_metrics(batch, applied, time.perf_counter() - started)

    async def _commit(self, batch: DecodedBatch) -> AppliedBatch:
        async with pooled(self._pool) as conn:
            return await apply_batch(conn, self.schema, batch.events, batch.next_offsets)

    async def load_stored_offsets(self, topics: Sequence[str]) -> dict[TopicPartitionKey, int]:
        """Next offsets stored in this generation for ``topics`` (absent: never consumed)."""
        async with pooled(self._pool) as conn:
            return await stored_offsets(conn, self.schema, topics)

    async def newest_watermark(self) -> datetime | None:
        """Newest applied event time over all platforms (None before the first event)."""
        value: datetime | None = await self._pool.fetchval(WATERMARK_SQL.format(schema=self.schema))
        return value

    async def retry(self, attempt: Callable[[], Awaitable[T]], **context: object) -> T:
        """Run ``attempt`` until it succeeds, sleeping with capped exponential back-off.

        Every failure is retried (a projector must not skip a batch); transient ones are
        logged as warnings, others as errors; ``context`` (coordinates) goes into the log.
        """
        delay, ceiling = self._backoff
        while True:
            try:
                result = await attempt()
            except Exception as exc:
                self.failing = True
                kind = "transient" if isinstance(exc, TRANSIENT_ERRORS) else "other"
                self._metrics.batch_failures.labels(kind).inc()
                log.log(
                    logging.WARNING if kind == "transient" else logging.ERROR,
                    "projector step failed, retrying",
                    kind=kind,
                    error=repr(exc),
                    retry_in_s=delay,
                    exc_info=kind != "transient",
                    **context,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, ceiling)
            else:
                self.failing = False
                return result

    def _record_metrics(self, batch: DecodedBatch, applied: AppliedBatch, seconds: float) -> None:
        self._metrics.record_applied(applied.applied)
        for rejected in batch.rejected:
            self._metrics.events_dead_lettered.labels(rejected.record.topic).inc()
        for event_type, count in batch.unknown.items():
            self._metrics.events_skipped_unknown.labels(event_type).inc(count)
        self._metrics.batch_duration.observe(seconds)

    @staticmethod
    def _log_rejected(rejected: Rejected) -> None:
        record = rejected.record
        log.warning(
            "event dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=rejected.error,
        )


def _coordinates(records: Sequence[ConsumerRecord[Any, Any]]) -> dict[str, object]:
    """Log context of a batch: its size and first/last ``topic/partition@offset``."""
    first, last = records[0], records[-1]
    return {
        "records": len(records),
        "first": f"{first.topic}/{first.partition}@{first.offset}",
        "last": f"{last.topic}/{last.partition}@{last.offset}",
    }
