"""CSV exports stream from one snapshot (SPEC.md §5.5): served by uvicorn over real TCP, a
large export read slowly keeps the state it started with while the projector writes."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import uvicorn

from certstats_cli.local_infra import free_port
from certstats_projector.generations import migrate
from certstats_projector.projection import apply_batch
from certstats_query_api.app import create_app
from certstats_query_api.settings import ApiSettings
from tests.integration.test_api_harness import ADMIN, SECRET, catalog, enroll, user
from tests.reference.builders import as_consumed, event

LEARNERS = 3000
LATER = "2026-03-01T00:00:00Z"


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[str, asyncpg.Connection, str]]:
    """(base URL of a uvicorn-served app, a loading connection, the generation schema)."""
    conn = await asyncpg.connect(database_url)
    schema = await migrate(conn)
    port = free_port()
    app = create_app(ApiSettings(database_url=database_url, jwt_secret=SECRET))
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", conn, schema
    finally:
        server.should_exit = True
        await task
        await conn.close()


async def test_slow_export_reads_one_snapshot(
    served: tuple[str, asyncpg.Connection, str],
) -> None:
    base, conn, schema = served
    events = [*catalog("c1")]
    for i in range(LEARNERS):
        events += [user(f"u{i:05d}", last=f"L{i:05d}"), enroll(f"e{i}", f"u{i:05d}", "c1-s")]
    await apply_batch(conn, schema, as_consumed(events), {})
    url = f"{base}/v1/path-certificates/c1/learners.csv"
    body = bytearray()
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("GET", url, headers={"Authorization": f"Bearer {ADMIN}"}) as response,
    ):
        assert response.status_code == 200
        chunks = response.aiter_raw()
        body += await anext(chunks)
        deletions = [
            event(
                "enrollment.deleted",
                LATER,
                enrollment_id=f"e{i}",
                user_id=f"u{i:05d}",
                deleted_at=LATER,
            )
            for i in range(LEARNERS)
        ]
        await apply_batch(conn, schema, as_consumed(deletions), {})
        async for chunk in chunks:
            body += chunk
    rows = list(csv.reader(io.StringIO(body.decode().removeprefix("\ufeff"), newline="")))
    assert len(rows) == LEARNERS + 1
    assert [r[0] for r in rows[1:]] == [f"Ann L{i:05d}" for i in range(LEARNERS)]
    after = await httpx.AsyncClient().get(url, headers={"Authorization": f"Bearer {ADMIN}"})
    assert after.text.count("\r\n") == 1  # header only: the deletions are visible now
