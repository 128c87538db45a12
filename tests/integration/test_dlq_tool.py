"""Dead-letter tooling on a real broker (SPEC.md §3): the projector dead-letters malformed
messages, ``certstats dlq list`` shows them, ``certstats dlq replay`` re-publishes them to the
original topic, and the projector dead-letters them again (still malformed): a round trip.
The projector may dead-letter a record twice (at least once), so records are compared by their
original coordinates."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from bench.synthetic import synthetic_stream
from certstats_projector import dlq
from certstats_projector.app import project_until_caught_up
from certstats_projector.dlq_tool import (
    REPLAYED_FROM_HEADER,
    MissingDeadLetterTopic,
    read_dead_letters,
    select,
)
from tests.integration.kafka_support import publish, read_all, settings_for

CLI = Path(sys.executable).with_name("certstats")
BAD_JSON = (b"acme:u-1", b"not json")
NO_ENVELOPE = (b"acme:u-2", b'{"specversion": "1.0", "data": {}}')


async def certstats(bootstrap: str, *args: str) -> str:
    """Run the ``certstats`` CLI; returns its stdout (fails the test on a non-zero exit)."""
    env = os.environ | {"CERTSTATS_KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    child = await asyncio.create_subprocess_exec(
        str(CLI), *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    return out.decode()


async def topic_names(bootstrap: str) -> set[str]:
    """Every topic of the broker (a metadata request for all topics creates none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_list_and_replay_round_trip(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    good = list(synthetic_stream(100, seed=41))
    await publish(kafka_bootstrap, topic, [*good[:50], BAD_JSON, *good[50:], NO_ENVELOPE])
    settings = settings_for(database_url, kafka_bootstrap, topic)
    await project_until_caught_up(settings, timeout_s=60)

    letters = await read_dead_letters(kafka_bootstrap, topic)
    listed = [
        json.loads(line)
        for line in (
            await certstats(kafka_bootstrap, "dlq", "list", "--topic", topic, "--json")
        ).splitlines()
    ]

    distinct = {(d.original_partition, d.original_offset): d for d in letters}  # at least once
    assert sorted((d.key, d.value) for d in distinct.values()) == [BAD_JSON, NO_ENVELOPE]
    assert {d.original_topic for d in letters} == {topic}
    originals = {
        (r.partition, r.offset): (r.key, r.value)
        for r in await read_all(kafka_bootstrap, topic, 102)
    }
    assert all(
        originals[(d.original_partition, d.original_offset)] == (d.key, d.value) for d in letters
    )
    assert [(x["dlq_offset"], x["error"], x["preview"]) for x in listed] == [
        (d.offset, d.error, d.value.decode()) for d in letters
    ]
    assert [d.value for d in select(letters, error_contains="invalid json")] == [BAD_JSON[1]]
    table = await certstats(kafka_bootstrap, "dlq", "list", "--topic", topic)
    assert "DLQ offset" in table and "Invalid JSON" in table and "not json" in table

    bad_json = next(d for d in letters if d.value == BAD_JSON[1])
    offset = str(bad_json.offset)
    report = await certstats(
        kafka_bootstrap,
        "dlq",
        "replay",
        "--topic",
        topic,
        "--from-offset",
        offset,
        "--to-offset",
        offset,
    )
    assert report.startswith(f"selected 1, replayed 1 (1 to {topic})"), report

    replayed = [r for r in await read_all(kafka_bootstrap, topic, 103) if r.headers]
    assert [(r.key, r.value) for r in replayed] == [BAD_JSON]
    assert dict(replayed[0].headers)[REPLAYED_FROM_HEADER] == (
        f"{topic}.dlq/{bad_json.partition}@{offset}".encode()
    )
    await project_until_caught_up(settings, timeout_s=60)
    again = await read_dead_letters(kafka_bootstrap, topic)
    assert again[: len(letters)] == letters
    assert (replayed[0].partition, replayed[0].offset, BAD_JSON[1]) in {
        (d.original_partition, d.original_offset, d.value) for d in again[len(letters) :]
    }


async def test_empty_dlq_lists_nothing(kafka_bootstrap: str, topic: str) -> None:
    with pytest.raises(MissingDeadLetterTopic, match=f"{topic}.dlq does not exist"):
        await read_dead_letters(kafka_bootstrap, topic)
    assert await certstats(kafka_bootstrap, "dlq", "list", "--topic", topic, "--json") == ""


async def test_listing_a_missing_dlq_creates_no_topic(kafka_bootstrap: str, topic: str) -> None:
    missing = f"{topic}.nowhere"
    env = os.environ | {"CERTSTATS_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    child = await asyncio.create_subprocess_exec(
        str(CLI), "dlq", "list", "--topic", missing, env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await child.communicate()

    assert child.returncode == 0, err.decode()
    assert f"{missing}.dlq does not exist" in " ".join(err.decode().split())
    assert not {missing, f"{missing}.dlq"} & await topic_names(kafka_bootstrap)


async def test_list_shows_hostile_contents_inert(kafka_bootstrap: str, topic: str) -> None:
    hostile = "[bold]x[/bold] [link=http://evil.example]click[/link] \x1b[2J\x1b]0;pwned\x07 \x9b1m"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        headers = [(dlq.ERROR_HEADER, hostile.encode()), (dlq.ORIGINAL_TOPIC_HEADER, b"[red]t")]
        await producer.send_and_wait(f"{topic}.dlq", hostile.encode(), key=b"k", headers=headers)
    finally:
        await producer.stop()

    table = await certstats(kafka_bootstrap, "dlq", "list", "--topic", topic)
    (line,) = (await certstats(kafka_bootstrap, "dlq", "list", "--topic", topic, "--json")).split(
        "\n"
    )[:-1]

    assert table.count("[bold]x[/bold]") == 2 and "[red]t/None@None" in table
    assert "[link=http://evil.example]click[/link]" in table
    assert table.count("\\x1b]0;pwned\\x07") == 2 and table.count("\\x9b1m") == 2
    assert not set("\x1b\x07\x9b") & set(table + line)
    assert json.loads(line)["error"] == hostile
