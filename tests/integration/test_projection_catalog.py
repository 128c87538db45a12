"""Groups, roles, certificates, paths and sessions (SPEC.md §2-§3, docs/DECISIONS.md)."""

from __future__ import annotations

from certstats_contracts.decoded import Event
from tests.integration.projection_support import (
    Projection,
    at,
    event,
    session_state,
    user_state,
)


def group(
    group_id: str, time: int, name: str, parent: str | None = None, kind: str = "group.created"
) -> Event:
    return event(kind, time, group_id=group_id, name=name, parent_group_id=parent)


def role(
    kind: str, time: int, group_id: str = "g1", user_id: str = "u1", name: str = "admin"
) -> Event:
    return event(f"group.role_{kind}", time, group_id=group_id, user_id=user_id, role=name)


async def test_group_state_is_last_writer_wins_and_deletion_is_final(proj: Projection) -> None:
    await proj.apply([group("g1", 2, "Two", "root"), group("g1", 1, "One", kind="group.updated")])
    row = await proj.row("groups", group_id="g1")
    assert row is not None
    assert (row["name"], row["parent_group_id"], row["state_event_at"]) == ("Two", "root", at(2))
    await proj.apply([event("group.deleted", 3, group_id="g1")])
    await proj.apply([group("g1", 9, "Revived?", kind="group.updated")])
    row = await proj.row("groups", group_id="g1")
    assert row is not None and (row["name"], row["deleted"]) == ("Revived?", True)


async def test_group_deleted_before_created_and_memberships_kept(proj: Projection) -> None:
    await proj.apply([event("group.deleted", 5, group_id="g1")])
    await proj.apply([group("g1", 1, "One"), user_state("u1", 6, groups=["g1"])])
    row = await proj.row("groups", group_id="g1")
    assert row is not None and (row["name"], row["deleted"]) == ("One", True)
    assert await proj.row("group_memberships", group_id="g1", user_id="u1") is not None


async def test_group_references_write_only_the_referring_rows(proj: Projection) -> None:
    await proj.apply(
        [
            group("child", 1, "Child", parent="parent"),
            event("certificate.created", 1, certificate_id="c1", title="C", owner_group_id="owner"),
            event("group.role_granted", 1, group_id="g1", user_id="coach", role="coach"),
            user_state("u1", 1, groups=["g2"]),
        ]
    )
    rows = await proj.rows("groups")
    assert [(g["group_id"], g["parent_group_id"]) for g in rows] == [("child", "parent")]
    assert await proj.row("group_roles", group_id="g1", user_id="coach", role="coach")
    assert await proj.row("group_memberships", group_id="g2", user_id="u1")
    assert [u["user_id"] for u in await proj.rows("users")] == ["u1"]


async def test_roles_toggle_last_writer_wins(proj: Projection) -> None:
    await proj.apply([role("granted", 1), role("granted", 1, name="coach")])
    await proj.apply([role("revoked", 3), role("granted", 2)])
    await proj.apply([role("granted", 2, name="coach"), role("revoked", 2, name="coach")])
    rows = await proj.rows("group_roles", order_by="role")
    assert [(r["role"], r["granted"], r["role_event_at"]) for r in rows] == [
        ("admin", False, at(3)),
        ("coach", False, at(2)),
    ]
    await proj.apply([role("granted", 3)])
    row = await proj.row("group_roles", group_id="g1", user_id="u1", role="admin")
    assert row is not None and row["granted"] is True


async def test_certificate_state_and_final_deletion(proj: Projection) -> None:
    await proj.apply([event("certificate.deleted", 4, certificate_id="c1")])
    await proj.apply(
        [
            event("certificate.created", 1, certificate_id="c1", title="T1", validity_months=12),
            event("certificate.updated", 5, certificate_id="c1", title="T5", owner_group_id="g"),
        ]
    )
    row = await proj.row("certificates", certificate_id="c1")
    assert row is not None
    assert (row["title"], row["owner_group_id"], row["validity_months"], row["deleted"]) == (
        "T5",
        "g",
        None,
        True,
    )


async def test_path_state_and_final_deletion(proj: Projection) -> None:
    await proj.apply(
        [
            event("path.created", 1, path_id="p1", name="P", certificate_id="c1", author_ids=["a"]),
            event("path.updated", 2, path_id="p1", name="P2", author_ids=["a", "b"]),
        ]
    )
    row = await proj.row("paths", path_id="p1")
    assert row is not None
    assert (row["name"], row["certificate_id"], row["author_ids"], row["deleted"]) == (
        "P2",
        None,
        ["a", "b"],
        False,
    )
    await proj.apply([event("path.deleted", 3, path_id="p1")])
    await proj.apply([event("path.deleted", 4, path_id="p1")])
    row = await proj.row("paths", path_id="p1")
    assert row is not None and row["deleted"] is True


async def test_session_state_archive_toggle_and_deletion(proj: Projection) -> None:
    await proj.apply(
        [
            session_state("s1", 1, instructor_ids=["i1"], automatic_reenrollment=True),
            event("path_session.archived", 5, session_id="s1", archived_at=at(5)),
        ]
    )
    row = await proj.row("path_sessions", session_id="s1")
    assert row is not None
    assert (row["path_id"], row["starts_at"], row["ends_at"], row["instructor_ids"]) == (
        "p1",
        at(0),
        at(24 * 60),
        ["i1"],
    )
    assert (row["automatic_reenrollment"], row["archived"], row["archive_event_at"]) == (
        True,
        True,
        at(5),
    )
    await proj.apply([event("path_session.unarchived", 4, session_id="s1")])
    row = await proj.row("path_sessions", session_id="s1")
    assert row is not None and row["archived"] is True
    await proj.apply(
        [
            event("path_session.unarchived", 6, session_id="s1"),
            session_state("s1", 7, kind="path_session.updated", name="Renamed"),
        ]
    )
    row = await proj.row("path_sessions", session_id="s1")
    assert row is not None and (row["archived"], row["name"]) == (False, "Renamed")


async def test_session_toggles_and_deletion_before_its_state(proj: Projection) -> None:
    await proj.apply(
        [
            event("path_session.archived", 2, session_id="s1", archived_at=at(2)),
            event("path_session.deleted", 3, session_id="s1", deleted_at=at(3)),
        ]
    )
    await proj.apply([session_state("s1", 1), session_state("s1", 8, kind="path_session.updated")])
    row = await proj.row("path_sessions", session_id="s1")
    assert row is not None
    assert (row["archived"], row["deleted"], row["path_id"], row["state_event_at"]) == (
        True,
        True,
        "p1",
        at(8),
    )
