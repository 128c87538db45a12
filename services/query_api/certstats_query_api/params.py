"""Query parameters of the statistics endpoints (SPEC.md §5), parsed into typed filters.

Every parser raises :func:`~certstats_query_api.problems.bad_parameter` (400 naming the
parameter) on bad input; nothing here touches the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from certstats_query_api.auth import Requester
from certstats_query_api.problems import bad_parameter

USER_STATUSES = ("active", "deleted", "all")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 50
MAX_EXPIRING_DAYS = 36500
MAX_CUSTOM_FIELD_VALUES = 100
_CUSTOM_FIELD = re.compile(r"custom_field\[(?P<name>[^\[\]]+)\]")


@dataclass(frozen=True)
class Filters:
    """The user filters and evaluation settings common to every statistics request.

    ``custom_fields`` maps a field name to the accepted values (OR); names AND together.
    ``as_of`` is an aware instant; ``tz`` the zone of dates shown and date filters.
    """

    registered_from: date | None
    registered_to: date | None
    group_ids: tuple[str, ...]
    custom_fields: dict[str, tuple[str, ...]]
    user_status: str
    as_of: datetime
    tz: ZoneInfo
    expiring_within_days: int

    @property
    def users(self) -> bool:
        """True when a user filter narrows the population: registration dates, groups or
        custom fields (the user status alone does not)."""
        return bool(
            self.registered_from or self.registered_to or self.group_ids or self.custom_fields
        )

    def sql_args(self, requester: Requester, certificate_id: str | None) -> tuple[Any, ...]:
        """The $1-$11 arguments of :mod:`certstats_query_api.sql.scope`."""
        return (
            requester.platform_id,
            requester.user_id,
            requester.platform_admin,
            self.as_of,
            _day_start(self.registered_from, self.tz, "registered_from"),
            _day_start(_next_day(self.registered_to), self.tz, "registered_to"),
            list(self.group_ids) or None,
            custom_fields_jsonpath(self.custom_fields),
            self.user_status,
            self.as_of + timedelta(days=self.expiring_within_days),
            certificate_id,
        )


def parse_filters(
    *,
    registered_from: str | None,
    registered_to: str | None,
    group_ids: list[str],
    query_items: Iterable[tuple[str, str]],
    user_status: str | None,
    as_of: str | None,
    tz: str | None,
    default_tz: str,
    expiring_within_days: str | None,
    now: datetime,
) -> Filters:
    """Validate the raw common parameters; ``query_items`` are all (key, value) query pairs,
    from which the ``custom_field[<name>]`` ones are taken."""
    status = user_status or "active"
    if status not in USER_STATUSES:
        raise bad_parameter("user_status", f"must be one of {', '.join(USER_STATUSES)}")
    first, last = (
        parse_date("registered_from", registered_from),
        parse_date("registered_to", registered_to),
    )
    if first and last and last < first:
        raise bad_parameter("registered_to", f"must not be before registered_from ({first})")
    return Filters(
        registered_from=first,
        registered_to=last,
        group_ids=tuple(dict.fromkeys(g for g in group_ids if g)),
        custom_fields=parse_custom_fields(query_items),
        user_status=status,
        as_of=parse_instant("as_of", as_of) if as_of else now,
        tz=parse_tz(tz or default_tz),
        expiring_within_days=parse_int(
            "expiring_within_days", expiring_within_days, 30, 0, MAX_EXPIRING_DAYS
        ),
    )


def parse_date(name: str, raw: str | None) -> date | None:
    """A ``YYYY-MM-DD`` calendar date, or None when absent."""
    if raw is None or raw == "":
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise bad_parameter(name, "must be a date YYYY-MM-DD") from None


def parse_instant(name: str, raw: str) -> datetime:
    """An RFC 3339 instant with an offset (a ``+`` decoded to a space is accepted back)."""
    text = re.sub(r"(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?) (\d{2}:\d{2})$", r"\1+\4", raw.strip())
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9:.+\-Zz]+", text):
            raise ValueError(text)
        instant = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise bad_parameter(
            name, "must be an RFC 3339 instant, e.g. 2026-03-01T09:30:00Z"
        ) from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise bad_parameter(name, "must carry a UTC offset (Z or +hh:mm)")
    if not 1900 <= instant.year <= 9000:
        raise bad_parameter(name, "year must be between 1900 and 9000")
    return instant.astimezone(UTC)


def parse_tz(raw: str) -> ZoneInfo:
    """An IANA time-zone name of the installed tz database, or ``UTC`` (never ``localtime``
    nor another server-dependent file)."""
    try:
        if raw not in _zone_names():
            raise ValueError(raw)
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_parameter("tz", f"unknown time zone {raw[:64]!r}") from None


def parse_int(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    """An integer in ``[low, high]``, ``default`` when absent."""
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[+-]?[0-9]{1,9}", raw.strip()):
        raise bad_parameter(name, "must be an integer")
    value = int(raw)
    if not low <= value <= high:
        raise bad_parameter(name, f"must be between {low} and {high}")
    return value


def custom_fields_jsonpath(fields: dict[str, tuple[str, ...]]) -> str | None:
    """The custom field filter (SPEC.md §5: values of one name OR together, names AND) as a
    jsonpath predicate on ``users.custom_fields``, e.g. ``($."Dept" == "HR" || $."Dept" ==
    "Ops") && ($."Gender" == "F")``; None when there is no filter. Names and values are JSON
    string literals (jsonpath's syntax); values compare as strings (custom field values are
    strings, SPEC.md §3), and a user without the field does not match."""
    if not fields:
        return None
    return " && ".join(
        "(" + " || ".join(f"$.{json.dumps(name)} == {json.dumps(v)}" for v in values) + ")"
        for name, values in fields.items()
    )


def parse_custom_fields(query_items: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """``custom_field[<name>]=<value>`` pairs as name -> values (repeat a name to OR values),
    at most ``MAX_CUSTOM_FIELD_VALUES`` distinct values in all (each is one more jsonpath
    comparison per user the statistics read: 4,000 of them took 12 s)."""
    fields: dict[str, list[str]] = {}
    for key, value in query_items:
        if not key.startswith("custom_field"):
            continue
        match = _CUSTOM_FIELD.fullmatch(key)
        if match is None:
            raise bad_parameter(key[:100], "expected custom_field[<name>]=<value>")
        fields.setdefault(match["name"], []).append(value)
    parsed = {name: tuple(dict.fromkeys(values)) for name, values in fields.items()}
    if sum(map(len, parsed.values())) > MAX_CUSTOM_FIELD_VALUES:
        raise bad_parameter("custom_field", f"at most {MAX_CUSTOM_FIELD_VALUES} values in all")
    return parsed


@cache
def _zone_names() -> frozenset[str]:
    """The accepted ``tz`` names: the tz database's zones and ``UTC``, minus the files of the
    database directory that are not zones of their own (their meaning depends on the server)."""
    return frozenset(available_timezones() - {"localtime", "posixrules"} | {"UTC"})


def _next_day(day: date | None) -> date | None:
    if day is None:
        return None
    if day == date.max:
        raise bad_parameter("registered_to", "date out of range")
    return day + timedelta(days=1)


def _day_start(day: date | None, tz: ZoneInfo, name: str) -> datetime | None:
    """The instant ``day`` starts in ``tz`` (a skipped midnight maps to the day's first instant)."""
    if day is None:
        return None
    try:
        return datetime.combine(day, time(), tz).astimezone(UTC)
    except (OverflowError, ValueError):
        raise bad_parameter(name, "date out of range") from None
