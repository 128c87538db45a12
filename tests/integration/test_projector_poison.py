"""An event PostgreSQL rejects (a value the contract let through) is dead-lettered alone; the
rest of its batch, and the partition, keep flowing (SPEC.md §3: processing goes on)."""

from __future__ import annotations

import json

import asyncpg

from bench.synthetic import synthetic_stream
from certstats_projector import dlq, generations
from certstats_projector.app import project_until_caught_up
from tests.integration.kafka_support import projected, publish, read_all, settings_for


def _group_created(n: int, name: str) -> bytes:
    """A valid ``group.created`` (the synthetic stream's first event) renamed ``name``."""
    document = json.loads(next(iter(synthetic_stream(1, seed=n)))[1])
    assert document["type"] == "group.created"
    document["id"] = f"event-{n}"
    document["data"]["name"] = name
    document["data"]["group_id"] = f"group-{n}"
    return json.dumps(document).encode()


async def _project_all(
    database_url: str, kafka_bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]
) -> list[str]:
    """Publish ``messages`` and project them until caught up, every offset stored; returns
    the applied event ids, sorted."""
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic)
    progress = await project_until_caught_up(settings, timeout_s=60)
    assert progress.caught_up
    tables, offsets = await projected(database_url)
    assert offsets == ends
    return sorted(r[1] for r in tables["applied_events"])


async def test_a_value_the_read_model_rejects_is_dead_lettered_and_the_batch_goes_on(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:  # stands for any value PostgreSQL refuses (out of range, too long for an index...)
        schema = await generations.migrate(conn)
        await conn.execute(
            f"ALTER TABLE {schema}.groups ADD CONSTRAINT no_poison CHECK (name <> 'poison')"
        )
    finally:
        await conn.close()
    poison = _group_created(2, "poison")
    messages = [
        (b"k", _group_created(1, "first")),
        (b"k", poison),
        (b"k", _group_created(3, "last")),
    ]
    applied = await _project_all(database_url, kafka_bootstrap, topic, messages)

    assert applied == ["event-1", "event-3"]
    [dead] = await read_all(kafka_bootstrap, dlq.dlq_topic(topic), 1)
    assert dead.value == poison
    error = dict(dead.headers)[dlq.ERROR_HEADER].decode()
    assert error.startswith("rejected by the read model") and "no_poison" in error


def _with_unknown_field(n: int, raw_value: bytes) -> bytes:
    """A valid ``group.created`` with an unknown envelope field ``x`` holding ``raw_value``
    (raw JSON bytes, possibly invalid)."""
    return _group_created(n, f"group {n}")[:-1] + b', "x": ' + raw_value + b"}"


async def test_what_only_the_contracts_parser_rejects_is_dead_lettered_not_dropped(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    """Messages msgspec alone would accept (it skips unknown fields) or crash on, found by
    the breaker of the msgspec decoder: dead-lettered like ``parse_event`` says, and the good
    messages of their batch applied (docs/DECISIONS.md "msgspec decodes, pydantic judges")."""
    poisons = [
        _with_unknown_field(2, b"[" * 1000 + b"]" * 1000),  # RecursionError in msgspec
        _with_unknown_field(3, b"[" * 201 + b"]" * 201),  # deeper than jiter's limit
        _with_unknown_field(4, b'"\xff"'),  # not UTF-8
        _with_unknown_field(5, b'"\xed\xa0\x80"'),  # a UTF-8-encoded surrogate
        _with_unknown_field(6, b"1" * 4301),  # an integer jiter calls out of range
    ]
    escaped = _group_created(7, "escaped").replace(b'Z"', b'\\u002e9999999Z"', 1)
    messages = [(b"k", _group_created(1, "first")), *((b"k", p) for p in poisons)]
    messages += [(b"k", escaped), (b"k", _group_created(8, "last"))]
    applied = await _project_all(database_url, kafka_bootstrap, topic, messages)

    assert applied == ["event-1", "event-7", "event-8"]
    dead = await read_all(kafka_bootstrap, dlq.dlq_topic(topic), len(poisons))
    assert sorted(d.value for d in dead) == sorted(poisons)
    conn = await asyncpg.connect(database_url)
    try:
        schema = await generations.current_schema(conn)
        version = await conn.fetchval(
            f"SELECT state_event_at FROM {schema}.groups WHERE group_id = 'group-7'"
        )
    finally:
        await conn.close()
    assert version.microsecond == 999_999  # truncated like pydantic, not rounded to a second
