"""Dead-letter tooling: list the records of ``<topic>.dlq`` and replay them to their original
topic after a fix (SPEC.md section 3). Header names come from :mod:`certstats_projector.dlq`.

Replaying publishes the original key and value bytes again, so the same key keeps its
partition; an event applied in the meantime is skipped by the projector's event-id dedup.
"""

from __future__ import annotations

import asyncio
import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from certstats_projector import dlq
from certstats_projector.replay import MissingTopics, topic_partitions

REPLAYED_FROM_HEADER = "x-certstats-replayed-from"
"""Header of a replayed record: ``<dlq topic>/<partition>@<offset>`` it came from."""

PREVIEW_CHARS = 80

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Control, format (bidi overrides, zero-width), line and paragraph separator characters:
what a producer could use to drive or garble the operator's terminal or split a JSON line."""


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def printable(text: str) -> str:
    """``text`` with every control/format/separator character as its Python escape
    (``\\x1b``, ``\\n``, ``\\u202e``): safe to show on a terminal, nothing hidden."""
    return "".join(c.encode("unicode_escape").decode("ascii") if _unsafe(c) else c for c in text)


class MissingDeadLetterTopic(LookupError):
    """``<topic>.dlq`` does not exist (nothing was dead-lettered, or a wrong topic name)."""

    def __init__(self, dlq_topic: str) -> None:
        super().__init__(f"{dlq_topic} does not exist")
        self.dlq_topic = dlq_topic


@dataclass(frozen=True)
class DeadLetter:
    """One record of a DLQ topic: its own coordinates, the error, where it came from."""

    topic: str
    partition: int
    offset: int
    dead_lettered_at: datetime
    error: str
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    original_at: datetime | None
    key: bytes | None
    value: bytes

    @property
    def preview(self) -> str:
        """The value decoded as UTF-8 (bad bytes replaced), cut to ``PREVIEW_CHARS``."""
        text = self.value.decode("utf-8", "replace")
        return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready summary (one line of ``certstats dlq list --json``)."""
        return {
            "dlq_partition": self.partition,
            "dlq_offset": self.offset,
            "dead_lettered_at": self.dead_lettered_at.isoformat(),
            "error": self.error,
            "original_topic": self.original_topic,
            "original_partition": self.original_partition,
            "original_offset": self.original_offset,
            "original_at": None if self.original_at is None else self.original_at.isoformat(),
            "key": None if self.key is None else self.key.decode("utf-8", "replace"),
            "preview": self.preview,
        }


def dead_letter_from(record: ConsumerRecord[Any, Any]) -> DeadLetter:
    """Read one DLQ record; missing headers become ``None`` (or an empty error)."""
    headers = {name: raw.decode("utf-8", "replace") for name, raw in record.headers or ()}

    def number(name: str) -> int | None:
        value = headers.get(name, "")
        return int(value) if value.lstrip("-").isdigit() else None

    original_ms = number(dlq.ORIGINAL_TIMESTAMP_HEADER)
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        dead_lettered_at=_instant(record.timestamp),
        error=headers.get(dlq.ERROR_HEADER, ""),
        original_topic=headers.get(dlq.ORIGINAL_TOPIC_HEADER),
        original_partition=number(dlq.ORIGINAL_PARTITION_HEADER),
        original_offset=number(dlq.ORIGINAL_OFFSET_HEADER),
        original_at=None if original_ms is None else _instant(original_ms),
        key=record.key,
        value=record.value or b"",
    )


def _instant(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


async def read_dead_letters(
    bootstrap_servers: str, topic: str, *, timeout_s: float = 30.0
) -> list[DeadLetter]:
    """Every record of ``<topic>.dlq`` present now, by (partition, offset), each original
    record once (:func:`once_per_origin`). Read-only: a missing DLQ topic is not auto-created
    by the metadata requests.

    Raises:
        MissingDeadLetterTopic: the broker has no ``<topic>.dlq``.
        TimeoutError: the end of the DLQ was not reached within ``timeout_s`` seconds.
        aiokafka.errors.KafkaError: the broker failed.
    """
    dlq_topic = dlq.dlq_topic(topic)
    try:
        partitions = await topic_partitions(bootstrap_servers, [dlq_topic])
    except MissingTopics:
        raise MissingDeadLetterTopic(dlq_topic) from None
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        async with asyncio.timeout(timeout_s):
            while not await _at_end(consumer, partitions):
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return once_per_origin(
        sorted((dead_letter_from(r) for r in records), key=lambda d: (d.partition, d.offset))
    )


def once_per_origin(letters: Iterable[DeadLetter]) -> list[DeadLetter]:
    """``letters`` without the later copies of a record already dead-lettered: the projector
    dead-letters at least once (a batch fetched again after a rebalance or a failed commit
    is dead-lettered again), so copies share their original (topic, partition, offset).
    Letters without original coordinates are all kept. Order is kept."""
    seen: set[tuple[str, int, int]] = set()
    kept = []
    for letter in letters:
        origin = (letter.original_topic, letter.original_partition, letter.original_offset)
        if origin[0] is None or origin[1] is None or origin[2] is None:
            kept.append(letter)
        elif (key := (origin[0], origin[1], origin[2])) not in seen:
            seen.add(key)
            kept.append(letter)
    return kept


async def _at_end(consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition]) -> bool:
    """Whether every partition's position reached its high watermark (known from a fetch)."""
    for tp in partitions:
        highwater = consumer.highwater(tp)
        if highwater is None or await consumer.position(tp) < highwater:
            return False
    return True


