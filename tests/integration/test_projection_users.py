"""Users, memberships and status toggles (SPEC.md §2-§3, docs/DECISIONS.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.projection_support import Projection, at, event, projection


@pytest.fixture
async def proj(database_url: str) -> AsyncIterator[Projection]:
    async with projection(database_url) as p:
        yield p


def registered(user_id: str, time: int, *, groups: list[str] | None = None, name: str = "Zoë", kind: str = "user.registered"):  # noqa: ANN201
    return event(
        kind, time, user_id=user_id, first_name=name, last_name="Núñez", email=f"{user_id}@x.example",
        registered_at=at(0), custom_fields={"Team": "A"}, group_ids=groups or [],
    )


async def test_registered_user_gets_profile_and_memberships(proj: Projection) -> None:
    result = await proj.apply([registered("u1", 1, groups=["g1", "g2"])])
    assert result.applied == {"user.registered": 1}
    user = await proj.row("users", user_id="u1")
    assert user is not None
    assert (user["first_name"], user["status"], user["state_event_at"]) == ("Zoë", "active", at(1))
    assert user["group_ids"] == ["g1", "g2"]
    members = await proj.rows("group_memberships")
    assert [(m["group_id"], m["user_id"]) for m in members] == [("g1", "u1"), ("g2", "u1")]
