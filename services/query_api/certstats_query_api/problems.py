"""Errors of the query API and their RFC 9457 ``application/problem+json`` form (SPEC.md §5.6).

Handlers raise :class:`ApiProblem`; :func:`install_problem_handlers` maps it, request
validation errors, unknown routes and unexpected exceptions to problem documents. A stack
trace never reaches the client; unexpected errors are logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
WATERMARK_HEADER = "X-Data-As-Of"

_log = logging.getLogger(__name__)


class ApiProblem(Exception):
    """An error answered as a problem document: ``status``, ``title``, ``detail`` and, for a bad
    query parameter, ``invalid-params: [{"name", "reason"}]``."""

    def __init__(
        self, status: int, title: str, detail: str, *, parameter: tuple[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.parameter = parameter


def bad_parameter(name: str, reason: str) -> ApiProblem:
    """A 400 naming the query parameter ``name`` and why it is wrong."""
    return ApiProblem(400, "Bad request parameter", f"{name}: {reason}", parameter=(name, reason))


def unauthorized(reason: str) -> ApiProblem:
    """A 401: missing, malformed, badly signed or expired bearer token (SPEC.md §4)."""
    return ApiProblem(401, "Unauthorized", reason)


FORBIDDEN = ApiProblem(403, "Forbidden", "the requester holds no role giving statistics access")
NOT_FOUND = ApiProblem(404, "Not found", "no such certificate or learner in your scope")


def problem_response(request: Request, problem: ApiProblem) -> JSONResponse:
    """The problem document of ``problem``; carries the watermark header when known."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
    }
    if problem.parameter is not None:
        name, reason = problem.parameter
        body["invalid-params"] = [{"name": name, "reason": reason}]
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else {}
    watermark = getattr(request.state, "data_as_of", None)
    if watermark is not None:
        headers[WATERMARK_HEADER] = watermark
    return JSONResponse(body, problem.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


WatermarkOf = Callable[[Request], Awaitable[None]]
"""Publishes ``request.state.data_as_of`` for a problem answered before any read (or leaves it
unset when it cannot): :func:`certstats_query_api.responses.publish_watermark`."""


def install_problem_handlers(app: FastAPI, watermark_of: WatermarkOf) -> None:
    """Register the problem+json exception handlers on ``app``. A 400 answered after
    authentication but before the request read anything (a bad parameter) first gets the
    watermark from ``watermark_of``, for its ``X-Data-As-Of`` header (SPEC.md §5.6)."""

    async def answer(request: Request, problem: ApiProblem) -> JSONResponse:
        if problem.status == 400:
            await watermark_of(request)
        return problem_response(request, problem)

    async def on_problem(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiProblem)
        return await answer(request, error)

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {}
        name = str(first.get("loc", ("request",))[-1])
        return await answer(request, bad_parameter(name, str(first.get("msg", "invalid"))))

    app.add_exception_handler(ApiProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)


async def _on_http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return problem_response(request, ApiProblem(error.status_code, "HTTP error", str(error.detail)))


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    _log.exception("unexpected error on %s", request.url.path, exc_info=error)
    return problem_response(request, ApiProblem(500, "Internal error", "unexpected error"))
