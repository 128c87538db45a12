"""Population filters and scopes (SPEC.md §4, §5 common parameters; docs/DECISIONS.md)."""

from __future__ import annotations

from typing import Any

from certstats_contracts.envelope import DomainEvent
from tests.integration.test_api_harness import (
    ADMIN,
    Api,
    api,
    catalog,
    enroll,
    grant,
    group,
    on_both_paths,
    path,
    role,
    session,
    token,
    user,
)
from tests.reference.builders import event

pytest_generate_tests = on_both_paths

__all__ = ["api"]
LIST = "/v1/path-certificates"
LATER = "2026-02-01T00:00:00Z"


def _groups_world() -> list[DomainEvent]:
    """Tree root > (north > north-city), south; c1 enrolled by u-north, u-city, u-south."""
    return [
        group("root"),
        group("north", "root"),
        group("city", "north"),
        group("south", "root"),
        *catalog("c1"),
        *catalog("c2"),
        user(
            "u-north",
            groups=["north"],
            registered="2026-01-01T23:30:00Z",
            fields={"Age": "30-40", "Region": "N"},
        ),
        user(
            "u-city",
            groups=["city"],
            registered="2026-01-02T12:00:00Z",
            fields={"Age": "20-30", "Region": "N"},
        ),
        user(
            "u-south", groups=["south"], registered="2026-01-03T12:00:00Z", fields={"Age": "30-40"}
        ),
        enroll("e1", "u-north", "c1-s"),
        enroll("e2", "u-city", "c1-s"),
        enroll("e3", "u-south", "c1-s"),
        enroll("e4", "u-south", "c2-s"),
    ]


async def _learners(api: Api, bearer: str = ADMIN, cert: str = "c1", **params: Any) -> set[str]:
    return {r["user_id"] for r in await api.items(f"{LIST}/{cert}/learners", bearer, **params)}


async def test_registration_dates_in_tz(api: Api) -> None:
    await api.load(_groups_world())
    assert await _learners(api, registered_from="2026-01-02") == {"u-city", "u-south"}
    assert await _learners(api, registered_from="2026-01-02", tz="Europe/Paris") == {
        "u-north",
        "u-city",
        "u-south",
    }
    assert await _learners(api, registered_to="2026-01-02") == {"u-north", "u-city"}
    assert await _learners(api, registered_from="2026-01-02", registered_to="2026-01-02") == {
        "u-city"
    }


async def test_group_filter_includes_subgroups_and_ors(api: Api) -> None:
    await api.load(_groups_world())
    assert await _learners(api, group_id="north") == {"u-north", "u-city"}
    assert await _learners(api, group_id=["city", "south"]) == {"u-city", "u-south"}
    assert await _learners(api, group_id="unknown") == set()
    rows = await api.items(LIST, group_id="north")
    assert [r["certificate_id"] for r in rows] == ["c1"]


async def test_custom_fields_or_within_name_and_across_names(api: Api) -> None:
    await api.load(_groups_world())
    assert await _learners(api, **{"custom_field[Age]": "30-40"}) == {"u-north", "u-south"}
    both: dict[str, Any] = {"custom_field[Age]": ["30-40", "20-30"]}
    assert await _learners(api, **both) == {
        "u-north",
        "u-city",
        "u-south",
    }
    assert await _learners(api, **{"custom_field[Age]": "30-40", "custom_field[Region]": "N"}) == {
        "u-north"
    }


async def test_custom_fields_with_quotes_and_jsonpath_syntax_match_exactly(api: Api) -> None:
    odd = {'Dept "A"\\': 'R&D \\ "ops" $.x == 1 || @', "Région": "王芳\nÎle"}
    await api.load([*catalog("c1"), user("u-odd", fields=odd), enroll("e1", "u-odd", "c1-s")])
    exact = {f"custom_field[{name}]": value for name, value in odd.items()}
    assert await _learners(api, **exact) == {"u-odd"}
    assert [r["enrolled_learners"] for r in await api.items(LIST, **exact)] == [1]
    for name in odd:
        assert await _learners(api, **{**exact, f"custom_field[{name}]": odd[name] + " "}) == set()
    assert await api.items(LIST, **{"custom_field[Dept]": "R&D"}) == []


