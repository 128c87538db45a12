"""Projector throughput benchmark (a script, not a test).

Publishes N synthetic events (default 1,000,000, realistic mix, see ``bench/synthetic.py``)
with a batching, lingering, compressing producer, then measures in the same run:

(a) raw aiokafka consume + JSON decode rate, no processing, once before (b) and once after
    it: this machine's speed drifts by up to 1.5x within a minute, so (a) is their mean time
    per event;
(b) the projector's sustained apply rate until caught up (``project_until_caught_up``),
    from its first stored offset to caught up, on a fresh database;

and prints events/s of both and b/a. Targets: b >= 50,000 ev/s, b/a >= 0.35.

With ``--instances K`` (K > 1), (b) is K ``certstats projector`` processes in one consumer
group, timed from the first stored offset until every offset is stored and no summaries (nor
summary indexes of a catch-up) are deferred (read from PostgreSQL): the projector scaled out
over the machine's cores.

Usage: ``.venv/bin/python -m bench.projector_throughput [--events N] [--partitions P]
[--instances K]``.
Uses ``CERTSTATS_BENCH_DATABASE_URL`` / ``CERTSTATS_BENCH_KAFKA_BOOTSTRAP`` when set, else a
local PostgreSQL on 127.0.0.1:5432 and a Tansu broker started for the run. The server's values
of the settings ``deploy/postgresql.conf`` sets are printed first, the deployed ones in brackets:
a packaged server's defaults (128MB of shared buffers, 4MB of WAL buffers, a checkpoint every
~530MB of WAL) cost (b) ~7 % (bench/PROJECTOR_BENCHMARK.md).
``CERTSTATS_BENCH_CHILD_LOG_LEVEL`` is the log level of the ``--instances`` processes (default
WARNING; INFO shows their summary catch-ups).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import resource
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.synthetic import Message, synthetic_stream
from certstats_cli import local_infra
from certstats_projector import generations
from certstats_projector.app import project_until_caught_up
from certstats_projector.deferred_indexes import deferred_count
from certstats_projector.progress import CatchUpProgress
from certstats_projector.projection import deferred_platforms, stored_offsets
from certstats_projector.settings import ProjectorSettings


async def publish(bootstrap: str, topic: str, messages: Sequence[Message], codec: str) -> float:
    """Publish ``messages``; returns events/s (acks awaited)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        max_batch_size=1024 * 1024,
        compression_type=None if codec == "none" else codec,
        acks=1,
    )
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for key, value in messages:
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= 50_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return len(messages) / (time.perf_counter() - started)


