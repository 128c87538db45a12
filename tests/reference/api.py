"""The query API seen through the reference model's interface (SPEC.md 5), for comparisons.

:class:`ApiAsker` turns a :class:`Query` and a request ``(method, args)`` into HTTP calls,
follows ``next_cursor`` pages of ``page_size`` rows, checks the CSV twin of every list holds the
same rows (SPEC.md 5.4), and answers like :func:`tests.reference.compare.model_answer`.
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx

from certstats_query_api.auth import mint_token
from tests.reference.compare import Answer, Request, normalize
from tests.reference.csv_rows import csv_row
from tests.reference.model import Query

_PATHS = {
    "certificate_list": "/v1/path-certificates",
    "certificate": "/v1/path-certificates/{0}",
    "certificate_paths": "/v1/path-certificates/{0}/paths",
    "certified_learners": "/v1/path-certificates/{0}/certified-learners",
    "learners": "/v1/path-certificates/{0}/learners",
    "history": "/v1/path-certificates/{0}/learners/{1}/history",
}
_SEARCHABLE = ("certificate_list", "certified_learners", "learners")


def query_params(query: Query, name: str) -> list[tuple[str, str]]:
    """The query string of ``query`` for request ``name`` (SPEC.md 5 common parameters)."""
    params = [
        ("as_of", query.as_of.isoformat()),
        ("tz", query.tz),
        ("user_status", query.user_status),
        ("expiring_within_days", str(query.expiring_within_days)),
        *(("group_id", g) for g in query.group_ids),
        *((f"custom_field[{k}]", v) for k, vs in query.custom_fields.items() for v in vs),
    ]
    for key, day in (
        ("registered_from", query.registered_from),
        ("registered_to", query.registered_to),
    ):
        if day is not None:
            params.append((key, day.isoformat()))
    if query.q is not None and name in _SEARCHABLE:
        params.append(("q", query.q))
    return params


class ApiAsker:
    """Answers requests through an ASGI/HTTP client of the query API."""

    def __init__(self, client: httpx.AsyncClient, secret: str, page_size: int = 1000) -> None:
        self.client, self.secret, self.page_size = client, secret, page_size
        self.served: dict[Request, list[dict[str, Any]]] = {}
        """Rows of each list last answered, in the order the API served them."""

    def _headers(self, query: Query) -> dict[str, str]:
        roles = ["platform_admin"] if query.platform_admin else []
        token = mint_token(
            self.secret, sub=query.requester_id, platform_id=query.platform_id, roles=roles,
            ttl_seconds=600, now=int(time.time()),
        )  # fmt: skip
        return {"Authorization": f"Bearer {token}"}

    async def _get(self, url: str, query: Query, params: list[tuple[str, str]]) -> httpx.Response:
        response = await self.client.get(url, params=tuple(params), headers=self._headers(query))
        if response.status_code not in (200, 403, 404):
            raise AssertionError(f"GET {url} {params}: {response.status_code} {response.text}")
        return response

    async def answer(self, query: Query, request: Request) -> Answer:
        """The API's normalized answer to ``request`` (``"forbidden"`` / ``"not_found"``)."""
        name, args = request
        url, params = _PATHS[name].format(*args), query_params(query, name)
        if name == "certificate":
            response = await self._get(url, query, params)
            return _error(response) or _without_meta(response.json())
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = [
                *params,
                ("limit", str(self.page_size)),
                *([("cursor", cursor)] if cursor else []),
            ]
            response = await self._get(url, query, page)
            if error := _error(response):
                return error
            rows += response.json()["items"]
            if (cursor := response.json()["next_cursor"]) is None:
                break
        await self._check_csv(url, query, params, name, rows)
        self.served[request] = rows
        return normalize(rows)

    async def _check_csv(
        self, url: str, query: Query, params: list[tuple[str, str]], name: str, rows: list[Any]
    ) -> None:
        """SPEC.md 5.4: the CSV twin holds the same rows as the JSON list."""
        response = await self._get(f"{url}.csv", query, params)
        assert response.status_code == 200, response.text
        table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        want = sorted(csv_row(name, row) for row in rows)
        assert sorted(table[1:]) == want, f"CSV of {url} {params} differs from JSON"


def _error(response: httpx.Response) -> str | None:
    return {403: "forbidden", 404: "not_found"}.get(response.status_code)


def _without_meta(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("as_of", "data_as_of")}
