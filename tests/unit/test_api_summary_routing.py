"""Which SQL answers a list (docs/DECISIONS.md "Query API on the summaries"): the summary
queries only when the request is marked exact, the counters only for a platform admin without
user filters, and the normalized SQL for the history and the paths. Answers are checked on both
paths by the integration tests; this pins the choice that makes them fast."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from certstats_query_api.auth import Requester
from certstats_query_api.pages import parse_page
from certstats_query_api.params import parse_filters
from certstats_query_api.service import SQL_KIND, ListRequest
from certstats_query_api.sql.queries import LIST_SQL, SUMMARY_LIST_SQL

ADMIN = Requester("boss", "acme", platform_admin=True)
COACH = Requester("k", "acme", platform_admin=False)


def _request(kind: str, who: Requester, *, summary: bool, **query: str) -> ListRequest:
    filters = parse_filters(
        registered_from=query.get("registered_from"),
        registered_to=None,
        group_ids=[query["group_id"]] if "group_id" in query else [],
        query_items=[(k, v) for k, v in query.items() if k.startswith("custom_field")],
        user_status=query.get("user_status"),
        as_of=None,
        tz=None,
        default_tz="UTC",
        expiring_within_days=None,
        now=datetime(2026, 6, 1, tzinfo=UTC),
    )
    page = parse_page(SQL_KIND[kind], None, None, None)
    certificate = None if kind == "certificates" else "c1"
    user = "u1" if kind == "history" else None
    return ListRequest(kind, who, filters, page, certificate, user, summary=summary)


@pytest.mark.parametrize(
    ("kind", "who", "query", "summary_kind"),
    [
        ("certificates", ADMIN, {}, "certificate_counters"),
        ("certificates", ADMIN, {"user_status": "all"}, "certificate_counters"),
        ("certificates", ADMIN, {"group_id": "g1"}, "filtered_certificates"),
        ("certificates", ADMIN, {"custom_field[dept]": "ops"}, "filtered_certificates"),
        ("certificates", ADMIN, {"registered_from": "2026-01-01"}, "filtered_certificates"),
        ("certificates", COACH, {}, "certificates"),
        ("certificates", COACH, {"group_id": "g1"}, "filtered_certificates"),
        ("learners", ADMIN, {}, "learners"),
        ("learners", COACH, {"user_status": "all"}, "learners"),
        ("learners", ADMIN, {"registered_from": "2026-01-01"}, "filtered_learners"),
        ("certified_learners", COACH, {"group_id": "g1"}, "filtered_learners"),
        ("history", ADMIN, {}, None),
        ("paths", ADMIN, {}, None),
    ],
)
def test_exact_requests_read_the_summary_query_of_their_kind(
    kind: str, who: Requester, query: dict[str, str], summary_kind: str | None
) -> None:
    request = _request(kind, who, summary=True, **query)
    text, _ = request.sql()
    sort = request.page.sort
    if summary_kind is None:
        assert text == LIST_SQL[(SQL_KIND[kind], sort)]
    else:
        assert text == SUMMARY_LIST_SQL[(summary_kind, sort)]
    not_exact, _ = replace(request, summary=False).sql()
    assert not_exact == LIST_SQL[(SQL_KIND[kind], sort)]


@pytest.mark.parametrize("summary", [True, False])
def test_learner_csv_selects_the_cells_of_the_same_list(summary: bool) -> None:
    request = _request("learners", ADMIN, summary=summary)
    text, args = request.sql(everything=True, cells=True)
    page_text, page_args = request.sql(everything=True)
    rows_sql = page_text.split("\nSELECT rows.*")[0]
    assert text.startswith(rows_sql) and text != page_text and args == page_args


def test_learner_list_without_user_filters_reads_no_users() -> None:
    text, _ = _request("learners", ADMIN, summary=True).sql()
    filtered, _ = _request("learners", ADMIN, summary=True, group_id="g1").sql()
    assert "JOIN users" in filtered and "JOIN users" not in text.split("rows AS (")[1]