def select(
    letters: Iterable[DeadLetter],
    *,
    error_contains: str | None = None,
    from_offset: int | None = None,
    to_offset: int | None = None,
) -> list[DeadLetter]:
    """The dead letters whose error contains ``error_contains`` (case-insensitive) and whose
    DLQ offset lies in ``[from_offset, to_offset]`` (inclusive; None = unbounded)."""
    needle = (error_contains or "").casefold()
    return [
        d
        for d in letters
        if needle in d.error.casefold()
        and (from_offset is None or d.offset >= from_offset)
        and (to_offset is None or d.offset <= to_offset)
    ]


@dataclass(frozen=True)
class ReplayReport:
    """Counts of one replay: ``replayed`` per original topic, ``skipped`` (no original topic)."""

    replayed: dict[str, int]
    skipped: int

    @property
    def replayed_total(self) -> int:
        """Records re-published."""
        return sum(self.replayed.values())


async def replay(bootstrap_servers: str, letters: Sequence[DeadLetter]) -> ReplayReport:
    """Re-publish ``letters`` to their original topics (original key and value, in order),
    waiting for every broker ack.

    Raises:
        aiokafka.errors.KafkaError: a publish failed (some records may have been replayed).
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    replayed: dict[str, int] = {}
    try:
        sent = []
        for letter in letters:
            if letter.original_topic is None:
                continue
            origin = f"{letter.topic}/{letter.partition}@{letter.offset}".encode()
            headers = [(REPLAYED_FROM_HEADER, origin)]
            sent.append(
                await producer.send(
                    letter.original_topic, letter.value, key=letter.key, headers=headers
                )
            )
            replayed[letter.original_topic] = replayed.get(letter.original_topic, 0) + 1
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return ReplayReport(replayed, len(letters) - sum(replayed.values()))


def json_lines(letters: Iterable[DeadLetter]) -> Iterable[str]:
    """One compact JSON document per dead letter; every control/format/separator character
    (DEL, C1, bidi overrides, U+2028 included) is a JSON ``\\uXXXX`` escape, other text is
    kept as is."""
    return (_json_escape_unsafe(json.dumps(d.as_json(), ensure_ascii=False)) for d in letters)


def _json_escape_unsafe(document: str) -> str:
    return "".join(json.dumps(c)[1:-1] if _unsafe(c) else c for c in document)
