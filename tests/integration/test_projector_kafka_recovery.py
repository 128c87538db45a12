"""Crash, restart, advisory Kafka commits and consumer-group sharing (SPEC.md §1, §6): the read
models always end equal to one uninterrupted in-order application of the events."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from bench.synthetic import synthetic_stream
from certstats_projector.app import Projector, project_until_caught_up
from certstats_projector.settings import ProjectorSettings
from tests.integration.kafka_support import (
    connected,
    expected_snapshot,
    projected,
    publish,
    settings_for,
    valid_events,
    wait_for_stored,
    wait_for_summaries,
)

CLI = Path(sys.executable).with_name("certstats")


async def test_killed_projector_resumes_from_postgres_offsets(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    messages = list(synthetic_stream(4000, seed=11))
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic, batch_max_records=50)
    stored_at_kill, _, _ = await _cli_projector_until(settings, 1000, signal.SIGKILL)

    await project_until_caught_up(settings, timeout_s=300)  # after the group drops the killed one

    assert stored_at_kill < len(messages), "the kill came too late to test anything"
    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert tables == await expected_snapshot(database_url, valid_events(messages))


async def _cli_projector_until(
    settings: ProjectorSettings, stored: int, stop: signal.Signals
) -> tuple[int, int | None, bytes]:
    """Run ``certstats projector`` with ``settings`` until at least ``stored`` offsets are
    stored, then send it ``stop``; returns the offsets stored then, its exit status and its
    stderr (kept in a file: a full pipe would block the child)."""
    with tempfile.TemporaryFile() as log:
        child = await asyncio.create_subprocess_exec(
            str(CLI), "projector", env=_cli_env(settings), stderr=log
        )
        try:
            at_stop = await wait_for_stored(settings.database_url, stored)
        finally:
            child.send_signal(stop)
            async with asyncio.timeout(30):
                await child.wait()
        log.seek(0)
        return at_stop, child.returncode, log.read()


def _cli_env(settings: ProjectorSettings) -> dict[str, str]:
    """Environment running ``certstats projector`` with ``settings`` (ops HTTP on any port)."""
    return os.environ | {
        "CERTSTATS_DATABASE_URL": settings.database_url,
        "CERTSTATS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "CERTSTATS_TOPICS": json.dumps(settings.topics),
        "CERTSTATS_CONSUMER_GROUP": settings.consumer_group,
        "CERTSTATS_BATCH_MAX_RECORDS": str(settings.batch_max_records),
        "CERTSTATS_HTTP_PORT": "0",
    }


async def test_sigterm_stops_the_cli_projector_cleanly_and_logs_are_json(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    messages = list(synthetic_stream(500, seed=14))
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic, batch_max_records=50)
    _, status, stderr = await _cli_projector_until(settings, len(messages), signal.SIGTERM)

    assert status == 0
    logs = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    assert any(entry["event"] == "partitions assigned" for entry in logs)
    assert all({"level", "timestamp", "event"} <= entry.keys() for entry in logs)
    assert (await projected(database_url))[1] == ends


async def test_kafka_committed_offsets_are_advisory(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    messages = list(synthetic_stream(1500, seed=12))
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic)
    await _commit_in_kafka(kafka_bootstrap, settings.consumer_group, topic, ends)

    await project_until_caught_up(settings, timeout_s=60)

    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert tables == await expected_snapshot(database_url, valid_events(messages))


async def _commit_in_kafka(bootstrap: str, group: str, topic: str, ends: dict[int, int]) -> None:
    """Commit the end offsets for ``group`` in Kafka, as if everything had been consumed."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in ends])
        await consumer.commit(
            {TopicPartition(topic, p): OffsetAndMetadata(end, "") for p, end in ends.items()}
        )
    finally:
        await consumer.stop()


