"""PostgreSQL CPU per statement of ``apply_batch`` (no Kafka): the backend's CPU time, from
``/proc/<pid>/schedstat`` (nanoseconds) around each statement, per statement of the projection
modules, in µs per event and per row, on a fresh database (PostgreSQL on this machine only).

Usage: ``python -m bench.projection_statements [--events 200000] [--batch 5000] [--summaries]
[--known-users] [--dsn URL]``. Events come from ``bench.synthetic``, parsed before timing.

By default the summary read models are left out (``prepare_summaries`` replaced by a no-op:
their statements are timed by other means, bench/PROJECTOR_BENCHMARK.md), so the figures are
those of the base tables, the dedup, the placeholders, the offsets and the watermark.
``--known-users`` passes the users of committed batches as the live projector does
(``KnownUsers``); ``bench.projection_apply_batch`` does not. "other" is BEGIN, SAVEPOINT,
RELEASE and COMMIT. The per-row figures divide by the length of the first bound column.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from bench.projection_apply_batch import parsed_events
from certstats_contracts.decoded import Event
from certstats_projector import generations
from certstats_projector.projection import batch as batch_module
from certstats_projector.projection.reduce import EntityKey, EventsByType

SEPARATOR = "\x1f"
"""``projection/sql.py``'s (not imported: the tool also runs on trees without it)."""

MODULES = ("batch", "tracking", "references", "users", "groups", "catalog", "sessions")
MODULES += ("enrollments", "grants")


def statement_names() -> dict[str, str]:
    """SQL text -> ``module.CONSTANT`` for every ``*_SQL`` constant of the projection."""
    names: dict[str, str] = {}
    for module_name in MODULES:
        module = importlib.import_module(f"certstats_projector.projection.{module_name}")
        for name, value in vars(module).items():
            if name.endswith("_SQL") and isinstance(value, str):
                names.setdefault(value, f"{module_name}.{name}")
    return names


def backend_ns(pid: int) -> int:
    """CPU nanoseconds of process ``pid`` so far (``/proc/<pid>/schedstat``)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def bound_rows(arguments: Sequence[object]) -> int:
    """Length of the first bound column: a list, or a string of :func:`texts` form."""
    if not arguments:
        return 0
    first = arguments[0]
    if isinstance(first, list):
        return len(first)
    if isinstance(first, str):
        if first.startswith("{"):
            return 0 if first == "{}" else first.count('","') + 1  # literal (approximate)
        return first.count(SEPARATOR) + 1 if first else 0
    return 1


class TimedConnection:
    """Passes everything to an asyncpg connection, timing the backend around each statement."""

    def __init__(self, conn: asyncpg.Connection, pid: int, names: dict[str, str]) -> None:
        self._conn, self._pid, self._names = conn, pid, names
        self.cpu: dict[str, int] = defaultdict(int)
        self.calls: dict[str, int] = defaultdict(int)
        self.rows: dict[str, int] = defaultdict(int)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def _timed(self, method: str, sql: str, *arguments: object) -> Any:
        before = backend_ns(self._pid)
        try:
            return await getattr(self._conn, method)(sql, *arguments)
        finally:
            name = self._names.get(sql, " ".join(sql.split())[:50])
            self.cpu[name] += backend_ns(self._pid) - before
            self.calls[name] += 1
            self.rows[name] += bound_rows(arguments)

    async def execute(self, sql: str, *arguments: object) -> Any:
        return await self._timed("execute", sql, *arguments)

    async def fetch(self, sql: str, *arguments: object) -> Any:
        return await self._timed("fetch", sql, *arguments)

    async def fetchval(self, sql: str, *arguments: object) -> Any:
        return await self._timed("fetchval", sql, *arguments)


class _NoSummaries:
    async def refresh(self, conn: object, batch: EventsByType, slot: int) -> int:
        return 0


async def _no_summaries(conn: object, schema: str, events: Sequence[Event]) -> _NoSummaries:
    return _NoSummaries()


async def measure(args: argparse.Namespace, events: list[Event]) -> None:
    name = f"certstats_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(args.dsn.rsplit("/", 1)[0] + f"/{name}")
        schema = await generations.migrate(conn)
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        timed = TimedConnection(conn, pid, statement_names())
        known: set[EntityKey] = set()
        server, client, started = backend_ns(pid), time.process_time(), time.perf_counter()
        for start in range(0, len(events), args.batch):
            batch = events[start : start + args.batch]
            offsets = {("bench", 0): start + len(batch)}
            users = known if args.known_users else frozenset()
            applied = await batch_module.apply_batch(timed, schema, batch, offsets, users)  # type: ignore[arg-type]
            known.update(applied.users)
        elapsed = time.perf_counter() - started
        client_us = (time.process_time() - client) / len(events) * 1e6
        server_us = (backend_ns(pid) - server) / len(events) / 1e3
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    count = len(events)
    print(f"{count} events, batches of {args.batch}: {count / elapsed:,.0f} events/s")
    print(f"CPU per event: apply_batch {client_us:.1f} µs, PostgreSQL backend {server_us:.2f} µs")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("backend µs/event   calls      rows  µs/row  statement")
    timed_total = 0
    for statement, ns in sorted(timed.cpu.items(), key=lambda item: -item[1]):
        timed_total += ns
        rows = timed.rows[statement]
        per_row = f"{ns / rows / 1e3:7.2f}" if rows else "       "
        print(
            f"{ns / count / 1e3:16.2f} {timed.calls[statement]:7d} {rows:9d} {per_row}  {statement}"
        )
    other = server_us - timed_total / count / 1e3
    print(f"{other:16.2f}                           other")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--summaries", action="store_true", help="keep the summary refresh")
    parser.add_argument("--known-users", action="store_true", help="as the live projector")
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if not args.summaries:
        batch_module.prepare_summaries = _no_summaries  # type: ignore[assignment]
    events = parsed_events(args.events)
    gc.freeze()  # the parsed input lives all run long: keep it out of the collector
    asyncio.run(measure(args, events))


if __name__ == "__main__":
    main()
