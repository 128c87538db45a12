"""Consumed Kafka batches -> one exactly-once PostgreSQL transaction each (SPEC.md §1, §3).

:class:`BatchApplier` decodes a batch (:mod:`certstats_projector.decoding`), then hands it to
a commit task that dead-letters the rejected records (awaiting the broker's acks) and commits
the events with every offset of the batch in one transaction, retrying the same batch with
back-off on failure. Partitions map to ``lanes``: each lane commits one transaction at a time,
in consumption order, and lanes commit concurrently. Up to ``queued`` decoded batches per lane
wait behind the one committing, so the next batches are fetched and decoded while the
previous ones commit (Python and PostgreSQL work overlap); decoding yields to the event loop
every ``DECODE_SLICE`` records so that the commits in flight send their next statements.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from itertools import groupby
from typing import Any, cast

import asyncpg
import structlog
from aiokafka import ConsumerRecord

from certstats_projector.decoding import TOPIC_PARTITION, DecodedBatch, decode_sliced
from certstats_projector.deferral import SummaryDeferral
from certstats_projector.dlq import Rejected
from certstats_projector.generations import current_schema
from certstats_projector.isolation import POISON_ERRORS, isolate_rejected
from certstats_projector.metrics import ProjectorMetrics
from certstats_projector.progress import TopicPartitionKey
from certstats_projector.projection import (
    AppliedBatch,
    KnownUsers,
    apply_batch,
    stored_offsets,
    summary_slot,
)
from certstats_projector.promotion import lock_current_generation
from certstats_projector.retrying import Retrier

log = structlog.get_logger("certstats.projector")

WATERMARK_SQL = "SELECT max(data_as_of) FROM {schema}.watermarks"
"""Newest watermark of a generation (``schema`` comes from our own code, never from input)."""


@asynccontextmanager
async def pooled(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection typed as a Connection (the proxy forwards every method; the
    asyncpg stubs type the two apart)."""
    async with pool.acquire() as proxy:
        yield cast(asyncpg.Connection, proxy)


