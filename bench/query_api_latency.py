"""Query API latency at a million learners (a script, not a test; SPEC.md §5).

Builds (or reuses) the synthetic platform of ``bench/query_data.py`` in database
``certstats_bench``, serves the real API in a child process (``certstats api``: uvicorn over
loopback) and measures, after warm-up, p50/p95 of repeated requests as a platform admin:

- certificate list, no filter (target p95 <= 150 ms);
- certificate list with a group + custom field filter (p95 <= 600 ms);
- first learner page of the biggest certificate, ``c-0`` (1,000,000 learners; p95 <= 100 ms);
- a learner's history (``c-1``, learners with several enrollments; p95 <= 20 ms);
- CSV export of the 1,000,000-row learner table of ``c-0`` (>= 150,000 rows/s with the API's
  peak RSS < 200 MB, read from ``/proc/<pid>/status`` VmHWM and sampled every 20 ms; the API
  process's CPU time for it is printed too, a figure less sensitive to the machine's load).

The same answers are computed with plain GROUP BY SQL over the normalized tables
(``bench/query_baseline.py``), timed too and checked for agreement; the table printed
has query, p50, p95, target, baseline p50/p95 and the API/baseline ratio of p50s. The slowest
JSON query's SQL (access check and list) is then shown with EXPLAIN (ANALYZE, BUFFERS).

Usage: ``.venv/bin/python -m bench.query_api_latency [--rebuild-data] [--repeats 30]
[--budget-s 60]``; ``CERTSTATS_BENCH_ADMIN_DSN`` overrides the PostgreSQL server
(default ``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from bench import query_baseline as baseline
from bench.query_api_server import ApiProcess, RssSampler, api_process
from bench.query_bench_cases import CASES, PLATFORM, Case, list_request, request_url
from bench.query_bench_report import Timing, explain, print_report
from bench.query_data import ensure_database
from certstats_query_api.auth import PLATFORM_ADMIN, mint_token
from certstats_query_api.settings import ApiSettings

SECRET = "query-bench-secret-" + "x" * 32
WORK_MEM = str(ApiSettings.model_fields["work_mem"].default)
_WARMUP = 1
_MIN_SAMPLES = 3
_HISTORY_LEARNERS_SQL = """
SELECT e.user_id FROM enrollments e
JOIN path_sessions s ON s.platform_id = e.platform_id AND s.session_id = e.session_id
JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
WHERE e.platform_id = $1 AND p.certificate_id = $2 AND NOT e.deleted
GROUP BY e.user_id HAVING count(*) >= 2 ORDER BY e.user_id LIMIT 30
"""


async def measure(
    call: Callable[[int], Awaitable[object]], repeats: int, budget_s: float
) -> list[float]:
    """Seconds of ``call(i)`` for i = 0, 1, ... after warm-up: ``repeats`` samples, fewer
    (at least 3) when the time budget runs out."""
    for i in range(_WARMUP):
        await call(i)
    samples: list[float] = []
    started = time.monotonic()
    while len(samples) < repeats and (
        len(samples) < _MIN_SAMPLES or time.monotonic() - started < budget_s
    ):
        begin = time.perf_counter()
        await call(len(samples))
        samples.append(time.perf_counter() - begin)
    return samples


async def connect_read_models(dsn: str) -> asyncpg.Connection:
    """A connection set up as the API's: current generation, custom plans, same work_mem."""
    conn = await asyncpg.connect(dsn)
    schema = await conn.fetchval(
        "SELECT schema_name FROM certstats_meta.generations WHERE state = 'current'"
    )
    await conn.execute(f"SET search_path TO {schema}")
    await conn.execute(f"SET plan_cache_mode = force_custom_plan; SET work_mem = '{WORK_MEM}'")
    return conn


async def run_api(
    server: ApiProcess, learners: list[str], repeats: int, budget_s: float
) -> tuple[list[Timing], dict[str, Any]]:
    """Time every case against the API; returns timings and one answer per case."""
    token = mint_token(
        SECRET,
        sub="bench-admin",
        platform_id=PLATFORM,
        roles=[PLATFORM_ADMIN],
        ttl_seconds=3600,
        now=int(time.time()),
    )
    headers = {"Authorization": f"Bearer {token}"}
    timings: list[Timing] = []
    answers: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=600) as client:
        for case in CASES:

            async def call(i: int, case: Case = case) -> object:
                path, params = request_url(case, learners[i % len(learners)])
                response = await client.get(path, params=params)
                response.raise_for_status()
                return response.json()

            timings.append(Timing(case.name, await measure(call, repeats, budget_s)))
            answers[case.name] = await call(0)
            _progress("API", timings[-1])
    return timings, answers


