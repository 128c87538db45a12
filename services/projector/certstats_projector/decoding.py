"""Sorting one consumed batch into events to apply, records to dead-letter and unknown types
(SPEC.md §3), with the next offset of every partition in it."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from typing import Any

from aiokafka import ConsumerRecord

from certstats_contracts.decoded import Event, decode_event
from certstats_contracts.envelope import MalformedEvent, UnknownEventType
from certstats_projector.dlq import Rejected
from certstats_projector.progress import TopicPartitionKey

DECODE_SLICE = 256
"""Records decoded between two yields to the event loop (about 2 ms of validation)."""

TOPIC_PARTITION = attrgetter("topic", "partition")
"""A record's partition: records of one partition come in runs (one fetch per partition)."""


@dataclass
class DecodedBatch:
    """One consumed batch, sorted: what to apply, what to dead-letter, what to skip."""

    events: list[Event] = field(default_factory=list)
    sources: list[ConsumerRecord[Any, Any]] = field(default_factory=list)
    """The record of each event in ``events`` (same index), to dead-letter it if the read
    model rejects it (see ``BatchApplier``)."""
    rejected: list[Rejected] = field(default_factory=list)
    unknown: Counter[str] = field(default_factory=Counter)
    next_offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)

    def add(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Decode ``records`` (consumed after those already added) into this batch."""
        for key, run in groupby(records, key=TOPIC_PARTITION):  # runs of one partition
            next_offset = self.next_offsets.get(key, 0)
            for record in run:
                try:
                    self.events.append(decode_event(record.value or b""))
                    self.sources.append(record)
                except UnknownEventType as exc:
                    self.unknown[exc.event_type] += 1
                except MalformedEvent as exc:
                    self.rejected.append(Rejected(record, str(exc)))
                except Exception as exc:  # the decoder failed on this record: never drop the batch
                    self.rejected.append(Rejected(record, f"undecodable: {exc!r}"))
                if record.offset >= next_offset:
                    next_offset = record.offset + 1
            self.next_offsets[key] = next_offset


def decode_records(records: Sequence[ConsumerRecord[Any, Any]]) -> DecodedBatch:
    """Decode every record value with :func:`decode_event`, keeping consumption order.

    ``next_offsets`` maps each partition of the batch to its greatest offset + 1: skipped and
    rejected records advance the offsets like applied ones (SPEC.md §3). A record on which the
    decoder itself fails (any other exception) is rejected too, so that it reaches the DLQ
    instead of failing the batch, which the consumer would drop with the good records in it.
    """
    batch = DecodedBatch()
    batch.add(records)
    return batch


async def decode_sliced(records: Sequence[ConsumerRecord[Any, Any]]) -> DecodedBatch:
    """:func:`decode_records`, yielding to the event loop every ``DECODE_SLICE`` records."""
    batch = DecodedBatch()
    for start in range(0, len(records), DECODE_SLICE):
        if start:
            await asyncio.sleep(0)
        batch.add(records[start : start + DECODE_SLICE])
    return batch
