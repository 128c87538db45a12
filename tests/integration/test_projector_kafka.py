"""The projector on a real Kafka-protocol broker and a real PostgreSQL (SPEC.md §1, §3, §6):
publish real CloudEvents, run the projector, read the read models back."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import httpx
import pytest
from aiokafka.structs import ConsumerRecord

from bench.synthetic import synthetic_stream
from certstats_projector import dlq
from certstats_projector.app import Projector, project_until_caught_up
from certstats_projector.progress import CatchUpProgress
from certstats_projector.projection import deferred_platforms
from tests.integration.kafka_support import (
    connected,
    expected_snapshot,
    projected,
    publish,
    read_all,
    settings_for,
    valid_events,
)


@pytest.mark.parametrize("deferral_lag", [None, 0], ids=["refreshed", "deferred"])
async def test_projects_a_stream_to_the_same_read_models_as_one_direct_apply(
    database_url: str, kafka_bootstrap: str, topic: str, deferral_lag: int | None
) -> None:
    """Also in catch-up mode (``deferral_lag`` 0: every batch defers the summaries, which one
    rebuild catches up before the projector reports caught up; docs/DECISIONS.md "Deferred
    summaries"): the rebuild writes the counters in slot 0 only, batches under their slot."""
    messages = list(synthetic_stream(3000))
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(
        database_url,
        kafka_bootstrap,
        topic,
        batch_max_records=400,
        summary_deferral_lag=deferral_lag,
    )
    seen: list[CatchUpProgress] = []

    progress = await project_until_caught_up(settings, seen.append, timeout_s=120)

    assert progress.caught_up and progress.stored_total == len(messages)
    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert tables == await expected_snapshot(database_url, valid_events(messages))
    assert len(tables["applied_events"]) == len(valid_events(messages))
    assert seen[-1] is progress and not seen[0].caught_up
    async with connected(database_url) as (conn, schema):
        assert await deferred_platforms(conn, schema) == []
        slots = await conn.fetchval(
            f"SELECT array_agg(DISTINCT slot) FROM {schema}.certificate_stats"
        )
    assert (slots == [0]) == (deferral_lag == 0)


async def test_empty_topic_is_caught_up_at_once(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    settings = settings_for(database_url, kafka_bootstrap, topic)

    progress = await project_until_caught_up(settings, timeout_s=30)

    assert progress.caught_up and progress.stored_total == 0 and len(progress.lag) == 4


def _good(n: int) -> tuple[bytes, bytes]:
    return next(iter(synthetic_stream(1, seed=n)))


def _malformed() -> list[tuple[str, bytes]]:
    good = json.loads(_good(1)[1])
    missing = json.loads(json.dumps(good))
    del missing["data"]["name"]
    naive = json.loads(json.dumps(good))
    naive["time"] = "2026-03-01T09:30:00"
    return [
        ("bad json", b"{not json"),
        ("missing field", json.dumps(missing).encode()),
        ("bad timestamp", json.dumps(naive).encode()),
    ]


async def test_malformed_events_go_to_the_dlq_and_unknown_types_are_skipped(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    unknown = json.loads(_good(2)[1]) | {"type": "course.liked", "id": "unknown-1"}
    bad = _malformed()
    good = [
        (b"k", json.dumps(json.loads(_good(n)[1]) | {"id": f"good-{n}"}).encode()) for n in range(4)
    ]
    messages = [
        good[0],
        *((b"k", value) for _, value in bad),
        good[1],
        (b"k", json.dumps(unknown).encode()),
        good[2],
        good[3],
    ]
    ends = await publish(kafka_bootstrap, topic, messages)
    settings = settings_for(database_url, kafka_bootstrap, topic, http_port=0)
    projector = Projector(settings)

    async with projector.app:
        await projector.wait_caught_up()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{projector.ops_port}") as http:
            metrics = await _scrape_until(http, "certstats_projector_watermark_age_seconds ")
            ready, health = await http.get("/readyz"), await http.get("/healthz")

    dead = await read_all(kafka_bootstrap, dlq.dlq_topic(topic), len(bad))
    assert sorted(r.value for r in dead) == sorted(value for _, value in bad)
    _assert_dlq_headers(dead, topic)
    tables, offsets = await projected(database_url)
    assert offsets == ends
    assert sorted(r[1] for r in tables["applied_events"]) == [
        "good-0",
        "good-1",
        "good-2",
        "good-3",
    ]
    assert (
        'certstats_projector_events_skipped_unknown_total{event_type="course.liked"} 1.0' in metrics
    )
    assert f'certstats_projector_events_dead_lettered_total{{topic="{topic}"}} 3.0' in metrics
    assert ready.status_code == 200 and ready.json()["checks"]["database"] is True
    assert health.status_code == 200
    for partition in range(4):
        assert f'certstats_projector_lag{{partition="{partition}",topic="{topic}"}} 0.0' in metrics
    assert 'certstats_projector_events_applied_total{event_type="group.created"} 4.0' in metrics


async def _scrape_until(http: httpx.AsyncClient, needle: str) -> str:
    """``/metrics`` once it contains ``needle`` and every lag gauge reads 0 (gauges are
    refreshed every ``lag_refresh_s``)."""
    async with asyncio.timeout(10):
        while True:
            text = (await http.get("/metrics")).text
            lags = [
                line for line in text.splitlines() if line.startswith("certstats_projector_lag{")
            ]
            if needle in text and lags and all(line.endswith(" 0.0") for line in lags):
                return text
            await asyncio.sleep(0.1)


def _assert_dlq_headers(dead: list[ConsumerRecord[bytes, bytes]], topic: str) -> None:
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers[dlq.ORIGINAL_TOPIC_HEADER] == topic
        assert headers[dlq.ERROR_HEADER]
        assert int(headers[dlq.ORIGINAL_OFFSET_HEADER]) >= 0
        assert int(headers[dlq.ORIGINAL_TIMESTAMP_HEADER]) > 0
        assert headers[dlq.ORIGINAL_PARTITION_HEADER].isdigit()


async def test_cli_migrate_prints_the_current_generation(database_url: str) -> None:
    cli = Path(sys.executable).with_name("certstats")
    done = await asyncio.create_subprocess_exec(
        str(cli), "migrate", "--database-url", database_url, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await done.communicate()

    assert done.returncode == 0 and stdout.decode().strip() == "certstats_g1"
