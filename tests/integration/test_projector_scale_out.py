"""Scale-out (SPEC.md §6, issue "Operations"): three projector processes share a 12-partition
topic in one consumer group; one is killed with SIGKILL mid-stream and a fourth joins. After
every rebalance each instance resumes from the offsets stored in PostgreSQL, so the read
models end equal to one uninterrupted in-order application of the events."""

from __future__ import annotations

import asyncio
import signal

from bench.synthetic import synthetic_stream
from certstats_projector.projection import deferred_platforms
from tests.conftest import create_topic
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
from tests.integration.test_projector_kafka_recovery import CLI, _cli_env


async def test_three_instances_one_killed_one_added_equal_a_single_run(
    database_url: str, kafka_bootstrap: str
) -> None:
    topic = await create_topic(kafka_bootstrap, partitions=12, prefix="scale")
    messages = list(synthetic_stream(12_000, seed=23))
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic, batch_max_records=100)
    env = _cli_env(settings)

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            str(CLI), "projector", env=env, stderr=asyncio.subprocess.DEVNULL
        )

    instances = [await start() for _ in range(3)]
    try:
        stored_at_kill = await wait_for_stored(database_url, 2_000, timeout_s=120)
        instances[0].send_signal(signal.SIGKILL)
        await instances[0].wait()
        instances.append(await start())
        await wait_for_stored(database_url, len(messages), timeout_s=240)
    finally:
        for child in instances[1:]:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
        for child in instances:
            await child.wait()

    assert stored_at_kill < len(messages), "the kill came too late to test anything"
    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert tables == await expected_snapshot(database_url, valid_events(messages))


async def test_two_instances_in_catch_up_mode_leave_exact_summaries(
    database_url: str, kafka_bootstrap: str
) -> None:
    """Catch-up mode across instances (docs/DECISIONS.md "Deferred summaries"): each instance
    defers while its own lag is high and catches up the listed platforms when it is low; the
    listing is shared in PostgreSQL, so whichever catches up last leaves exact summaries."""
    topic = await create_topic(kafka_bootstrap, partitions=4, prefix="defer")
    messages = list(synthetic_stream(12_000, seed=29))
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic, batch_max_records=100)
    env = _cli_env(settings) | {"CERTSTATS_SUMMARY_DEFERRAL_LAG": "300"}
    instances = [
        await asyncio.create_subprocess_exec(
            str(CLI), "projector", env=env, stderr=asyncio.subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    try:
        await wait_for_stored(database_url, 3_000, timeout_s=120)
        async with connected(database_url) as (conn, schema):
            assert await deferred_platforms(conn, schema), "no instance deferred"
        await wait_for_stored(database_url, len(messages), timeout_s=240)
        await wait_for_summaries(database_url)
    finally:
        for child in instances:
            child.send_signal(signal.SIGTERM)
        for child in instances:
            await child.wait()

    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert tables == await expected_snapshot(database_url, valid_events(messages))
