"""Throughput of ``apply_batch`` alone (no Kafka): events/s on a fresh database.

Usage: ``python -m bench.projection_apply_batch [--events 200000] [--batch 5000] [--dsn URL]``.
Events come from ``bench.synthetic`` (realistic mix), parsed before timing starts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import uuid

import asyncpg

from bench.synthetic import synthetic_stream
from certstats_contracts.envelope import DomainEvent, UnknownEventType, parse_event
from certstats_projector import generations
from certstats_projector.projection import apply_batch


def parsed_events(count: int) -> list[DomainEvent]:
    """The first ``count`` synthetic messages, parsed (unknown types left out)."""
    events = []
    for _, value in synthetic_stream(count):
        try:
            events.append(parse_event(value))
        except UnknownEventType:
            continue
    return events


async def measure(dsn: str, events: list[DomainEvent], batch_size: int) -> float:
    """Apply ``events`` in batches into a throw-away database; returns events per second."""
    name = f"certstats_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + f"/{name}")
        schema = await generations.migrate(conn)
        started = time.perf_counter()
        for start in range(0, len(events), batch_size):
            batch = events[start : start + batch_size]
            await apply_batch(conn, schema, batch, {("bench", 0): start + len(batch)})
        elapsed = time.perf_counter() - started
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return len(events) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    events = parsed_events(args.events)
    gc.freeze()  # the parsed input lives all run long: keep it out of the collector
    rate = asyncio.run(measure(args.dsn, events, args.batch))
    print(f"{len(events)} events, batches of {args.batch}: {rate:,.0f} events/s")


if __name__ == "__main__":
    main()
