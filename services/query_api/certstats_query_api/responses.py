"""HTTP answers of the statistics endpoints: JSON pages and streamed CSV exports, each read
from one snapshot (SPEC.md §5, §5.5, §5.6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
from asyncpg import Record
from asyncpg.pool import PoolConnectionProxy
from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from certstats_query_api import service
from certstats_query_api.csv_export import attachment_name, copied_csv_chunks, csv_chunks
from certstats_query_api.db import Snapshot
from certstats_query_api.problems import ApiProblem
from certstats_query_api.rows import FORMATS
from certstats_query_api.service import SQL_KIND, ListRequest


def rfc3339(instant: datetime) -> str:
    """``instant`` in UTC as RFC 3339 with ``Z``, as pydantic writes it in JSON bodies."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _publish(request: Request, watermark: datetime | None) -> str | None:
    """The watermark as RFC 3339, also kept for the ``X-Data-As-Of`` header of the response
    (problems included, SPEC.md §5.6)."""
    text = None if watermark is None else rfc3339(watermark)
    request.state.data_as_of = text
    return text


async def publish_watermark(request: Request) -> None:
    """For a problem answered before any read (a bad parameter, after authentication): publish
    the requester's platform watermark for its ``X-Data-As-Of`` header. Nothing when no
    requester is known yet (a 401), a read published one already, or the read fails (the
    problem stands without the header)."""
    requester = getattr(request.state, "requester", None)
    if requester is None or hasattr(request.state, "data_as_of"):
        return
    try:
        async with Snapshot(request.app.state.pool) as conn:
            _publish(request, await service.watermark(conn, requester.platform_id))
    except (ApiProblem, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return


async def _enter(
    request: Request, conn: PoolConnectionProxy, list_request: ListRequest
) -> tuple[str | None, ListRequest]:
    """Publish the watermark for the response header, choose the read models (summary or
    normalized) and check access; returns the watermark and the request to run."""
    summaries = request.app.state.settings.summaries
    watermark, list_request = await service.enter(conn, list_request, summaries=summaries)
    text = _publish(request, watermark)
    await service.check_access(conn, list_request)
    return text, list_request


async def _checked_page(
    request: Request, conn: PoolConnectionProxy, list_request: ListRequest
) -> tuple[str | None, list[Record], str | None]:
    """The watermark, rows and next cursor of a JSON page, access checked: a history page in
    one statement, other lists after the freshness and access queries."""
    if list_request.kind == "history":
        page = await service.fetch_checked_history(conn, list_request)
        watermark = _publish(request, page.data_as_of)
        if page.problem is not None:
            raise page.problem
        return watermark, page.records, page.next_cursor
    watermark, list_request = await _enter(request, conn, list_request)
    return watermark, *await service.fetch_page(conn, list_request)


async def json_page(request: Request, list_request: ListRequest) -> dict[str, Any]:
    """One JSON page ``{"items", "next_cursor", "as_of", "data_as_of"}`` read in one snapshot.

    Raises:
        ApiProblem: 403/404 (scope), 400 (forged cursor), 503 (no read models).
    """
    async with Snapshot(request.app.state.pool) as conn:
        watermark, records, next_cursor = await _checked_page(request, conn, list_request)
    to_json = FORMATS[SQL_KIND[list_request.kind]].json
    tz = list_request.filters.tz
    return {
        "items": [to_json(record, tz) for record in records],
        "next_cursor": next_cursor,
        "as_of": list_request.filters.as_of,
        "data_as_of": watermark,
    }


async def csv_export(
    request: Request, list_request: ListRequest, bom: bool, *name: str
) -> StreamingResponse:
    """Every row of the list as a streamed CSV attachment named from ``name`` parts; access is
    checked before the first byte, then rows stream from the same snapshot (SPEC.md §5.5).

    Raises:
        ApiProblem: 403/404 (scope), 503 (no read models), before streaming starts.
    """
    snapshot = Snapshot(request.app.state.pool)
    conn = await snapshot.open()
    try:
        _, list_request = await _enter(request, conn, list_request)
    except BaseException:
        await snapshot.close()
        raise
    row_format, tz = FORMATS[SQL_KIND[list_request.kind]], list_request.filters.tz
    to_cells = row_format.csv
    if to_cells is None:
        body = copied_csv_chunks(
            row_format.header,
            lambda sink: service.copy_cells(conn, list_request, sink),
            bom=bom,
        )
    else:
        batches = service.stream_rows(conn, list_request)
        body = csv_chunks(row_format.header, batches, lambda r: to_cells(r, tz), bom=bom)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in body:
                yield chunk
        finally:
            await snapshot.close()

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{attachment_name(*name)}"'},
        background=BackgroundTask(snapshot.close),
    )
