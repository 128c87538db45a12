"""Placeholder users and the projector's memory of committed users (SPEC.md §3 placeholders)."""

from __future__ import annotations

from certstats_projector.projection import KnownUsers, apply_batch

from .projection_support import PLATFORM, at, event, projection

ENROLL = {"session_id": "s1", "enrolled_at": at(0).isoformat(), "method": "assigned"}


async def test_known_users_get_no_placeholder_insert_and_others_do(database_url: str) -> None:
    async with projection(database_url) as proj:
        first = [event("enrollment.created", 1, enrollment_id="e1", user_id="u1", **ENROLL)]
        result = await proj.apply(first)
        assert result.users == [(PLATFORM, "u1")]
        assert [r["user_id"] for r in await proj.rows("users")] == ["u1"]

        second = [
            event("enrollment.created", 2, enrollment_id="e2", user_id="u2", **ENROLL),
            event("enrollment.created", 2, enrollment_id="e3", user_id="u3", **ENROLL),
        ]
        # u2 claimed known (wrongly, on purpose): its insert is skipped, u3's is not.
        result = await apply_batch(proj.conn, proj.schema, second, {}, {(PLATFORM, "u2")})
        assert result.users == [(PLATFORM, "u2"), (PLATFORM, "u3")]
        assert [r["user_id"] for r in await proj.rows("users")] == ["u1", "u3"]


def test_known_users_forget_everything_past_the_limit_or_on_another_generation() -> None:
    known = KnownUsers(limit=2)
    known.remember("g1", [("p", "a"), ("p", "b")])
    assert known.of("g1") == {("p", "a"), ("p", "b")}
    known.remember("g1", [("p", "c")])
    assert known.of("g1") == {("p", "c")}
    known.remember("g2", [("p", "d")])
    assert (known.of("g1"), known.of("g2")) == (frozenset(), {("p", "d")})
