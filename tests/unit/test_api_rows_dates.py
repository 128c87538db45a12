"""Dates of rows never fail: every instant the contract admits ([1900, 9000) UTC, docs/
DECISIONS.md) has a calendar date in every accepted time zone (SPEC.md §2 "Time")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_contracts.events import EARLIEST_INSTANT, LATEST_INSTANT
from certstats_query_api.params import parse_tz
from certstats_query_api.rows import local_date

_LAST = LATEST_INSTANT - timedelta(microseconds=1)
_EXTREMES = ["UTC", "Pacific/Kiritimati", "Pacific/Niue", "Etc/GMT-14", "Etc/GMT+12"]
_ZONES = sorted(available_timezones() - {"localtime", "posixrules"})


@pytest.mark.parametrize("zone", _EXTREMES)
@pytest.mark.parametrize("instant", [EARLIEST_INSTANT, _LAST])
def test_bounds_have_a_date_in_extreme_zones(instant: datetime, zone: str) -> None:
    day = local_date(instant, parse_tz(zone))
    assert day is not None and abs(day - instant.date()) <= timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(EARLIEST_INSTANT.replace(tzinfo=None), _LAST.replace(tzinfo=None)),
    st.sampled_from(_ZONES),
)
def test_any_admitted_instant_has_a_date_in_any_zone(naive: datetime, zone: str) -> None:
    instant = naive.replace(tzinfo=UTC)
    day = local_date(instant, ZoneInfo(zone))
    assert day is not None and abs(day - instant.date()) <= timedelta(days=1)


def test_none_stays_none() -> None:
    assert local_date(None, ZoneInfo("UTC")) is None
