"""Publishing the ``ou`` stream to a real Kafka-protocol broker (SPEC.md sections 3 and 7)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from certstats_contracts.envelope import MalformedEvent, message_key, parse_event
from certstats_importer.publish import publish_events
from certstats_importer.stream import oulad_events
from tests.oulad_fixture import write_small_oulad


async def read_topic(bootstrap: str, topic: str, expected: int) -> list[ConsumerRecord[Any, Any]]:
    """Every record of ``topic``: waits (20 s at most) for ``expected``, then polls once more
    so that records beyond ``expected`` are caught too."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list[ConsumerRecord[Any, Any]] = []
    try:
        async with asyncio.timeout(20):
            while len(records) < expected:
                records.extend(await _poll(consumer))
        records.extend(await _poll(consumer))
    finally:
        await consumer.stop()
    return records


async def _poll(consumer: AIOKafkaConsumer) -> list[ConsumerRecord[Any, Any]]:
    batches = await consumer.getmany(timeout_ms=500)
    return [record for batch in batches.values() for record in batch]


@pytest.fixture
def small_events(tmp_path: Path) -> list[dict[str, Any]]:
    return list(oulad_events(write_small_oulad(tmp_path)))


async def test_publish_then_read_back_count_keys_and_order(
    small_events: list[dict[str, Any]], kafka_bootstrap: str, topic: str
) -> None:
    progress: list[int] = []
    published = await publish_events(small_events, kafka_bootstrap, topic, progress.append)
    records = await read_topic(kafka_bootstrap, topic, len(small_events))

    assert published == sum(progress) == len(records) == len(small_events)
    by_id = {event["id"]: event for event in small_events}
    per_key: dict[bytes, list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = parse_event(record.value)
        assert record.key == message_key("ou", event.type, event.data)
        assert json.loads(record.value) == by_id[event.id]
        per_key[record.key].append(event.id)
    for key, ids in per_key.items():
        published_order = [e["id"] for e in small_events if e["id"] in set(ids)]
        assert ids == published_order, key
    assert b"ou:ou-11" in per_key and b"ou:ou-session-AAA-2013J" in per_key


async def test_an_invalid_document_publishes_nothing(
    small_events: list[dict[str, Any]], kafka_bootstrap: str, topic: str
) -> None:
    broken = [*small_events, {**small_events[-1], "data": {"grant_id": "g"}}]
    with pytest.raises(MalformedEvent, match=r"certificate\.granted"):
        await publish_events(broken, kafka_bootstrap, topic)
    await publish_events(small_events[:1], kafka_bootstrap, topic)
    records = await read_topic(kafka_bootstrap, topic, 1)
    assert [record.value for record in records] == [
        json.dumps(small_events[0], separators=(",", ":")).encode()
    ]
