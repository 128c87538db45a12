"""Reading and selecting dead letters (SPEC.md §3): headers as the projector writes them
(``certstats_projector.dlq``), missing headers, previews and filters. Pure: no broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from aiokafka import ConsumerRecord

from certstats_projector import dlq
from certstats_projector.dlq_tool import (
    PREVIEW_CHARS,
    DeadLetter,
    dead_letter_from,
    json_lines,
    once_per_origin,
    printable,
    select,
)

HOSTILE = "[bold]x[/bold] \x1b[2J\x1b]0;pwned\x07 \x9b31m \u202eevil\u2028line\x7f é✓"
"""Rich markup, ANSI clear screen, OSC title + BEL, C1 CSI, bidi override, U+2028, DEL."""


def record(offset: int, value: bytes, headers: dict[str, str]) -> ConsumerRecord[bytes, bytes]:
    """A DLQ record at ``offset`` of partition 0, written on 2026-03-01 at 09:00 UTC."""
    encoded = tuple((name, text.encode()) for name, text in headers.items())
    return ConsumerRecord(
        "lms.events.dlq", 0, offset, 1772355600000, 0, b"acme:u-1", value, None, 1, 1, encoded
    )


def letter(offset: int, error: str) -> DeadLetter:
    return dead_letter_from(record(offset, b"{}", {dlq.ERROR_HEADER: error}))


def test_reads_the_headers_the_projector_writes() -> None:
    rejected = dlq.Rejected(
        ConsumerRecord("lms.events", 3, 41, 1772355000000, 0, b"k", b"v", None, 1, 1, ()),
        "bad JSON",
    )
    got = dead_letter_from(record(17, b"not json", dlq.dlq_headers(rejected)))

    assert (got.error, got.original_topic, got.original_partition, got.original_offset) == (
        "bad JSON",
        "lms.events",
        3,
        41,
    )
    assert (got.offset, got.key, got.value) == (17, b"acme:u-1", b"not json")
    assert got.dead_lettered_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert got.original_at == datetime(2026, 3, 1, 8, 50, tzinfo=UTC)


def test_missing_or_bad_headers_become_none() -> None:
    got = dead_letter_from(record(0, b"\xff\xfe", {dlq.ORIGINAL_OFFSET_HEADER: "x1"}))

    assert (got.error, got.original_topic, got.original_offset, got.original_at) == (
        "",
        None,
        None,
        None,
    )
    assert got.preview == "\ufffd\ufffd"
    assert got.as_json()["original_partition"] is None


def test_preview_is_cut() -> None:
    long = dead_letter_from(record(0, b"a" * 500, {}))

    assert len(long.preview) == PREVIEW_CHARS and long.preview.endswith("…")


def test_select_by_error_and_inclusive_offset_range() -> None:
    letters = [letter(0, "Invalid JSON"), letter(1, "time: bad"), letter(2, "invalid json!")]

    assert [d.offset for d in select(letters, error_contains="INVALID json")] == [0, 2]
    assert [d.offset for d in select(letters, from_offset=1, to_offset=2)] == [1, 2]
    assert [d.offset for d in select(letters, error_contains="json", to_offset=1)] == [0]
    assert select(letters) == letters


def test_printable_escapes_every_control_character() -> None:
    shown = printable(HOSTILE)

    assert shown == (
        "[bold]x[/bold] \\x1b[2J\\x1b]0;pwned\\x07 \\x9b31m \\u202eevil\\u2028line\\x7f é✓"
    )
    assert shown.isprintable()


def test_json_lines_escape_control_characters_and_round_trip() -> None:
    got = dead_letter_from(record(0, HOSTILE.encode(), {dlq.ERROR_HEADER: HOSTILE}))
    (line,) = json_lines([got])

    assert line.isprintable() and line.isascii() is False  # é and ✓ stay readable
    assert line.splitlines() == [line]
    assert json.loads(line)["error"] == HOSTILE
    assert json.loads(line)["preview"] == got.preview


def test_copies_of_one_original_record_are_listed_once() -> None:
    def copy(offset: int, original_offset: str | None) -> DeadLetter:
        headers = {dlq.ERROR_HEADER: "bad JSON", dlq.ORIGINAL_TOPIC_HEADER: "lms.events"}
        headers |= {dlq.ORIGINAL_PARTITION_HEADER: "2"}
        if original_offset is not None:
            headers[dlq.ORIGINAL_OFFSET_HEADER] = original_offset
        return dead_letter_from(record(offset, b"x", headers))

    letters = [copy(0, "7"), copy(1, "8"), copy(2, "7"), copy(3, None), copy(4, None)]

    assert [d.offset for d in once_per_origin(letters)] == [0, 1, 3, 4]
