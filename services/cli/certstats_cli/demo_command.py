"""``certstats demo``: run the main job end to end and print the certificate list."""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from certstats_cli import demo
from certstats_contracts.envelope import DEFAULT_TOPIC
from certstats_importer import DEFAULT_SHIFT_YEARS, oulad_events, publish_events
from certstats_importer.timeline import SHIFT_YEARS
from certstats_projector import generations
from certstats_projector.app import project_until_caught_up
from certstats_projector.logs import configure_logging
from certstats_projector.progress import CatchUpProgress
from certstats_projector.settings import ProjectorSettings
from certstats_query_api.app import create_app
from certstats_query_api.auth import mint_token
from certstats_query_api.rows import CERTIFICATE_COUNTS
from certstats_query_api.settings import ApiSettings

_out = Console(width=None if Console().is_terminal else 160)
_err = Console(stderr=True)

DEMO_PLATFORM = "ou"
DEMO_ADMIN = "ou-demo-admin"


def demo_command(
    serve: Annotated[bool, typer.Option(help="Keep serving the API after printing.")] = True,
    as_of: Annotated[
        str | None, typer.Option(help="RFC 3339 instant of the statistics (default now).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the query API.")] = 8000,
    state_dir: Annotated[
        Path, typer.Option(help="Where embedded PostgreSQL and logs live.")
    ] = Path(".certstats"),
    data_dir: Annotated[Path | None, typer.Option(help="OULAD CSV folder.")] = None,
    shift_years: Annotated[
        int, typer.Option(min=SHIFT_YEARS[0], max=SHIFT_YEARS[1], help="Years added.")
    ] = DEFAULT_SHIFT_YEARS,
) -> None:
    """OULAD -> Kafka -> projector -> PostgreSQL -> query API; print the certificate list."""
    instant = as_of or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    source = data_dir or demo.repository_data_dir()
    try:
        demo.require_free_port(port)
    except RuntimeError as error:
        _err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    try:
        with demo.infrastructure(state_dir) as infra:
            secret = demo.demo_secret(state_dir)
            asyncio.run(_main(infra, source, shift_years, instant, port, serve, secret))
    except KeyboardInterrupt:
        _err.print("stopped")


async def _main(
    infra: demo.Infrastructure,
    source: Path,
    shift_years: int,
    as_of: str,
    port: int,
    serve: bool,
    secret: str,
) -> None:
    started = time.monotonic()
    configure_logging("WARNING")
    await demo.reset_database(infra)
    await demo.ensure_topic(infra.bootstrap_servers)
    conn = await asyncpg.connect(infra.database_url)
    try:
        await generations.migrate(conn)
    finally:
        await conn.close()
    _err.print(f"infrastructure ready in {time.monotonic() - started:.1f} s")
    events = list(oulad_events(source, shift_years))
    _err.print(f"{len(events):,} OULAD events built in {time.monotonic() - started:.1f} s")
    await _publish(events, infra.bootstrap_servers)
    settings = ProjectorSettings(
        database_url=infra.database_url,
        kafka_bootstrap_servers=infra.bootstrap_servers,
        http_port=None,
    )
    await _project(settings, len(events))
    api = create_app(ApiSettings(database_url=infra.database_url, jwt_secret=secret))
    token = mint_token(
        secret,
        sub=DEMO_ADMIN,
        platform_id=DEMO_PLATFORM,
        roles=["platform_admin"],
        ttl_seconds=12 * 3600,
        now=int(time.time()),
    )
    async with demo.serving(api, port) as server:
        base_url = server.url
        page = await _get(base_url, token, "/v1/path-certificates", as_of=as_of, limit=1000)
        _err.print(f"main job done in {time.monotonic() - started:.1f} s")
        _print_certificates(page)
        if not serve:
            return  # nothing answers the requests it would suggest
        if page["items"]:
            certificate = page["items"][0]["certificate_id"]
            path = f"/v1/path-certificates/{certificate}/learners"
            learners = await _get(base_url, token, path, as_of=as_of, limit=1)
            _print_curls(base_url, as_of, certificate, learners["items"][0]["user_id"])
        _out.print(f"export TOKEN={token}", soft_wrap=True)
        _out.print(
            "Tokens for other roles (e.g. the coach of the London region):\n"
            f"{_invoked_as()} token --secret {secret} --platform-id {DEMO_PLATFORM}"
            " --sub ou-coach-london-region",
            soft_wrap=True,
        )
        _err.print(f"serving {base_url}; Ctrl-C stops")
        await server.until_stopped()


async def _publish(events: list[dict[str, Any]], bootstrap_servers: str) -> None:
    with _progress() as progress:
        task = progress.add_task(f"publishing to {DEFAULT_TOPIC}", total=len(events))
        await publish_events(
            events, bootstrap_servers, on_progress=lambda n: progress.advance(task, n)
        )


async def _project(settings: ProjectorSettings, total: int) -> None:
    with _progress() as progress:
        task = progress.add_task("projecting", total=total)
        started = time.monotonic()

        def update(state: CatchUpProgress) -> None:
            rate = state.stored_total / max(time.monotonic() - started, 1e-6)
            progress.update(
                task, completed=state.stored_total, description=f"projecting {rate:,.0f} ev/s"
            )

        final = await project_until_caught_up(settings, update)
        update(final)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
    )


async def _get(base_url: str, token: str, path: str, **params: str | int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        response = await client.get(
            path, params=params, headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        page: dict[str, Any] = response.json()
        return page


def _print_certificates(page: dict[str, Any]) -> None:
    table = Table(title=f"Path certificates of platform '{DEMO_PLATFORM}' as of {page['as_of']}")
    table.add_column("Title")
    table.add_column("Owner group")
    for column in ("Months", "Certified", "Enrolled", "Paths", "Valid", "Expiring", "Expired"):
        table.add_column(column, justify="right")
    for row in page["items"]:
        owner = row["owner_group"]
        table.add_row(
            row["title"],
            owner["name"] if owner else "",
            "" if row["validity_months"] is None else str(row["validity_months"]),
            *(str(row[key]) for key in CERTIFICATE_COUNTS),
        )
    _out.print(table)
    _out.print(f"data as of {page['data_as_of']}")


def _print_curls(base_url: str, as_of: str, certificate: str, learner: str) -> None:
    """Ready-to-paste requests for every view and its CSV twin (SPEC.md section 5)."""
    views = [
        "/v1/path-certificates",
        f"/v1/path-certificates/{certificate}",
        f"/v1/path-certificates/{certificate}/paths",
        f"/v1/path-certificates/{certificate}/certified-learners",
        f"/v1/path-certificates/{certificate}/learners",
        f"/v1/path-certificates/{certificate}/learners/{learner}/history",
    ]
    _out.print("\nTry the API (set TOKEN as printed below; platform admin of 'ou', valid 12 h):")
    for view in views:
        suffixes = ("",) if view.endswith(certificate) else ("", ".csv")
        for suffix in suffixes:
            _out.print(
                f'curl -sS -H "Authorization: Bearer $TOKEN" \'{base_url}{view}{suffix}'
                f"?as_of={as_of}'",
                soft_wrap=True,
            )


def _invoked_as() -> str:
    """The command this CLI was started with (``.venv/bin/certstats`` when typed so), for
    commands to copy and paste from the same directory; plain ``certstats`` otherwise."""
    command = sys.argv[0]
    return shlex.quote(command) if Path(command).name == "certstats" else "certstats"
