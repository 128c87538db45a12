"""Finding the events PostgreSQL rejects in a batch it refused (SPEC.md §3: a malformed event
goes to the DLQ and the projector moves on; docs/DECISIONS.md "Events PostgreSQL rejects").

A batch transaction that fails on a value (a ``DataError``, a constraint) fails as a whole.
The batch is then split in halves, applied in consumption order, and every half PostgreSQL
refuses is split again, down to single events: those are the rejected ones. With one poison
event among ``n`` that is about ``2 log2(n)`` transactions (34 for 100,000 events) instead of
``n`` one-event transactions, and every part that commits keeps the batch's per-key order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

POISON_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)
"""Deterministic rejections of an event's values by PostgreSQL: retrying cannot help, so the
batch is split until the events PostgreSQL rejects are found (:func:`isolate_rejected`)."""


async def isolate_rejected(
    count: int,
    apply: Callable[[int, int], Awaitable[bool]],
    reject: Callable[[int, BaseException], Awaitable[None]],
) -> bool:
    """Apply events ``[0, count)`` of a batch PostgreSQL refused as a whole, in parts.

    ``apply(start, stop)`` applies events ``start:stop`` in one transaction (without the
    batch's offsets: the caller stores them once every part is done) and returns False to stop
    early (another generation was promoted); it raises one of :data:`POISON_ERRORS` when
    PostgreSQL rejects a value. A refused part of several events is split in two, the earlier
    half applied first; ``reject(position, error)`` is called for each single event refused.
    Parts commit in consumption order, so per-key order holds (events applied before a crash
    are skipped on replay by the event-id dedup).

    Returns False if ``apply`` asked to stop, else True. Other exceptions propagate.
    """
    parts = _halves(0, count)
    while parts:
        start, stop = parts.pop()
        try:
            if not await apply(start, stop):
                return False
        except POISON_ERRORS as exc:
            if stop - start == 1:
                await reject(start, exc)
            else:
                parts += _halves(start, stop)
    return True


def _halves(start: int, stop: int) -> list[tuple[int, int]]:
    """``[start, stop)`` as parts to pop, the earlier one last (popped first); one part if it
    holds a single event."""
    if stop - start <= 1:
        return [(start, stop)] if stop > start else []
    middle = (start + stop) // 2
    return [(middle, stop), (start, middle)]