async def test_two_instances_sharing_partitions_through_rebalances(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    messages = list(synthetic_stream(6000, seed=13))
    parts = [messages[:2000], messages[2000:4000], messages[4000:]]
    settings = settings_for(database_url, kafka_bootstrap, topic, batch_max_records=50)
    first, second = Projector(settings), Projector(settings)
    ends = await publish(kafka_bootstrap, topic, parts[0])

    await first.app.start()
    try:
        await wait_for_stored(database_url, 2000)
        await second.app.start()
        await _until_sharing(first, second)
        ends |= await publish(kafka_bootstrap, topic, parts[1])
        await wait_for_stored(database_url, 2500)
    finally:
        await first.app.stop()  # a rebalance while the second instance is busy
    try:
        ends |= await publish(kafka_bootstrap, topic, parts[2])
        await wait_for_stored(database_url, len(messages))
    finally:
        await second.app.stop()

    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert tables == await expected_snapshot(database_url, valid_events(messages))
    assert _applied(first) > 0 and _applied(second) > 0, "both instances must have worked"


DEFERRED_GAUGE = "certstats_projector_summaries_deferred"


async def _until_sharing(*projectors: Projector) -> None:
    """Wait until every projector holds some of the topic's 4 partitions."""
    async with asyncio.timeout(30):
        while True:
            if all(_assignment(p) for p in projectors):
                break
            await asyncio.sleep(0.05)
    assert sum(len(_assignment(p)) for p in projectors) == 4


def _assignment(projector: Projector) -> set[TopicPartition]:
    consumer = projector.subscriber.consumer
    return set(consumer.assignment()) if consumer is not None else set()


def _applied(projector: Projector) -> float:
    """Events this instance applied, from its own metrics registry."""
    total = projector.metrics.registry.get_sample_value
    return sum(
        total("certstats_projector_events_applied_total", {"event_type": t}) or 0.0
        for t in ("enrollment.created", "enrollment.status_changed", "user.registered")
    )


async def test_lost_database_connections_are_retried_without_losing_a_batch(
    database_url: str, pg_admin_dsn: str, kafka_bootstrap: str, topic: str
) -> None:
    messages = list(synthetic_stream(20_000, seed=15))
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic, batch_max_records=200)
    projector = Projector(settings)

    async with projector.app:
        await wait_for_stored(database_url, 500)
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            async with asyncio.timeout(30):
                while not _failures(projector):
                    await admin.execute(_TERMINATE_SQL, database_url.rpartition("/")[2])
                    await asyncio.sleep(0.02)
        finally:
            await admin.close()
        await projector.wait_caught_up()

    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert tables == await expected_snapshot(database_url, valid_events(messages))


_TERMINATE_SQL = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = $1 AND pid <> pg_backend_pid()
"""


def _failures(projector: Projector) -> float:
    """Failed batch steps this instance retried, from its metrics registry."""
    value = projector.metrics.registry.get_sample_value(
        "certstats_projector_batch_failures_total", {"kind": "transient"}
    )
    return value or 0.0


async def test_a_rebalance_hands_a_departed_instances_listing_to_the_survivor(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    """Catch-up mode (docs/DECISIONS.md "Deferred summaries"): an instance that leaves the
    group may have listed platforms as deferred and never caught them up; the survivor, on
    its new assignment, catches them up (found by trying to break the catch-up mode: the
    survivor kept the platform listed, and the API on the slow path, until a restart)."""
    messages = list(synthetic_stream(1000, seed=31))
    await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic, summary_deferral_lag=10_000)
    first, second = Projector(settings), Projector(settings)
    await first.app.start()
    try:
        await second.app.start()
        await _until_sharing(first, second)
        await wait_for_stored(database_url, len(messages))
        async with connected(database_url) as (conn, schema):
            await conn.execute(f"INSERT INTO {schema}.summary_deferred VALUES ('p1')")
        await second.app.stop()  # leaves p1 listed: the rebalance hands it to the first
        await wait_for_summaries(database_url, timeout_s=60)
        async with asyncio.timeout(10):  # the gauge counts the listing, refreshed every 0.2 s
            while True:
                if first.metrics.registry.get_sample_value(DEFERRED_GAUGE) == 0:
                    break
                await asyncio.sleep(0.05)
    finally:
        await first.app.stop()
        await second.app.stop()
    tables, _ = await projected(database_url)
    assert tables == await expected_snapshot(database_url, valid_events(messages))
