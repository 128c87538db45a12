"""The committed OpenAPI document matches the app (python -m certstats_query_api.openapi)."""

from __future__ import annotations

import json

from certstats_query_api.app import create_app
from certstats_query_api.openapi import OPENAPI_FILE, render
from certstats_query_api.settings import ApiSettings


def test_openapi_document_has_not_drifted() -> None:
    app = create_app(ApiSettings(database_url="postgresql://localhost/unused", jwt_secret="x" * 32))
    assert OPENAPI_FILE.read_text() == render(app), "run: python -m certstats_query_api.openapi"


def test_every_list_has_a_csv_twin_and_filters_are_documented() -> None:
    paths = json.loads(OPENAPI_FILE.read_text())["paths"]
    lists = [
        p for p in paths if p.startswith("/v1/") and p != "/v1/path-certificates/{certificate_id}"
    ]
    assert {p for p in lists if not p.endswith(".csv")} == {
        p[:-4] for p in lists if p.endswith(".csv")
    }
    names = {q["name"] for q in paths["/v1/path-certificates"]["get"]["parameters"]}
    assert {
        "registered_from",
        "registered_to",
        "group_id",
        "custom_field",
        "user_status",
        "as_of",
        "tz",
        "expiring_within_days",
        "q",
        "sort",
        "limit",
        "cursor",
    } <= names
