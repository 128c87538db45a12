"""The projector's decoder (``decoded.decode_event``) against the contract's (``parse_event``).

The Structs must hold the pydantic models' fields, and ``decode_event`` must give
``parse_event``'s verdict and values on any message: generated valid events, then mutated
ones (fields dropped or replaced, odd timestamps and strings, duplicate keys).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from certstats_contracts import decoded
from certstats_contracts.envelope import DomainEvent, MalformedEvent, UnknownEventType, parse_event
from certstats_contracts.events import EVENT_DATA_MODELS
from tests.reference.builders import event, to_message
from tests.reference.strategies import histories


def test_every_type_has_a_struct_with_the_models_fields() -> None:
    assert decoded.PAYLOADS.keys() == EVENT_DATA_MODELS.keys() == decoded.EVENTS.keys()
    for event_type, model in EVENT_DATA_MODELS.items():
        struct = decoded.PAYLOADS[event_type]
        fields = {f.name: f for f in msgspec.structs.fields(struct)}
        assert fields.keys() == model.model_fields.keys(), event_type
        for name, info in model.model_fields.items():
            field = fields[name]
            assert field.required == info.is_required(), (event_type, name)
            if not field.required:
                default = (
                    field.default_factory() if field.default is msgspec.NODEFAULT else field.default
                )
                assert default == info.get_default(call_default_factory=True), (event_type, name)
        instants = tuple(
            n for n, i in model.model_fields.items() if datetime in _types(i.annotation)
        )
        assert struct.instants == instants, event_type
        assert decoded.EVENTS[event_type].type == event_type


def _types(annotation: Any) -> set[Any]:
    """``annotation`` and, for a union, its members; ``Annotated`` ones unwrapped."""
    members = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    return {getattr(t, "__origin__", t) for t in (annotation, *members)}


def _verdict(parse: Any, raw: bytes) -> tuple[str, Any]:
    try:
        event = parse(raw)
    except UnknownEventType as exc:
        return "unknown", exc.event_type
    except MalformedEvent:
        return "malformed", None
    return "ok", _values(event)


def _values(event: DomainEvent | decoded.Event) -> dict[str, Any]:
    data = event.data
    payload = data.model_dump() if isinstance(data, BaseModel) else msgspec.structs.asdict(data)
    instants = [event.time, *(v for v in payload.values() if isinstance(v, datetime))]
    assert all(i.tzinfo is UTC for i in instants), instants  # same instants, same zone
    return {
        "id": event.id,
        "type": event.type,
        "time": event.time,
        "platform_id": event.platform_id,
        "data": payload,
        "payload_type": type(data).__name__,
    }


def _assert_same_verdict(raw: bytes) -> None:
    assert _verdict(decoded.decode_event, raw) == _verdict(parse_event, raw), raw


@settings(max_examples=60, deadline=None)
@given(events=histories())
def test_valid_messages_decode_like_parse_event_and_take_the_fast_path(
    events: list[DomainEvent],
) -> None:
    for one in events:
        raw = to_message(one)
        _assert_same_verdict(raw)
        assert type(decoded._DECODER.decode(raw)).__name__.endswith("Message")


ODD_TIMES = [
    "2026-03-01T09:30:00Z",
    "2026-03-01t09:30:00z",
    "2026-03-01 09:30:00Z",
    "2026-03-01T09:30Z",
    "2026-03-01T09:30:00.5Z",
    "2026-03-01T09:30:00,5Z",
    "2026-03-01T09:30:00.123456Z",
    "2026-03-01T09:30:00.1234564Z",
    "2026-03-01T09:30:00.9999995Z",
    "2026-03-01T09:30:00.123456789+00:00",
    "2026-03-01T09:30:00+00:00",
    "2026-03-01T09:30:00-00:00",
    "2026-03-01T09:30:00+01:00",
    "2026-03-01T09:30:00+0100",
    "2026-03-01T09:30:00+01",
    "2026-03-01T23:59:60Z",
    "2026-03-01T24:00:00Z",
    "2026-02-30T09:30:00Z",
    "2026-03-01T09:30:00",
    "20260301T093000Z",
    "1899-12-31T23:59:59Z",
    "1900-01-01T00:00:00Z",
    "1900-01-01T00:30:00+01:00",
    "8999-12-31T23:59:59Z",
    "9000-01-01T00:00:00Z",
    "9999-12-31T23:59:59-10:00",
    "0001-01-01T00:00:00Z",
    "",
]

ODD_STRINGS = [
    "",
    "x",
    "x" * 200,
    "x" * 201,
    "é" * 200,
    "🎓" * 200,
    "🎓" * 201,
    "a\u0000b",
    "\ud800",
]

JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 1300),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(ODD_TIMES),
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=5),
    st.lists(st.sampled_from(["g1", "", 1]), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["v", 1, None]), max_size=2),
    st.sampled_from(["assigned", "late", "successful", "admin", "1.0", "application/json"]),
)


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    """A valid message with one to three fields dropped, replaced or added (envelope or
    ``data``), sometimes another type, sometimes a key repeated in the raw JSON."""
    document: dict[str, Any] = json.loads(to_message(draw(st.sampled_from(draw(histories())))))
    for _ in range(draw(st.integers(1, 3))):
        data = document.get("data")
        target = draw(st.sampled_from([document, *([data] if isinstance(data, dict) else [])]))
        key = draw(st.sampled_from([*target, "extra"]))
        if draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = draw(JSON_VALUES)
    if draw(st.integers(0, 9)) == 0:
        document["type"] = draw(st.sampled_from([*EVENT_DATA_MODELS, "bogus.type", ""]))
    raw = json.dumps(document, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:  # a repeated key: the later one counts, in both
        key = draw(st.sampled_from(sorted(document)))
        raw = raw[:-1] + f", {json.dumps(key)}: {json.dumps(draw(JSON_VALUES))}}}"
    return raw.encode("utf-8", "surrogatepass")


@settings(max_examples=300, deadline=None)
@given(raw=mutated_messages())
def test_mutated_messages_get_parse_events_verdict_and_values(raw: bytes) -> None:
    _assert_same_verdict(raw)


@pytest.mark.parametrize("time", ODD_TIMES)
def test_every_odd_timestamp_gets_parse_events_verdict(time: str) -> None:
    granted = event(
        "certificate.granted",
        "2026-03-01T09:30",
        grant_id="g-1",
        certificate_id="c-1",
        user_id="u-1",
        delivered_at="2026-03-01",
    )
    for where in ("envelope", "data"):
        document: dict[str, Any] = json.loads(to_message(granted))
        (document if where == "envelope" else document["data"])[
            "delivered_at" if where == "data" else "time"
        ] = time
        _assert_same_verdict(json.dumps(document).encode())


@pytest.mark.parametrize(
    "raw",
    [b"", b"{not json", b"[]", b"null", b'{"type": "user.deleted"}', b"\xff", b'{"a": 1} x'],
)
def test_broken_json_gets_parse_events_verdict(raw: bytes) -> None:
    _assert_same_verdict(raw)


_DELETED = json.dumps(
    {
        "specversion": "1.0",
        "id": "e1",
        "source": "s",
        "type": "user.deleted",
        "time": "2026-01-01T00:00:00Z",
        "platformid": "p",
        "data": {
            "user_id": "u",
            "deleted_at": "2026-01-01T00:00:00Z",
            "reactivated_at": "2026-01-01T00:00:00Z",
        },
    }
)


@pytest.mark.parametrize(
    "raw",
    [
        _DELETED[:-1] + ', "type": "user.reactivated"}',  # two valid types: the last one counts
        '{"type": "user.reactivated", ' + _DELETED[1:],
        _DELETED[:-1] + ', "type": "bogus"}',
        _DELETED.replace('"user.deleted"', '"user\\u002edeleted"'),  # escapes in the tag
        _DELETED.replace('"user_id"', '"user\\u005fid"'),  # and in a key
        _DELETED[:-1] + ', "data": {"user_id": "v", "deleted_at": "2026-01-02T00:00:00Z"}}',
        "\ufeff" + _DELETED,
        f"  {_DELETED}\n ",
    ],
)
def test_repeated_keys_and_escapes_get_parse_events_verdict(raw: str) -> None:
    _assert_same_verdict(raw.encode())


_HEAD = _DELETED[:-1].encode()  # a valid message without its closing brace


@pytest.mark.parametrize(
    "raw",
    [
        _HEAD + b', "x": ' + b"[" * 1000 + b"]" * 1000 + b"}",  # msgspec: RecursionError
        _HEAD + b', "x": ' + b"[" * 200 + b"]" * 200 + b"}",  # jiter's deepest
        _HEAD + b', "x": ' + b"[" * 201 + b"]" * 201 + b"}",  # one level too deep for jiter
        _HEAD + b', "x": ' + b"{" * 150 + b"[" * 60 + b"]" * 60 + b"}" * 150 + b"}",
        _HEAD + b', "x": "\xff"}',  # not UTF-8, in a field nobody keeps
        _HEAD + b', "x": "\xc0\xaf"}',  # an overlong form
        _HEAD + b', "\xed\xa0\x80": 1}',  # a UTF-8-encoded surrogate, in a key
        _HEAD + b', "x": ' + b"1" * 4300 + b"}",
        _HEAD + b', "x": ' + b"1" * 4301 + b"}",  # an integer jiter calls out of range
        _HEAD + b', "x": 1.' + b"1" * 5000 + b"}",
        _HEAD.replace(b'00Z"', b'00\\u002e9999999Z"', 1) + b"}",  # escaped fraction dot
        _HEAD.replace(b'00Z"', b'.123456\\u0037Z"', 1) + b"}",  # escaped seventh digit
        _HEAD.replace(b'00Z"', b'.12345\\u00369Z"', 1) + b"}",
        _HEAD.replace(b'"u"', b'"\\u0075"') + b"}",  # an escaped letter is harmless
    ],
)
def test_what_msgspec_skips_or_unescapes_gets_parse_events_verdict(raw: bytes) -> None:
    """Found by trying to break the decoder: msgspec skips unknown fields without the checks
    jiter makes on the whole document, and reads a timestamp after unescaping it."""
    _assert_same_verdict(raw)
