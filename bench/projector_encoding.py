"""Python CPU of binding a batch's columns, old way against new way, in one process.

Usage: ``python -m bench.projector_encoding [--rows 5000] [--rounds 40] [--dsn URL]``.

Binds the ids and event times of ``--rows`` synthetic events (``bench/synthetic.py``) to a
statement that only counts them, alternating the two ways each round:

- text: a ``text[]`` list (asyncpg encodes element by element) against one array literal
  (``projection/sql.py``: ``$1::text::text[]``, parsed by PostgreSQL);
- instants: as pydantic-core parses them (one ``TzInfo`` per value) against converted to
  ``datetime.UTC`` first (``certstats_contracts.events._in_utc``, the conversion counted): a
  ``max`` over them and a ``timestamptz[]`` encoding.

Prints the client's CPU per element (``time.process_time``) and, when PostgreSQL runs on this
machine, its backend's CPU per element (``/proc/<pid>/stat``), with new/old ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from pydantic_core import TzInfo

from bench.projection_apply_batch import backend_cpu
from bench.synthetic import synthetic_stream
from certstats_contracts.envelope import UnknownEventType, parse_event
from certstats_contracts.events import _in_utc
from certstats_projector.projection.sql import text_array

Way = tuple[str, Callable[[], Any]]
"""A statement's way of binding: its SQL and a function returning the argument."""


async def compare(
    conn: asyncpg.Connection, what: str, old: Way, new: Way, elements: int, rounds: int
) -> None:
    """Run both ways ``rounds`` times, alternating; print CPU per element and new/old."""
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    statements = [await conn.prepare(sql) for sql, _ in (old, new)]
    client, server = [0.0, 0.0], [0.0, 0.0]
    for _ in range(rounds):
        for i, (statement, (_, argument)) in enumerate(zip(statements, (old, new), strict=True)):
            before, cpu = backend_cpu(pid), time.process_time()
            await statement.fetchval(argument())
            client[i] += time.process_time() - cpu
            after = backend_cpu(pid)
            if before is not None and after is not None:
                server[i] += after - before
    per = [1e9 / (rounds * elements) * s for s in (*client, *server)]
    line = f"{what}: client {per[0]:,.0f} -> {per[1]:,.0f} ns/element ({per[1] / per[0]:.2f})"
    if server[0] > 0:
        line += f", PostgreSQL {per[2]:,.0f} -> {per[3]:,.0f} ns/element"
    print(line)


async def main(args: argparse.Namespace) -> None:
    events = []
    for _, value in synthetic_stream(args.rows):
        try:
            events.append(parse_event(value))
        except UnknownEventType:
            continue
    ids = [e.id for e in events]
    tz_times = [e.time.astimezone(TzInfo(0)) for e in events]  # one TzInfo each, as parsed

    def in_utc() -> list[datetime]:
        utc_times = [_in_utc(t) for t in tz_times]
        max(utc_times)
        return utc_times

    print(f"{len(events)} elements per statement, {args.rounds} rounds, load {os.getloadavg()}")
    conn = await asyncpg.connect(args.dsn)
    try:
        count = "SELECT cardinality({})"
        await compare(
            conn,
            "text ids",
            (count.format("$1::text[]"), lambda: ids),
            (count.format("$1::text::text[]"), lambda: text_array(ids)),
            len(ids),
            args.rounds,
        )
        await compare(
            conn,
            "instants, (to UTC +) max + timestamptz[]",
            (count.format("$1::timestamptz[]"), lambda: (max(tz_times), tz_times)[1]),
            (count.format("$1::timestamptz[]"), in_utc),
            len(ids),
            args.rounds,
        )
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
