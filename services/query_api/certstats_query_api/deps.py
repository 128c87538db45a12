"""FastAPI dependencies: the requester and the common query parameters (SPEC.md §4, §5).

Parameters are declared as strings (so they appear in OpenAPI) and parsed by
:mod:`certstats_query_api.params`, whose errors name the bad parameter. The dependencies are
coroutines although they never wait: FastAPI runs plain functions in its thread pool, and four
hops there and back per request cost more CPU (and GIL hand-offs) than the parsing itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, get_args, get_origin

from fastapi import Depends, Header, Query, Request
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from certstats_query_api.auth import Requester, TokenVerifier
from certstats_query_api.pages import Page, parse_page
from certstats_query_api.params import Filters, parse_filters
from certstats_query_api.problems import bad_parameter


async def requester(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Requester:
    """The authenticated requester (401 problem otherwise), also kept in ``request.state`` for
    the watermark header of a later 400
    (:func:`~certstats_query_api.responses.publish_watermark`)."""
    verifier: TokenVerifier = request.app.state.verifier
    who = verifier.requester(authorization)
    request.state.requester = who
    return who


async def filters(
    request: Request,
    registered_from: Annotated[str | None, Query(description="YYYY-MM-DD, in tz")] = None,
    registered_to: Annotated[str | None, Query(description="YYYY-MM-DD, in tz, inclusive")] = None,
    group_id: Annotated[list[str] | None, Query(description="Repeatable; subgroups too")] = None,
    user_status: Annotated[str | None, Query(description="active (default), deleted, all")] = None,
    as_of: Annotated[str | None, Query(description="RFC 3339 instant; default now")] = None,
    tz: Annotated[str | None, Query(description="IANA time zone of dates")] = None,
    expiring_within_days: Annotated[str | None, Query(description="Default 30")] = None,
) -> Filters:
    """The user filters; ``custom_field[<name>]=<value>`` pairs are read from the raw query."""
    return parse_filters(
        registered_from=registered_from,
        registered_to=registered_to,
        group_ids=group_id or [],
        query_items=request.query_params.multi_items(),
        user_status=user_status,
        as_of=as_of,
        tz=tz,
        default_tz=request.app.state.settings.tz,
        expiring_within_days=expiring_within_days,
        now=datetime.now(UTC),
    )


def page_of(kind: str) -> Callable[..., Awaitable[Page]]:
    """A dependency parsing ``sort``, ``limit`` and ``cursor`` of list ``kind``."""

    async def page(
        sort: Annotated[str | None, Query(description="Sort key; prefix - for desc")] = None,
        limit: Annotated[str | None, Query(description="1-1000, default 50")] = None,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    ) -> Page:
        return parse_page(kind, sort, limit, cursor)

    return page


RequesterDep = Annotated[Requester, Depends(requester)]
FiltersDep = Annotated[Filters, Depends(filters)]
SearchDep = Annotated[
    str | None, Query(description="Search: title, or learner name/email", max_length=200)
]
BomDep = Annotated[bool, Query(description="false omits the UTF-8 BOM")]


async def no_nul_characters(request: Request, _: RequesterDep) -> None:
    """Reject a NUL character in any path or query parameter (name or value) of a statistics
    request, after authentication: no id, name or text can hold one and PostgreSQL cannot
    store one (SPEC.md §5.6).

    Raises:
        ApiProblem: 400 naming the parameter (a NUL in a name is shown as ``\\u0000``).
    """
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if "\x00" in name or "\x00" in str(value):
            shown = name.replace("\x00", "\\u0000")
            raise bad_parameter(shown, "must not contain a NUL character")


async def no_encoded_slash(request: Request, _: RequesterDep) -> None:
    """Reject an encoded ``/`` (``%2F``) in the path, after authentication: the path is
    decoded before it is routed, so ``/v1/path-certificates/c1%2Flearners`` would answer the
    learner list of ``c1`` where the client asked for the certificate ``c1/learners``
    (an id with a ``/`` cannot be addressed; docs/DECISIONS.md "Parameter bounds").

    Raises:
        ApiProblem: 400 naming the path.
    """
    if b"%2f" in request.scope.get("raw_path", b"").lower():
        raise bad_parameter("path", "an id cannot contain an encoded '/' (%2F)")


async def known_parameters(request: Request, _: RequesterDep) -> None:
    """Reject a query parameter the endpoint does not take, or a single-value parameter given
    twice with different values, after authentication: a misspelt filter (``grup_id=``) would
    otherwise answer unfiltered statistics with 200, and of ``user_status=deleted&user_status=
    active`` only the last would count (docs/DECISIONS.md "Parameter bounds"). Repeatable:
    ``group_id`` and the ``custom_field[<name>]`` filters (checked by
    :func:`~certstats_query_api.params.parse_custom_fields`).

    Raises:
        ApiProblem: 400 naming the first such parameter (its first 100 characters).
    """
    route: APIRoute = request.scope["route"]
    declared = _query_fields(route.dependant)
    query = request.query_params
    for name in dict.fromkeys(query):
        if name.startswith("custom_field"):
            continue
        field = declared.get(name)
        if field is None:
            taken = ", ".join([*sorted(declared), "custom_field[<name>]"])
            raise bad_parameter(_shown(name), f"unknown parameter; this endpoint takes {taken}")
        if not _repeatable(field) and len(set(query.getlist(name))) > 1:
            raise bad_parameter(name, "given twice with different values; it takes one")


def _query_fields(dependant: Dependant) -> dict[str, ModelField]:
    """The query parameters ``dependant`` and its dependencies declare, by name (alias)."""
    fields = {field.alias: field for field in dependant.query_params}
    for sub in dependant.dependencies:
        fields |= _query_fields(sub)
    return fields


def _repeatable(field: ModelField) -> bool:
    """Whether the parameter is declared as a list (``list[str] | None``)."""
    annotation = field.field_info.annotation
    return any(get_origin(a) is list for a in (annotation, *get_args(annotation)))


def _shown(name: str) -> str:
    """A parameter name as a 400 names it: its first 100 characters, or ``(empty)``."""
    return name[:100] or "(empty)"
