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
    ends = await publish(kafka_bootstrap, topic, messages)

    settings = settings_for(database_url, kafka_bootstrap, topic)
    progress = await project_until_caught_up(settings, timeout_s=60)

    assert progress.caught_up
    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert sorted(r[1] for r in tables["applied_events"]) == ["event-1", "event-3"]
    [dead] = await read_all(kafka_bootstrap, dlq.dlq_topic(topic), 1)
    assert dead.value == poison
    error = dict(dead.headers)[dlq.ERROR_HEADER].decode()
    assert error.startswith("rejected by the read model") and "no_poison" in error
