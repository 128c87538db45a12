"""Random event histories for projection tests: small id pools and few distinct times, so
entities collide and last-writer-wins ties happen; every v1 event type can appear.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from certstats_contracts.decoded import Event
from certstats_contracts.envelope import message_key
from certstats_contracts.events import EVENT_DATA_MODELS
from tests.integration.kafka_support import READ_MODEL_TABLES
from tests.integration.projection_support import Projection, at, event

USERS = ("u1", "u2", "u3")
POOLS: dict[str, tuple[Any, ...]] = {
    "user_id": USERS,
    "group_id": ("g1", "g2", "g3"),
    "parent_group_id": (None, "g1", "g2", "g3"),
    "owner_group_id": (None, "g1"),
    "certificate_id": ("c1", "c2"),
    "path_id": ("p1", "p2"),
    "session_id": ("s1", "s2"),
    "role": ("admin", "coach"),
    "validity_months": (None, 6),
    "expires_at": (None, at(99)),
    "ends_at": (None, at(50)),
    "method": ("assigned", "self_enrolled"),
    "automatic_reenrollment": (False, True),
    "previous_enrollment_id": (None, "e0"),
}
STATUSES = {
    "enrollment.status_changed": ("onTime", "late", "toRetake"),
    "enrollment.completed": ("successful", "unsuccessful"),
}


def _value(rng: random.Random, event_type: str, name: str, time: int) -> Any:
    if name in POOLS:
        return rng.choice(POOLS[name])
    if name == "status":
        return rng.choice(STATUSES[event_type])
    if name in ("changed_at", "completed_at"):
        return at(rng.randrange(1, 4))
    if name.endswith("_at"):
        return at(time)
    if name.endswith("_ids"):
        return rng.sample(USERS if name != "group_ids" else POOLS["group_id"], rng.randrange(3))
    if name == "custom_fields":
        return {"Team": rng.choice("AB")}
    return f"{name}-{time}"


def random_event(rng: random.Random) -> Event:
    """Any v1 event type, ids from small pools; an enrollment or grant always has one user."""
    event_type = rng.choice(sorted(EVENT_DATA_MODELS))
    time = rng.randrange(1, 5)
    data = {
        name: _value(rng, event_type, name, time)
        for name in EVENT_DATA_MODELS[event_type].model_fields
    }
    n = rng.randrange(5)
    if "enrollment_id" in data or "grant_id" in data:
        data.update(enrollment_id=f"e{n}", grant_id=f"gr{n}", user_id=USERS[n % len(USERS)])
    return event(event_type, time, **data)


def history(rng: random.Random, size: int) -> list[Event]:
    """``size`` random events over small id pools and 4 distinct times, in publish order."""
    return [random_event(rng) for _ in range(size)]


def shuffle_across_keys(rng: random.Random, events: list[Event]) -> list[Event]:
    """Interleave the per-key streams at random, keeping each key's order (SPEC.md §3)."""
    streams: dict[bytes, list[Event]] = defaultdict(list)
    for ev in events:
        streams[message_key(ev.platform_id, ev.type, ev.data)].append(ev)
    queues = [list(reversed(stream)) for stream in streams.values()]
    out: list[Event] = []
    while queues:
        queue = rng.choice(queues)
        out.append(queue.pop())
        if not queue:
            queues.remove(queue)
    return out


def batches_with_duplicates(rng: random.Random, events: list[Event]) -> list[list[Event]]:
    """Random batch splits; some events delivered again in a later or the same batch."""
    out: list[list[Event]] = []
    i = 0
    while i < len(events):
        size = rng.randrange(1, 25)
        batch = events[i : i + size]
        seen = [ev for b in out for ev in b] + batch
        batch += rng.sample(seen, min(len(seen), rng.randrange(3)))
        out.append(batch)
        i += size
    return out


async def snapshot(proj: Projection, schema: str) -> dict[str, list[dict[str, Any]]]:
    """Every read-model and tracking table of ``schema`` (but offsets), rows in a fixed order."""
    generation = Projection(proj.conn, schema)
    return {
        table: sorted(await generation.rows(table, order_by="1"), key=repr)
        for table in READ_MODEL_TABLES
    }
