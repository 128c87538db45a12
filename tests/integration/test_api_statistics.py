"""Column rules of SPEC.md §5.1-§5.3 through HTTP, on data projected by ``apply_batch``.

as_of is 2026-06-01T00:00Z; the expiring window is 30 days (boundary 2026-07-01T00:00Z).
"""

from __future__ import annotations

from typing import Any

from tests.integration.test_api_harness import (
    Api,
    api,
    catalog,
    certificate,
    enroll,
    grant,
    on_both_paths,
    session,
    user,
)
from tests.reference.builders import event

pytest_generate_tests = on_both_paths

__all__ = ["api"]
LATER = "2026-02-01T00:00:00Z"
LIST = "/v1/path-certificates"


def _seed_world() -> list[Any]:
    """c1 granted via sessions c1-s (started), s2 (starts after as_of), arch (archived),
    gone (deleted); c2 linked to nobody; c3 deleted."""
    events = [
        *catalog("c1", title="Safety"),
        session("s2", "c1-p", starts="2026-09-01T00:00:00Z"),
        session("arch", "c1-p"),
        session("gone", "c1-p"),
        event("path_session.archived", LATER, session_id="arch", archived_at=LATER),
        event("path_session.deleted", LATER, session_id="gone", deleted_at=LATER),
        *catalog("c2", title="Unlinked", months=None),
        certificate("c3", "Deleted"),
        event("certificate.deleted", LATER, certificate_id="c3"),
    ]
    events += [user(f"u{i}", last=f"L{i:02d}") for i in range(1, 13)]
    events += [
        # u1: the seed example: certified in c1-s, then enrolled in s2 without finishing.
        enroll("e1", "u1", "c1-s", at="2026-01-05T00:00:00Z"),
        grant(
            "g1", "c1", "u1", "2026-01-10T00:00:00Z", "2027-01-10T00:00:00Z", eid="e1", sid="c1-s"
        ),
        enroll("e1b", "u1", "s2", at="2026-03-01T00:00:00Z"),
        # u2-u4: the 30-day boundary and expiry; u5: no expiry.
        grant("g2", "c1", "u2", "2025-07-01T00:00:00Z", "2026-07-01T00:00:00Z"),
        grant("g3", "c1", "u3", "2025-07-01T00:00:00Z", "2026-07-01T00:00:01Z"),
        grant("g4", "c1", "u4", "2025-06-01T00:00:00Z", "2026-06-01T00:00:00Z"),
        grant("g5", "c1", "u5", "2025-06-01T00:00:00Z", None),
        # u6: archived session only; u7: deleted session; u8: revoked grant; u9: deleted
        # enrollment; u10: grant delivered after as_of; u11: automatic re-enrollment.
        enroll("e6", "u6", "arch"),
        enroll("e7", "u7", "gone"),
        grant("g7", "c1", "u7", "2026-01-10T00:00:00Z", None, eid="e7", sid="gone"),
        grant("g8", "c1", "u8", "2026-01-10T00:00:00Z", None),
        event("certificate.revoked", LATER, grant_id="g8", user_id="u8", revoked_at=LATER),
        enroll("e9", "u9", "c1-s"),
        event("enrollment.deleted", LATER, enrollment_id="e9", user_id="u9", deleted_at=LATER),
        enroll("e10", "u10", "c1-s"),
        grant("g10", "c1", "u10", "2026-07-01T00:00:00Z", None, eid="e10"),
        enroll("e11", "u11", "c1-s", at="2026-01-02T00:00:00Z"),
        grant("g11", "c1", "u11", "2026-01-20T00:00:00Z", "2027-01-20T00:00:00Z", eid="e11"),
        enroll("e11b", "u11", "c1-s", at="2026-02-02T00:00:00Z", auto=True),
        event(
            "enrollment.status_changed",
            LATER,
            enrollment_id="e11b",
            user_id="u11",
            status="onTime",
            changed_at=LATER,
        ),
        # u12: a deleted user enrolled in c1-s.
        enroll("e12", "u12", "c1-s"),
        event("user.deleted", LATER, user_id="u12", deleted_at=LATER),
    ]
    return events


