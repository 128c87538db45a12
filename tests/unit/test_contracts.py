"""Contract v1: parsing rules of SPEC.md section 3 and drift of the committed documents."""

import json
from datetime import UTC

import pytest
from pydantic import TypeAdapter, ValidationError

from certstats_contracts import documents
from certstats_contracts.envelope import (
    MalformedEvent,
    UnknownEventType,
    message_key,
    parse_event,
)
from certstats_contracts.events import EVENT_DATA_MODELS, EnrollmentCreated, Instant


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


_INSTANT = TypeAdapter(Instant)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("2026-03-01T09:30:00Z", True),
        ("2026-03-01T09:30:00.1234567+02:00", True),
        ("2026-03-01T09:30:00", False),  # no offset
        ("2026-03-01", False),
        (1772357400, False),  # a number, not an RFC 3339 string
        (None, False),
        ("8999-12-31T23:59:59Z", True),
        ("8999-12-31T23:59:59-14:00", False),  # 9000 in UTC
        ("9000-01-01T05:00:00+06:00", True),  # 8999 in UTC
        ("9999-12-31T23:59:59-23:59", False),  # beyond datetime's range once in UTC
        ("1900-01-01T00:00:00Z", True),
        ("1900-01-01T00:30:00+01:00", False),  # 1899 in UTC
        ("1899-12-31T23:30:00-01:00", True),  # 1900 in UTC
        ("0001-01-01T00:00:00+23:59", False),
        ("2026-02-30T00:00:00Z", False),
    ],
)
def test_instants_get_the_same_verdict_from_json_and_from_python(
    value: object, accepted: bool
) -> None:
    """JSON input is validated natively, Python values by the Python validators: the
    verdicts must agree (SPEC.md section 2, "Time"), and instants from JSON come in UTC."""
    verdicts = []
    for validate in (
        lambda: _INSTANT.validate_json(json.dumps(value)),
        lambda: _INSTANT.validate_python(value),
    ):
        try:
            verdicts.append(validate())
        except ValidationError:
            verdicts.append(None)
    assert [v is not None for v in verdicts] == [accepted, accepted]
    assert verdicts[0] == verdicts[1]
    assert verdicts[0] is None or verdicts[0].tzinfo is UTC


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
