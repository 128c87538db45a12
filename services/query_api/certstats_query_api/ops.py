"""Operations endpoints and middleware (SPEC.md §5.6): health, readiness, Prometheus metrics
and the ``X-Data-As-Of`` header.

Metric labels are route templates, methods and status codes, never platform ids.
"""

from __future__ import annotations

import time

import asyncpg
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certstats_query_api.problems import WATERMARK_HEADER, ApiProblem

router = APIRouter(tags=["operations"])


class ApiMetrics:
    """The query API's Prometheus metrics, in their own registry (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "certstats_api_requests",
            "HTTP requests answered, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "certstats_api_request_seconds",
            "Time to answer a request (until the response starts), by route template.",
            ["route"],
            registry=self.registry,
        )


class ObservabilityMiddleware:
    """Counts and times requests; copies ``request.state.data_as_of`` (set by statistics
    handlers) into the ``X-Data-As-Of`` header of the response."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                watermark = state.get("data_as_of")
                if watermark is not None and WATERMARK_HEADER.lower().encode() not in dict(
                    message.get("headers", [])
                ):
                    message["headers"] = [
                        *message.get("headers", []),
                        (WATERMARK_HEADER.lower().encode(), watermark.encode()),
                    ]
                self._observe(scope, message["status"], started)
            await send(message)

        await self.app(scope, receive, send_with_header)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        self.metrics.requests.labels(route, scope["method"], str(status)).inc()
        self.metrics.seconds.labels(route).observe(time.perf_counter() - started)


@router.get("/healthz", summary="Liveness: the process answers.")
async def healthz() -> dict[str, str]:
    """Always ``{"status": "ok"}`` while the process runs."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the read-model database answers.")
async def readyz(request: Request) -> dict[str, str]:
    """``{"status": "ready"}`` when PostgreSQL answers; 503 problem otherwise."""
    pool: asyncpg.Pool = request.app.state.pool
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        raise ApiProblem(503, "Service unavailable", "database unreachable") from error
    return {"status": "ready"}


@router.get("/metrics", summary="Prometheus metrics.", response_class=Response)
async def metrics(request: Request) -> Response:
    """The text exposition of this app's metrics registry."""
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