async def test_certificate_row_counts(api: Api) -> None:
    await api.load(_seed_world())
    rows = {r["certificate_id"]: r for r in await api.items(LIST)}
    assert set(rows) == {"c1"}
    assert rows["c1"] == {
        "certificate_id": "c1",
        "title": "Safety",
        "owner_group": None,
        "validity_months": 12,
        "certified_learners": 6,
        "enrolled_learners": 3,
        "associated_paths": 1,
        "valid_learners": 4,
        "expiring_soon_learners": 1,
        "expired_learners": 1,
    }


async def test_learner_rows_and_latest_status(api: Api) -> None:
    await api.load(_seed_world())
    rows = {r["user_id"]: r for r in await api.items(f"{LIST}/c1/learners")}
    statuses = {
        u: (r["latest_status"], r["delivery_date"], r["expiration_date"]) for u, r in rows.items()
    }
    assert statuses == {
        "u1": ("valid", "2026-01-10", "2027-01-10"),
        "u2": ("expiring_soon", "2025-07-01", "2026-07-01"),
        "u3": ("valid", "2025-07-01", "2026-07-01"),
        "u4": ("expired", "2025-06-01", "2026-06-01"),
        "u5": ("valid", "2025-06-01", None),
        "u6": ("not_obtained", None, None),
        "u10": ("not_obtained", None, None),
        "u11": ("valid", "2026-01-20", "2027-01-20"),
    }
    certified = await api.items(f"{LIST}/c1/certified-learners")
    assert sorted(r["user_id"] for r in certified) == ["u1", "u11", "u2", "u3", "u4", "u5"]


async def test_expiring_window_parameter(api: Api) -> None:
    await api.load(_seed_world())
    (row,) = await api.items(LIST, expiring_within_days="0")
    assert (row["valid_learners"], row["expiring_soon_learners"]) == (6 - 1, 0)
    (row,) = await api.items(LIST, expiring_within_days="400")
    assert (row["valid_learners"], row["expiring_soon_learners"]) == (1, 4)


async def test_history_of_seed_example_newest_first(api: Api) -> None:
    await api.load(_seed_world())
    rows = await api.items(f"{LIST}/c1/learners/u1/history")
    assert [(r["enrollment_id"], r["certification_status"], r["path_status"]) for r in rows] == [
        ("e1b", "not_obtained", "sessionNotOpened"),
        ("e1", "valid", "notYetStarted"),
    ]
    assert rows[1] | {"enrollment_id": None} == {
        "enrollment_id": None,
        "certification_status": "valid",
        "delivery_date": "2026-01-10",
        "expiration_date": "2027-01-10",
        "path_id": "c1-p",
        "path_name": "Path",
        "session_id": "c1-s",
        "session_name": "c1-s",
        "path_status": "notYetStarted",
        "automatic_reenrollment": False,
    }


async def test_history_reenrollment_rows_and_unlinked_grant(api: Api) -> None:
    await api.load(_seed_world())
    rows = await api.items(f"{LIST}/c1/learners/u11/history")
    assert [
        (
            r["enrollment_id"],
            r["certification_status"],
            r["path_status"],
            r["automatic_reenrollment"],
        )
        for r in rows
    ] == [
        ("e11b", "not_obtained", "onTime", True),
        ("e11", "valid", "notYetStarted", False),
    ]
    (only,) = await api.items(f"{LIST}/c1/learners/u5/history")
    assert only == {
        "enrollment_id": None,
        "certification_status": "valid",
        "delivery_date": "2025-06-01",
        "expiration_date": None,
        "path_id": None,
        "path_name": None,
        "session_id": None,
        "session_name": None,
        "path_status": None,
        "automatic_reenrollment": None,
    }


async def test_invisible_learners_are_not_found_in_history(api: Api) -> None:
    await api.load(_seed_world())
    for uid in ("u7", "u8", "u9", "nobody"):
        response = await api.get(f"{LIST}/c1/learners/{uid}/history")
        assert response.status_code == 404, uid


