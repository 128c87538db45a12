"""Day numbers, presentation starts and calendar-month expiry (SPEC.md sections 2 and 7)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_importer.ids import slug
from certstats_importer.timeline import add_months, presentation_start, rfc3339


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (utc(2024, 1, 31), 1, utc(2024, 2, 29)),
        (utc(2023, 1, 31), 1, utc(2023, 2, 28)),
        (utc(2024, 8, 31), 6, utc(2025, 2, 28)),
        (utc(2024, 3, 31), 1, utc(2024, 4, 30)),
        (utc(2024, 6, 26), 12, utc(2025, 6, 26)),
        (utc(2024, 11, 30), 3, utc(2025, 2, 28)),
        (utc(2024, 2, 29), 36, utc(2027, 2, 28)),
    ],
)
def test_add_months_clamps_to_month_end(start: datetime, months: int, expected: datetime) -> None:
    assert add_months(start, months) == expected


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 120))
def test_add_months_moves_the_calendar_month(start_date: date, months: int) -> None:
    start = datetime.combine(start_date, time(), tzinfo=UTC)
    moved = add_months(start, months)
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    last_day = calendar.monthrange(moved.year, moved.month)[1]
    assert moved.day == min(start.day, last_day)
    assert moved.time() == start.time()


def test_presentation_start_and_shift() -> None:
    assert presentation_start("2013B", 11) == utc(2024, 2, 1)
    assert presentation_start("2014J", 11) == utc(2025, 10, 1)
    assert presentation_start("2013J", 0) == utc(2013, 10, 1)


@pytest.mark.parametrize("code", ["2013", "2013C", "13J", "2013JJ", "abcdJ"])
def test_bad_presentation_code(code: str) -> None:
    with pytest.raises(ValueError, match="YYYYB or YYYYJ"):
        presentation_start(code, 11)


def test_rfc3339_is_utc_with_z() -> None:
    assert rfc3339(utc(2024, 2, 29)) == "2024-02-29T00:00:00Z"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("East Anglian Region", "east-anglian-region"),
        ("England", "england"),
        ("North  Western--Region", "north-western-region"),
    ],
)
def test_slug(name: str, expected: str) -> None:
    assert slug(name) == expected
