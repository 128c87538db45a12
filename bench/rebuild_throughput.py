"""Rebuild throughput benchmark (a script, not a test), SPEC.md section 6.

Publishes N synthetic events (default 1,000,000, see ``bench/synthetic.py``), then in the
same run, on one fresh database:

(a) the live projector projects them until caught up (``project_until_caught_up``);
(b) ``rebuild`` replays them into a new generation and promotes it (no live traffic);

and prints events/s of both (first commit to done) and b/a. Target: b/a >= 1.0.

Usage: ``.venv/bin/python -m bench.rebuild_throughput [--events N] [--partitions P]``.
Uses ``CERTSTATS_BENCH_DATABASE_URL`` / ``CERTSTATS_BENCH_KAFKA_BOOTSTRAP`` when set, else a
local PostgreSQL on 127.0.0.1:5432 and a Tansu broker started for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

import asyncpg

from bench.projector_throughput import (
    fresh_topic,
    infrastructure,
    projector_rate,
    publish,
    scratch_settings,
)
from bench.synthetic import synthetic_stream
from certstats_projector.projection.summary_sql import SUMMED_COUNTERS_SQL
from certstats_projector.rebuild import RebuildProgress, RebuildResult, rebuild
from certstats_projector.settings import ProjectorSettings

TABLES_SQL = "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename"


async def rebuild_rate(settings: ProjectorSettings, batch: int) -> tuple[float, RebuildResult]:
    """(b) Rebuild; returns (events/s from its first commit to promoted, the result)."""
    first_commit: list[float] = []

    def note(progress: RebuildProgress) -> None:
        if progress.done > progress.resumed_from and not first_commit:
            first_commit.append(time.perf_counter())

    cpu = time.process_time()
    result = await rebuild(settings, note, batch_max_records=batch)
    done = time.perf_counter()
    print(f"    rebuild process CPU {time.process_time() - cpu:.1f} s, wall {result.seconds:.1f} s")
    return result.replayed / (done - first_commit[0]), result


async def row_counts(database_url: str, schema: str) -> dict[str, int]:
    """Rows per table of ``schema`` (names from the catalog); the summary counters summed over
    their writer slots (which depend on the commit lanes); not the migrations log nor the
    per-slot ``summary_horizon``."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = [r["tablename"] for r in await conn.fetch(TABLES_SQL, schema)]
        counted = {}
        for table in tables:
            if table in ("schema_migrations", "summary_horizon"):
                continue
            rows = SUMMED_COUNTERS_SQL.get(table, f"SELECT * FROM {{schema}}.{table}")
            query = f"SELECT count(*) FROM ({rows.format(schema=schema)}) AS r"
            counted[table] = await conn.fetchval(query)
        return counted
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    messages = list(synthetic_stream(args.events))
    gc.freeze()  # the message list is not the projector's: keep it out of GC scans
    async with infrastructure() as (admin_dsn, bootstrap):
        topic = await fresh_topic(bootstrap, args.partitions)
        produce = await publish(bootstrap, topic, messages, args.compression)
        print(f"published {len(messages):,} events: {produce:,.0f} ev/s ({args.compression})")
        settings = await scratch_settings(admin_dsn, bootstrap, topic)
        live, wall = await projector_rate(settings, len(messages))
        print(
            f"(a) live projector, first commit to caught up: {live:,.0f} ev/s (wall {wall:.1f} s)"
        )
        before = await row_counts(settings.database_url, "certstats_g1")
        rebuilt, result = await rebuild_rate(settings, args.batch)
        print(f"(b) rebuild {result.schema}, first commit to promoted: {rebuilt:,.0f} ev/s")
        after = await row_counts(settings.database_url, result.schema)
        print(f"b/a = {rebuilt / live:.2f}   target: b/a >= 1.0")
        differ = {
            t: (before.get(t), after.get(t))
            for t in before | after
            if before.get(t) != after.get(t)
        }
        print(f"row counts differing from the live generation (live, rebuilt): {differ or 'none'}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10_000, help="rebuild batch_max_records")
    parser.add_argument("--compression", default="gzip", choices=["gzip", "none"])
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
