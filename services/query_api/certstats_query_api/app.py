"""Composition root of the query API: settings -> pool -> token verifier -> FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI

from certstats_query_api import openapi, ops, routes
from certstats_query_api.auth import TokenVerifier
from certstats_query_api.problems import install_problem_handlers
from certstats_query_api.responses import publish_watermark
from certstats_query_api.settings import ApiSettings


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    """Pool reset of a released connection, after asyncpg's own (which rolls back an open
    transaction): none. Requests only read in transactions and change settings with
    ``SET LOCAL`` semantics (:mod:`certstats_query_api.db`), so the default reset query
    (``RESET ALL``, ``CLOSE ALL``, ``UNLISTEN *``, advisory unlocks) would be one more round trip
    per request with nothing to undo."""


def create_app(settings: ApiSettings) -> FastAPI:
    """The query API (SPEC.md §5) reading the database of ``settings``.

    The asyncpg pool is created in the lifespan (never at import time) and closed at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            settings.database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            # JIT compiles each statistics query for ~1 s and speeds none of them up
            server_settings={"work_mem": settings.work_mem, "jit": "off"},
            reset=_nothing_to_reset,
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="certstats query API",
        version="1.0.0",
        summary="Path-certificate statistics of an LMS platform (SPEC.md section 5).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.metrics = ops.ApiMetrics()
    app.add_middleware(ops.ObservabilityMiddleware, metrics=app.state.metrics)
    install_problem_handlers(app, publish_watermark)
    app.include_router(ops.router)
    app.include_router(routes.router)
    openapi.install(app)
    return app
