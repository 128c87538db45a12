"""Poison-message benchmark (a script, not a test; issue "Operations").

Publishes N good synthetic events (default 100,000) to one topic, and the same N events with
P poison messages (default 1,000: invalid JSON, a missing field, an out-of-range timestamp)
spread through them to another, then projects each on a fresh database in the same run and
checks that every good event was applied and every poison message reached ``<topic>.dlq``.
Prints both rates and poisoned/clean; target: within 20% of the clean run (ratio >= 0.8).

Usage: ``.venv/bin/python -m bench.poison_throughput [--events N] [--poison P]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random

import asyncpg
from aiokafka import AIOKafkaConsumer

from bench.projector_throughput import (
    fresh_topic,
    infrastructure,
    projector_rate,
    publish,
    scratch_settings,
)
from bench.synthetic import Message, synthetic_stream
from certstats_contracts.envelope import MalformedEvent, UnknownEventType, parse_event
from certstats_projector import generations
from certstats_projector.dlq import dlq_topic


def poison(good: Message, n: int) -> Message:
    """A malformed variant of ``good``: invalid JSON, a missing field or a bad timestamp."""
    key, value = good
    document = json.loads(value)
    document["id"] = f"poison-{n}"
    if n % 3 == 0:
        return key, b"{not json " + str(n).encode()
    if n % 3 == 1:
        document.pop("data")
    else:
        document["time"] = "9999-12-31T23:59:59-10:00"
    return key, json.dumps(document).encode()


def applicable(messages: list[Message]) -> int:
    """How many messages are valid, known events (what the projector must apply)."""
    count = 0
    for _, value in messages:
        try:
            parse_event(value)
        except (MalformedEvent, UnknownEventType):
            continue
        count += 1
    return count


async def applied_count(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        schema = await generations.current_schema(conn)
        count: int = await conn.fetchval(f"SELECT count(*) FROM {schema}.applied_events")
        return count
    finally:
        await conn.close()


async def dead_letters(bootstrap: str, topic: str, expected: int) -> int:
    """Records in ``<topic>.dlq`` (reads until ``expected`` or 10 s of silence)."""
    consumer = AIOKafkaConsumer(
        dlq_topic(topic), bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen = 0
    try:
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=10_000)
            if not batch:
                break
            seen += sum(len(records) for records in batch.values())
    finally:
        await consumer.stop()
    return seen


async def run(
    admin_dsn: str, bootstrap: str, messages: list[Message], args: argparse.Namespace
) -> tuple[float, str, str]:
    """Publish and project ``messages``; returns (events/s, database DSN, topic)."""
    topic = await fresh_topic(bootstrap, args.partitions)
    await publish(bootstrap, topic, messages, "gzip")
    settings = await scratch_settings(admin_dsn, bootstrap, topic)
    rate, _ = await projector_rate(settings, len(messages))
    return rate, settings.database_url, topic


async def main(args: argparse.Namespace) -> None:
    good = list(synthetic_stream(args.events))
    rng = random.Random(5)
    mixed = list(good)
    for n in range(args.poison):
        mixed.insert(rng.randrange(len(mixed) + 1), poison(rng.choice(good), n))
    async with infrastructure() as (admin_dsn, bootstrap):
        clean, _, _ = await run(admin_dsn, bootstrap, good, args)
        print(f"clean:    {len(good):,} events, {clean:,.0f} ev/s")
        poisoned, database_url, topic = await run(admin_dsn, bootstrap, mixed, args)
        print(f"poisoned: {len(mixed):,} messages ({args.poison:,} poison), {poisoned:,.0f} ev/s")
        applied, expected = await applied_count(database_url), applicable(good)
        dead = await dead_letters(bootstrap, topic, args.poison)
        print(
            f"good events applied {applied:,}/{expected:,}; dead-lettered {dead:,}/{args.poison:,}"
        )
        print(f"poisoned/clean = {poisoned / clean:.2f}   target >= 0.80")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--poison", type=int, default=1_000)
    parser.add_argument("--partitions", type=int, default=4)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
