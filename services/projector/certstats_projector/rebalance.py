"""Partition assignment: resume each partition from its offset stored in PostgreSQL (SPEC §1, §6).

Kafka's committed offsets are advisory. On each assignment the listener seeks every assigned
partition to the ``next_offset`` stored in the read-model generation; a partition with no
stored offset starts at its earliest offset. On revocation it waits for the in-flight batch,
so the next owner reads offsets that include it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from certstats_projector.consumer import BatchApplier

log = structlog.get_logger("certstats.projector")


class ResumeFromStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    """aiokafka rebalance listener bound to one :class:`BatchApplier`.

    ``consumer`` and ``applier`` are callables: FastStream creates the consumer, and the
    projector the applier, when they start, after this listener is registered.
    """

    def __init__(
        self,
        consumer: Callable[[], AIOKafkaConsumer | None],
        applier: Callable[[], BatchApplier],
        topics: Sequence[str],
        revoke_wait_s: float,
    ) -> None:
        self._consumer = consumer
        self._applier = applier
        self._topics = list(topics)
        self._revoke_wait_s = revoke_wait_s
        self.assigned: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Drop batches fetched before this rebalance and wait (bounded) for the commit in
        flight, so the next owner of a revoked partition reads offsets that include it."""
        self.assigned -= revoked
        applier = self._applier()
        applier.epoch += 1
        try:
            async with asyncio.timeout(self._revoke_wait_s):
                await applier.drain()
        except TimeoutError:
            log.warning("rebalance did not wait for the commit in flight", revoked=len(revoked))

    async def reseek(self) -> None:
        """Seek every assigned partition again to its stored next offset (after the applier
        switched to a promoted generation, SPEC.md §6)."""
        consumer = self._consumer()
        if consumer is not None:
            await self.on_partitions_assigned(consumer.assignment())

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Seek each assigned partition to its stored next offset (earliest when none), and
        look for deferred summaries again: an instance that left the group may have listed
        platforms it will never catch up (docs/DECISIONS.md "Deferred summaries")."""
        consumer = self._consumer()
        if consumer is None or not assigned:
            self.assigned = set(assigned)
            return
        applier = self._applier()
        stored = await applier.retry(
            lambda: applier.load_stored_offsets(self._topics), step="load offsets"
        )
        fresh = []
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                fresh.append(tp)
            else:
                consumer.seek(tp, offset)
        if fresh:
            await consumer.seek_to_beginning(*fresh)
        applier.stored.update(stored)
        applier.summaries.recheck()  # a departed instance may have left platforms listed
        self.assigned = set(assigned)
        log.info(
            "partitions assigned", partitions=sorted(f"{t.topic}/{t.partition}" for t in assigned)
        )
