"""The statistics read side (SPEC.md §4-§5): access checks, pages and streamed lists.

Works on a connection inside a :class:`~certstats_query_api.db.Snapshot`; knows nothing of
HTTP beyond raising :class:`~certstats_query_api.problems.ApiProblem`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import asyncpg

from certstats_query_api.auth import Requester
from certstats_query_api.csv_export import Sink
from certstats_query_api.pages import Page, encode_cursor
from certstats_query_api.params import Filters
from certstats_query_api.problems import FORBIDDEN, NOT_FOUND, ApiProblem, bad_parameter
from certstats_query_api.rows import SET_ZONE_SQL
from certstats_query_api.sql.queries import (
    ACCESS_SQL,
    CHECKED_HISTORY_SQL,
    CSV_LIST_SQL,
    FRESHNESS_SQL,
    LIST_SQL,
    SUMMARY_ACCESS_SQL,
    SUMMARY_CSV_LIST_SQL,
    SUMMARY_LIST_SQL,
    WATERMARK_SQL,
)

SQL_KIND = {
    "certificates": "certificates",
    "paths": "paths",
    "learners": "learners",
    "certified_learners": "learners",
    "history": "history",
}
"""List kind -> SQL/sort/row-format kind (certified learners are learners, SPEC.md §5.1)."""

_STREAM_BATCH = 2000


@dataclass(frozen=True)
class ListRequest:
    """One list request: ``kind`` (a key of :data:`SQL_KIND`), who asks, the filters, the
    certificate / learner it is about (None for the certificate list), the search text ``q``
    and the page. ``summary``: read the summary read models (set by :func:`enter` when they
    are exact at the request's ``as_of``), else the normalized tables."""

    kind: str
    requester: Requester
    filters: Filters
    page: Page
    certificate_id: str | None = None
    user_id: str | None = None
    q: str | None = None
    summary: bool = False

    def sql(self, *, everything: bool = False, cells: bool = False) -> tuple[str, tuple[Any, ...]]:
        """The static SQL text of this list and its arguments; ``cells``: the text selecting
        the CSV cells (learner lists only; dates in the transaction's time zone)."""
        summary_kind = self._summary_kind()
        if summary_kind is None:
            texts = CSV_LIST_SQL if cells else LIST_SQL
            text = texts[(SQL_KIND[self.kind], self.page.sort)]
        else:
            texts = SUMMARY_CSV_LIST_SQL if cells else SUMMARY_LIST_SQL
            text = texts[(summary_kind, self.page.sort)]
        if self.kind == "paths":
            head: tuple[Any, ...] = (self.requester.platform_id, self.certificate_id)
        else:
            head = self.filters.sql_args(self.requester, self.certificate_id) + self._extras()
        return text, head + self.page.sql_args(everything=everything)

    def _extras(self) -> tuple[Any, ...]:
        if self.kind == "certificates":
            return (self.q,)
        if self.kind == "history":
            return (self.user_id,)
        return (self.kind == "certified_learners", self.q)

    def _summary_kind(self) -> str | None:
        """The kind of :data:`SUMMARY_LIST_SQL` answering this request, or None for the
        normalized SQL (summary not exact, or a list the summary does not serve)."""
        kind = SQL_KIND[self.kind]
        if not self.summary or kind not in ("certificates", "learners"):
            return None
        if kind == "learners":
            return "filtered_learners" if self.filters.users else kind
        if self.filters.users:
            return "filtered_certificates"
        return "certificate_counters" if self.requester.platform_admin else kind


async def enter(
    conn: asyncpg.pool.PoolConnectionProxy, request: ListRequest, *, summaries: bool = True
) -> tuple[datetime | None, ListRequest]:
    """The platform's projection watermark (time of its newest applied event, SPEC.md §5.6)
    and ``request`` set to read the summary read models when ``summaries`` allows it and they
    are exact at its ``as_of`` (one query)."""
    platform_id, as_of = request.requester.platform_id, request.filters.as_of
    freshness = await conn.fetchrow(FRESHNESS_SQL, platform_id, as_of)
    assert freshness is not None
    exact = summaries and freshness["summary_exact"]
    return freshness["data_as_of"], replace(request, summary=exact)


async def watermark(conn: asyncpg.pool.PoolConnectionProxy, platform_id: str) -> datetime | None:
    """The platform's projection watermark alone (SPEC.md §5.6; None before its first event)."""
    value: datetime | None = await conn.fetchval(WATERMARK_SQL, platform_id)
    return value


async def check_access(conn: asyncpg.pool.PoolConnectionProxy, request: ListRequest) -> None:
    """Raise 403 when the requester has no role, 404 when the certificate (or the learner's
    link to it) is outside the scope (SPEC.md §4, §5.3)."""
    args = request.filters.sql_args(request.requester, request.certificate_id)
    access_sql = SUMMARY_ACCESS_SQL if request.summary else ACCESS_SQL
    access = await conn.fetchrow(access_sql, *args, request.user_id)
    assert access is not None
    problem = _access_problem(access, request)
    if problem is not None:
        raise problem


def _access_problem(access: asyncpg.Record, request: ListRequest) -> ApiProblem | None:
    """The 403/404 problem of an access row (``has_role``, ``certificate_in_scope``,
    ``learner_in_scope``), None when the request is allowed."""
    if not access["has_role"]:
        return FORBIDDEN
    if request.certificate_id is not None and not access["certificate_in_scope"]:
        return NOT_FOUND
    if request.user_id is not None and not access["learner_in_scope"]:
        return NOT_FOUND
    return None


async def fetch_page(
    conn: asyncpg.pool.PoolConnectionProxy, request: ListRequest
) -> tuple[list[asyncpg.Record], str | None]:
    """One page of rows and the cursor of the next page (None on the last page).

    Raises:
        ApiProblem: 400 ``cursor`` when a forged cursor holds a key of the wrong type.
    """
    text, args = request.sql()
    return _paged(await _fetch(conn, text, args), request)


@dataclass(frozen=True)
class CheckedPage:
    """A page read with its access check: the platform's watermark, the 403/404 ``problem``
    (None when allowed; raise it once the watermark is published), the rows and the next
    cursor (no rows unless allowed)."""

    data_as_of: datetime | None
    problem: ApiProblem | None
    records: list[asyncpg.Record]
    next_cursor: str | None


async def fetch_checked_history(
    conn: asyncpg.pool.PoolConnectionProxy, request: ListRequest
) -> CheckedPage:
    """A page of a learner's history (``request.kind == "history"``), its access check and
    the watermark in one statement (:data:`~certstats_query_api.sql.queries.CHECKED_HISTORY_SQL`;
    the history always reads the normalized tables, exact at any ``as_of``, so no freshness
    query is needed first).

    Raises:
        ApiProblem: 400 ``cursor`` when a forged cursor holds a key of the wrong type.
    """
    _, args = request.sql()
    records = await _fetch(conn, CHECKED_HISTORY_SQL[("history", request.page.sort)], args)
    head = records[0]
    problem = _access_problem(head, request)
    rows = [] if problem is not None else [r for r in records if r["row_id"] is not None]
    return CheckedPage(head["data_as_of"], problem, *_paged(rows, request))


async def _fetch(
    conn: asyncpg.pool.PoolConnectionProxy, text: str, args: tuple[Any, ...]
) -> list[asyncpg.Record]:
    try:
        return await conn.fetch(text, *args)
    except asyncpg.DataError:
        raise bad_parameter("cursor", "not a cursor of this list and sort") from None


def _paged(
    records: list[asyncpg.Record], request: ListRequest
) -> tuple[list[asyncpg.Record], str | None]:
    """``records`` (up to one more than the page's limit) cut to the page, and the cursor of
    the next page (None on the last page)."""
    limit = request.page.limit
    if len(records) <= limit:
        return records, None
    last = records[limit - 1]
    return records[:limit], encode_cursor(request.page.sort, last["sort_key"], last["row_id"])


async def stream_rows(
    conn: asyncpg.pool.PoolConnectionProxy, request: ListRequest
) -> AsyncIterator[list[asyncpg.Record]]:
    """Every row of the list after the page's cursor (if any), in batches of a few thousand
    fetched through a server-side cursor; the connection must be inside a transaction.

    The next batch is requested before the current one is handed out, so PostgreSQL computes it
    while the caller formats rows (at most two batches in memory)."""
    text, args = request.sql(everything=True)
    cursor = await conn.cursor(text, *args)
    batch = await cursor.fetch(_STREAM_BATCH)
    while batch:
        following = asyncio.ensure_future(cursor.fetch(_STREAM_BATCH))
        try:
            yield batch
        finally:
            # let the fetch in flight end (even when the consumer stops), so the connection
            # is idle when the snapshot ends
            batch = await following


async def copy_cells(
    conn: asyncpg.pool.PoolConnectionProxy, request: ListRequest, sink: Sink
) -> None:
    """Every row of the list after the page's cursor (if any) as its CSV cells (learner lists,
    :meth:`ListRequest.sql` ``cells``), written by ``COPY (...) TO STDOUT (FORMAT csv)`` to
    ``sink`` chunk after chunk: LF row ends, NULL as an empty cell, dates in the request's
    ``tz`` (the time zone of the rest of the transaction, which must be open)."""
    text, args = request.sql(everything=True, cells=True)
    await conn.execute(SET_ZONE_SQL, request.filters.tz.key)
    await conn.copy_from_query(text, *args, output=sink, format="csv")