async def raw_consume_rate(bootstrap: str, topic: str, partitions: int, count: int) -> float:
    """(a) Read ``count`` records from the beginning and ``json.loads`` each; events/s."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        started, seen = time.perf_counter(), 0
        while seen < count:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                for record in records:
                    json.loads(record.value)
                seen += len(records)
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def projector_rate(settings: ProjectorSettings, count: int) -> tuple[float, float]:
    """(b) Project until caught up; returns (sustained events/s, wall seconds incl. start)."""
    first_progress: list[float] = []

    def note(progress: CatchUpProgress) -> None:
        if progress.stored_total > 0 and not first_progress:
            first_progress.append(time.perf_counter())

    started, cpu = time.perf_counter(), time.process_time()
    await project_until_caught_up(settings, note, timeout_s=3600, poll_s=0.05)
    done = time.perf_counter()
    print(
        f"    projector process CPU {time.process_time() - cpu:.1f} s, wall {done - started:.1f} s"
    )
    return count / (done - first_progress[0]), done - started


async def scaled_out_rate(settings: ProjectorSettings, count: int, instances: int) -> float:
    """(b) with ``instances`` projector processes; returns events/s from the first stored
    offset until all ``count`` are stored and no summaries (nor their indexes) are deferred."""
    cli = Path(sys.executable).with_name("certstats")
    env = os.environ | {
        "CERTSTATS_DATABASE_URL": settings.database_url,
        "CERTSTATS_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "CERTSTATS_TOPICS": json.dumps(settings.topics),
        "CERTSTATS_CONSUMER_GROUP": settings.consumer_group,
        "CERTSTATS_BATCH_MAX_RECORDS": str(settings.batch_max_records),
        "CERTSTATS_HTTP_PORT": "null",
        "CERTSTATS_LOG_LEVEL": os.environ.get("CERTSTATS_BENCH_CHILD_LOG_LEVEL", "WARNING"),
    }
    children = [
        await asyncio.create_subprocess_exec(str(cli), "projector", env=env)
        for _ in range(instances)
    ]
    conn = await asyncpg.connect(settings.database_url)
    try:
        first = all_stored = None
        while True:
            stored, deferred = await _stored_and_deferred(conn, settings.topics)
            now = time.perf_counter()
            if stored and first is None:
                first = now
            if stored >= count and all_stored is None:
                all_stored = now
            if stored >= count and not deferred:
                assert first is not None and all_stored is not None
                print(
                    f"    every offset stored after {all_stored - first:.1f} s, "
                    f"summaries caught up {now - all_stored:.1f} s later"
                )
                return count / (now - first)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
        peaks = [_peak_resident_mib(child.pid) for child in children]
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            await child.wait()
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(
            f"    projector processes CPU {usage.ru_utime + usage.ru_stime:.1f} s,"
            f" peak resident sets {' / '.join(peaks)} MiB"
        )


def _peak_resident_mib(pid: int) -> str:
    """A live process's peak resident set size (``VmHWM``) in MiB, or ``?`` if unreadable."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return f"{int(line.split()[1]) / 1024:,.0f}"
    return "?"


async def _stored_and_deferred(conn: asyncpg.Connection, topics: Sequence[str]) -> tuple[int, bool]:
    """Sum of the stored next offsets of ``topics`` and whether summaries, or the summary
    indexes of a catch-up, are deferred (0, False before the first migration)."""
    try:
        schema = await generations.current_schema(conn)
    except generations.NoCurrentGeneration:
        return 0, False
    stored = await stored_offsets(conn, schema, topics)
    deferred = bool(await deferred_platforms(conn, schema) or await deferred_count(conn, schema))
    return sum(stored.values()), deferred


@contextlib.asynccontextmanager
async def infrastructure() -> AsyncIterator[tuple[str, str]]:
    """(admin DSN, bootstrap servers): from the environment, else local processes."""
    database = os.environ.get("CERTSTATS_BENCH_DATABASE_URL")
    bootstrap = os.environ.get("CERTSTATS_BENCH_KAFKA_BOOTSTRAP")
    broker = None if bootstrap else local_infra.start_tansu()
    try:
        with contextlib.ExitStack() as stack:
            if database is None:
                pg_dir = Path(tempfile.mkdtemp()) / "pgdata"
                database = stack.enter_context(local_infra.postgres_server(pg_dir))
            try:
                yield database, bootstrap or broker.bootstrap_servers  # type: ignore[union-attr]
            finally:
                await _drop_scratch_databases(database)
    finally:
        if broker is not None:
            broker.stop()


_SCRATCH_DATABASES: list[str] = []
"""Databases :func:`fresh_database` created in this process, dropped when
:func:`infrastructure` exits."""


async def fresh_database(admin_dsn: str) -> str:
    """Create an empty database for this run (dropped when :func:`infrastructure` exits);
    returns its DSN."""
    name = f"certstats_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    _SCRATCH_DATABASES.append(name)
    return f"{admin_dsn.rpartition('/')[0]}/{name}"


