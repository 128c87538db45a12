"""``certstats api`` (serve the query API) and ``certstats token`` (mint a development JWT).

Settings come from ``CERTSTATS_*`` environment variables (see ``ApiSettings``).
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
import uvicorn

from certstats_query_api.app import create_app
from certstats_query_api.auth import PLATFORM_ADMIN, mint_token
from certstats_query_api.settings import MIN_SECRET_BYTES, ApiSettings


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
) -> None:
    """Serve the query API (SPEC.md §5) with uvicorn until interrupted."""
    settings = ApiSettings()  # fields come from the CERTSTATS_* environment
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def token(
    sub: Annotated[str, typer.Option(help="The requester's user id (claim sub).")],
    platform_id: Annotated[str, typer.Option(help="The platform (claim platform_id).")],
    secret: Annotated[
        str, typer.Option(envvar="CERTSTATS_JWT_SECRET", help="HS256 secret (>= 32 bytes).")
    ],
    platform_admin: Annotated[bool, typer.Option(help="Add the platform_admin role.")] = False,
    ttl: Annotated[int, typer.Option(min=1, help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a development bearer token signed with the API's HS256 secret."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise typer.BadParameter(
            f"must be at least {MIN_SECRET_BYTES} bytes: the API refuses shorter secrets",
            param_hint="--secret",
        )
    roles = [PLATFORM_ADMIN] if platform_admin else []
    typer.echo(
        mint_token(
            secret,
            sub=sub,
            platform_id=platform_id,
            roles=roles,
            ttl_seconds=ttl,
            now=int(time.time()),
        )
    )
