"""The parsers themselves refuse hostile values, whatever the HTTP layer checked before them
(SPEC.md §5.6): NUL-terminated instants, non-ASCII digits, server-dependent zones, cursor keys
that are no value of the sort key's type."""

from __future__ import annotations

import base64
import json

import pytest

from certstats_query_api.pages import encode_cursor, parse_page
from certstats_query_api.params import parse_date, parse_instant, parse_int, parse_tz
from certstats_query_api.problems import ApiProblem


@pytest.mark.parametrize(
    "raw",
    ["2026-11-29T00:00:00Z\x00", "\uff12\uff10\uff12\uff16-11-29T00:00:00Z"],
)
def test_instant_with_trailing_or_foreign_characters(raw: str) -> None:
    with pytest.raises(ApiProblem, match="as_of"):
        parse_instant("as_of", raw)


@pytest.mark.parametrize("raw", ["\u0661\u0662", "\uff11", "1\u0660"])
def test_integer_with_non_ascii_digits(raw: str) -> None:
    with pytest.raises(ApiProblem, match="limit"):
        parse_int("limit", raw, 50, 1, 1000)


def test_date_with_non_ascii_digits() -> None:
    with pytest.raises(ApiProblem, match="registered_from"):
        parse_date("registered_from", "2026-01-0\u0661")


@pytest.mark.parametrize("raw", ["localtime", "posixrules", "UTC\x00", "", "right/UTC"])
def test_server_dependent_zone(raw: str) -> None:
    with pytest.raises(ApiProblem, match="tz"):
        parse_tz(raw)


@pytest.mark.parametrize(
    ("kind", "sort", "key"),
    [
        ("certificates", "validity_months", "2147483648"),
        ("certificates", "certified_learners", "9223372036854775808"),
        ("certificates", "certified_learners", "\u0661"),
        ("learners", "delivery_date", "2026-02-30 00:00:00+00"),
        ("learners", "delivery_date", "2026-03-01T00:00:00+00"),
        ("history", "-enrolled_at", "infinity\x00"),
    ],
)
def test_cursor_key_of_the_wrong_type(kind: str, sort: str, key: str) -> None:
    with pytest.raises(ApiProblem, match="cursor"):
        parse_page(kind, sort, None, encode_cursor(sort, key, "row"))


@pytest.mark.parametrize(
    ("kind", "sort", "key", "sent"),
    [
        ("certificates", "validity_months", "-2147483648", "-2147483648"),
        ("certificates", "certified_learners", "9223372036854775807", "9223372036854775807"),
        ("learners", "delivery_date", "-infinity", "-infinity"),
        (
            "learners",
            "delivery_date",
            "2026-03-01 09:30:00.5+05:30",
            "2026-03-01T09:30:00.500000+05:30",
        ),
        ("learners", "last_name", "anything", "anything"),
    ],
)
def test_cursor_key_of_the_right_type_is_sent_as_iso_text(
    kind: str, sort: str, key: str, sent: str
) -> None:
    page = parse_page(kind, sort, None, encode_cursor(sort, key, "row"))
    assert page.after == (sent, "row")


@pytest.mark.parametrize(("key", "row_id"), [("\ud800", "row"), ("a", "\udfff"), ("a", "row\x00")])
def test_cursor_text_postgresql_cannot_hold(key: str, row_id: str) -> None:
    """Lone surrogates (``\\ud800`` in the cursor's JSON) and NUL: a 400 before any row is sent."""
    forged = base64.urlsafe_b64encode(json.dumps(["last_name", key, row_id]).encode()).decode()
    with pytest.raises(ApiProblem, match="cursor"):
        parse_page("learners", "last_name", None, forged)
