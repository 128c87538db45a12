"""Users, memberships and status toggles (SPEC.md §2-§3, docs/DECISIONS.md)."""

from __future__ import annotations

from typing import Any

from tests.integration.projection_support import (
    Projection,
    at,
    enrollment,
    event,
    grant,
    user_state,
)


async def memberships(proj: Projection) -> list[tuple[str, str]]:
    return [(m["group_id"], m["user_id"]) for m in await proj.rows("group_memberships")]


async def test_registered_user_gets_profile_and_memberships(proj: Projection) -> None:
    result = await proj.apply(
        [user_state("u1", 1, groups=["g1", "g2"], custom_fields={"Team": "A"})]
    )
    assert result.applied == {"user.registered": 1}
    user = await proj.row("users", user_id="u1")
    assert user is not None
    assert (user["first_name"], user["last_name"], user["email"]) == (
        "Zoë",
        "Núñez",
        "u1@learners.example",
    )
    assert (user["registered_at"], user["status"], user["state_event_at"]) == (
        at(0),
        "active",
        at(1),
    )
    assert user["group_ids"] == ["g1", "g2"]
    assert user["custom_fields"] == '{"Team": "A"}'
    assert await memberships(proj) == [("g1", "u1"), ("g2", "u1")]


async def test_update_rewrites_memberships(proj: Projection) -> None:
    await proj.apply([user_state("u1", 1, groups=["g1", "g2"]), user_state("u2", 1, groups=["g1"])])
    await proj.apply([user_state("u1", 2, kind="user.updated", groups=["g2", "g3"])])
    assert await memberships(proj) == [("g1", "u2"), ("g2", "u1"), ("g3", "u1")]


async def test_older_profile_loses_and_tie_goes_to_later_consumed(proj: Projection) -> None:
    await proj.apply([user_state("u1", 5, first_name="Five", groups=["g5"])])
    await proj.apply([user_state("u1", 4, kind="user.updated", first_name="Four", groups=["g4"])])
    user = await proj.row("users", user_id="u1")
    assert user is not None and user["first_name"] == "Five"
    assert await memberships(proj) == [("g5", "u1")]
    await proj.apply([user_state("u1", 5, kind="user.updated", first_name="Tie", groups=["g6"])])
    user = await proj.row("users", user_id="u1")
    assert user is not None and user["first_name"] == "Tie"
    assert await memberships(proj) == [("g6", "u1")]


async def test_within_batch_latest_time_wins_and_ties_keep_consumption_order(
    proj: Projection,
) -> None:
    await proj.apply(
        [
            user_state("u1", 3, first_name="Three"),
            user_state("u1", 2, kind="user.updated", first_name="Two"),
            user_state("u1", 3, kind="user.updated", first_name="Three bis"),
        ]
    )
    user = await proj.row("users", user_id="u1")
    assert user is not None and user["first_name"] == "Three bis"


async def test_deleted_and_reactivated_toggle_by_event_time(proj: Projection) -> None:
    await proj.apply([user_state("u1", 1)])
    await proj.apply([event("user.deleted", 10, user_id="u1", deleted_at=at(10))])
    user = await proj.row("users", user_id="u1")
    assert user is not None and (user["status"], user["status_event_at"]) == ("deleted", at(10))
    await proj.apply([event("user.reactivated", 9, user_id="u1", reactivated_at=at(9))])
    user = await proj.row("users", user_id="u1")
    assert user is not None and user["status"] == "deleted"
    await proj.apply([event("user.reactivated", 10, user_id="u1", reactivated_at=at(10))])
    user = await proj.row("users", user_id="u1")
    assert user is not None and user["status"] == "active"
    await proj.apply(
        [
            event("user.deleted", 12, user_id="u1", deleted_at=at(12)),
            event("user.reactivated", 11, user_id="u1", reactivated_at=at(11)),
        ]
    )
    user = await proj.row("users", user_id="u1")
    assert user is not None and (user["status"], user["status_event_at"]) == ("deleted", at(12))


