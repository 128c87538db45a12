"""decode_records: what the projector applies, dead-letters and skips (SPEC.md §3)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from bench.synthetic import synthetic_stream
from certstats_contracts.decoded import Event, decode_event
from certstats_projector import decoding
from certstats_projector.decoding import decode_records


def _record(partition: int, offset: int, value: bytes | None) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic="lms.events",
        partition=partition,
        offset=offset,
        timestamp=1_700_000_000_000,
        timestamp_type=0,
        key=b"acme:u1",
        value=value,
        checksum=None,
        serialized_key_size=7,
        serialized_value_size=len(value or b""),
        headers=(),
    )


def test_sorts_a_batch_and_advances_every_partition_past_its_last_record() -> None:
    good = [value for _, value in synthetic_stream(3)]
    unknown = json.dumps(json.loads(good[0]) | {"type": "course.liked"}).encode()
    records = [
        _record(0, 10, good[0]),
        _record(1, 4, b"{broken"),
        _record(0, 11, unknown),
        _record(1, 5, good[1]),
        _record(2, 0, None),
        _record(0, 12, good[2]),
    ]

    batch = decode_records(records)

    assert [e.id for e in batch.events] == [json.loads(v)["id"] for v in good]
    assert [(r.record.partition, r.record.offset) for r in batch.rejected] == [(1, 4), (2, 0)]
    assert batch.rejected[0].error and batch.rejected[1].error
    assert batch.unknown == {"course.liked": 1}
    assert batch.next_offsets == {("lms.events", 0): 13, ("lms.events", 1): 6, ("lms.events", 2): 1}


def test_a_record_the_decoder_fails_on_is_rejected_and_the_rest_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A decoder failure (not a verdict) must not fail the batch: the consumer would drop it
    with its good records (the breaker's RecursionError, before the decoder's guard)."""
    good = [value for _, value in synthetic_stream(2)]

    def decode(raw: bytes) -> Event:
        if raw == b"crash":
            raise RecursionError("maximum recursion depth exceeded")
        return decode_event(raw)

    monkeypatch.setattr(decoding, "decode_event", decode)
    batch = decode_records(
        [_record(0, 0, good[0]), _record(0, 1, b"crash"), _record(0, 2, good[1])]
    )

    assert [e.id for e in batch.events] == [json.loads(v)["id"] for v in good]
    [rejected] = batch.rejected
    assert rejected.record.offset == 1 and "RecursionError" in rejected.error
    assert batch.next_offsets == {("lms.events", 0): 3}
