"""Dead-lettering of malformed messages to ``<topic>.dlq`` (SPEC.md section 3).

The DLQ record keeps the original key and value bytes; headers carry the error and the
original coordinates. :func:`dead_letter` returns only once the broker acknowledged every
record, so the caller commits its offsets after the DLQ write: a crash can duplicate a DLQ
entry, never lose one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker

DLQ_SUFFIX = ".dlq"
ERROR_HEADER = "x-certstats-error"
ORIGINAL_TOPIC_HEADER = "x-original-topic"
ORIGINAL_PARTITION_HEADER = "x-original-partition"
ORIGINAL_OFFSET_HEADER = "x-original-offset"
ORIGINAL_TIMESTAMP_HEADER = "x-original-timestamp-ms"
_MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Rejected:
    """A consumed record that failed validation, and why."""

    record: ConsumerRecord[Any, Any]
    error: str


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``: ``<topic>.dlq``."""
    return f"{topic}{DLQ_SUFFIX}"


def dlq_headers(rejected: Rejected) -> dict[str, str]:
    """Headers of the DLQ record: the error (truncated) and the original coordinates."""
    record = rejected.record
    return {
        ERROR_HEADER: rejected.error[:_MAX_ERROR_CHARS],
        ORIGINAL_TOPIC_HEADER: record.topic,
        ORIGINAL_PARTITION_HEADER: str(record.partition),
        ORIGINAL_OFFSET_HEADER: str(record.offset),
        ORIGINAL_TIMESTAMP_HEADER: str(record.timestamp),
    }


async def dead_letter(broker: KafkaBroker, rejected: Sequence[Rejected]) -> None:
    """Publish every rejected record to its DLQ topic and wait for all broker acks.

    Raises:
        aiokafka.errors.KafkaError: a publish failed (the batch must not commit).
    """
    await asyncio.gather(
        *(
            broker.publish(
                r.record.value or b"",
                topic=dlq_topic(r.record.topic),
                key=r.record.key,
                headers=dlq_headers(r),
            )
            for r in rejected
        )
    )


async def ensure_dlq_topics(bootstrap_servers: str, topics: Sequence[str], replicas: int) -> None:
    """Create the missing ``<topic>.dlq`` topics (one partition each); existing ones are kept."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [dlq_topic(t) for t in topics if dlq_topic(t) not in existing]
        if missing:
            new = [
                NewTopic(name, num_partitions=1, replication_factor=replicas) for name in missing
            ]
            with contextlib.suppress(TopicAlreadyExistsError):  # another instance was first
                await admin.create_topics(new)
    finally:
        await admin.close()
