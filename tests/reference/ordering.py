"""Delivery orders that must not change results (SPEC.md 5.4): reorderings across message
keys that keep each key's order, duplicate deliveries, and batch splits."""

from __future__ import annotations

import random
from collections.abc import Sequence

from certstats_contracts.envelope import DomainEvent
from tests.reference.builders import key_of


def shuffle_across_keys(events: Sequence[DomainEvent], rnd: random.Random) -> list[DomainEvent]:
    """A random interleaving of ``events`` in which the events of each key keep their order
    (Kafka orders per key only, SPEC.md 3)."""
    queues: dict[bytes, list[DomainEvent]] = {}
    for e in events:
        queues.setdefault(key_of(e), []).append(e)
    for queue in queues.values():
        queue.reverse()
    order = [key for key, queue in queues.items() for _ in queue]
    rnd.shuffle(order)
    return [queues[key].pop() for key in order]


def with_duplicates(
    events: Sequence[DomainEvent], rnd: random.Random, rate: float = 0.2
) -> list[DomainEvent]:
    """``events`` plus re-deliveries: about ``rate`` of them appear again at a random later
    position (a redelivered message never overtakes its first delivery)."""
    out = list(events)
    for e in events:
        if rnd.random() < rate:
            first = next(i for i, seen in enumerate(out) if seen is e)
            out.insert(rnd.randint(first + 1, len(out)), e)
    return out


def split_batches(events: Sequence[DomainEvent], rnd: random.Random) -> list[list[DomainEvent]]:
    """``events`` cut into consecutive non-empty batches of random sizes (1 to 12)."""
    batches, i = [], 0
    while i < len(events):
        size = rnd.randint(1, 12)
        batches.append(list(events[i : i + size]))
        i += size
    return batches