async def test_filters_combined_and_counts(api: Api) -> None:
    await api.load(_groups_world())
    params = {"group_id": "root", "registered_from": "2026-01-02", "custom_field[Age]": "30-40"}
    assert await _learners(api, **params) == {"u-south"}
    rows = {r["certificate_id"]: r["enrolled_learners"] for r in await api.items(LIST, **params)}
    assert rows == {"c1": 1, "c2": 1}


async def test_coach_of_parent_group_sees_subgroup_learners(api: Api) -> None:
    await api.load([*_groups_world(), role("north", "coach-1")])
    coach = token("coach-1")
    assert await _learners(api, coach) == {"u-north", "u-city"}
    assert [r["certificate_id"] for r in await api.items(LIST, coach)] == ["c1"]
    assert (await api.get(f"{LIST}/c2", coach)).status_code == 404
    assert (await api.get(f"{LIST}/c1/learners/u-south/history", coach)).status_code == 404
    assert (await api.get(f"{LIST}/c1/learners/u-city/history", coach)).status_code == 200


async def test_revoked_role_and_deleted_group_stop_counting(api: Api) -> None:
    await api.load([*_groups_world(), role("north", "coach-1"), role("root", "admin-1", "admin")])
    await api.load(
        [
            event("group.role_revoked", LATER, group_id="north", user_id="coach-1", role="coach"),
            event("group.deleted", LATER, group_id="north"),
        ]
    )
    assert (await api.get(LIST, token("coach-1"))).status_code == 403
    assert await _learners(api, token("admin-1")) == {"u-south"}


async def test_owned_certificate_visible_without_learners(api: Api) -> None:
    await api.load([group("g"), *catalog("c9", owner="g"), role("g", "admin-1", "admin")])
    admin = token("admin-1")
    assert [r["certificate_id"] for r in await api.items(LIST, admin, user_status="all")] == ["c9"]
    assert (await api.get(f"{LIST}/c9", admin)).json()["owner_group"] == {
        "group_id": "g",
        "name": "G",
    }


async def test_author_and_instructor_see_only_their_path_learners(api: Api) -> None:
    await api.load(
        [
            *catalog("c1"),
            path("p2", "c1", authors=["author-1"]),
            session("s2", "p2", instructors=["teacher-1"]),
            user("u1"),
            user("u2"),
            enroll("e1", "u1", "c1-s"),
            enroll("e2", "u2", "s2"),
            grant("g1", "c1", "u1", "2026-01-10T00:00:00Z", None),
        ]
    )
    for who in ("author-1", "teacher-1"):
        bearer = token(who)
        assert await _learners(api, bearer) == {"u2"}
        (row,) = await api.items(LIST, bearer)
        assert (row["enrolled_learners"], row["certified_learners"]) == (1, 0)
        assert (await api.get(f"{LIST}/c1/learners/u1/history", bearer)).status_code == 404


async def test_no_role_is_forbidden(api: Api) -> None:
    await api.load(_groups_world())
    response = await api.get(LIST, token("nobody"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert (await api.get(f"{LIST}/c1/learners.csv", token("nobody"))).status_code == 403


async def test_tenants_are_isolated_with_same_ids(api: Api) -> None:
    other = [
        *catalog("c1", p="globex", title="Globex only"),
        user("u-north", p="globex"),
        enroll("e1", "u-north", "c1-s", p="globex"),
        grant("g1", "c1", "u-north", "2026-01-10T00:00:00Z", None, p="globex"),
    ]
    await api.load([*_groups_world(), *other])
    rows = await api.items(LIST)
    assert {r["title"] for r in rows} == {"Cert"}
    assert {r["certified_learners"] for r in rows} == {0}
    globex = token(platform_id="globex", roles=["platform_admin"])
    (row,) = await api.items(LIST, globex)
    assert (row["title"], row["certified_learners"]) == ("Globex only", 1)
    assert await _learners(api, globex) == {"u-north"}
    assert (await api.get(f"{LIST}/c2", globex)).status_code == 404
    foreign_coach = token("coach-1", platform_id="globex")
    await api.load([role("north", "coach-1")])
    assert (await api.get(LIST, foreign_coach)).status_code == 403
