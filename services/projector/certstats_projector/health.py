"""The projector's ops endpoints: ``/healthz``, ``/readyz``, ``/metrics`` (SPEC.md §5.6, §6).

A small Starlette app served in-process by uvicorn beside the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
"""Returns named checks (e.g. ``{"database": True, "consumer": False}``); ready = all true."""


def build_ops_app(registry: CollectorRegistry, readiness: ReadinessCheck) -> Starlette:
    """The ASGI app: ``/healthz`` always 200 while the process serves; ``/readyz`` 200 when
    every readiness check passes, else 503 with the checks; ``/metrics`` in Prometheus text."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = await readiness()
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not_ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
    ]
    return Starlette(routes=routes)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal capture: the projector's runner owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class OpsServer:
    """Runs the ops app with uvicorn in a background task of the current event loop."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off")
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start serving; returns once the socket listens.

        Raises:
            RuntimeError: uvicorn could not start (e.g. the port is taken).
        """
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                raise RuntimeError("the ops HTTP server failed to start")
            await asyncio.sleep(0.02)

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        server = self._server.servers[0]
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        """Stop serving and wait for the server task."""
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
