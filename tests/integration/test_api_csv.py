"""CSV twins (SPEC.md §5.5) parsed back equal the JSON lists; keyset pages cover every row."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.integration.test_api_harness import (
    Api,
    api,
    catalog,
    certificate,
    enroll,
    grant,
    on_both_paths,
    path,
    session,
    user,
)

pytest_generate_tests = on_both_paths
__all__ = ["api"]
LIST = "/v1/path-certificates"
NASTY = [
    ("Zoë", "Núñez"),
    ("王芳", "李"),
    ('=HYPERLINK("http://evil")', "Smith, Jr."),
    ('say "hi"', "multi\nline"),
    ("+1", "-2"),
    ("@sum", "\tTab"),
]
LABELS = {
    "valid": "Valid",
    "expiring_soon": "Expiring soon",
    "expired": "Expired",
    "not_obtained": "Not obtained",
}


def _guard(text: str | None) -> str:
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def _world(api: Api) -> None:
    events = [*catalog("c1", title="=cmd|' /C calc'!A0"), certificate("c2", 'Plain, "quoted"')]
    events += [path("p2", "c2"), session("s2", "p2")]
    for i, (first, last) in enumerate(NASTY):
        events += [
            user(f"u{i}", first, last, email=f"-u{i}@example.com"),
            enroll(f"e{i}", f"u{i}", "c1-s"),
            enroll(f"f{i}", f"u{i}", "s2"),
        ]
        if i % 2:
            events.append(grant(f"g{i}", "c1", f"u{i}", "2026-01-10T00:00:00Z", None, eid=f"e{i}"))
    await api.load(events)


async def _csv(api: Api, url: str, **params: Any) -> tuple[bytes, list[list[str]]]:
    response = await api.get(url, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="')
    assert response.headers["x-data-as-of"]
    body = response.content
    text = body.decode("utf-8").removeprefix("\ufeff")
    return body, list(csv.reader(io.StringIO(text, newline="")))


async def test_learners_csv_equals_json(api: Api) -> None:
    await _world(api)
    body, rows = await _csv(api, f"{LIST}/c1/learners.csv")
    assert body.startswith(b"\xef\xbb\xbf") and b"\r\n" in body
    assert rows[0] == [
        "Learner name",
        "Learner email",
        "Latest status",
        "Delivery date",
        "Expiration date",
    ]
    expected = [
        [
            _guard(f"{r['first_name']} {r['last_name']}"),
            _guard(r["email"]),
            LABELS[r["latest_status"]],
            r["delivery_date"] or "",
            r["expiration_date"] or "",
        ]
        for r in await api.items(f"{LIST}/c1/learners")
    ]
    assert rows[1:] == expected
    assert [
        '\'=HYPERLINK("http://evil") Smith, Jr.',
        "'-u2@example.com",
        "Not obtained",
        "",
        "",
    ] in rows


async def test_certificate_csv_equals_json_and_bom_false(api: Api) -> None:
    await _world(api)
    body, rows = await _csv(api, f"{LIST}.csv", bom="false")
    assert body.startswith(b"Title,Owner group,Validity period,")
    expected = [
        [
            _guard(r["title"]),
            "",
            str(r["validity_months"]),
            str(r["certified_learners"]),
            str(r["enrolled_learners"]),
            str(r["associated_paths"]),
        ]
        for r in await api.items(LIST)
    ]
    assert rows[1:] == expected
    assert rows[1][0] == "'=cmd|' /C calc'!A0" and rows[2][0] == 'Plain, "quoted"'


async def test_history_csv_labels(api: Api) -> None:
    await _world(api)
    _, rows = await _csv(api, f"{LIST}/c1/learners/u1/history.csv")
    assert rows == [
        [
            "Certification status",
            "Delivery date",
            "Expiration date",
            "Path name",
            "Path session",
            "Path status",
            "Automatic re-enrollment activated?",
        ],
        ["Valid", "2026-01-10", "", "Path", "c1-s", "Not yet started", "No"],
    ]


async def test_paths_csv(api: Api) -> None:
    await _world(api)
    _, rows = await _csv(api, f"{LIST}/c1/paths.csv")
    assert rows == [["Path name"], ["Path"]]


@pytest.mark.parametrize(
    "sort",
    [
        "last_name",
        "-last_name",
        "email",
        "-latest_status",
        "delivery_date",
        "-expiration_date",
        "first_name",
    ],
)
async def test_pages_cover_every_row_once_in_order(api: Api, sort: str) -> None:
    await _world(api)
    every = (await api.get(f"{LIST}/c1/learners", sort=sort, limit="1000")).json()["items"]
    paged = await api.items(f"{LIST}/c1/learners", sort=sort, limit="2")
    assert paged == every and len(every) == len(NASTY)
    _, rows = await _csv(api, f"{LIST}/c1/learners.csv", sort=sort)
    assert [r[1] for r in rows[1:]] == [_guard(r["email"]) for r in every]


@pytest.mark.parametrize(
    "sort",
    [
        "title",
        "-certified_learners",
        "validity_months",
        "-owner_group",
        "enrolled_learners",
        "-associated_paths",
    ],
)
async def test_certificate_pages(api: Api, sort: str) -> None:
    await _world(api)
    every = (await api.get(LIST, sort=sort)).json()["items"]
    assert await api.items(LIST, sort=sort, limit="1") == every and len(every) == 2


async def test_search(api: Api) -> None:
    await _world(api)
    found = await api.items(f"{LIST}/c1/learners", q="zoë núñez")
    assert [r["user_id"] for r in found] == ["u0"]
    assert [r["user_id"] for r in await api.items(f"{LIST}/c1/learners", q="-U5@")] == ["u5"]
    assert [r["certificate_id"] for r in await api.items(LIST, q="QUOTED")] == ["c2"]
