"""Hostile input never gets a 500 nor a cut CSV: NUL characters, forged cursors, non-ASCII
digits, server-dependent time zones and mistyped token claims are 400/401 problems naming
what is wrong, answered before any byte of a CSV (SPEC.md §4, §5.5, §5.6)."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from certstats_query_api.pages import encode_cursor
from tests.integration.test_api_harness import (
    SECRET,
    Api,
    api,
    catalog,
    enroll,
    grant,
    on_both_paths,
    user,
)

pytest_generate_tests = on_both_paths
__all__ = ["api"]
LIST = "/v1/path-certificates"
LEARNERS = f"{LIST}/c1/learners"
HISTORY = f"{LEARNERS}/u1/history"
NUL = "\x00"


async def _load(api: Api) -> None:
    await api.load(
        [
            *catalog("c1"),
            *[user(f"u{i}") for i in range(1, 4)],
            *[enroll(f"e{i}", f"u{i}", "c1-s") for i in range(1, 4)],
            grant("g1", "c1", "u1", "2026-02-01T10:00:00Z", "2027-02-01T10:00:00Z", eid="e1"),
            grant("g2", "c1", "u2", "2026-03-01T10:00:00Z", "2027-03-01T10:00:00Z", eid="e2"),
        ]
    )


def _assert_named(response: httpx.Response, status: int, name: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    assert response.json()["invalid-params"][0]["name"] == name


NUL_PARAMETERS = [
    (LIST, "q", {"q": NUL}),
    (f"{LEARNERS}.csv", "q", {"q": f"a{NUL}"}),
    (f"{LIST}.csv", "group_id", {"group_id": NUL}),
    (LEARNERS, "custom_field[Gender]", {"custom_field[Gender]": NUL}),
    (f"{LIST}.csv", "custom_field[\\u0000]", {f"custom_field[{NUL}]": "x"}),
    (HISTORY, "as_of", {"as_of": f"2026-06-01T00:00:00Z{NUL}"}),
    (LIST, "tz", {"tz": f"UTC{NUL}"}),
    (f"{HISTORY}.csv", "sort", {"sort": NUL}),
    (LIST, "cursor", {"cursor": NUL}),
    (LEARNERS, "registered_from", {"registered_from": NUL}),
]


@pytest.mark.parametrize(("url", "name", "params"), NUL_PARAMETERS)
async def test_nul_in_a_query_parameter_is_named(
    api: Api, url: str, name: str, params: dict[str, str]
) -> None:
    await _load(api)
    _assert_named(await api.get(url, **params), 400, name)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"{LIST}/%00", "certificate_id"),
        (f"{LIST}/c1%00/learners.csv", "certificate_id"),
        (f"{LEARNERS}/%00/history", "user_id"),
        (f"{LEARNERS}/u1%00/history.csv", "user_id"),
    ],
)
async def test_nul_in_a_path_parameter_is_named(api: Api, url: str, name: str) -> None:
    await _load(api)
    _assert_named(await api.get(url), 400, name)


async def test_nul_is_checked_after_authentication(api: Api) -> None:
    response = await api.get(LIST, bearer=None, q=NUL)
    assert response.status_code == 401


FORGED_CURSORS = [
    (LIST, "certified_learners", "abc"),
    (LIST, "validity_months", "99999999999999999999"),
    (LEARNERS, "delivery_date", "not-a-date"),
    (LEARNERS, "-expiration_date", "2026-W48-1"),
    (LEARNERS, "last_name", NUL),
    (HISTORY, "-enrolled_at", "garbage"),
]


@pytest.mark.parametrize("csv", [False, True])
@pytest.mark.parametrize(("url", "sort", "key"), FORGED_CURSORS)
async def test_forged_cursor_is_400_before_any_csv_byte(
    api: Api, url: str, sort: str, key: str, csv: bool
) -> None:
    await _load(api)
    cursor = encode_cursor(sort, key, "x")
    response = await api.get(f"{url}.csv" if csv else url, sort=sort, cursor=cursor)
    _assert_named(response, 400, "cursor")


@pytest.mark.parametrize("sort", ["delivery_date", "-delivery_date", "-expiration_date"])
async def test_real_timestamp_cursors_still_page_through(api: Api, sort: str) -> None:
    await _load(api)
    whole = (await api.get(LEARNERS, sort=sort, user_status="all")).json()["items"]
    paged = await api.items(LEARNERS, sort=sort, user_status="all", limit=1)
    assert [row["user_id"] for row in paged] == [row["user_id"] for row in whole]
    assert len(whole) == 3


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("limit", {"limit": "\u0661\u0662"}),
        ("limit", {"limit": "\uff11"}),
        ("expiring_within_days", {"expiring_within_days": "\u0663"}),
        ("registered_from", {"registered_from": "\uff12\uff10\uff12\uff16-01-01"}),
        ("tz", {"tz": "localtime"}),
        ("tz", {"tz": "posixrules"}),
    ],
)
async def test_server_dependent_or_non_ascii_values_are_named(
    api: Api, name: str, params: dict[str, str]
) -> None:
    await _load(api)
    _assert_named(await api.get(LIST, **params), 400, name)


@pytest.mark.parametrize("exp", [str(int(time.time()) + 600), f"{time.time() + 600}"])
async def test_exp_claim_that_is_a_string_is_401(api: Api, exp: object) -> None:
    claims = {"sub": "a", "platform_id": "acme", "roles": ["platform_admin"], "exp": exp}
    token = jwt.encode(claims, SECRET, "HS256")
    response = await api.get(LIST, bearer=token)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
