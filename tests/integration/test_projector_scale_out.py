"""Scale-out (SPEC.md §6, issue "Operations"): three projector processes share a 12-partition
topic in one consumer group; one is killed with SIGKILL mid-stream and a fourth joins. After
every rebalance each instance resumes from the offsets stored in PostgreSQL, so the read
models end equal to one uninterrupted in-order application of the events."""

from __future__ import annotations

import asyncio
import signal

from bench.synthetic import synthetic_stream
from tests.conftest import create_topic
from tests.integration.kafka_support import (
    expected_snapshot,
    projected,
    publish,
    settings_for,
    valid_events,
    wait_for_stored,
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
