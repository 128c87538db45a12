"""Which secondary indexes do the projector's statements use? (evidence, not a benchmark)

The evidence behind ``deferred_indexes.QUERY_ONLY_INDEXES`` and ``REFRESH_ONLY_INDEXES``
(docs/DECISIONS.md "Deferred indexes of a building generation"). On a fresh database, with
every index of the migrations present:

1. *replay*: synthetic events applied in batches as a rebuild's replay applies them (catch-up
   mode: ``defer_summaries``), then the summaries' catch-up (``catch_up_summaries``);
2. *refresh*: more batches applied as the live projector and the promotion's tail apply them
   (the summary refresh).

Every statement the projection sends is recorded; at the end of each phase (tables full and
analyzed) each distinct statement is ``EXPLAIN``ed with the arguments it was last sent, and
the index names in the plans are listed. ``pg_stat_user_indexes.idx_scan`` (scans during the
phase) is printed beside them for every index of the generation.

Usage: ``python -m bench.deferred_index_usage [--events 200000] [--refresh-events 20000]
[--batch 5000] [--dsn URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from asyncpg.connection import Connection

from bench.projection_apply_batch import parsed_events
from certstats_contracts.decoded import Event
from certstats_projector import generations
from certstats_projector.projection import apply_batch, catch_up_summaries

INDEX_SCANS_SQL = """
SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE schemaname = $1 ORDER BY 1
"""

Recorded = dict[str, tuple[Any, ...]]
"""Statement text -> the arguments it was last sent with."""


class Recorder:
    """Records the statements sent through ``asyncpg.Connection`` while ``on``."""

    METHODS = ("execute", "fetch", "fetchval", "fetchrow")

    def __init__(self) -> None:
        self.statements: Recorded = {}
        self.on = False
        self._originals: dict[str, Callable[..., Awaitable[Any]]] = {}

    def install(self) -> None:
        for name in self.METHODS:
            original = getattr(Connection, name)
            self._originals[name] = original

            def wrapper(
                conn: Connection, query: str, *args: Any, _original: Any = original, **kw: Any
            ) -> Awaitable[Any]:
                if self.on:
                    self.statements[query] = args
                return _original(conn, query, *args, **kw)  # type: ignore[no-any-return]

            setattr(Connection, name, wrapper)

    def uninstall(self) -> None:
        for name, original in self._originals.items():
            setattr(Connection, name, original)


async def index_scans(conn: asyncpg.Connection, schema: str) -> dict[str, int]:
    await asyncio.sleep(1.1)  # other backends flush their statistics at most once a second
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return {r["indexrelname"]: r["idx_scan"] for r in await conn.fetch(INDEX_SCANS_SQL, schema)}


async def planned_indexes(
    conn: asyncpg.Connection, schema: str, statements: Recorded, names: Sequence[str]
) -> tuple[dict[str, set[str]], int]:
    """Index -> the first line of each statement whose plan names it; and how many
    statements were explained (DDL, ``ANALYZE`` and multi-statement texts are not)."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    used: dict[str, set[str]] = {}
    explained = 0
    await conn.execute(f"SET search_path TO {schema}")
    for query, args in statements.items():
        head = query.strip().split()[0].upper()
        if head not in ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE"):
            continue
        try:
            async with conn.transaction():
                plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {query}", *args))
        except asyncpg.PostgresError:
            continue
        explained += 1
        label = " ".join(query.split())[:90]
        for name in set(pattern.findall(plan)):
            used.setdefault(name, set()).add(label)
    return used, explained


async def phase(
    conn: asyncpg.Connection,
    schema: str,
    title: str,
    run: Callable[[Recorder], Awaitable[None]],
) -> None:
    recorder = Recorder()
    before = await index_scans(conn, schema)
    recorder.install()
    recorder.on = True
    try:
        await run(recorder)
    finally:
        recorder.on = False
        recorder.uninstall()
    after = await index_scans(conn, schema)
    await conn.execute(f"ANALYZE {', '.join(await tables(conn, schema))}")
    used, explained = await planned_indexes(conn, schema, recorder.statements, list(after))
    print(f"\n== {title}: {len(recorder.statements)} statements, {explained} explained")
    print(f"{'index':40} {'idx_scan':>9}  plans naming it")
    for name in sorted(after):
        scans = after[name] - before.get(name, 0)
        plans = sorted(used.get(name, ()))
        print(f"{name:40} {scans:9,}  {len(plans)}")
        for label in plans:
            print(f"{'':52}{label}")


async def tables(conn: asyncpg.Connection, schema: str) -> list[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    return [f'{schema}."{r["tablename"]}"' for r in rows]


async def main(args: argparse.Namespace) -> None:
    events = parsed_events(args.events + args.refresh_events)
    replayed, refreshed = events[: args.events], events[args.events :]
    name = f"certstats_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = args.dsn.rsplit("/", 1)[0] + f"/{name}"
    try:
        conn = await asyncpg.connect(dsn)
        schema = await generations.migrate(conn)
        work = [await asyncpg.connect(dsn) for _ in range(3)]

        async def apply(batch_events: list[Event], first: int, defer: bool) -> None:
            for start in range(0, len(batch_events), args.batch):
                batch = batch_events[start : start + args.batch]
                end = {("bench", 0): first + start + len(batch)}
                await apply_batch(work[0], schema, batch, end, defer_summaries=defer)

        async def replay(_: Recorder) -> None:
            await apply(replayed, 0, True)
            await catch_up_summaries(work[0], schema, also=work[1:])

        async def refresh(_: Recorder) -> None:
            await apply(refreshed, len(replayed), False)

        await phase(conn, schema, "replay (summaries deferred) + catch-up", replay)
        await phase(conn, schema, "refresh (live projector, promotion tail)", refresh)
        for c in [conn, *work]:
            await c.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--refresh-events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
