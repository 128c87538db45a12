"""Pure parsing and formatting rules of the query API (SPEC.md §2 "Time", §5, §5.5)."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from certstats_query_api.auth import Requester
from certstats_query_api.csv_export import (
    CopyLineEnds,
    attachment_name,
    cell_text,
    csv_chunks,
    guard,
)
from certstats_query_api.pages import encode_cursor, parse_page
from certstats_query_api.params import (
    Filters,
    parse_custom_fields,
    parse_date,
    parse_filters,
    parse_instant,
    parse_tz,
)
from certstats_query_api.problems import ApiProblem
from certstats_query_api.settings import ApiSettings

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _filters(**raw: object) -> Filters:
    args: dict[str, object] = {
        "registered_from": None,
        "registered_to": None,
        "group_ids": [],
        "query_items": [],
        "user_status": None,
        "as_of": None,
        "tz": None,
        "default_tz": "UTC",
        "expiring_within_days": None,
        "now": NOW,
    }
    args.update(raw)
    return parse_filters(**args)  # type: ignore[arg-type]


def test_defaults() -> None:
    f = _filters()
    assert (f.user_status, f.as_of, f.expiring_within_days, str(f.tz)) == (
        "active",
        NOW,
        30,
        "UTC",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-01T09:30:00Z", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T10:30:00+01:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01T10:30:00 01:00", datetime(2026, 3, 1, 9, 30, tzinfo=UTC)),
        ("2026-03-01t09:30:00.5z", datetime(2026, 3, 1, 9, 30, 0, 500000, tzinfo=UTC)),
    ],
)
def test_instants(raw: str, expected: datetime) -> None:
    assert parse_instant("as_of", raw) == expected


@pytest.mark.parametrize("raw", ["2026-03-01", "2026-03-01T09:30:00", "now", "9999-12-31T23:59Z"])
def test_bad_instants(raw: str) -> None:
    with pytest.raises(ApiProblem) as caught:
        parse_instant("as_of", raw)
    assert caught.value.parameter is not None and caught.value.parameter[0] == "as_of"


@pytest.mark.parametrize("raw", ["2026-02-30", "20260201", "2026-2-1", "x"])
def test_bad_dates(raw: str) -> None:
    with pytest.raises(ApiProblem):
        parse_date("registered_from", raw)


def test_registration_bounds_are_day_starts_in_tz() -> None:
    f = _filters(registered_from="2026-01-02", registered_to="2026-01-02", tz="Europe/Paris")
    args = f.sql_args(_requester(), None)
    assert args[4] == datetime(2026, 1, 1, 23, tzinfo=UTC)
    assert args[5] == datetime(2026, 1, 2, 23, tzinfo=UTC)


def test_skipped_midnight_starts_at_first_instant_of_day() -> None:
    # America/Santiago skipped 2023-09-03 00:00-01:00 local (UTC-4 -> UTC-3).
    f = _filters(registered_from="2023-09-03", tz="America/Santiago")
    assert f.sql_args(_requester(), None)[4] == datetime(2023, 9, 3, 4, tzinfo=UTC)


def test_extreme_dates_are_rejected_not_crashing() -> None:
    with pytest.raises(ApiProblem):
        _filters(registered_to="9999-12-31").sql_args(_requester(), None)
    with pytest.raises(ApiProblem):
        _filters(registered_from="0001-01-01", tz="Asia/Tokyo").sql_args(_requester(), None)


def test_custom_fields_group_values_by_name() -> None:
    items = [
        ("custom_field[Age]", "30"),
        ("x", "1"),
        ("custom_field[Age]", "40"),
        ("custom_field[Région]", "Île"),
    ]
    assert parse_custom_fields(items) == {"Age": ("30", "40"), "Région": ("Île",)}
    for bad in ("custom_field[]", "custom_field[a][b]", "custom_fieldx"):
        with pytest.raises(ApiProblem):
            parse_custom_fields([(bad, "v")])


def test_tz_names() -> None:
    assert str(parse_tz("America/Argentina/Buenos_Aires")) == "America/Argentina/Buenos_Aires"
    for bad in ("", "Nowhere/City", "../etc/passwd", "/etc/localtime", "a" * 100):
        with pytest.raises(ApiProblem):
            parse_tz(bad)


_STORABLE_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
"""Text PostgreSQL can store (no NUL): what a real cursor's key and row id hold."""


