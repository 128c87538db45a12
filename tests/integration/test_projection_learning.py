"""Enrollments, path statuses and certificate grants (SPEC.md §2-§3, docs/DECISIONS.md)."""

from __future__ import annotations

from certstats_contracts.decoded import Event
from tests.integration.projection_support import (
    Projection,
    at,
    enrollment,
    event,
    grant,
)


def status(time: int, code: str, changed: int, enrollment_id: str = "e1") -> Event:
    return event(
        "enrollment.status_changed",
        time,
        enrollment_id=enrollment_id,
        user_id="u1",
        status=code,
        changed_at=at(changed),
    )


def completed(time: int, code: str, done: int) -> Event:
    return event(
        "enrollment.completed",
        time,
        enrollment_id="e1",
        user_id="u1",
        status=code,
        completed_at=at(done),
    )


async def path_status(proj: Projection) -> tuple[str | None, object]:
    row = await proj.row("enrollments", enrollment_id="e1")
    assert row is not None
    return row["path_status"], row["path_status_changed_at"]


async def test_enrollment_created_before_its_session_and_user(proj: Projection) -> None:
    await proj.apply(
        [
            enrollment(
                "e2",
                3,
                session_id="s9",
                automatic_reenrollment=True,
                previous_enrollment_id="e1",
                method="self_enrolled",
            )
        ]
    )
    row = await proj.row("enrollments", enrollment_id="e2")
    assert row is not None
    assert (row["user_id"], row["session_id"], row["enrolled_at"], row["method"]) == (
        "u1",
        "s9",
        at(3),
        "self_enrolled",
    )
    assert (row["automatic_reenrollment"], row["previous_enrollment_id"]) == (True, "e1")
    assert (row["path_status"], row["deleted"], row["state_event_at"]) == (None, False, at(3))
    assert await proj.row("path_sessions", session_id="s9") is None
    assert await proj.row("users", user_id="u1") is not None


async def test_path_status_follows_payload_time_not_arrival(proj: Projection) -> None:
    await proj.apply([status(1, "onTime", 10)])
    assert await path_status(proj) == ("onTime", at(10))
    await proj.apply([status(50, "late", 5)])
    assert await path_status(proj) == ("onTime", at(10))
    await proj.apply([completed(2, "successful", 20), status(3, "toRetake", 15)])
    assert await path_status(proj) == ("successful", at(20))
    await proj.apply([status(1, "late", 20)])
    assert await path_status(proj) == ("late", at(20))


async def test_status_before_created_keeps_status(proj: Projection) -> None:
    await proj.apply([status(5, "awaitingCorrection", 5)])
    placeholder = await proj.row("enrollments", enrollment_id="e1")
    assert placeholder is not None
    assert (placeholder["user_id"], placeholder["session_id"]) == ("u1", None)
    await proj.apply([enrollment("e1", 1)])
    row = await proj.row("enrollments", enrollment_id="e1")
    assert row is not None
    assert (row["session_id"], row["path_status"]) == ("s1", "awaitingCorrection")


async def test_status_ties_in_one_batch_go_to_later_consumed(proj: Projection) -> None:
    await proj.apply(
        [status(1, "late", 7), completed(1, "unsuccessful", 7), status(2, "onTime", 6)]
    )
    assert await path_status(proj) == ("unsuccessful", at(7))


async def test_enrollment_deletion_is_final_even_before_creation(proj: Projection) -> None:
    deleted = event("enrollment.deleted", 4, enrollment_id="e1", user_id="u1", deleted_at=at(4))
    await proj.apply([deleted])
    await proj.apply([enrollment("e1", 2), status(9, "onTime", 9)])
    row = await proj.row("enrollments", enrollment_id="e1")
    assert row is not None
    assert (row["deleted"], row["session_id"], row["path_status"]) == (True, "s1", "onTime")
    await proj.apply([enrollment("e1", 10, session_id="s2")])
    row = await proj.row("enrollments", enrollment_id="e1")
    assert row is not None and (row["deleted"], row["session_id"]) == (True, "s2")


async def test_grant_before_its_certificate_and_enrollment(proj: Projection) -> None:
    await proj.apply(
        [
            grant(
                "gr1",
                5,
                certificate_id="c9",
                enrollment_id="e9",
                session_id="s9",
                expires_at=at(99),
            )
        ]
    )
    row = await proj.row("certificate_grants", grant_id="gr1")
    assert row is not None
    assert (row["certificate_id"], row["user_id"], row["enrollment_id"], row["session_id"]) == (
        "c9",
        "u1",
        "e9",
        "s9",
    )
    assert (row["delivered_at"], row["expires_at"], row["revoked"]) == (at(5), at(99), False)
    assert await proj.row("certificates", certificate_id="c9") is None


async def test_grant_is_last_writer_wins(proj: Projection) -> None:
    await proj.apply([grant("gr1", 5, expires_at=at(50))])
    await proj.apply([grant("gr1", 4, expires_at=at(40))])
    row = await proj.row("certificate_grants", grant_id="gr1")
    assert row is not None and row["expires_at"] == at(50)
    await proj.apply([grant("gr1", 5)])
    row = await proj.row("certificate_grants", grant_id="gr1")
    assert row is not None and row["expires_at"] is None


async def test_revocation_is_final_even_before_grant(proj: Projection) -> None:
    revoked = event("certificate.revoked", 3, grant_id="gr1", user_id="u1", revoked_at=at(3))
    await proj.apply([revoked])
    placeholder = await proj.row("certificate_grants", grant_id="gr1")
    assert placeholder is not None
    assert (placeholder["revoked"], placeholder["certificate_id"]) == (True, None)
    await proj.apply([grant("gr1", 1), grant("gr1", 9, certificate_id="c2")])
    row = await proj.row("certificate_grants", grant_id="gr1")
    assert row is not None and (row["revoked"], row["certificate_id"]) == (True, "c2")


async def test_enrollments_arriving_after_their_session_was_deleted(proj: Projection) -> None:
    await proj.apply([event("path_session.deleted", 1, session_id="s1", deleted_at=at(1))])
    await proj.apply([enrollment("e1", 2, session_id="s1"), grant("gr1", 3, session_id="s1")])
    session = await proj.row("path_sessions", session_id="s1")
    assert session is not None and (session["deleted"], session["state_event_at"]) == (True, None)
    row = await proj.row("enrollments", enrollment_id="e1")
    assert row is not None and (row["session_id"], row["deleted"]) == ("s1", False)
    granted = await proj.row("certificate_grants", grant_id="gr1")
    assert granted is not None and granted["session_id"] == "s1"


async def test_new_and_known_enrollments_and_grants_in_one_batch(proj: Projection) -> None:
    # a plain insert of the batch's states fails on the placeholders: the upsert applies all
    revoked = event("certificate.revoked", 3, grant_id="gr1", user_id="u1", revoked_at=at(3))
    await proj.apply([status(5, "late", 5), revoked])
    states = [enrollment(f"e{n}", 1) for n in range(3)] + [grant(f"gr{n}", 1) for n in range(3)]
    await proj.apply(states)
    enrollments = await proj.rows("enrollments")
    assert [(r["enrollment_id"], r["session_id"], r["path_status"]) for r in enrollments] == [
        ("e0", "s1", None),
        ("e1", "s1", "late"),
        ("e2", "s1", None),
    ]
    grants = await proj.rows("certificate_grants")
    assert [(r["grant_id"], r["delivered_at"], r["revoked"]) for r in grants] == [
        ("gr0", at(1), False),
        ("gr1", at(1), True),
        ("gr2", at(1), False),
    ]
