"""Splitting a refused batch until the rejected events are found (isolation.py): every good
event applied once, in consumption order, every rejected one reported, in few transactions.
The database's side (a real rejection, the DLQ) is in tests/integration/test_projector_poison.py."""

import asyncio
import math

import asyncpg
from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_projector.isolation import isolate_rejected


class Batch:
    """A batch of ``count`` events whose ``poison`` positions the read model refuses: a part
    holding one fails as a whole (one transaction), like ``apply_batch``."""

    def __init__(self, count: int, poison: set[int], stop_after: int | None = None) -> None:
        self.count, self.poison, self.stop_after = count, poison, stop_after
        self.applied: list[int] = []
        self.rejected: list[int] = []
        self.transactions = 0

    async def apply(self, start: int, stop: int) -> bool:
        self.transactions += 1
        if self.poison.intersection(range(start, stop)):
            raise asyncpg.DataError("value out of range")
        self.applied += range(start, stop)
        return self.stop_after is None or len(self.applied) < self.stop_after

    async def reject(self, position: int, exc: BaseException) -> None:
        assert isinstance(exc, asyncpg.DataError)
        self.rejected.append(position)

    def run(self) -> bool:
        return asyncio.run(isolate_rejected(self.count, self.apply, self.reject))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))))
def test_every_good_event_is_applied_once_in_order_and_every_poison_one_rejected(
    case: tuple[int, set[int]],
) -> None:
    count, poison = case
    batch = Batch(count, poison)

    assert batch.run()
    assert batch.applied == [p for p in range(count) if p not in poison]
    assert batch.rejected == sorted(poison)


def test_one_poison_event_in_100000_takes_a_few_dozen_transactions() -> None:
    batch = Batch(100_000, {61_803})

    assert batch.run()
    assert batch.rejected == [61_803]
    assert len(batch.applied) == 99_999
    assert batch.transactions <= 2 * math.ceil(math.log2(100_000)) + 1


def test_a_part_asking_to_stop_stops_the_isolation() -> None:
    batch = Batch(1000, {10, 900}, stop_after=1)

    assert not batch.run()
    assert batch.rejected == []
    assert batch.applied == list(range(10)[: len(batch.applied)])
