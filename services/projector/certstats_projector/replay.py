"""Replaying topics into a building read-model generation, up to given offsets (SPEC.md §6).

:class:`Replayer` reads every partition of the subscribed topics by manual assignment (no
consumer group), from the next offsets stored in the building generation (earliest when
none), and applies batches with the projection's ``apply_batch``, which stores the offsets in
the same transaction: an interrupted replay resumes where it stopped. It never applies a
record at or past its target offset (the live generation's stored offset): those records stay
the live projector's to apply or dead-letter, so the rebuild dead-letters nothing twice; an
event PostgreSQL rejects was dead-lettered by the live projector and is skipped here.
Partitions map to ``lanes`` (round robin): each lane commits its batches one at a time, in
order, and lanes commit concurrently; fetching and decoding overlap the commits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from certstats_projector.consumer import pooled
from certstats_projector.decoding import DecodedBatch, decode_sliced
from certstats_projector.isolation import POISON_ERRORS, isolate_rejected
from certstats_projector.progress import TopicPartitionKey
from certstats_projector.projection import (
    AppliedBatch,
    KnownUsers,
    apply_batch,
    stored_offsets,
    summary_slot,
)

log = structlog.get_logger("certstats.rebuild")

CONFLICTS: tuple[type[BaseException], ...] = (
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
"""Conflicts of a batch transaction with another lane's (or with a `certstats migrate` running
meanwhile): the losing batch rolled back, and is retried."""

_CONFLICT_RETRIES = 8

STALL_S = 10.0
"""Seconds a partition may sit at its high watermark below its target before the replay
gives up (:class:`LogBehindTarget`)."""

Offsets = Mapping[TopicPartitionKey, int]
"""``(topic, partition) -> next offset``."""


class LogBehindTarget(RuntimeError):
    """A partition ends below the offset the live generation stored for it: its records were
    deleted (retention) or lost (a broker restarted empty), so a replay cannot reach it."""

    def __init__(self, tp: TopicPartition, end: int, target: int) -> None:
        super().__init__(
            f"{tp.topic}/{tp.partition} ends at offset {end:,}, below the {target:,} the live"
            " read models consumed: the topic lost records, a rebuild cannot reproduce them"
        )


class MissingTopics(LookupError):
    """Topics the broker does not have (a wrong ``--topic``, or nothing published yet)."""

    def __init__(self, topics: Sequence[str]) -> None:
        super().__init__(f"no such topic: {', '.join(topics)}")
        self.topics = list(topics)


async def topic_partitions(bootstrap_servers: str, topics: Sequence[str]) -> list[TopicPartition]:
    """Every partition of ``topics``, in (topic, partition) order (from the broker's metadata).

    Read-only: a metadata request naming a topic may auto-create it on brokers that allow it,
    so the broker's topics are listed first (a request for all topics creates none).

    Raises:
        MissingTopics: some of ``topics`` do not exist.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        if missing := sorted(set(topics) - existing):
            raise MissingTopics(missing)
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return sorted(
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic["partitions"]
    )


class Replayer:
    """Applies the records of assigned partitions to generation ``schema`` in batches of at
    most ``batch_max_records`` over ``lanes`` concurrent transactions (the pool needs one
    connection per lane); ``on_commit`` is called after every committed batch."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        pool: asyncpg.Pool,
        schema: str,
        batch_max_records: int,
        on_commit: Callable[[], None] = lambda: None,
        lanes: int = 1,
    ) -> None:
        self._consumer = consumer
        self._pool = pool
        self._schema = schema
        self._batch_max_records = batch_max_records
        self._on_commit = on_commit
        self._lanes = lanes
        self._lane_of: dict[TopicPartitionKey, int] = {}
        self._known_users = KnownUsers()
        self._stalled: dict[tuple[str, int, int], float] = {}
        """(topic, partition, position) -> when the partition was first seen at its end there."""
        self.stored: dict[TopicPartitionKey, int] = {}
        """Next offsets stored in the building generation."""
        self.defer_summaries = False
        """Batches defer the summary refresh (catch-up mode; the rebuild catches the
        summaries up before its promotion, docs/DECISIONS.md "Deferred summaries")."""

    @property
    def done(self) -> int:
        """Sum of the stored next offsets (records consumed so far, over all partitions)."""
        return sum(self.stored.values())

    def remaining(self, targets: Offsets) -> int:
        """Records left before every partition reaches its target."""
        return sum(max(end - self.stored.get(key, 0), 0) for key, end in targets.items())

    async def assign(self, partitions: Sequence[TopicPartition]) -> None:
        """Assign ``partitions`` (all paused) and load the offsets stored so far."""
        self._consumer.assign(list(partitions))
        self._consumer.pause(*partitions)
        self._lane_of = {
            (tp.topic, tp.partition): n % self._lanes for n, tp in enumerate(partitions)
        }
        topics = sorted({tp.topic for tp in partitions})
        async with pooled(self._pool) as conn:
            self.stored = await stored_offsets(conn, self._schema, topics)

    async def replay_to(self, targets: Offsets, conn: asyncpg.Connection | None = None) -> None:
        """Apply every record below its partition's target offset not applied yet.

        With ``conn``, batches are applied one by one in the caller's transaction (a
        promotion); otherwise each commits on a pooled connection, lanes concurrently.

        Raises:
            asyncpg.PostgresError, aiokafka.errors.KafkaError: the replay stopped; every
                batch committed before stays committed, with its offsets.
        """
        pending = {tp for tp in self._consumer.assignment() if self._behind(tp, targets)}
        for tp in pending:
            await self._seek(tp)
        self._consumer.resume(*pending)
        commits: dict[int, asyncio.Task[None]] = {}
        try:
            while pending:
                records = await self._fetch(pending, targets)
                for lane, part in self._by_lane(records, conn is None).items():
                    batch = await decode_sliced(part)  # the other lane commits meanwhile
                    if lane in commits:
                        await commits[lane]
                    commits[lane] = asyncio.create_task(self._commit(batch, conn))
            await asyncio.gather(*commits.values())
        finally:  # stopped (error, Ctrl-C): roll back the commits still running
            for commit in commits.values():
                commit.cancel()
            await asyncio.gather(*commits.values(), return_exceptions=True)

    def _by_lane(
        self, records: Sequence[ConsumerRecord[Any, Any]], concurrent: bool
    ) -> dict[int, list[ConsumerRecord[Any, Any]]]:
        """Records grouped by lane (all in lane 0 unless ``concurrent``), in order."""
        lanes: dict[int, list[ConsumerRecord[Any, Any]]] = {}
        for record in records:
            lane = self._lane_of[(record.topic, record.partition)] if concurrent else 0
            lanes.setdefault(lane, []).append(record)
        return lanes

    def _behind(self, tp: TopicPartition, targets: Offsets) -> bool:
        key = (tp.topic, tp.partition)
        return self.stored.get(key, 0) < targets.get(key, 0)

    async def _seek(self, tp: TopicPartition) -> None:
        offset = self.stored.get((tp.topic, tp.partition))
        if offset is None:
            await self._consumer.seek_to_beginning(tp)
        else:
            self._consumer.seek(tp, offset)

    async def _fetch(
        self, pending: set[TopicPartition], targets: Offsets
    ) -> list[ConsumerRecord[Any, Any]]:
        """One fetch from the ``pending`` partitions, cut at the targets; partitions whose
        position reached their target leave ``pending`` (and are paused).

        Raises:
            LogBehindTarget: a partition was read to its end (the high watermark of a fetch
                response) below its target.
        """
        fetched = await self._consumer.getmany(
            *pending, timeout_ms=500, max_records=self._batch_max_records
        )
        records: list[ConsumerRecord[Any, Any]] = []
        for tp, batch in fetched.items():
            end = targets[(tp.topic, tp.partition)]
            records.extend(record for record in batch if record.offset < end)
        for tp in list(pending):
            target, position = targets[(tp.topic, tp.partition)], await self._consumer.position(tp)
            if position >= target:
                pending.discard(tp)
                self._consumer.pause(tp)
            elif (end := self._consumer.highwater(tp)) is not None and position >= end:
                self._check_stall(tp, position, end, target)
        return records

    def _check_stall(self, tp: TopicPartition, position: int, end: int, target: int) -> None:
        """Raise once ``tp`` stayed at its end ``end`` below ``target`` for ``STALL_S``
        seconds: long enough for fresh fetch responses to have updated a stale high watermark."""
        since = self._stalled.setdefault((tp.topic, tp.partition, position), time.monotonic())
        if time.monotonic() - since > STALL_S:
            raise LogBehindTarget(tp, end, target)

    async def _commit(self, batch: DecodedBatch, conn: asyncpg.Connection | None) -> None:
        if conn is None:
            applied = await self._apply_pooled(batch)
        else:
            applied = await self._apply_or_skip(conn, batch)
        self.stored.update(batch.next_offsets)
        self._known_users.remember(self._schema, applied.users)
        self._on_commit()

    async def _apply_pooled(self, batch: DecodedBatch) -> AppliedBatch:
        """Apply ``batch`` on a pooled connection; after a conflict with another lane, again
        (a few times, with back-off; the last conflict is raised)."""
        for attempt in range(_CONFLICT_RETRIES):
            try:
                async with pooled(self._pool) as conn:
                    return await self._apply_or_skip(conn, batch)
            except CONFLICTS as exc:
                log.warning(
                    "rebuild batch conflicted (another lane, or a migration): retrying",
                    error=repr(exc),
                )
                await asyncio.sleep(0.05 * 2**attempt)
        async with pooled(self._pool) as conn:
            return await self._apply_or_skip(conn, batch)

    async def _apply_or_skip(self, conn: asyncpg.Connection, batch: DecodedBatch) -> AppliedBatch:
        """Apply ``batch``; if PostgreSQL rejects a value in it, apply it in parts and skip the
        events it rejects (:func:`~certstats_projector.isolation.isolate_rejected`; the live
        projector dead-lettered them), then store the batch's offsets. Summary counters go to
        the batch's slot (lanes own disjoint partitions)."""
        known, slot = self._known_users.of(self._schema), summary_slot(batch.next_offsets)
        apply = partial(
            apply_batch, schema=self._schema, slot=slot, defer_summaries=self.defer_summaries
        )
        try:
            return await apply(
                conn, events=batch.events, next_offsets=batch.next_offsets, known_users=known
            )
        except POISON_ERRORS as exc:
            log.warning("read model rejected a batch: isolating the events", error=repr(exc))

        async def apply_part(start: int, stop: int) -> bool:
            await apply(conn, events=batch.events[start:stop], next_offsets={}, known_users=known)
            return True

        async def skip(position: int, exc: BaseException) -> None:
            event = batch.events[position]
            log.warning("skipped an event the read model rejects", id=event.id, error=repr(exc))

        await isolate_rejected(len(batch.events), apply_part, skip)
        return await apply(conn, events=[], next_offsets=batch.next_offsets)