class BatchApplier:
    """Applies consumed batches to one read-model generation, one commit at a time per lane.

    ``epoch`` counts rebalances: a batch fetched before a rebalance is dropped instead of
    committed, since every assigned partition is re-sought to its stored offset anyway.

    With ``follow`` (the live projector) the applier follows the current generation: each
    batch transaction checks it under the generation lock (:mod:`certstats_projector.promotion`).
    Once a rebuild promoted another one, the batch is not committed; the next :meth:`handle`
    switches ``schema`` and awaits ``follow()``, which re-seeks the assigned partitions to the
    offsets stored in the new generation.

    ``lag`` (messages left over the assigned partitions), ``lag_elsewhere`` (over the other
    instances' partitions, as stored) and ``summary_deferral_lag`` drive the summaries'
    catch-up mode (:mod:`certstats_projector.deferral`). Each batch stores the partitions'
    ``high_watermarks`` (as the consumer knows them) beside its offsets.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        metrics: ProjectorMetrics,
        dead_letter: Callable[[Sequence[Rejected]], Awaitable[None]],
        backoff: tuple[float, float],
        follow: Callable[[], Awaitable[None]] | None = None,
        lanes: int = 1,
        queued: int = 1,
        lag: Callable[[], int] = lambda: 0,
        summary_deferral_lag: int | None = None,
        lag_elsewhere: Callable[[], Awaitable[int]] | None = None,
        high_watermarks: Callable[[], Mapping[TopicPartitionKey, int]] = dict,
    ) -> None:
        self._pool = pool
        self.schema = schema
        self._metrics = metrics
        self._dead_letter = dead_letter
        self.retry = Retrier(backoff, metrics.batch_failures)
        self.summaries = SummaryDeferral(
            lambda: pooled(pool),
            lambda: self.schema,
            lag,
            summary_deferral_lag,
            Retrier(backoff, metrics.batch_failures),
            lag_elsewhere,
            bulk_indexes=follow is not None,  # the live projector, on the current generation
        )
        self._high_watermarks = high_watermarks
        self._follow = follow
        self._promoted: str | None = None
        self._lanes = lanes
        self._queued = queued
        self._commits: dict[int, deque[asyncio.Task[None]]] = {}
        """Per lane, the commit tasks not known to be done, oldest first; each one commits
        after its predecessor."""
        self._known_users = KnownUsers()
        self._closed = False
        self.epoch = 0
        self.stored: dict[TopicPartitionKey, int] = {}
        """Next offsets this instance knows are stored (loaded on assignment, then committed)."""

    async def handle(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Split one batch by commit lane; per lane: decode, wait until the lane has room
        (at most ``queued`` batches waiting behind the one committing), then queue this
        part's commit behind the lane's previous one."""
        epoch, started = self.epoch, time.perf_counter()
        for lane, part in self._by_lane(records).items():
            batch = await decode_sliced(part)
            await self._wait_for_room(lane)
            if self._closed or epoch != self.epoch:
                return  # not committed: resumed from PostgreSQL offsets after the rebalance
            if self._promoted is not None:
                await self.drain()
                await self._switch(self._promoted)
                return  # fetched before the re-seek: consumed again from the new generation
            commits = self._commits.setdefault(lane, deque())
            previous = commits[-1] if commits else None
            commits.append(
                asyncio.create_task(self._commit_after(previous, epoch, batch, part, started))
            )

    def _by_lane(
        self, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> dict[int, list[ConsumerRecord[Any, Any]]]:
        """Records grouped by lane, each group in consumption order. A partition always maps
        to the same lane, so every key's events commit in order (SPEC.md §3)."""
        lanes: dict[int, list[ConsumerRecord[Any, Any]]] = {}
        for (topic, partition), run in groupby(records, key=TOPIC_PARTITION):
            lane = (zlib.crc32(topic.encode()) + partition) % self._lanes
            lanes.setdefault(lane, []).extend(run)
        return lanes

    async def _wait_for_room(self, lane: int) -> None:
        commits = self._commits.get(lane, deque())
        while commits and (commits[0].done() or len(commits) > self._queued):
            await asyncio.shield(commits[0])
            commits.popleft()

    async def _drain_lane(self, lane: int) -> None:
        if commits := self._commits.get(lane):
            await asyncio.shield(commits[-1])  # it commits after all the lane's others

    async def drain(self) -> None:
        """Wait until the batches being committed (if any) are durably committed."""
        for lane in list(self._commits):
            await self._drain_lane(lane)

    async def close(self) -> None:
        """Start no more commits, wait for the current one and stop a summary catch-up in
        flight (graceful stop)."""
        self._closed = True
        await self.drain()
        await self.summaries.close()

    async def _commit_after(
        self,
        previous: asyncio.Task[None] | None,
        epoch: int,
        batch: DecodedBatch,
        records: Sequence[ConsumerRecord[Any, Any]],
        started: float,
    ) -> None:
        """Commit ``batch`` once the lane's ``previous`` commit is done (its failure is
        this one's), unless the applier closed, rebalanced or saw a promotion meanwhile."""
        if previous is not None:
            await asyncio.shield(previous)
        if self._closed or epoch != self.epoch or self._promoted is not None:
            return  # not committed: consumed again (see handle)
        await self._commit(batch, records, started)

    async def _commit(
        self, batch: DecodedBatch, records: Sequence[ConsumerRecord[Any, Any]], started: float
    ) -> None:
        where, schema = _coordinates(records), self.schema
        for rejected in batch.rejected:
            _log_rejected(rejected)
        if batch.rejected:
            await self.retry(lambda: self._dead_letter(batch.rejected), step="dlq", **where)
        applied = await self.retry(
            lambda: self._apply_or_isolate(batch, schema), step="commit", **where
        )
        if applied is None:
            return  # another generation was promoted: not committed (see handle)
        self.stored.update(batch.next_offsets)
        self.summaries.poke()
        self._known_users.remember(schema, applied.users)
        self._record_metrics(batch, applied, time.perf_counter() - started)

    async def _apply_or_isolate(self, batch: DecodedBatch, schema: str) -> AppliedBatch | None:
        """Apply ``batch``; if PostgreSQL rejects a value in it, apply it in parts until the
        events it rejects are found (:func:`~certstats_projector.isolation.isolate_rejected`),
        dead-letter those, then store the batch's offsets. Events applied before a crash are
        skipped on replay (event-id dedup): still exactly-once. Every transaction writes the
        summary counters under the batch's slot, or defers the summaries (the lag before the
        batch decides, see :mod:`certstats_projector.deferral`)."""
        slot = summary_slot(batch.next_offsets)
        defer = self.summaries.should_defer()
        try:
            return await self._apply(batch, schema, slot, defer)
        except POISON_ERRORS as exc:
            log.warning("read model rejected a batch: isolating the events", error=repr(exc))

        async def apply(start: int, stop: int) -> bool:
            part = DecodedBatch(batch.events[start:stop])
            return await self._apply(part, schema, slot, defer) is not None

        async def reject(position: int, exc: BaseException) -> None:
            rejected = Rejected(batch.sources[position], f"rejected by the read model: {exc}")
            _log_rejected(rejected)
            await self._dead_letter([rejected])
            self._metrics.events_dead_lettered.labels(rejected.record.topic).inc()

        if not await isolate_rejected(len(batch.events), apply, reject):
            return None
        empty = DecodedBatch(next_offsets=batch.next_offsets)
        return await self._apply(empty, schema, slot, defer)

    async def _apply(
        self, batch: DecodedBatch, schema: str, slot: int, defer: bool
    ) -> AppliedBatch | None:
        known = self._known_users.of(schema)
        apply = partial(
            apply_batch,
            schema=schema,
            events=batch.events,
            next_offsets=batch.next_offsets,
            known_users=known,
            slot=slot,
            defer_summaries=defer,
            high_watermarks=self._high_watermarks(),
        )
        async with pooled(self._pool) as conn:
            if self._follow is None:
                return await apply(conn)
            async with conn.transaction():
                current = await lock_current_generation(conn)
                if current != schema:
                    self._promoted = current
                    return None
                return await apply(conn)

    async def _switch(self, schema: str) -> None:
        """Follow the promoted generation ``schema`` (SPEC.md §6): drop the batches fetched
        so far and resume from the offsets stored there."""
        assert self._follow is not None
        self.schema, self._promoted = schema, None
        self.epoch += 1
        self.stored.clear()
        self.summaries.recheck()
        log.info("following the promoted read-model generation", schema=schema)
        await self._follow()

    @property
    def failing(self) -> bool:
        """Whether a step is being retried right now (``/readyz`` reports it)."""
        return self.retry.failing

    async def load_stored_offsets(self, topics: Sequence[str]) -> dict[TopicPartitionKey, int]:
        """Next offsets stored in this generation for ``topics`` (absent: never consumed)."""
        async with pooled(self._pool) as conn:
            if self._follow is not None:
                self.schema = await current_schema(conn)  # a rebuild may have promoted one
            return await stored_offsets(conn, self.schema, topics)

    async def newest_watermark(self) -> datetime | None:
        """Newest applied event time over all platforms (None before the first event)."""
        value: datetime | None = await self._pool.fetchval(WATERMARK_SQL.format(schema=self.schema))
        return value

    def _record_metrics(self, batch: DecodedBatch, applied: AppliedBatch, seconds: float) -> None:
        self._metrics.record_applied(applied.applied)
        for rejected in batch.rejected:
            self._metrics.events_dead_lettered.labels(rejected.record.topic).inc()
        for event_type, count in batch.unknown.items():
            self._metrics.events_skipped_unknown.labels(event_type).inc(count)
        self._metrics.batch_duration.observe(seconds)


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
