"""``certstats projector`` (run the projector) and ``certstats migrate`` (SPEC.md §1, §6).

Settings come from ``CERTSTATS_*`` environment variables (see ``ProjectorSettings``); the
options here override the most common ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console

from certstats_projector import generations
from certstats_projector.app import project_until_caught_up, run_projector
from certstats_projector.logs import configure_logging
from certstats_projector.progress import CatchUpProgress
from certstats_projector.settings import ProjectorSettings

_stderr = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None, typer.Option(envvar="CERTSTATS_DATABASE_URL", help="PostgreSQL DSN.")
]
Bootstrap = Annotated[
    str | None,
    typer.Option(
        envvar=["CERTSTATS_KAFKA_BOOTSTRAP_SERVERS", "CERTSTATS_KAFKA_BOOTSTRAP"],
        help="Kafka bootstrap servers.",
    ),
]
"""The ``--bootstrap-servers`` of the commands that reach Kafka: the settings' variable (README
"Configuration") or the importer's older name."""


def projector(
    database_url: DatabaseUrl = None,
    bootstrap_servers: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers (else from the environment).")
    ] = None,
    topic: Annotated[list[str] | None, typer.Option(help="Topic to project (repeatable).")] = None,
    http_port: Annotated[
        int | None, typer.Option(help="Port of /healthz, /readyz, /metrics.")
    ] = None,
    until_caught_up: Annotated[
        bool, typer.Option(help="Stop once every partition is caught up (demo, rebuild).")
    ] = False,
) -> None:
    """Run the projector: Kafka events -> PostgreSQL read models, until SIGTERM/SIGINT."""
    overrides: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap_servers,
        "topics": topic or None,
        "http_port": http_port,
    }
    settings = _settings({k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level)
    if until_caught_up:
        final = asyncio.run(project_until_caught_up(settings, _print_progress()))
        _stderr.print(f"caught up: {final.stored_total} offsets stored")
    else:
        asyncio.run(run_projector(settings))


def migrate(database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the read-model schema; prints the current generation's schema."""
    if database_url is None:
        _fail("set --database-url or CERTSTATS_DATABASE_URL")
    try:
        typer.echo(asyncio.run(_migrate(database_url)))
    except (asyncpg.PostgresError, OSError) as exc:
        _fail(f"migration failed: {exc!r}")


async def _migrate(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return await generations.migrate(conn)
    finally:
        await conn.close()


def _settings(overrides: dict[str, Any]) -> ProjectorSettings:
    try:
        return ProjectorSettings(**overrides)
    except ValidationError as exc:
        _fail(f"bad projector settings: {exc}")


def _print_progress() -> Callable[[CatchUpProgress], None]:
    """A progress printer that prints only when the lag or the pending partitions changed."""
    last: list[int] = []

    def show(progress: CatchUpProgress) -> None:
        if last != [progress.total_lag, progress.unknown]:
            last[:] = [progress.total_lag, progress.unknown]
            waiting = f", {progress.unknown} partitions not fetched yet" if progress.unknown else ""
            _stderr.print(f"lag {progress.total_lag:,} messages{waiting}")

    return show


def _fail(message: str) -> NoReturn:
    _stderr.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)
