"""Statistics endpoints (SPEC.md §5): JSON pages and their streamed CSV twins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from certstats_query_api.deps import (
    BomDep,
    FiltersDep,
    RequesterDep,
    SearchDep,
    known_parameters,
    no_encoded_slash,
    no_nul_characters,
    page_of,
)
from certstats_query_api.models import (
    CertificateDetail,
    CertificatePage,
    HistoryPage,
    LearnerPage,
    PathPage,
    Problem,
)
from certstats_query_api.pages import Page
from certstats_query_api.problems import NOT_FOUND, PROBLEM_MEDIA_TYPE
from certstats_query_api.responses import csv_export, json_page
from certstats_query_api.service import ListRequest

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}} for code in (400, 401, 403, 404)
}
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV (SPEC.md §5.5)"}
}
router = APIRouter(
    prefix="/v1/path-certificates",
    tags=["statistics"],
    responses=_ERRORS,
    dependencies=[
        Depends(no_nul_characters),
        Depends(no_encoded_slash),
        Depends(known_parameters),
    ],
)

CertificatesPage = Annotated[Page, Depends(page_of("certificates"))]
LearnersPage = Annotated[Page, Depends(page_of("learners"))]
PathsPage = Annotated[Page, Depends(page_of("paths"))]
HistoryPageDep = Annotated[Page, Depends(page_of("history"))]


@router.get("", response_model=CertificatePage, summary="Certificate list (SPEC.md §5.1)")
async def list_certificates(
    request: Request, who: RequesterDep, f: FiltersDep, page: CertificatesPage, q: SearchDep = None
) -> dict[str, Any]:
    """Certificates in the requester's scope with their counts (SPEC.md §5.1). 400 bad parameter,
    401, 403.
    """
    return await json_page(request, ListRequest("certificates", who, f, page, q=q or None))


@router.get(
    ".csv", response_class=StreamingResponse, responses=_CSV, summary="Certificate list CSV"
)
async def export_certificates(
    request: Request,
    who: RequesterDep,
    f: FiltersDep,
    page: CertificatesPage,
    q: SearchDep = None,
    bom: BomDep = True,
) -> StreamingResponse:
    """The certificate list as a streamed CSV (SPEC.md §5.1, §5.5). 400 bad parameter, 401, 403."""
    list_request = ListRequest("certificates", who, f, page, q=q or None)
    return await csv_export(
        request, list_request, bom, "path-certificates", f.as_of.date().isoformat()
    )


@router.get("/{certificate_id}", response_model=CertificateDetail, summary="One certificate row")
async def get_certificate(
    request: Request, certificate_id: str, who: RequesterDep, f: FiltersDep
) -> dict[str, Any]:
    """One certificate's row under the filters (SPEC.md §5.1). 404 when deleted, unknown or outside
    scope.
    """
    page = Page("title", 1, None)
    found = await json_page(request, ListRequest("certificates", who, f, page, certificate_id))
    if not found["items"]:
        raise NOT_FOUND
    return {**found["items"][0], "as_of": found["as_of"], "data_as_of": found["data_as_of"]}


@router.get("/{certificate_id}/paths", response_model=PathPage, summary="Associated paths")
async def list_paths(
    request: Request, certificate_id: str, who: RequesterDep, f: FiltersDep, page: PathsPage
) -> dict[str, Any]:
    """Associated paths of the certificate (SPEC.md §5.1). 404 outside scope."""
    return await json_page(request, ListRequest("paths", who, f, page, certificate_id))


@router.get("/{certificate_id}/paths.csv", response_class=StreamingResponse, responses=_CSV)
async def export_paths(
    request: Request,
    certificate_id: str,
    who: RequesterDep,
    f: FiltersDep,
    page: PathsPage,
    bom: BomDep = True,
) -> StreamingResponse:
    """Associated paths as a streamed CSV (SPEC.md §5.5). 404 outside scope."""
    list_request = ListRequest("paths", who, f, page, certificate_id)
    return await csv_export(request, list_request, bom, "certificate", certificate_id, "paths")


@router.get(
    "/{certificate_id}/certified-learners", response_model=LearnerPage, summary="Certified learners"
)
async def list_certified_learners(
    request: Request,
    certificate_id: str,
    who: RequesterDep,
    f: FiltersDep,
    page: LearnersPage,
    q: SearchDep = None,
) -> dict[str, Any]:
    """Learners counted in "certified learners" (SPEC.md §5.1), learner rows of §5.2. 404 outside
    scope.
    """
    list_request = ListRequest("certified_learners", who, f, page, certificate_id, q=q or None)
    return await json_page(request, list_request)


@router.get(
    "/{certificate_id}/certified-learners.csv", response_class=StreamingResponse, responses=_CSV
)
async def export_certified_learners(
    request: Request,
    certificate_id: str,
    who: RequesterDep,
    f: FiltersDep,
    page: LearnersPage,
    q: SearchDep = None,
    bom: BomDep = True,
) -> StreamingResponse:
    """Certified learners as a streamed CSV (SPEC.md §5.5). 404 outside scope."""
    list_request = ListRequest("certified_learners", who, f, page, certificate_id, q=q or None)
    name = ("certificate", certificate_id, "certified-learners")
    return await csv_export(request, list_request, bom, *name)


@router.get("/{certificate_id}/learners", response_model=LearnerPage, summary="Learners (5.2)")
async def list_learners(
    request: Request,
    certificate_id: str,
    who: RequesterDep,
    f: FiltersDep,
    page: LearnersPage,
    q: SearchDep = None,
) -> dict[str, Any]:
    """One row per linked learner with the latest status (SPEC.md §5.2). 404 outside scope."""
    list_request = ListRequest("learners", who, f, page, certificate_id, q=q or None)
    return await json_page(request, list_request)


@router.get("/{certificate_id}/learners.csv", response_class=StreamingResponse, responses=_CSV)
async def export_learners(
    request: Request,
    certificate_id: str,
    who: RequesterDep,
    f: FiltersDep,
    page: LearnersPage,
    q: SearchDep = None,
    bom: BomDep = True,
) -> StreamingResponse:
    """The learner table as a streamed CSV (SPEC.md §5.2, §5.5). 404 outside scope."""
    list_request = ListRequest("learners", who, f, page, certificate_id, q=q or None)
    return await csv_export(request, list_request, bom, "certificate", certificate_id, "learners")


@router.get(
    "/{certificate_id}/learners/{user_id}/history", response_model=HistoryPage, summary="History"
)
async def list_history(
    request: Request,
    certificate_id: str,
    user_id: str,
    who: RequesterDep,
    f: FiltersDep,
    page: HistoryPageDep,
) -> dict[str, Any]:
    """A learner's enrollments and grants for the certificate, newest first (SPEC.md §5.3). 404
    unless the learner is in scope and linked.
    """
    list_request = ListRequest("history", who, f, page, certificate_id, user_id)
    return await json_page(request, list_request)


@router.get(
    "/{certificate_id}/learners/{user_id}/history.csv",
    response_class=StreamingResponse,
    responses=_CSV,
)
async def export_history(
    request: Request,
    certificate_id: str,
    user_id: str,
    who: RequesterDep,
    f: FiltersDep,
    page: HistoryPageDep,
    bom: BomDep = True,
) -> StreamingResponse:
    """A learner's history as a streamed CSV (SPEC.md §5.3, §5.5); 404 unless linked."""
    list_request = ListRequest("history", who, f, page, certificate_id, user_id)
    name = ("certificate", certificate_id, "learner", user_id, "history")
    return await csv_export(request, list_request, bom, *name)
