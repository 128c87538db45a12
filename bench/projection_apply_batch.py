"""Throughput of ``apply_batch`` alone (no Kafka): events/s on a fresh database, with the
CPU per event of this (single-threaded) process and, when PostgreSQL runs on this machine, of
its backend.

Usage: ``python -m bench.projection_apply_batch [--events 200000] [--batch 5000] [--dsn URL]``.
Events come from ``bench.synthetic`` (realistic mix), parsed before timing starts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
import uuid
from pathlib import Path

import asyncpg

from bench.synthetic import synthetic_stream
from certstats_contracts.decoded import Event, decode_event
from certstats_contracts.envelope import UnknownEventType
from certstats_projector import generations
from certstats_projector.projection import apply_batch


def backend_cpu(pid: int) -> float | None:
    """CPU seconds of PostgreSQL backend ``pid`` (None when it is not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parsed_events(count: int) -> list[Event]:
    """The first ``count`` synthetic messages, parsed (unknown types left out)."""
    events = []
    for _, value in synthetic_stream(count):
        try:
            events.append(decode_event(value))
        except UnknownEventType:
            continue
    return events


async def measure(
    dsn: str, events: list[Event], batch_size: int
) -> tuple[float, float, float | None]:
    """Apply ``events`` in batches into a throw-away database; returns events per second and
    CPU µs per event of this process and of the PostgreSQL backend (None: not local)."""
    name = f"certstats_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + f"/{name}")
        schema = await generations.migrate(conn)
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        server_before, cpu = backend_cpu(backend), time.process_time()
        started = time.perf_counter()
        for start in range(0, len(events), batch_size):
            batch = events[start : start + batch_size]
            await apply_batch(conn, schema, batch, {("bench", 0): start + len(batch)})
        elapsed = time.perf_counter() - started
        client = (time.process_time() - cpu) / len(events) * 1e6
        server_after = backend_cpu(backend)
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    server = None
    if server_before is not None and server_after is not None:
        server = (server_after - server_before) / len(events) * 1e6
    return len(events) / elapsed, client, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    events = parsed_events(args.events)
    gc.freeze()  # the parsed input lives all run long: keep it out of the collector
    rate, client, server = asyncio.run(measure(args.dsn, events, args.batch))
    print(f"{len(events)} events, batches of {args.batch}: {rate:,.0f} events/s")
    backend = "not local" if server is None else f"{server:.1f} µs"
    print(f"CPU per event: apply_batch {client:.1f} µs, PostgreSQL backend {backend}")


if __name__ == "__main__":
    main()
