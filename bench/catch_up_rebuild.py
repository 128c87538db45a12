"""Cost of the summaries' catch-up rebuild (``REBUILD_PLATFORMS_SQL``): the statements of
baseline trees against this tree's, alternately, on the same data.

Loads a generation once: N synthetic events applied in 5,000-event batches with every batch
deferring its summaries (catch-up mode), then ``ANALYZE`` of the normalized tables, as
``catch_up_summaries`` does before its rebuild. Then, ``--rounds`` times, for each variant in
turn (each ``--baseline`` revision, default the tree before this bench, then this tree): the
rebuild of every listed platform, one platform per connection and transaction, run
concurrently as ``catch_up_summaries`` runs them, then ROLLBACK (and a ``VACUUM`` of the
summary tables outside the timing, so every run starts from the same tables). Printed per run:
wall time, CPU of the PostgreSQL backends (``/proc/<pid>/stat``; PostgreSQL must run on this
machine), and per variant the median and the ratios to the first baseline. Before timing,
the variants' rows are compared (equality of ``certificate_learners`` and the counters, one
platform after the other). ``git stash create`` makes a revision of uncommitted SQL.

``certificate_learners`` has every index of the migrations (the live projector's catch-up);
``--deferred-indexes`` drops the ones a building generation defers (a rebuild's catch-up).

Usage: ``python -m bench.catch_up_rebuild [--events 500000] [--rounds 3] [--baseline REV ...]
[--keep-db NAME] [--explain] [--dsn URL]``. With ``--keep-db`` the loaded database is kept
and reused by the next run naming it (loading 500k events takes minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from bench.projection_apply_batch import backend_cpu, parsed_events
from certstats_projector import generations
from certstats_projector.deferred_indexes import QUERY_ONLY_INDEXES, REFRESH_ONLY_INDEXES
from certstats_projector.projection import apply_batch
from certstats_projector.projection.summaries import CATCH_UP_ANALYZED, SUMMARY_TABLES
from certstats_projector.projection.summary_sql import REBUILD_PLATFORMS_SQL

SUMMARY_SQL = "services/projector/certstats_projector/projection/summary_sql.py"

COMPARED = {
    "certificate_learners": "SELECT * FROM certificate_learners WHERE platform_id = $1",
    "certificate_stats": "SELECT * FROM certificate_stats WHERE platform_id = $1",
    "certificate_expiry": "SELECT * FROM certificate_expiry WHERE platform_id = $1",
    "summary_horizon": "SELECT * FROM summary_horizon WHERE platform_id = $1",
}


def baseline_statements(rev: str) -> tuple[str, ...]:
    """``REBUILD_PLATFORMS_SQL`` of ``summary_sql.py`` at git revision ``rev``."""
    source = subprocess.run(
        ["git", "show", f"{rev}:{SUMMARY_SQL}"], check=True, capture_output=True, text=True
    ).stdout
    namespace: dict[str, Any] = {}
    exec(compile(source, f"{rev}:{SUMMARY_SQL}", "exec"), namespace)
    statements: tuple[str, ...] = namespace["REBUILD_PLATFORMS_SQL"]
    return statements


async def load(dsn: str, events: int) -> str:
    """Migrate the database of ``dsn`` and apply ``events`` synthetic events in catch-up mode;
    returns the generation schema."""
    conn = await asyncpg.connect(dsn)
    try:
        schema = await generations.migrate(conn)
        parsed = parsed_events(events)
        started = time.perf_counter()
        for start in range(0, len(parsed), 5_000):
            batch = parsed[start : start + 5_000]
            end = {("bench", 0): start + len(batch)}
            await apply_batch(conn, schema, batch, end, defer_summaries=True)
        print(f"loaded {len(parsed):,} events in {time.perf_counter() - started:.1f} s")
        await conn.execute(f"SET search_path TO {schema}")
        await conn.execute(f"ANALYZE {', '.join(CATCH_UP_ANALYZED)}")
    finally:
        await conn.close()
    return schema


async def rebuild(
    connections: Sequence[asyncpg.Connection],
    pids: Sequence[int],
    schema: str,
    platforms: Sequence[str],
    statements: Sequence[str],
    *,
    commit: bool = False,
) -> tuple[float, float, list[float]]:
    """Run ``statements`` for one platform per connection concurrently, then roll back (or
    commit); returns wall seconds, backend CPU seconds, and per statement the longest time."""
    per_statement = [0.0] * len(statements)

    async def one(conn: asyncpg.Connection, platform: str) -> None:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(f"SET LOCAL search_path TO {schema}")
            for n, statement in enumerate(statements):
                started = time.perf_counter()
                await conn.execute(statement, [platform])
                per_statement[n] = max(per_statement[n], time.perf_counter() - started)
        finally:
            await (transaction.commit() if commit else transaction.rollback())

    cpu_before = [backend_cpu(pid) or 0.0 for pid in pids]
    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for conn, platform in zip(connections, platforms, strict=False):
            group.create_task(one(conn, platform))
    wall = time.perf_counter() - started
    cpu = sum((backend_cpu(pid) or 0.0) - b for pid, b in zip(pids, cpu_before, strict=True))
    return wall, cpu, per_statement


async def rows_of(conn: asyncpg.Connection, platform: str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(tuple(r) for r in await conn.fetch(query, platform))
        for table, query in COMPARED.items()
    }


async def same_rows(
    conn: asyncpg.Connection,
    schema: str,
    platforms: Sequence[str],
    variants: Mapping[str, Sequence[str]],
) -> None:
    """Check that every variant writes the same summary rows for each platform (each run
    rolled back)."""
    for platform in platforms:
        results = {}
        for name, statements in variants.items():
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(f"SET LOCAL search_path TO {schema}")
                for statement in statements:
                    await conn.execute(statement, [platform])
                results[name] = await rows_of(conn, platform)
            finally:
                await transaction.rollback()
        (first, expected), *others = results.items()
        for name, result in others:
            for table in COMPARED:
                if result[table] != expected[table]:
                    raise SystemExit(f"{platform}: {name} and {first} differ in {table}")
        counts = {t: len(expected[t]) for t in COMPARED}
        print(f"{platform}: variants agree ({counts})")


async def explain(
    conn: asyncpg.Connection, schema: str, platform: str, name: str, statements: Sequence[str]
) -> None:
    print(f"\n===== EXPLAIN (ANALYZE, BUFFERS) {name}, platform {platform}")
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute(f"SET LOCAL search_path TO {schema}")
        for statement in statements:
            plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", [platform])
            print(" ".join(statement.split())[:100])
            print("\n".join(r[0] for r in plan))
    finally:
        await transaction.rollback()


async def main(args: argparse.Namespace) -> None:
    revs = args.baseline or ["41cf49a"]
    variants = {rev: baseline_statements(rev) for rev in revs}
    variants["this"] = REBUILD_PLATFORMS_SQL
    admin = await asyncpg.connect(args.dsn)
    name = args.keep_db or f"certstats_bench_{int(time.time())}"
    exists = await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name)
    dsn = args.dsn.rsplit("/", 1)[0] + f"/{name}"
    try:
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
            await load(dsn, args.events)
        conn = await asyncpg.connect(dsn)
        schema = await conn.fetchval(
            "SELECT schema_name FROM certstats_meta.generations ORDER BY generation DESC LIMIT 1"
        )
        await conn.execute(f"SET search_path TO {schema}")
        if args.deferred_indexes:
            for index in (*QUERY_ONLY_INDEXES, *REFRESH_ONLY_INDEXES):
                await conn.execute(f"DROP INDEX IF EXISTS {index}")
        platforms = [r[0] for r in await conn.fetch("SELECT platform_id FROM summary_deferred")]
        platforms.sort()
        print(f"schema {schema}, platforms {platforms}")
        await same_rows(conn, schema, platforms, variants)
        if args.explain:
            for variant, statements in variants.items():
                await explain(conn, schema, platforms[0], variant, statements)
        connections = [await asyncpg.connect(dsn) for _ in platforms]
        pids = [await c.fetchval("SELECT pg_backend_pid()") for c in connections]
        timings: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
        for round_ in range(args.rounds):
            for variant, statements in variants.items():
                await conn.execute(f"VACUUM {', '.join(SUMMARY_TABLES)}, summary_horizon")
                wall, cpu, steps = await rebuild(connections, pids, schema, platforms, statements)
                timings[variant].append((wall, cpu))
                detail = " ".join(f"{s:.2f}" for s in steps)
                print(
                    f"round {round_} {variant[:8]:8} wall {wall:.2f} s, PostgreSQL CPU {cpu:.2f} s"
                    f"  (statements: {detail})"
                )
        base = timings[revs[0]]
        for variant, runs in timings.items():
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            ratios = [w / b[0] for (w, _), b in zip(runs, base, strict=True)]
            cpu_ratios = [c / b[1] for (_, c), b in zip(runs, base, strict=True)]
            print(
                f"{variant[:8]:8} median wall {wall:.2f} s, CPU {cpu:.2f} s; per round wall "
                f"{' '.join(f'{r:.2f}' for r in ratios)}, CPU "
                f"{' '.join(f'{r:.2f}' for r in cpu_ratios)} of {revs[0][:8]}"
            )
        for c in [conn, *connections]:
            await c.close()
    finally:
        if not args.keep_db:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", action="append", help="git revision (repeatable)")
    parser.add_argument("--keep-db")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--deferred-indexes", action="store_true")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
