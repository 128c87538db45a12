"""Contract v1: parsing rules of SPEC.md section 3 and drift of the committed documents."""

import json

import pytest

from certstats_contracts import documents
from certstats_contracts.envelope import (
    MalformedEvent,
    UnknownEventType,
    message_key,
    parse_event,
)
from certstats_contracts.events import EVENT_DATA_MODELS, EnrollmentCreated


def _doc(**overrides: object) -> bytes:
    doc: dict[str, object] = {
        "specversion": "1.0",
        "id": "0b7f6a0e-6a5c-4bb4-9d0e-2a4f3f0d5c11",
        "source": "lms/enrollment-service",
        "type": "enrollment.created",
        "time": "2026-03-01T09:30:00Z",
        "platformid": "acme",
        "datacontenttype": "application/json",
        "data": {
            "enrollment_id": "e-1",
            "user_id": "u-1",
            "session_id": "s-1",
            "enrolled_at": "2026-03-01T09:30:00Z",
            "method": "assigned",
            "automatic_reenrollment": False,
            "previous_enrollment_id": None,
            "some_future_field": 42,
        },
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_spec_example_parses_and_ignores_unknown_fields() -> None:
    event = parse_event(_doc())
    assert event.platform_id == "acme"
    assert isinstance(event.data, EnrollmentCreated)
    assert event.data.session_id == "s-1"
    assert message_key(event.platform_id, event.type, event.data) == b"acme:u-1"


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        _doc(time="yesterday"),
        _doc(time="2026-03-01T09:30:00"),  # naive: no offset
        _doc(time=1700000000),  # epoch seconds are not RFC 3339
        _doc(time="9999-12-31T23:59:59-10:00"),  # beyond year 9999 in UTC
        _doc(time="0001-01-01T00:00:00+01:00"),  # before year 1 in UTC
        _doc(time="1899-12-31T23:59:59Z"),
        _doc(time="9000-01-01T00:00:00Z"),
        _doc(
            type="certificate.created",
            data={"certificate_id": "c", "title": "t", "validity_months": True},
        ),
        _doc(
            type="certificate.created",
            data={"certificate_id": "c", "title": "t", "validity_months": "12"},
        ),
        _doc(data={"enrollment_id": "e-1"}),
        _doc(specversion="0.3"),
        _doc(platformid=""),
        _doc(id="a\u0000b"),
        _doc(type="certificate.created", data={"certificate_id": "c", "title": "x\u0000"}),
        _doc(
            type="user.updated",
            data={
                "user_id": "u",
                "first_name": "a",
                "last_name": "b",
                "email": "e",
                "registered_at": "2026-01-01T00:00:00Z",
                "custom_fields": {"k\u0000": "v"},
            },
        ),
        _doc(
            type="certificate.created",
            data={"certificate_id": "c", "title": "t", "validity_months": 2**31},
        ),
    ],
)
def test_malformed_events_are_rejected(raw: bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_event(raw)


def test_unknown_type_is_distinguished_from_malformed() -> None:
    with pytest.raises(UnknownEventType) as info:
        parse_event(_doc(type="badge.awarded"))
    assert info.value.event_type == "badge.awarded"


def test_every_type_has_a_key_rule() -> None:
    for event_type, model in EVENT_DATA_MODELS.items():
        fields = {name: "x" for name in model.model_fields}
        data = model.model_construct(**fields)
        assert message_key("p", event_type, data) == b"p:x"


def test_committed_documents_match_the_models() -> None:
    for path, text in documents.expected_files().items():
        assert path.exists(), f"{path} missing: run python -m certstats_contracts.documents"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} drifted from the models: run python -m certstats_contracts.documents"
        )