async def _drop_scratch_databases(admin_dsn: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        while _SCRATCH_DATABASES:
            name = _SCRATCH_DATABASES.pop()
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def scratch_settings(
    admin_dsn: str, bootstrap: str, topic: str, **overrides: Any
) -> ProjectorSettings:
    """Projector settings of a benchmark run: a fresh database (:func:`fresh_database`), the
    run's ``topic`` and consumer group, no ops HTTP server; ``overrides`` set other fields."""
    return ProjectorSettings(
        database_url=await fresh_database(admin_dsn),
        kafka_bootstrap_servers=bootstrap,
        topics=[topic],
        consumer_group=f"bench-{topic}",
        http_port=None,
        **overrides,
    )


async def fresh_topic(bootstrap: str, partitions: int) -> str:
    """Create a topic for this run; returns its name."""
    topic = f"bench.events.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
    finally:
        await admin.close()
    return topic


DEPLOYED_SERVER_SETTINGS = Path(__file__).resolve().parents[1] / "deploy" / "postgresql.conf"

_SETTING_LINE = re.compile(r"(\w+) = '?([^'#]*?)'?\s*")


def deployed_server_settings() -> dict[str, str]:
    """``deploy/postgresql.conf`` as parameter name -> value (``2GB``, ``15min``, quotes
    removed), in file order.

    Raises:
        ValueError: a line that is neither blank, a comment nor ``name = value``.
    """
    settings: dict[str, str] = {}
    for line in DEPLOYED_SERVER_SETTINGS.read_text().splitlines():
        if line and not line.startswith("#"):
            match = _SETTING_LINE.fullmatch(line)
            if match is None:
                raise ValueError(f"not a setting line of {DEPLOYED_SERVER_SETTINGS}: {line!r}")
            settings[match.group(1)] = match.group(2)
    return settings


async def server_settings(admin_dsn: str) -> str:
    """The server's values of the settings ``deploy/postgresql.conf`` sets, each followed by
    the deployed value in brackets: the figures depend on them (bench/PROJECTOR_BENCHMARK.md)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        values = [
            f"{name} {await conn.fetchval('SELECT current_setting($1)', name)} [{value}]"
            for name, value in deployed_server_settings().items()
            if name != "listen_addresses"
        ]
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return f"PostgreSQL {version}: {', '.join(values)}"


async def main(args: argparse.Namespace) -> None:
    messages = list(synthetic_stream(args.events))
    gc.freeze()  # the message list is not the projector's: keep it out of GC scans
    async with infrastructure() as (admin_dsn, bootstrap):
        print(await server_settings(admin_dsn))
        topic = await fresh_topic(bootstrap, args.partitions)
        produce = await publish(bootstrap, topic, messages, args.compression)
        print(f"published {len(messages):,} events: {produce:,.0f} ev/s ({args.compression})")
        before = await raw_consume_rate(bootstrap, topic, args.partitions, len(messages))
        print(f"(a) before (b): {before:,.0f} ev/s")
        batch = {} if args.batch is None else {"batch_max_records": args.batch}
        settings = await scratch_settings(admin_dsn, bootstrap, topic, **batch)
        if args.instances > 1:
            applied = await scaled_out_rate(settings, len(messages), args.instances)
            print(f"(b) {args.instances} projector processes: {applied:,.0f} ev/s")
        else:
            applied, wall = await projector_rate(settings, len(messages))
            print(
                f"(b) projector, first commit to caught up: {applied:,.0f} ev/s (wall {wall:.1f} s)"
            )
        after = await raw_consume_rate(bootstrap, topic, args.partitions, len(messages))
        raw = 2 / (1 / before + 1 / after)  # the mean time per event of the two
        print(
            f"(a) raw consume + JSON decode: {raw:,.0f} ev/s"
            f" (before (b) {before:,.0f}, after {after:,.0f})"
        )
        print(f"b/a = {applied / raw:.2f}   targets: b >= 50,000 ev/s, b/a >= 0.35")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--batch", type=int, default=None, help="projector batch_max_records (default: its default)"
    )
    parser.add_argument("--instances", type=int, default=1, help="projector processes")
    parser.add_argument("--compression", default="gzip", choices=["gzip", "none"])
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