@settings(max_examples=50, deadline=None)
@given(key=_STORABLE_TEXT, row_id=_STORABLE_TEXT)
def test_cursor_round_trip(key: str, row_id: str) -> None:
    page = parse_page("learners", "-email", "5", encode_cursor("-email", key, row_id))
    assert page.after == (key, row_id) and page.sql_args() == (key, row_id, 6)


@settings(max_examples=50, deadline=None)
@given(garbage=st.text(max_size=40))
def test_garbage_cursor_is_a_bad_parameter(garbage: str) -> None:
    try:
        parse_page("learners", None, None, garbage or "x")
    except ApiProblem as problem:
        assert problem.status == 400 and problem.parameter is not None
        assert problem.parameter[0] == "cursor"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+33 6", "'+33 6"),
        ("-x", "'-x"),
        ("@a", "'@a"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_formula_guard(text: str, expected: str) -> None:
    assert guard(text) == expected


def test_cells_we_write_are_not_guarded() -> None:
    assert (cell_text(12), cell_text(date(2026, 1, 2)), cell_text(None)) == ("12", "2026-01-02", "")


def test_csv_chunks_bom_crlf_and_quoting() -> None:
    async def batches() -> AsyncIterator[list[list[object]]]:
        for start in (0, 200, 400):
            yield [[f'a,"{i}"\n', i] for i in range(start, min(start + 200, 450))]

    async def collect(bom: bool) -> list[bytes]:
        return [c async for c in csv_chunks(["H1", "H2"], batches(), lambda r: r, bom=bom)]

    chunks = asyncio.run(collect(True))
    assert len(chunks) == 4
    text = b"".join(chunks).decode()
    assert text.startswith('\ufeffH1,H2\r\n"a,""0""\n",0\r\n') and text.endswith("449\r\n")
    assert not b"".join(asyncio.run(collect(False))).startswith(b"\xef")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.text(alphabet='ab,"\n\r ', max_size=6), min_size=1, max_size=3)),
    st.lists(st.integers(min_value=0, max_value=200)),
)
def test_copy_line_ends_are_crlf_outside_quotes_only(
    rows: list[list[str]], cuts: list[int]
) -> None:
    """A COPY CSV (quoting like Python's, LF row ends) cut anywhere into chunks."""
    lines = []
    for row in rows:
        line = io.StringIO()
        csv.writer(line, lineterminator="\r\n").writerow(row)
        lines.append(line.getvalue())
    data = "".join(line.removesuffix("\r\n") + "\n" for line in lines).encode()
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    line_ends = CopyLineEnds()
    converted = b"".join(line_ends(data[a:b]) for a, b in itertools.pairwise(bounds))
    assert converted == "".join(lines).encode()


def test_attachment_names_are_safe() -> None:
    assert attachment_name("certificate", 'c"1/..', "learners") == "certificate-c-1-learners.csv"


def test_settings_refuse_start_without_a_jwt_key() -> None:
    with pytest.raises(ValidationError):
        ApiSettings(database_url="postgresql://x/y")
    with pytest.raises(ValidationError):
        ApiSettings(database_url="postgresql://x/y", jwt_secret="short")
    with pytest.raises(ValidationError):
        ApiSettings(database_url="postgresql://x/y", jwt_secret="s" * 32, tz="Mars/Base")


def _requester() -> Requester:
    return Requester("u", "acme", False)