async def run_baseline(
    conn: asyncpg.Connection, learners: list[str], repeats: int, budget_s: float
) -> tuple[list[Timing], dict[str, Any]]:
    """Time the baseline SQL of every case; returns timings and one answer per case."""
    timings: list[Timing] = []
    answers: dict[str, Any] = {}
    for case in CASES:

        async def call(i: int, case: Case = case) -> object:
            sql, args = baseline.query_of(case, learners[i % len(learners)])
            return await conn.fetch(sql, *args)

        timings.append(Timing(case.name, await measure(call, repeats, budget_s)))
        answers[case.name] = await call(0)
        _progress("baseline", timings[-1])
    return timings, answers


def _progress(side: str, timing: Timing) -> None:
    print(
        f"{side} {timing.name}: p50 {timing.p50:.0f} ms ({len(timing.samples)} samples)", flush=True
    )


async def run_csv(server: ApiProcess, conn: asyncpg.Connection) -> dict[str, float]:
    """Export the 1,000,000-row learner table of ``c-0`` through the API and with COPY."""
    token = mint_token(
        SECRET,
        sub="bench-admin",
        platform_id=PLATFORM,
        roles=[PLATFORM_ADMIN],
        ttl_seconds=3600,
        now=int(time.time()),
    )
    url = f"{server.base_url}/v1/path-certificates/c-0/learners.csv"
    lines, first_byte_s = 0, 0.0
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=600) as c:
        with RssSampler(server) as sampler:
            cpu_before = server.cpu_seconds()
            begin = time.perf_counter()
            async with c.stream("GET", url, params={"user_status": "all"}) as response:
                response.raise_for_status()
                async for chunk in response.aiter_raw():
                    first_byte_s = first_byte_s or time.perf_counter() - begin
                    lines += chunk.count(b"\n")
            api_s = time.perf_counter() - begin
            api_cpu_s = server.cpu_seconds() - cpu_before
    copied = 0

    async def sink(data: bytes) -> None:
        nonlocal copied
        copied += data.count(b"\n")

    sql, args = baseline.export_of("c-0")
    begin = time.perf_counter()
    await conn.copy_from_query(sql, *args, output=sink, format="csv")
    copy_s = time.perf_counter() - begin
    return {
        "rows": lines - 1,
        "api_s": api_s,
        "first_byte_s": first_byte_s,
        "api_cpu_s": api_cpu_s,
        "copy_rows": copied,
        "copy_s": copy_s,
        "peak_rss": max(sampler.peak, server.peak_rss_bytes()),
    }


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get(
        "CERTSTATS_BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    dsn = await ensure_database(admin_dsn, args.database, rebuild=args.rebuild_data)
    conn = await connect_read_models(dsn)
    try:
        learners = [r["user_id"] for r in await conn.fetch(_HISTORY_LEARNERS_SQL, PLATFORM, "c-1")]
        with api_process(dsn, SECRET) as server:
            api, api_answers = await run_api(server, learners, args.repeats, args.budget_s)
            csv = await run_csv(server, conn)
        base, base_answers = await run_baseline(conn, learners, args.repeats, args.budget_s)
        agreement = {
            c.name: baseline.agrees(c, api_answers[c.name], base_answers[c.name]) for c in CASES
        }
        print_report(CASES, api, base, agreement, csv)
        slowest = max(zip(CASES, api, strict=True), key=lambda pair: pair[1].p50)[0]
        await explain(conn, list_request(slowest, learners[0]))
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="certstats_bench")
    parser.add_argument("--rebuild-data", action="store_true", help="drop and rebuild the data")
    parser.add_argument("--repeats", type=int, default=30, help="samples per query")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=60.0,
        help="stop sampling a query after this many seconds (min 3 samples)",
    )
    asyncio.run(main(parser.parse_args()))
