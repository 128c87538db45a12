"""Figures of the query API benchmark: percentiles, the result table and EXPLAIN output."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bench.query_bench_cases import Case
from certstats_query_api import service
from certstats_query_api.service import ListRequest
from certstats_query_api.sql.queries import (
    ACCESS_SQL,
    CHECKED_HISTORY_SQL,
    SUMMARY_ACCESS_SQL,
)

CSV_TARGET_ROWS_PER_S = 150_000
CSV_MAX_RSS_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Timing:
    """Latency samples of one query, in seconds."""

    name: str
    samples: list[float]

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile (``fraction`` in (0, 1]) in milliseconds."""
        ordered = sorted(self.samples)
        return 1000 * ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]

    @property
    def p50(self) -> float:
        """Median, ms."""
        return self.percentile(0.5)

    @property
    def p95(self) -> float:
        """95th percentile, ms."""
        return self.percentile(0.95)


def print_report(
    cases: Sequence[Case],
    api: Sequence[Timing],
    base: Sequence[Timing],
    agreement: dict[str, bool],
    csv: dict[str, float],
) -> None:
    """Print the Markdown result table (JSON queries, then the CSV export)."""
    print(
        "\n| query | n | p50 ms | p95 ms | target p95 | met | baseline p50 | baseline p95 "
        "| API/baseline p50 | same answer |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case, ours, theirs in zip(cases, api, base, strict=True):
        met = "yes" if ours.p95 <= case.target_ms else "NO"
        print(
            f"| {case.name} | {len(ours.samples)} | {ours.p50:.0f} | {ours.p95:.0f} "
            f"| <= {case.target_ms:.0f} | {met} | {theirs.p50:.0f} | {theirs.p95:.0f} "
            f"| {ours.p50 / theirs.p50:.2f} | {'yes' if agreement[case.name] else 'NO'} |"
        )
    api_rate, copy_rate = csv["rows"] / csv["api_s"], csv["copy_rows"] / csv["copy_s"]
    rss_mb = csv["peak_rss"] / 2**20
    csv_met = api_rate >= CSV_TARGET_ROWS_PER_S and csv["peak_rss"] < CSV_MAX_RSS_BYTES
    print(
        f"\nCSV export c-0: {csv['rows']:,.0f} rows in {csv['api_s']:.1f} s = "
        f"{api_rate:,.0f} rows/s (first byte after {csv['first_byte_s']:.1f} s), "
        f"API CPU {csv['api_cpu_s']:.1f} s, API peak RSS {rss_mb:.0f} MB (target >= "
        f"{CSV_TARGET_ROWS_PER_S:,} rows/s, < 200 MB: {'met' if csv_met else 'NOT met'}); "
        f"baseline COPY {csv['copy_rows']:,.0f} rows in {csv['copy_s']:.1f} s = "
        f"{copy_rate:,.0f} rows/s (API/COPY {api_rate / copy_rate:.2f})"
    )


async def explain(conn: asyncpg.Connection, request: ListRequest) -> None:
    """Print EXPLAIN (ANALYZE, BUFFERS) of the statements the API runs for ``request`` (``conn``
    set up like an API session): a history page is one statement (access check included);
    other lists run the access check then the list SQL, on the summary read models when they
    are exact at the request's ``as_of``."""
    _, request = await service.enter(conn, request)
    list_sql, list_args = request.sql()
    source = "summary" if request.summary and request.kind != "history" else "normalized tables"
    if request.kind == "history":
        statements = [
            ("checked page", CHECKED_HISTORY_SQL[("history", request.page.sort)], list_args)
        ]
    else:
        access_args = (
            *request.filters.sql_args(request.requester, request.certificate_id),
            request.user_id,
        )
        access_sql = SUMMARY_ACCESS_SQL if request.summary else ACCESS_SQL
        statements = [
            ("access check", access_sql, access_args),
            (f"{request.kind} list", list_sql, list_args),
        ]
    for title, sql, args in statements:
        plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
        print(
            f"\n## EXPLAIN (ANALYZE, BUFFERS): {title} of {request.kind} "
            f"{request.certificate_id or ''} {request.user_id or ''} ({source})"
        )
        print("\n".join(row[0] for row in plan))