async def test_user_status_filter(api: Api) -> None:
    await api.load(_seed_world())
    deleted = await api.items(LIST, user_status="deleted")
    assert [(r["certificate_id"], r["enrolled_learners"]) for r in deleted] == [("c1", 1)]
    learners = await api.items(f"{LIST}/c1/learners", user_status="deleted")
    assert [r["user_id"] for r in learners] == ["u12"]
    every = {r["certificate_id"]: r for r in await api.items(LIST, user_status="all")}
    assert set(every) == {"c1", "c2"}
    assert every["c1"]["enrolled_learners"] == 4
    assert every["c2"]["certified_learners"] == every["c2"]["enrolled_learners"] == 0
    filtered = await api.items(LIST, user_status="all", registered_from="2000-01-01")
    assert [r["certificate_id"] for r in filtered] == ["c1"]


async def test_certificate_detail_and_paths(api: Api) -> None:
    await api.load(_seed_world())
    detail = (await api.get(f"{LIST}/c2")).json()
    assert (detail["certificate_id"], detail["certified_learners"]) == ("c2", 0)
    assert detail["as_of"] == "2026-06-01T00:00:00Z" and detail["data_as_of"] is not None
    assert (await api.get(f"{LIST}/c3")).status_code == 404
    assert await api.items(f"{LIST}/c1/paths") == [{"path_id": "c1-p", "name": "Path"}]


async def test_latest_grant_tie_breaks(api: Api) -> None:
    same_day = "2026-01-01T00:00:00Z"
    await api.load(
        [
            *catalog("c1"),
            user("u1"),
            user("u2"),
            grant("a", "c1", "u1", same_day, "2026-06-10T00:00:00Z"),
            grant("b", "c1", "u1", same_day, None),
            grant("a", "c1", "u2", same_day, "2026-06-10T00:00:00Z"),
            grant("b2", "c1", "u2", same_day, "2026-05-01T00:00:00Z"),
            grant("z", "c1", "u2", "2025-01-01T00:00:00Z", None),
        ]
    )
    rows = {r["user_id"]: r["latest_status"] for r in await api.items(f"{LIST}/c1/learners")}
    assert rows == {"u1": "valid", "u2": "expiring_soon"}


async def test_dates_in_requested_time_zone(api: Api) -> None:
    await api.load(
        [
            *catalog("c1"),
            user("u1"),
            grant("g", "c1", "u1", "2026-01-01T23:30:00Z", "2027-01-01T23:30:00Z"),
        ]
    )
    (row,) = await api.items(f"{LIST}/c1/learners", tz="Asia/Tokyo")
    assert (row["delivery_date"], row["expiration_date"]) == ("2026-01-02", "2027-01-02")
    (row,) = await api.items(f"{LIST}/c1/learners", tz="America/New_York")
    assert row["delivery_date"] == "2026-01-01"


async def test_as_of_moves_statuses_and_counts(api: Api) -> None:
    await api.load(_seed_world())
    (row,) = await api.items(LIST, as_of="2026-07-02T00:00:00+00:00")
    assert row["certified_learners"] == 7  # u10's grant now exists
    assert (row["expired_learners"], row["expiring_soon_learners"]) == (3, 0)


async def test_count_columns_equal_drill_down_rows(api: Api) -> None:
    await api.load(_seed_world())
    for params in (
        {},
        {"user_status": "all"},
        {"user_status": "deleted"},
        {"as_of": "2025-07-01T00:00:00Z"},
        {"registered_to": "2025-01-01"},
    ):
        for row in await api.items(LIST, **params):
            url = f"{LIST}/{row['certificate_id']}"
            certified = await api.items(f"{url}/certified-learners", **params)
            assert len(certified) == row["certified_learners"], params
            assert len(await api.items(f"{url}/paths", **params)) == row["associated_paths"]
            statuses = [r["latest_status"] for r in certified]
            assert statuses.count("valid") == row["valid_learners"]
            assert statuses.count("expired") == row["expired_learners"]


async def test_watermark_in_body_and_header(api: Api) -> None:
    empty = await api.get(LIST)
    assert empty.json()["data_as_of"] is None and "x-data-as-of" not in empty.headers
    await api.load(
        [
            *catalog("c1"),
            event(
                "user.registered",
                "2026-04-05T06:07:08.5Z",
                user_id="u1",
                first_name="A",
                last_name="B",
                email="a@b",
                registered_at=LATER,
            ),
        ]
    )
    response = await api.get(LIST)
    assert response.json()["data_as_of"] == "2026-04-05T06:07:08.500000Z"
    assert response.headers["x-data-as-of"] == response.json()["data_as_of"]
