"""Errors are RFC 9457 problem documents naming the bad parameter; auth failures are 401
(SPEC.md §4, §5.6); operations endpoints answer."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certstats_query_api.app import create_app
from certstats_query_api.pages import encode_cursor
from certstats_query_api.settings import ApiSettings
from tests.integration.test_api_harness import (
    SECRET,
    Api,
    api,
    catalog,
    enroll,
    on_both_paths,
    user,
)

pytest_generate_tests = on_both_paths

__all__ = ["api"]
LIST = "/v1/path-certificates"
LEARNERS = f"{LIST}/c1/learners"
_FORGED_SURROGATE = base64.urlsafe_b64encode(b'["last_name", "\\ud800", "u1"]').decode()

BAD_PARAMETERS = [
    (LIST, "registered_from", {"registered_from": "2026-13-01"}),
    (LIST, "registered_to", {"registered_to": "yesterday"}),
    (LIST, "registered_to", {"registered_from": "2026-03-01", "registered_to": "2026-01-31"}),
    (LIST, "user_status", {"user_status": "gone"}),
    (LIST, "cursor", {"cursor": "!!!"}),
    (LIST, "cursor", {"cursor": encode_cursor("-title", "x", "y")}),
    (
        LEARNERS,
        "cursor",
        {"cursor": encode_cursor("delivery_date", "soon", "u"), "sort": "delivery_date"},
    ),
    (LIST, "limit", {"limit": "0"}),
    (LIST, "limit", {"limit": "1001"}),
    (LIST, "limit", {"limit": "ten"}),
    (LIST, "tz", {"tz": "Mars/Olympus"}),
    (LIST, "tz", {"tz": "../../etc/passwd"}),
    (LIST, "custom_field[", {"custom_field[": "x"}),
    (LIST, "custom_field", {"custom_field": "x"}),
    (LIST, "as_of", {"as_of": "2026-01-01T00:00:00"}),
    (LIST, "as_of", {"as_of": "not a time"}),
    (LIST, "expiring_within_days", {"expiring_within_days": "-1"}),
    (LIST, "sort", {"sort": "password"}),
    (f"{LIST}.csv", "bom", {"bom": "maybe"}),
    (f"{LEARNERS}.csv", "cursor", {"cursor": _FORGED_SURROGATE}),  # a 400, not a cut 200
    (LIST, "q", {"q": "x" * 201}),
    (LIST, "grup_id", {"grup_id": "g1"}),  # a misspelt filter: never an unfiltered 200
    (f"{LEARNERS}.csv", "status", {"status": "all"}),
    (f"{LEARNERS}/u1/history", "q", {"q": "Ann"}),  # the history has no search
    (f"{LIST}/c1", "limit", {"limit": "5"}),  # one row: no page
    (LIST, "(empty)", {"": "x"}),
    (LIST, "custom_field[" + "x" * 87, {"custom_field[" + "x" * 5000: "x"}),  # cut at 100
    (LIST, "custom_field", {"custom_field[Dept]": [str(n) for n in range(101)]}),
    (LIST, "user_status", {"user_status": ["deleted", "active"]}),  # which one?
    (LIST, "limit", {"limit": ["3", "2000"]}),
    (f"{LIST}.csv", "bom", {"bom": ["false", "true"]}),
]


def _assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["title"] and "Traceback" not in response.text
    return body


@pytest.mark.parametrize(("url", "name", "params"), BAD_PARAMETERS)
async def test_bad_parameter_is_named(
    api: Api, url: str, name: str, params: dict[str, str | list[str]]
) -> None:
    await api.load([*catalog("c1"), user("u1"), enroll("e1", "u1", "c1-s")])
    response = await api.get(url, **params)
    body = _assert_problem(response, 400)
    assert body["invalid-params"][0]["name"] == name  # type: ignore[index]
    assert response.headers["x-data-as-of"]  # after authentication (SPEC.md §5.6)


async def test_bad_parameter_before_any_event_has_no_watermark(api: Api) -> None:
    response = await api.get(LIST, grup_id="g1")
    _assert_problem(response, 400)
    assert "x-data-as-of" not in response.headers


async def test_bad_parameter_without_a_token_is_401(api: Api) -> None:
    await api.load(catalog("c1"))
    response = await api.get(LIST, bearer=None, grup_id="g1")
    _assert_problem(response, 401)
    assert "x-data-as-of" not in response.headers


@pytest.mark.parametrize("path", [f"{LIST}/c1%2Flearners", f"{LEARNERS}/u1%2fhistory"])
async def test_an_encoded_slash_is_refused_not_routed(api: Api, path: str) -> None:
    """Decoded before routing, c1%2Flearners would answer c1's learner list."""
    await api.load([*catalog("c1"), user("u1"), enroll("e1", "u1", "c1-s")])
    body = _assert_problem(await api.get(path), 400)
    assert body["invalid-params"][0]["name"] == "path"  # type: ignore[index]


