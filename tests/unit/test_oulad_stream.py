"""The ``ou`` stream of the small hand-made dataset, event by event (SPEC.md section 7)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from certstats_contracts.envelope import message_key, parse_event
from certstats_importer.ids import EVENT_ID_NAMESPACE
from certstats_importer.stream import oulad_events
from tests.oulad_fixture import write_small_oulad

Event = dict[str, Any]


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[Event]:
    return list(oulad_events(write_small_oulad(tmp_path_factory.mktemp("oulad"))))


def of_type(events: list[Event], event_type: str) -> list[dict[str, Any]]:
    return [event["data"] for event in events if event["type"] == event_type]


def one(events: list[Event], event_type: str, **match: Any) -> Event:
    found = [
        e
        for e in events
        if e["type"] == event_type and all(e["data"].get(k) == v for k, v in match.items())
    ]
    assert len(found) == 1, (event_type, match, found)
    return found[0]


def test_every_event_is_a_valid_v1_event_in_time_order(events: list[Event]) -> None:
    parsed = [parse_event(json.dumps(event)) for event in events]
    assert all(p.platform_id == "ou" for p in parsed)
    assert [p.time for p in parsed] == sorted(p.time for p in parsed)
    assert len({p.id for p in parsed}) == len(parsed)


def test_event_ids_are_uuid5_of_type_and_entity_ids(events: list[Event]) -> None:
    created = one(events, "enrollment.created", enrollment_id="ou-enr-AAA-2013J-11")
    role = one(events, "group.role_granted", user_id="ou-admin-wales")
    assert created["id"] == str(
        uuid.uuid5(EVENT_ID_NAMESPACE, "enrollment.created/ou-enr-AAA-2013J-11")
    )
    assert role["id"] == str(
        uuid.uuid5(EVENT_ID_NAMESPACE, "group.role_granted/ou-g-wales/ou-admin-wales/admin")
    )


def test_message_keys_follow_the_entity(events: list[Event]) -> None:
    def key(event: Event) -> bytes:
        return message_key("ou", event["type"], parse_event(json.dumps(event)).data)

    assert key(one(events, "certificate.granted", user_id="ou-55")) == b"ou:ou-55"
    assert key(one(events, "path_session.archived", session_id="ou-session-GGG-2013B")) == (
        b"ou:ou-session-GGG-2013B"
    )
    assert key(one(events, "group.created", group_id="ou-g-root")) == b"ou:ou-g-root"


def test_group_tree(events: list[Event]) -> None:
    groups = {g["group_id"]: g for g in of_type(events, "group.created")}
    assert len(groups) == 15
    assert groups["ou-g-root"] == {
        "group_id": "ou-g-root", "name": "Open University", "parent_group_id": None,
    }  # fmt: skip
    assert groups["ou-g-wales"]["parent_group_id"] == "ou-g-root"
    assert groups["ou-g-east-anglian-region"]["parent_group_id"] == "ou-g-england"
    assert sum(g["parent_group_id"] == "ou-g-england" for g in groups.values()) == 10


def test_staff_users_and_roles(events: list[Event]) -> None:
    roles = {
        (r["group_id"], r["user_id"], r["role"]) for r in of_type(events, "group.role_granted")
    }
    assert len(roles) == 13 + 4
    assert ("ou-g-london-region", "ou-coach-london-region", "coach") in roles
    assert ("ou-g-england", "ou-admin-england", "admin") in roles
    assert ("ou-g-scotland", "ou-coach-scotland", "coach") in roles
    author = one(events, "user.registered", user_id="ou-author-AAA")
    assert author["time"] == "2024-01-31T00:00:00Z"
    assert author["data"] == {
        "user_id": "ou-author-AAA", "first_name": "Staff", "last_name": "ou-author-AAA",
        "email": "ou-author-AAA@staff.example", "registered_at": "2024-01-31T00:00:00Z",
        "custom_fields": {}, "group_ids": ["ou-g-root"],
    }  # fmt: skip


def test_certificates_paths_and_sessions(events: list[Event]) -> None:
    certificates = {c["certificate_id"]: c for c in of_type(events, "certificate.created")}
    assert certificates["ou-cert-CCC"]["validity_months"] is None
    assert certificates["ou-cert-GGG"] == {
        "certificate_id": "ou-cert-GGG", "title": "Module GGG certificate",
        "owner_group_id": "ou-g-root", "validity_months": 6,
    }  # fmt: skip
    path = one(events, "path.created", path_id="ou-path-BBB")["data"]
    assert path == {
        "path_id": "ou-path-BBB", "name": "Module BBB", "certificate_id": "ou-cert-BBB",
        "author_ids": ["ou-author-BBB"],
    }  # fmt: skip
    session = one(events, "path_session.created", session_id="ou-session-AAA-2013J")
    assert session["time"] == "2024-01-31T00:00:00Z"
    assert session["data"] == {
        "session_id": "ou-session-AAA-2013J", "path_id": "ou-path-AAA", "name": "AAA 2013J",
        "starts_at": "2024-10-01T00:00:00Z", "ends_at": "2025-06-26T00:00:00Z",
        "instructor_ids": [], "automatic_reenrollment": False,
    }  # fmt: skip
    again = one(events, "path_session.created", session_id="ou-session-AAA-2014J")["data"]
    assert again["automatic_reenrollment"] is True


def test_only_2013_sessions_are_archived_180_days_after_their_end(events: list[Event]) -> None:
    archived = {a["session_id"]: a["archived_at"] for a in of_type(events, "path_session.archived")}
    assert archived == {
        "ou-session-AAA-2013J": "2025-12-23T00:00:00Z",
        "ou-session-GGG-2013B": "2025-02-27T00:00:00Z",
    }


def test_learner_user_takes_earliest_enrollment_and_latest_row(events: list[Event]) -> None:
    learner = one(events, "user.registered", user_id="ou-11")
    assert learner["time"] == "2024-01-31T00:00:00Z"
    assert learner["data"] == {
        "user_id": "ou-11", "first_name": "Learner", "last_name": "11",
        "email": "ou-11@learners.example", "registered_at": "2024-09-21T00:00:00Z",
        "custom_fields": {
            "Gender": "F", "Highest education": "Post Graduate Qualification",
            "Age band": "55<=", "Disability": "Y",
        },
        "group_ids": ["ou-g-scotland"],
    }  # fmt: skip
    wales = one(events, "user.registered", user_id="ou-22")["data"]
    assert wales["group_ids"] == ["ou-g-wales"]
    assert wales["custom_fields"]["IMD band"] == "20-30%"


def test_enrollment_without_registration_date_starts_at_the_start(events: list[Event]) -> None:
    created = one(events, "enrollment.created", enrollment_id="ou-enr-BBB-2014B-11")
    assert created["time"] == created["data"]["enrolled_at"] == "2025-02-01T00:00:00Z"
    assert created["data"]["method"] == "assigned"
    assert created["data"]["previous_enrollment_id"] is None


def test_reenrollment_after_pass_is_automatic(events: list[Event]) -> None:
    data = one(events, "enrollment.created", enrollment_id="ou-enr-AAA-2014J-11")["data"]
    assert data["enrolled_at"] == "2025-09-11T00:00:00Z"
    assert data["previous_enrollment_id"] == "ou-enr-AAA-2013J-11"
    assert data["automatic_reenrollment"] is True


def test_reenrollment_after_fail_is_not_automatic(events: list[Event]) -> None:
    data = one(events, "enrollment.created", enrollment_id="ou-enr-AAA-2014J-22")["data"]
    assert data["previous_enrollment_id"] == "ou-enr-AAA-2013J-22"
    assert data["automatic_reenrollment"] is False


def test_pass_completes_and_grants_at_the_session_end(events: list[Event]) -> None:
    completed = one(events, "enrollment.completed", enrollment_id="ou-enr-AAA-2013J-11")
    assert completed["time"] == "2025-06-26T00:00:00Z"
    assert completed["data"]["status"] == "successful"
    granted = one(events, "certificate.granted", grant_id="ou-grant-AAA-2013J-11")
    assert granted["time"] == "2025-06-26T00:00:00Z"
    assert granted["data"] == {
        "grant_id": "ou-grant-AAA-2013J-11", "certificate_id": "ou-cert-AAA",
        "user_id": "ou-11", "enrollment_id": "ou-enr-AAA-2013J-11",
        "session_id": "ou-session-AAA-2013J", "delivered_at": "2025-06-26T00:00:00Z",
        "expires_at": "2026-06-26T00:00:00Z",
    }  # fmt: skip
    assert events.index(completed) < events.index(granted)


def test_distinction_grants_and_expiry_is_clamped_to_month_end(events: list[Event]) -> None:
    distinction = one(events, "certificate.granted", grant_id="ou-grant-AAA-2014J-22")["data"]
    assert distinction["delivered_at"] == "2026-06-27T00:00:00Z"
    clamped = one(events, "certificate.granted", grant_id="ou-grant-GGG-2013B-55")["data"]
    assert (clamped["delivered_at"], clamped["expires_at"]) == (
        "2024-08-31T00:00:00Z",
        "2025-02-28T00:00:00Z",
    )


def test_fail_completes_unsuccessful_without_grant(events: list[Event]) -> None:
    failed = one(events, "enrollment.completed", enrollment_id="ou-enr-AAA-2014J-11")
    assert (failed["time"], failed["data"]["status"]) == ("2026-06-27T00:00:00Z", "unsuccessful")
    grants = {g["grant_id"] for g in of_type(events, "certificate.granted")}
    assert grants == {
        "ou-grant-AAA-2013J-11", "ou-grant-BBB-2014B-11", "ou-grant-AAA-2014J-22",
        "ou-grant-GGG-2013B-55",
    }  # fmt: skip


def test_withdrawals_delete_the_enrollment(events: list[Event]) -> None:
    deleted = {d["enrollment_id"]: d["deleted_at"] for d in of_type(events, "enrollment.deleted")}
    assert deleted == {
        "ou-enr-BBB-2014B-44": "2025-02-11T00:00:00Z",
        "ou-enr-BBB-2014B-33": "2025-09-23T00:00:00Z",
        "ou-enr-CCC-2014J-11": "2025-10-31T00:00:00Z",
    }
    withdrawn = {"ou-enr-BBB-2014B-44", "ou-enr-BBB-2014B-33", "ou-enr-CCC-2014J-11"}
    completed = {c["enrollment_id"] for c in of_type(events, "enrollment.completed")}
    assert not completed & withdrawn


def test_first_submission_sets_on_time_before_the_enrollment_closes(events: list[Event]) -> None:
    changes = {
        c["enrollment_id"]: (c["status"], c["changed_at"])
        for c in of_type(events, "enrollment.status_changed")
    }
    assert changes == {
        "ou-enr-AAA-2013J-11": ("onTime", "2024-10-06T00:00:00Z"),
        "ou-enr-AAA-2013J-22": ("onTime", "2024-11-10T00:00:00Z"),
        "ou-enr-BBB-2014B-33": ("onTime", "2025-02-04T00:00:00Z"),
    }


def test_counts_per_type(events: list[Event]) -> None:
    assert len(of_type(events, "enrollment.created")) == 9
    assert len(of_type(events, "user.registered")) == 5 + 13 + 4 + 4
    assert len(of_type(events, "path_session.created")) == 5


def test_a_shift_moves_instants_but_keeps_ids(events: list[Event], tmp_path: Path) -> None:
    shifted = list(oulad_events(write_small_oulad(tmp_path), shift_years=0))
    session = one(shifted, "path_session.created", session_id="ou-session-AAA-2013J")["data"]
    assert session["starts_at"] == "2013-10-01T00:00:00Z"
    assert {e["id"] for e in shifted} == {e["id"] for e in events}