async def test_deleted_before_registered_stays_deleted(proj: Projection) -> None:
    await proj.apply([event("user.deleted", 5, user_id="u1", deleted_at=at(5))])
    placeholder = await proj.row("users", user_id="u1")
    assert placeholder is not None
    assert (placeholder["status"], placeholder["first_name"], placeholder["state_event_at"]) == (
        "deleted",
        None,
        None,
    )
    await proj.apply([user_state("u1", 1), user_state("u1", 7, kind="user.updated")])
    user = await proj.row("users", user_id="u1")
    assert user is not None and (user["status"], user["first_name"]) == ("deleted", "Zoë")


async def test_learner_facts_create_active_placeholder_users(proj: Projection) -> None:
    status: dict[str, Any] = {"status": "late", "changed_at": at(1)}
    await proj.apply(
        [
            enrollment("e1", 1, user_id="u1"),
            grant("gr1", 1, user_id="u2"),
            event("certificate.revoked", 1, grant_id="gr9", user_id="u3", revoked_at=at(1)),
            event("enrollment.status_changed", 1, enrollment_id="e4", user_id="u4", **status),
            event("enrollment.deleted", 1, enrollment_id="e5", user_id="u5", deleted_at=at(1)),
            event(
                "enrollment.completed",
                1,
                enrollment_id="e6",
                user_id="u6",
                status="successful",
                completed_at=at(1),
            ),
        ]
    )
    users = await proj.rows("users")
    assert [(u["user_id"], u["status"], u["first_name"]) for u in users] == [
        (f"u{i}", "active", None) for i in range(1, 7)
    ]
    assert all(u["state_event_at"] is None and u["registered_at"] is None for u in users)


async def test_placeholder_does_not_touch_existing_user(proj: Projection) -> None:
    await proj.apply(
        [user_state("u1", 1), event("user.deleted", 2, user_id="u1", deleted_at=at(2))]
    )
    await proj.apply([enrollment("e1", 3, user_id="u1")])
    user = await proj.row("users", user_id="u1")
    assert user is not None and (user["first_name"], user["status"]) == ("Zoë", "deleted")


async def test_same_ids_on_two_platforms_stay_apart(proj: Projection) -> None:
    await proj.apply([user_state("u1", 1, groups=["g1"]), user_state("u1", 1, platform="other")])
    await proj.apply([event("user.deleted", 2, platform="other", user_id="u1", deleted_at=at(2))])
    mine = await proj.row("users", user_id="u1")
    theirs = await proj.row("users", platform_id="other", user_id="u1")
    assert mine is not None and theirs is not None
    assert (mine["status"], theirs["status"]) == ("active", "deleted")
    assert await memberships(proj) == [("g1", "u1")]


async def test_registrations_beside_placeholders_and_their_learner_facts(proj: Projection) -> None:
    # u1 has a placeholder from an earlier batch (the registrations' plain insert fails and
    # the upsert completes it); u2 registers in the batch of its first enrollment (no
    # placeholder is written for it); u3 registers alone.
    await proj.apply([enrollment("e1", 1, user_id="u1")])
    result = await proj.apply(
        [
            enrollment("e2", 2, user_id="u2"),
            user_state("u1", 3, groups=["g1"]),
            user_state("u2", 3, groups=["g2"]),
            user_state("u3", 3, groups=["g3", "g1"]),
        ]
    )
    assert result.users == [("acme", "u1"), ("acme", "u2"), ("acme", "u3")]
    users = await proj.rows("users")
    assert [(u["user_id"], u["first_name"], u["state_event_at"]) for u in users] == [
        ("u1", "Zoë", at(3)),
        ("u2", "Zoë", at(3)),
        ("u3", "Zoë", at(3)),
    ]
    assert await memberships(proj) == [("g1", "u1"), ("g1", "u3"), ("g2", "u2"), ("g3", "u3")]
