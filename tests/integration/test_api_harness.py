"""Harness of the query API tests: a real PostgreSQL generation filled through the projector's
``apply_batch``, and the app served in-process over ASGI (no mocks). Holds no tests itself."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from certstats_contracts.envelope import DomainEvent
from certstats_projector.generations import migrate
from certstats_projector.projection import apply_batch
from certstats_query_api.app import create_app
from certstats_query_api.auth import mint_token
from certstats_query_api.settings import ApiSettings
from tests.reference.builders import as_consumed, event

SECRET = "test-secret-of-at-least-32-bytes!!"
AS_OF = "2026-06-01T00:00:00Z"
TOKEN_TTL_S = 24 * 3600
"""Lifetime of the test tokens: module-level tokens are minted at collection, and the whole
suite can outlast ten minutes on a loaded machine (tokens then expired mid-run: 401s)."""


def token(sub: str = "admin", platform_id: str = "acme", roles: Sequence[str] = ()) -> str:
    """A valid HS256 bearer token."""
    return mint_token(
        SECRET,
        sub=sub,
        platform_id=platform_id,
        roles=list(roles),
        ttl_seconds=TOKEN_TTL_S,
        now=int(time.time()),
    )


ADMIN = token(roles=["platform_admin"])


@dataclass
class Api:
    """The app under test plus a connection to load events with."""

    client: httpx.AsyncClient
    conn: asyncpg.Connection
    schema: str

    async def load(self, events: Sequence[DomainEvent]) -> None:
        """Project ``events`` (consumption order) into the current generation."""
        await apply_batch(self.conn, self.schema, as_consumed(events), {})

    async def get(self, path: str, bearer: str | None = ADMIN, **params: Any) -> httpx.Response:
        """GET ``path``; ``as_of`` defaults to :data:`AS_OF`; list values repeat the key."""
        params.setdefault("as_of", AS_OF)
        headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
        return await self.client.get(path, params=params, headers=headers)

    async def items(self, path: str, bearer: str | None = ADMIN, **params: Any) -> list[Any]:
        """Every item of a JSON list, following ``next_cursor``."""
        found: list[Any] = []
        cursor: str | None = None
        while True:
            extra = {"cursor": cursor} if cursor else {}
            response = await self.get(path, bearer, **params, **extra)
            assert response.status_code == 200, response.text
            body = response.json()
            found += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                return found


@asynccontextmanager
async def serve(database_url: str, *, summaries: bool) -> AsyncIterator[Api]:
    """A migrated fresh database and the query API app reading it (``summaries``: the
    setting of the same name)."""
    conn = await asyncpg.connect(database_url)
    schema = await migrate(conn)
    settings = ApiSettings(
        database_url=database_url,
        jwt_secret=SECRET,
        pool_min_size=1,
        pool_max_size=4,
        summaries=summaries,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                yield Api(client, conn, schema)
    finally:
        await conn.close()


@pytest.fixture
async def api(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    """:func:`serve` as deployed (the summary read models answer whenever they are exact at
    the request's ``as_of``), or with ``summaries`` off when parametrized indirectly with
    False (see :func:`on_both_paths`)."""
    async with serve(database_url, summaries=getattr(request, "param", True)) as served:
        yield served


def on_both_paths(metafunc: pytest.Metafunc) -> None:
    """``pytest_generate_tests`` of the API test modules: every test using ``api`` runs as
    deployed (the tests' data is summarized at :data:`AS_OF`, so the summaries answer) and
    with the summaries off (every answer from the normalized tables): both paths must hold."""
    if "api" in metafunc.fixturenames:
        metafunc.parametrize("api", [True, False], ids=["summaries", "normalized"], indirect=True)


# --- terse events (contract v1); times default to T0 ----------------------------------------

T0 = "2026-01-01T00:00:00Z"


def certificate(
    cid: str,
    title: str = "Cert",
    *,
    owner: str | None = None,
    months: int | None = 12,
    p: str = "acme",
) -> DomainEvent:
    return event(
        "certificate.created",
        T0,
        p,
        certificate_id=cid,
        title=title,
        owner_group_id=owner,
        validity_months=months,
    )


def path(
    pid: str, cid: str | None, name: str = "Path", *, authors: Sequence[str] = (), p: str = "acme"
) -> DomainEvent:
    return event(
        "path.created", T0, p, path_id=pid, name=name, certificate_id=cid, author_ids=list(authors)
    )


def session(
    sid: str,
    pid: str,
    *,
    starts: str = T0,
    name: str | None = None,
    instructors: Sequence[str] = (),
    p: str = "acme",
) -> DomainEvent:
    return event(
        "path_session.created",
        T0,
        p,
        session_id=sid,
        path_id=pid,
        name=name or sid,
        starts_at=starts,
        ends_at=None,
        instructor_ids=list(instructors),
        automatic_reenrollment=False,
    )


def user(
    uid: str,
    first: str = "Ann",
    last: str = "Lee",
    *,
    email: str | None = None,
    registered: str = T0,
    fields: dict[str, str] | None = None,
    groups: Sequence[str] = (),
    p: str = "acme",
) -> DomainEvent:
    return event(
        "user.registered",
        T0,
        p,
        user_id=uid,
        first_name=first,
        last_name=last,
        email=email or f"{uid}@example.com",
        registered_at=registered,
        custom_fields=fields or {},
        group_ids=list(groups),
    )


def group(gid: str, parent: str | None = None, *, p: str = "acme") -> DomainEvent:
    return event("group.created", T0, p, group_id=gid, name=gid.upper(), parent_group_id=parent)


def enroll(
    eid: str, uid: str, sid: str, *, at: str = T0, auto: bool = False, p: str = "acme"
) -> DomainEvent:
    return event(
        "enrollment.created",
        T0,
        p,
        enrollment_id=eid,
        user_id=uid,
        session_id=sid,
        enrolled_at=at,
        method="assigned",
        automatic_reenrollment=auto,
        previous_enrollment_id=None,
    )


def grant(
    gid: str,
    cid: str,
    uid: str,
    delivered: str,
    expires: str | None,
    *,
    eid: str | None = None,
    sid: str | None = None,
    p: str = "acme",
) -> DomainEvent:
    return event(
        "certificate.granted",
        T0,
        p,
        grant_id=gid,
        certificate_id=cid,
        user_id=uid,
        enrollment_id=eid,
        session_id=sid,
        delivered_at=delivered,
        expires_at=expires,
    )


def role(gid: str, uid: str, kind: str = "coach", *, p: str = "acme") -> DomainEvent:
    return event("group.role_granted", T0, p, group_id=gid, user_id=uid, role=kind)


def catalog(cid: str = "c1", *, p: str = "acme", **cert: Any) -> list[DomainEvent]:
    """Certificate ``cid`` granted by path ``<cid>-p`` through session ``<cid>-s``."""
    return [
        certificate(cid, p=p, **cert),
        path(f"{cid}-p", cid, p=p),
        session(f"{cid}-s", f"{cid}-p", p=p),
    ]
