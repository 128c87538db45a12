"""How far the projector is behind: stored next offsets against high watermarks (SPEC.md §6).

High watermarks come from ``consumer.highwater(tp)``, i.e. from fetch responses. ListOffsets
"latest" (``end_offsets()``) is not used: the Tansu broker answers it with the last batch's
base offset + 1; fetch responses carry the true high watermark on Tansu and on Apache Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

TopicPartitionKey = tuple[str, int]
"""``(topic, partition)``: the key of stored offsets."""


@dataclass(frozen=True)
class CatchUpProgress:
    """Progress over every partition of the subscribed topics.

    ``lag`` maps each partition with a known high watermark to high watermark - stored next
    offset (messages, ≥ 0); ``unknown`` counts partitions whose watermark is not known yet
    (metadata or first fetch pending, or assigned to another group member).
    """

    lag: dict[TopicPartitionKey, int] = field(default_factory=dict)
    unknown: int = 1
    stored_total: int = 0

    @property
    def total_lag(self) -> int:
        """Messages left to apply over the partitions with a known watermark."""
        return sum(self.lag.values())

    @property
    def caught_up(self) -> bool:
        """Every partition's watermark is known and reached."""
        return self.unknown == 0 and self.total_lag == 0


def high_watermarks(consumer: AIOKafkaConsumer | None) -> dict[TopicPartitionKey, int]:
    """The last known high watermark of each assigned partition, ``(topic, partition) ->``
    offset (absent: not known yet); from fetch responses, see the module docstring."""
    if consumer is None:
        return {}
    known = {}
    for tp in consumer.assignment():
        highwater = consumer.highwater(tp)
        if highwater is not None:
            known[(tp.topic, tp.partition)] = highwater
    return known


def measure_progress(
    consumer: AIOKafkaConsumer | None,
    topics: Sequence[str],
    stored: Mapping[TopicPartitionKey, int],
) -> CatchUpProgress:
    """Compare ``stored`` next offsets with the consumer's last known high watermarks."""
    if consumer is None:
        return CatchUpProgress()
    lag: dict[TopicPartitionKey, int] = {}
    unknown = 0
    known = high_watermarks(consumer)
    for topic in topics:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            unknown += 1
            continue
        for partition in sorted(partitions):
            highwater = known.get((topic, partition))
            if highwater is None:
                unknown += 1
            else:
                lag[(topic, partition)] = max(highwater - stored.get((topic, partition), 0), 0)
    return CatchUpProgress(lag=lag, unknown=unknown, stored_total=sum(stored.values()))
