"""The requests of the query API benchmark (SPEC.md §5) and their targets.

Each :class:`Case` is both an HTTP request (:func:`request_url`) and the API's own
:class:`~certstats_query_api.service.ListRequest` (:func:`list_request`, for EXPLAIN), so the
benchmark explains exactly the SQL the API runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bench.query_data import PLATFORM
from certstats_query_api.auth import Requester
from certstats_query_api.pages import parse_page
from certstats_query_api.params import parse_filters
from certstats_query_api.service import ListRequest

__all__ = ["CASES", "PLATFORM", "Case", "list_request", "request_url"]

REQUESTER = Requester("bench-admin", PLATFORM, platform_admin=True)


@dataclass(frozen=True)
class Case:
    """One benchmarked request: list ``kind`` (``certificates``, ``learners``, ``history``),
    p95 target in ms, the certificate it is about and extra query parameters."""

    name: str
    kind: str
    target_ms: float
    certificate_id: str | None = None
    query: tuple[tuple[str, str], ...] = ()

    def group_ids(self) -> list[str]:
        """The ``group_id`` filter values."""
        return [value for key, value in self.query if key == "group_id"]

    def custom_fields(self) -> dict[str, str]:
        """The ``custom_field[<name>]`` filters as name -> value (one value per name here)."""
        prefix = "custom_field["
        return {k[len(prefix) : -1]: v for k, v in self.query if k.startswith(prefix)}


CASES = (
    Case("certificate list", "certificates", 150),
    Case(
        "group + custom field filter",
        "certificates",
        600,
        query=(
            ("group_id", "g-d3"),
            ("custom_field[Department]", "Sales"),
            ("custom_field[Gender]", "Female"),
        ),
    ),
    Case("learner table first page (c-0)", "learners", 100, "c-0"),
    Case("learner history (c-1)", "history", 20, "c-1"),
)


def request_url(case: Case, user_id: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Path and query parameters of ``case`` (``user_id``: the learner of a history)."""
    if case.kind == "certificates":
        return "/v1/path-certificates", case.query
    learners = f"/v1/path-certificates/{case.certificate_id}/learners"
    if case.kind == "learners":
        return learners, case.query
    return f"{learners}/{user_id}/history", case.query


def list_request(case: Case, user_id: str) -> ListRequest:
    """The API's list request for ``case``, as its routes build it (default page, now)."""
    filters = parse_filters(
        registered_from=None,
        registered_to=None,
        group_ids=case.group_ids(),
        query_items=case.query,
        user_status=None,
        as_of=None,
        tz=None,
        default_tz="UTC",
        expiring_within_days=None,
        now=datetime.now(UTC),
    )
    page = parse_page(case.kind, None, None, None)
    user = user_id if case.kind == "history" else None
    return ListRequest(case.kind, REQUESTER, filters, page, case.certificate_id, user)
