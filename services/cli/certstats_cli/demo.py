"""The main job: OULAD -> Kafka -> projector -> PostgreSQL -> query API (SPEC.md section 7).

With ``CERTSTATS_DATABASE_URL`` and ``CERTSTATS_KAFKA_BOOTSTRAP_SERVERS`` set it uses them;
otherwise it starts an embedded PostgreSQL (data kept in ``<data dir>/pgdata`` for reuse) and a
memory-only Tansu broker. Tansu keeps nothing across restarts, so with the embedded broker
the demo database is recreated on every run: stored offsets must not outlive the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import uvicorn
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from starlette.types import ASGIApp

from certstats_cli import local_infra
from certstats_contracts.envelope import DEFAULT_TOPIC

DEMO_DATABASE = "certstats_demo"
DEMO_PARTITIONS = 4


@dataclass(frozen=True)
class Infrastructure:
    """Where the demo's data goes: a read-model database and a Kafka bootstrap list."""

    database_url: str
    bootstrap_servers: str
    embedded: bool


def repository_data_dir() -> Path:
    """``data/oulad`` of the checkout this package was installed from (editable install)."""
    return Path(__file__).resolve().parents[3] / "data" / "oulad"


@contextlib.contextmanager
def infrastructure(state_dir: Path) -> Iterator[Infrastructure]:
    """Configured URLs from the environment, else embedded PostgreSQL + Tansu in ``state_dir``.

    Every process started here is stopped when the context exits, also on Ctrl-C.
    """
    database_url = os.environ.get("CERTSTATS_DATABASE_URL")
    bootstrap = os.environ.get("CERTSTATS_KAFKA_BOOTSTRAP_SERVERS")
    if database_url and bootstrap:
        yield Infrastructure(database_url, bootstrap, embedded=False)
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    with local_infra.embedded_postgres_server(state_dir.resolve() / "pgdata") as admin_dsn:
        broker = local_infra.start_tansu(log_path=state_dir / "broker.log")
        try:
            demo_dsn = local_infra.with_database(admin_dsn, DEMO_DATABASE)
            yield Infrastructure(demo_dsn, broker.bootstrap_servers, embedded=True)
        finally:
            broker.stop()


async def reset_database(infra: Infrastructure) -> None:
    """Recreate the demo database when the broker is embedded (its offsets died with it)."""
    if not infra.embedded:
        return
    admin = await asyncpg.connect(local_infra.with_database(infra.database_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DEMO_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DEMO_DATABASE}"')
    finally:
        await admin.close()


async def ensure_topic(bootstrap_servers: str, topic: str = DEFAULT_TOPIC) -> None:
    """Create ``topic`` with the demo's partition count unless it exists."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(topic, DEMO_PARTITIONS, 1)])
    finally:
        await admin.close()


def demo_secret(state_dir: Path) -> str:
    """The HS256 secret of the demo: ``CERTSTATS_JWT_SECRET`` if set, else a random one kept in
    ``<state_dir>/jwt-secret`` (created on first use), so tokens survive demo restarts."""
    if configured := os.environ.get("CERTSTATS_JWT_SECRET"):
        return configured
    path = state_dir / "jwt-secret"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def require_free_port(port: int) -> None:
    """Fail before any work when the API's port is taken.

    Raises:
        RuntimeError: something listens on 127.0.0.1:``port``.
    """
    if local_infra.port_open("127.0.0.1", port):
        raise RuntimeError(f"port {port} is in use: choose another with --port")


@dataclass
class Serving:
    """A uvicorn server running in this event loop."""

    url: str
    task: asyncio.Task[None]

    async def until_stopped(self) -> None:
        """Wait until the server exits (uvicorn turns Ctrl-C/SIGTERM into a clean stop)."""
        await self.task


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, port: int) -> AsyncIterator[Serving]:
    """Serve an ASGI app with uvicorn on 127.0.0.1:``port`` in this event loop.

    Raises:
        RuntimeError: the server could not start (port taken).
    """
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise RuntimeError(f"the query API could not start on port {port}")
        await asyncio.sleep(0.05)
    try:
        yield Serving(f"http://127.0.0.1:{port}", task)
    finally:
        server.should_exit = True
        await task
