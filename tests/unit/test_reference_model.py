"""Hand-written scenarios for the reference model (SPEC.md sections 2-5, DECISIONS.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from certstats_contracts.envelope import DomainEvent
from tests.reference.builders import at, event
from tests.reference.model import Forbidden, NotFound, Query, ReferenceModel

T0 = "2026-01-01"
ADMIN = Query(platform_id="acme", requester_id="boss", as_of=at("2026-06-01"), platform_admin=True)


def world(platform_id: str = "acme") -> list[DomainEvent]:
    """Groups root > sub, other; c1 (12 months, owned by root) granted by pa1 and pa2; c2 (no
    expiry) granted by pa3; sessions s1, s2 of pa1, s3 of pa3; u1 in sub, u2 in other."""

    def e(kind: str, **data: Any) -> DomainEvent:
        return event(kind, T0, platform_id=platform_id, **data)

    return [
        e("group.created", group_id="root", name="Root"),
        e("group.created", group_id="sub", name="Sub", parent_group_id="root"),
        e("group.created", group_id="other", name="Other"),
        e(
            "certificate.created",
            certificate_id="c1",
            title="Safety",
            owner_group_id="root",
            validity_months=12,
        ),
        e("certificate.created", certificate_id="c2", title="First aid"),
        e("path.created", path_id="pa1", name="Path 1", certificate_id="c1", author_ids=["au1"]),
        e("path.created", path_id="pa2", name="Path 2", certificate_id="c1", author_ids=["au2"]),
        e("path.created", path_id="pa3", name="Path 3", certificate_id="c2"),
        e("path_session.created", session_id="s1", path_id="pa1", name="S1", starts_at=T0),
        e(
            "path_session.created",
            session_id="s2",
            path_id="pa1",
            name="S2",
            starts_at="2026-09-01",
            automatic_reenrollment=True,
        ),
        e(
            "path_session.created",
            session_id="s3",
            path_id="pa3",
            name="S3",
            starts_at=T0,
            instructor_ids=["in3"],
        ),
        e("path_session.created", session_id="s4", path_id="pa2", name="S4", starts_at=T0),
        *(
            e(
                "user.registered",
                user_id=u,
                first_name=u.upper(),
                last_name="Doe",
                email=f"{u}@x.example",
                registered_at="2026-01-05T23:30:00Z",
                group_ids=[g],
                custom_fields={"dept": d},
            )
            for u, g, d in [("u1", "sub", "ops"), ("u2", "other", "it")]
        ),
    ]


def enroll(eid: str, user: str, session: str, **more: Any) -> DomainEvent:
    return event(
        "enrollment.created",
        "2026-02-01",
        enrollment_id=eid,
        user_id=user,
        session_id=session,
        enrolled_at="2026-02-01",
        method="assigned",
        **more,
    )


def grant(gid: str, user: str, cert: str = "c1", **more: Any) -> DomainEvent:
    fields: dict[str, Any] = {"delivered_at": "2026-03-01", "expires_at": "2027-03-01"}
    fields.update(more)
    return event(
        "certificate.granted",
        "2026-03-01",
        grant_id=gid,
        certificate_id=cert,
        user_id=user,
        **fields,
    )


def by_id(rows: list[dict[str, Any]], key: str = "certificate_id") -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in rows}


def test_seed_example_certified_then_enrolled_again_stays_valid() -> None:
    model = ReferenceModel(
        [
            *world(),
            enroll("e1", "u1", "s1"),
            grant("g1", "u1", enrollment_id="e1", session_id="s1"),
            enroll("e2", "u1", "s2", automatic_reenrollment=True, previous_enrollment_id="e1"),
        ]
    )
    (row,) = model.learners(ADMIN, "c1")
    assert row["latest_status"] == "valid"
    assert (row["delivery_date"], row["expiration_date"]) == ("2026-03-01", "2027-03-01")
    history = by_id(model.history(ADMIN, "c1", "u1"), "enrollment_id")
    assert history["e1"] == {
        "enrollment_id": "e1",
        "certification_status": "valid",
        "delivery_date": "2026-03-01",
        "expiration_date": "2027-03-01",
        "path_id": "pa1",
        "path_name": "Path 1",
        "session_id": "s1",
        "session_name": "S1",
        "path_status": "notYetStarted",
        "automatic_reenrollment": False,
    }
    e2 = history["e2"]
    assert (e2["certification_status"], e2["path_status"]) == ("not_obtained", "sessionNotOpened")
    assert e2["automatic_reenrollment"] is True
    cert = model.certificate(ADMIN, "c1")
    assert (cert["certified_learners"], cert["enrolled_learners"]) == (1, 1)
    assert (cert["associated_paths"], cert["valid_learners"]) == (2, 1)


@pytest.mark.parametrize(
    ("expires_in", "status"),
    [
        (timedelta(days=30, seconds=1), "valid"),
        (timedelta(days=30), "expiring_soon"),
        (timedelta(seconds=1), "expiring_soon"),
        (timedelta(0), "expired"),
        (None, "valid"),
    ],
)
def test_thirty_day_window_boundaries(expires_in: timedelta | None, status: str) -> None:
    expires = None if expires_in is None else (ADMIN.as_of + expires_in).isoformat()
    model = ReferenceModel([*world(), grant("g1", "u1", expires_at=expires)])
    (row,) = model.certified_learners(ADMIN, "c1")
    assert row["latest_status"] == status
    assert row["expiration_date"] == (expires and expires[:10])


def test_latest_grant_decides_even_when_an_older_one_is_still_valid() -> None:
    model = ReferenceModel(
        [
            *world(),
            grant("g1", "u1", expires_at=None),
            grant("g2", "u1", delivered_at="2026-04-01", expires_at="2026-05-01"),
        ]
    )
    assert model.learners(ADMIN, "c1")[0]["latest_status"] == "expired"
    assert model.certificate(ADMIN, "c1")["expired_learners"] == 1
    before = replace(ADMIN, as_of=at("2026-03-15"))
    assert model.learners(before, "c1")[0]["latest_status"] == "valid"


def test_archived_session_counts_as_certified_not_enrolled() -> None:
    events = [
        *world(),
        enroll("e1", "u1", "s1"),
        grant("g1", "u1", enrollment_id="e1"),
        event("path_session.archived", "2026-04-01", session_id="s1", archived_at="2026-04-01"),
    ]
    row = ReferenceModel(events).certificate(ADMIN, "c1")
    assert (row["certified_learners"], row["enrolled_learners"]) == (1, 0)
    unarchive = event("path_session.unarchived", "2026-04-02", session_id="s1")
    stale = event("path_session.archived", "2026-03-01", session_id="s1", archived_at=T0)
    assert (
        ReferenceModel([*events, unarchive, stale]).certificate(ADMIN, "c1")["enrolled_learners"]
        == 1
    )


@pytest.mark.parametrize(
    "deletion",
    [
        event("path_session.deleted", "2026-04-01", session_id="s1", deleted_at="2026-04-01"),
        event("path.deleted", "2026-04-01", path_id="pa1"),
        event(
            "enrollment.deleted",
            "2026-04-01",
            enrollment_id="e1",
            user_id="u1",
            deleted_at="2026-04-01",
        ),
    ],
)
def test_deleted_session_path_or_enrollment_hides_enrollment_and_its_grant(
    deletion: DomainEvent,
) -> None:
    events = [*world(), enroll("e1", "u1", "s1"), grant("g1", "u1", enrollment_id="e1")]
    later_update = event(
        "path_session.updated",
        "2026-05-01",
        session_id="s1",
        path_id="pa1",
        name="S1 again",
        starts_at=T0,
    )
    model = ReferenceModel([*events, deletion, later_update])
    assert model.certificate_list(ADMIN) == []
    with pytest.raises(NotFound):
        model.history(ADMIN, "c1", "u1")


def test_revocation_is_final_even_before_the_grant_arrives() -> None:
    revoke = event(
        "certificate.revoked", "2026-01-02", grant_id="g1", user_id="u1", revoked_at="2026-01-02"
    )
    model = ReferenceModel([*world(), revoke, grant("g1", "u1"), enroll("e1", "u1", "s1")])
    assert model.certificate(ADMIN, "c1")["certified_learners"] == 0
    assert model.learners(ADMIN, "c1")[0]["latest_status"] == "not_obtained"


def test_grant_without_listed_enrollment_gets_its_own_history_row() -> None:
    model = ReferenceModel(
        [*world(), enroll("e1", "u1", "s1"), grant("g1", "u1", session_id="s4"), grant("g2", "u1")]
    )
    rows = model.history(ADMIN, "c1", "u1")
    assert sorted((r["enrollment_id"] or "", r["session_id"] or "") for r in rows) == [
        ("", ""),
        ("", "s4"),
        ("e1", "s1"),
    ]
    assert {r["path_status"] for r in rows if r["enrollment_id"] is None} == {None}


def test_user_status_filter_and_unlinked_certificates_under_all() -> None:
    events = [
        *world(),
        enroll("e1", "u1", "s1"),
        enroll("e2", "u2", "s1"),
        event("user.deleted", "2026-02-02", user_id="u2", deleted_at="2026-02-02"),
    ]
    model = ReferenceModel(events)
    assert model.certificate(ADMIN, "c1")["enrolled_learners"] == 1
    deleted = replace(ADMIN, user_status="deleted")
    assert [r["user_id"] for r in model.learners(deleted, "c1")] == ["u2"]
    everyone = replace(ADMIN, user_status="all")
    assert set(by_id(model.certificate_list(everyone))) == {"c1", "c2"}
    assert set(by_id(model.certificate_list(ADMIN))) == {"c1"}
    filtered = replace(everyone, custom_fields={"dept": ["ops", "hr"]})
    assert set(by_id(model.certificate_list(filtered))) == {"c1"}
    assert by_id(model.certificate_list(filtered))["c1"]["enrolled_learners"] == 1


def test_registration_dates_are_calendar_dates_in_tz() -> None:
    model = ReferenceModel([*world(), enroll("e1", "u1", "s1")])
    utc = replace(ADMIN, registered_from=at("2026-01-05").date(), registered_to=at(T0).date())
    assert model.learners(replace(utc, registered_to=at("2026-01-05").date()), "c1") != []
    paris = replace(ADMIN, registered_from=at("2026-01-06").date(), tz="Europe/Paris")
    assert [r["user_id"] for r in model.learners(paris, "c1")] == ["u1"]
    assert model.learners(replace(paris, tz="UTC"), "c1") == []
    assert model.learners(utc, "c1") == []


def test_coach_of_parent_group_sees_subgroup_learners_only() -> None:
    coach = event("group.role_granted", "2026-01-02", group_id="root", user_id="k", role="coach")
    events = [*world(), coach, enroll("e1", "u1", "s3"), enroll("e2", "u2", "s3")]
    query = replace(ADMIN, requester_id="k", platform_admin=False, user_status="all")
    model = ReferenceModel(events)
    assert set(by_id(model.certificate_list(query))) == {"c1", "c2"}  # owned c1, linked c2
    assert [r["user_id"] for r in model.learners(query, "c2")] == ["u1"]
    with pytest.raises(NotFound):
        model.history(query, "c2", "u2")
    revoked = event("group.role_revoked", "2026-01-03", group_id="root", user_id="k", role="coach")
    with pytest.raises(Forbidden):
        ReferenceModel([*events, revoked]).certificate_list(query)
    gone = event("group.deleted", "2026-01-03", group_id="sub")
    with pytest.raises(NotFound):  # u1 left the tree, so c2 is linked to no member
        ReferenceModel([*events, gone]).learners(query, "c2")


def test_author_and_instructor_see_only_their_paths_learners() -> None:
    events = [
        *world(),
        enroll("e1", "u1", "s1"),
        enroll("e2", "u2", "s4"),
        grant("g2", "u2", session_id="s4"),
    ]
    model = ReferenceModel(events)
    author = replace(ADMIN, requester_id="au1", platform_admin=False)
    assert [r["certificate_id"] for r in model.certificate_list(author)] == ["c1"]
    assert [r["user_id"] for r in model.learners(author, "c1")] == ["u1"]
    assert model.certificate(author, "c1")["associated_paths"] == 2
    with pytest.raises(NotFound):
        model.learners(author, "c2")
    instructor = replace(author, requester_id="in3", user_status="all")
    assert model.certificate(instructor, "c2")["certified_learners"] == 0
    with pytest.raises(Forbidden):
        model.certificate_list(replace(author, requester_id="nobody"))


def test_two_platforms_with_the_same_ids_stay_apart() -> None:
    events = [
        *world("acme"),
        *world("globex"),
        enroll("e1", "u1", "s1"),
        event(
            "enrollment.created",
            T0,
            platform_id="globex",
            event_id="ev-same",
            enrollment_id="e1",
            user_id="u2",
            session_id="s3",
            enrolled_at=T0,
            method="self_enrolled",
        ),
        event(
            "user.deleted", T0, platform_id="acme", event_id="ev-same", user_id="u9", deleted_at=T0
        ),
    ]
    model = ReferenceModel(events)
    globex = replace(ADMIN, platform_id="globex")
    assert [r["user_id"] for r in model.learners(globex, "c2")] == ["u2"]
    assert model.learners(globex, "c1") == []
    assert [r["user_id"] for r in model.learners(ADMIN, "c1")] == ["u1"]
    assert model.states["acme"].users["u9"].status == "deleted"


def test_last_writer_wins_with_ties_to_the_later_consumed_and_duplicates_ignored() -> None:
    def rename(title: str, time: str, event_id: str) -> DomainEvent:
        return event(
            "certificate.updated", time, event_id=event_id, certificate_id="c2", title=title
        )

    first, second = rename("A", "2026-02-01", "x1"), rename("B", "2026-02-01", "x2")
    events = [*world(), first, second, rename("old", "2026-01-15", "x3"), first]
    assert ReferenceModel(events).certificate(ADMIN, "c2")["title"] == "B"
    done = event(
        "enrollment.completed",
        "2026-01-01",
        enrollment_id="e1",
        user_id="u1",
        status="successful",
        completed_at="2026-05-01",
    )
    late = event(
        "enrollment.status_changed",
        "2026-09-01",
        enrollment_id="e1",
        user_id="u1",
        status="late",
        changed_at="2026-04-01",
    )
    model = ReferenceModel([*world(), done, late, enroll("e1", "u1", "s1")])
    assert model.history(ADMIN, "c1", "u1")[0]["path_status"] == "successful"


def test_unknown_references_complete_when_the_entity_arrives() -> None:
    session = event(
        "path_session.created", T0, session_id="s9", path_id="pa9", name="S9", starts_at=T0
    )
    path = event("path.created", T0, path_id="pa9", name="Path 9", certificate_id="c9")
    cert = event("certificate.created", T0, certificate_id="c9", title="Late")
    partial = [enroll("e1", "u7", "s9"), session, path]
    assert ReferenceModel(partial).certificate_list(ADMIN) == []
    model = ReferenceModel([*partial, cert])
    (row,) = model.learners(ADMIN, "c9")
    assert (row["user_id"], row["first_name"], row["latest_status"]) == ("u7", None, "not_obtained")
