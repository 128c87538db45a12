"""``certstats rebuild`` as an operator runs it (SPEC.md §6): Ctrl-C (SIGINT) mid-replay
leaves the current generation as it was, the next run resumes and promotes; a schema left by
a promotion interrupted before its drop is cleaned up."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg

from bench.synthetic import synthetic_stream
from certstats_projector.app import project_until_caught_up
from tests.integration.kafka_support import (
    expected_snapshot,
    projected,
    publish,
    settings_for,
    valid_events,
)
from tests.integration.test_dlq_tool import topic_names
from tests.integration.test_rebuild import G1, G2, generations_state

CLI = Path(sys.executable).with_name("certstats")


def cli_env(database_url: str, bootstrap: str, topic: str) -> dict[str, str]:
    """Environment of a ``certstats`` child process for this test's database and topic."""
    return os.environ | {
        "CERTSTATS_DATABASE_URL": database_url,
        "CERTSTATS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CERTSTATS_TOPICS": f'["{topic}"]',
    }


def default_sigint() -> None:
    """In the child before its exec: SIGINT as a terminal's Ctrl-C delivers it. A test run
    started as a background job of a non-interactive shell (a CI script's ``cmd &``) ignores
    SIGINT, and its children inherit that: the rebuild would then never see the Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def building_progress(database_url: str, at_least: int) -> int:
    """Poll until the building generation g2 stored ``at_least`` offsets; returns the sum."""
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(60):
            while True:
                try:
                    total = await conn.fetchval(
                        f"SELECT coalesce(sum(next_offset), 0) FROM {G2}.consumer_offsets"
                    )
                except asyncpg.UndefinedTableError:
                    total = 0
                if total >= at_least:
                    return int(total)
                await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def test_ctrl_c_then_resume(database_url: str, kafka_bootstrap: str, topic: str) -> None:
    messages = list(synthetic_stream(3000, seed=51))
    await publish(kafka_bootstrap, topic, messages)
    await project_until_caught_up(settings_for(database_url, kafka_bootstrap, topic))
    before, _ = await projected(database_url)
    env = cli_env(database_url, kafka_bootstrap, topic)

    child = await asyncio.create_subprocess_exec(
        str(CLI),
        "rebuild",
        "--batch",
        "20",
        env=env,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    await building_progress(database_url, 200)
    child.send_signal(signal.SIGINT)
    _, err = await child.communicate()

    assert child.returncode == 130, err.decode()
    assert "current generation unchanged" in err.decode()
    assert await generations_state(database_url) == ([(G1, "current"), (G2, "building")], [G1, G2])
    assert (await projected(database_url))[0] == before

    child = await asyncio.create_subprocess_exec(
        str(CLI), "rebuild", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    assert f"promoted {G2} (resumed), dropped {G1}" in err.decode()
    tables, offsets = await projected(database_url)
    assert sum(offsets.values()) == len(messages)
    assert tables == await expected_snapshot(database_url, valid_events(messages))


async def test_sigterm_cancels_like_ctrl_c(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    await publish(kafka_bootstrap, topic, list(synthetic_stream(1500, seed=52)))
    await project_until_caught_up(settings_for(database_url, kafka_bootstrap, topic))
    before, _ = await projected(database_url)

    child = await asyncio.create_subprocess_exec(
        str(CLI),
        "rebuild",
        "--batch",
        "20",
        env=cli_env(database_url, kafka_bootstrap, topic),
        stderr=asyncio.subprocess.PIPE,
    )
    await building_progress(database_url, 200)
    child.send_signal(signal.SIGTERM)
    _, err = await child.communicate()

    assert child.returncode == 143, err.decode()
    assert "rebuild cancelled: current generation unchanged" in err.decode()
    assert await generations_state(database_url) == ([(G1, "current"), (G2, "building")], [G1, G2])
    assert (await projected(database_url))[0] == before


async def test_orphan_generation_schema_is_dropped(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    await project_until_caught_up(settings_for(database_url, kafka_bootstrap, topic))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE SCHEMA certstats_g7")  # as left by an interrupted drop
    finally:
        await conn.close()
    env = cli_env(database_url, kafka_bootstrap, topic)
    child = await asyncio.create_subprocess_exec(
        str(CLI), "rebuild", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    assert await generations_state(database_url) == ([(G2, "current")], [G2])


async def test_rebuild_of_a_missing_topic_fails_and_creates_nothing(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    await project_until_caught_up(settings_for(database_url, kafka_bootstrap, topic))
    missing = f"{topic}.nowhere"
    child = await asyncio.create_subprocess_exec(
        str(CLI),
        "rebuild",
        env=cli_env(database_url, kafka_bootstrap, missing),
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await child.communicate()

    assert child.returncode == 1, err.decode()
    assert f"no such topic: {missing}" in " ".join(err.decode().split())
    assert missing not in await topic_names(kafka_bootstrap)
    assert await generations_state(database_url) == ([(G1, "current")], [G1])