async def test_repeated_values_that_agree_are_one(api: Api) -> None:
    await api.load([*catalog("c1"), user("u1"), enroll("e1", "u1", "c1-s")])
    response = await api.get(LIST, user_status=["all", "all"], group_id=["g1", "g2"])
    assert response.status_code == 200, response.text


async def test_unknown_parameter_lists_what_the_endpoint_takes(api: Api) -> None:
    await api.load([*catalog("c1"), user("u1"), enroll("e1", "u1", "c1-s")])
    body = _assert_problem(await api.get(f"{LIST}.csv", groupid="g1"), 400)
    assert body["detail"] == (
        "groupid: unknown parameter; this endpoint takes as_of, bom, cursor, "
        "expiring_within_days, group_id, limit, q, registered_from, registered_to, sort, tz, "
        "user_status, custom_field[<name>]"
    )


async def test_as_of_with_plus_decoded_to_space_is_accepted(api: Api) -> None:
    response = await api.client.get(
        f"{LIST}?as_of=2026-01-01T00:00:00 02:00",
        headers={
            "Authorization": "Bearer "
            + jwt.encode(
                {
                    "sub": "a",
                    "platform_id": "acme",
                    "roles": ["platform_admin"],
                    "exp": int(time.time()) + 60,
                },
                SECRET,
                algorithm="HS256",
            )
        },
    )
    assert response.json()["as_of"] == "2025-12-31T22:00:00Z"


def _claims(**overrides: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "sub": "a",
        "platform_id": "acme",
        "exp": int(time.time()) + 60,
        "roles": ["platform_admin"],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic abc",
        "Bearer ",
        "Bearer not.a.jwt",
        "Bearer " + jwt.encode(_claims(), "another-secret-of-at-least-32-bytes", "HS256"),
        "Bearer " + jwt.encode(_claims(exp=int(time.time()) - 10), SECRET, "HS256"),
        "Bearer " + jwt.encode(_claims(sub=None), SECRET, "HS256"),
        "Bearer " + jwt.encode(_claims(platform_id=None), SECRET, "HS256"),
        "Bearer " + jwt.encode(_claims(exp=None), SECRET, "HS256"),
        "Bearer " + jwt.encode(_claims(roles="platform_admin"), SECRET, "HS256"),
        "Bearer " + jwt.encode(_claims(sub=""), SECRET, "HS256"),
        "Bearer " + jwt.encode(_claims(), None, "none"),  # type: ignore[arg-type]
        "Bearer " + jwt.encode(_claims(), SECRET * 2, "HS512"),
    ],
)
async def test_bad_tokens_are_401(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await api.client.get(LIST, headers=headers)
    _assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unknown_route_and_statistics_404_are_problems(api: Api) -> None:
    _assert_problem(await api.client.get("/v2/nothing"), 404)
    await api.load(catalog("c1"))
    response = await api.get(f"{LIST}/nope/learners")
    _assert_problem(response, 404)
    assert response.headers["x-data-as-of"]


async def test_operations_endpoints(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ready"}
    await api.get(LIST)
    metrics = (await api.client.get("/metrics")).text
    assert (
        'certstats_api_requests_total{method="GET",route="/v1/path-certificates",status="200"}'
        in metrics
    )
    assert "acme" not in metrics
    assert (await api.client.get("/openapi.json")).json()["info"]["title"]


async def test_readyz_without_database_is_503() -> None:
    settings = ApiSettings(
        database_url="postgresql://nobody@127.0.0.1:1/none", jwt_secret=SECRET, pool_min_size=0
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            _assert_problem(await client.get("/readyz"), 503)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_asymmetric_tokens_from_jwks_file(
    database_url: str, tmp_path: Path, algorithm: str
) -> None:
    private = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    jwk = json.loads(
        jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(private.public_key())
    )
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1"}]}))
    settings = ApiSettings(database_url=database_url, jwt_jwks_file=tmp_path / "jwks.json")
    app = create_app(settings)
    good = jwt.encode(_claims(), private, algorithm, headers={"kid": "k1"})
    unknown_kid = jwt.encode(_claims(), private, algorithm, headers={"kid": "k2"})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            ok = await client.get(
                "/v1/path-certificates", headers={"Authorization": f"Bearer {good}"}
            )
            assert ok.status_code == 503  # authenticated; the database was never migrated
            bad = await client.get(
                "/v1/path-certificates", headers={"Authorization": f"Bearer {unknown_kid}"}
            )
            _assert_problem(bad, 401)
