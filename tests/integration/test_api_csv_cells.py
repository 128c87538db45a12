"""The learner CSV cells PostgreSQL computes (``LEARNER_CSV_SQL``, SPEC.md §5.5) equal the rules
of the JSON rows: the CSV of the JSON row (labels, ``Learner name``, dates, formula guard) for
every accepted time zone, the contract's extreme instants and nasty names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

import asyncpg

from certstats_contracts.events import EARLIEST_INSTANT, LATEST_INSTANT
from certstats_query_api.csv_export import guard
from certstats_query_api.params import parse_tz
from certstats_query_api.rows import (
    CERTIFICATE_STATUS_LABELS,
    FORMATS,
    LEARNER_CSV_SQL,
    SET_ZONE_SQL,
)

_INSTANTS = [
    EARLIEST_INSTANT,
    LATEST_INSTANT - timedelta(microseconds=1),
    datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # Europe: the hour before the switch
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 23, 30, tzinfo=UTC),
    datetime(2026, 12, 31, 10, 15, tzinfo=UTC),
    datetime(2055, 6, 30, 23, 59, 59, 999_999, tzinfo=UTC),
    None,
]
_NAMES = [
    ("Zoë", "Núñez", "zoe@example.com"),
    ("王芳", "", "-x@example.com"),
    ("", '=HYPERLINK("x")', "@me"),
    ("\tTab", "multi\nline", "+1"),
    ("", "", ""),
    (None, "", None),
    ("say \"hi\", 'you'", "\rcr", "a,b"),
]
_SQL = f"""SELECT {LEARNER_CSV_SQL}
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
            $6::timestamptz[]) AS rows (first_name, last_name, email, latest_status,
                                        delivered_at, expires_at)
"""


_ZONES = sorted(available_timezones() - {"localtime", "posixrules"} | {"UTC"})


def _records() -> list[dict[str, Any]]:
    """Learner records crossing names, statuses and instants."""
    return [
        {
            "user_id": "u",
            "first_name": first,
            "last_name": None if first is None else last,
            "email": email,
            "latest_status": status,
            "delivered_at": delivered,
            "expires_at": _INSTANTS[(i + 3) % len(_INSTANTS)],
        }
        for i, ((first, last, email), status, delivered) in enumerate(
            (names, status, delivered)
            for names in _NAMES
            for status in CERTIFICATE_STATUS_LABELS
            for delivered in _INSTANTS
        )
    ]


def _csv_of_json(record: dict[str, Any], zone: str) -> list[str]:
    row = FORMATS["learners"].json(record, parse_tz(zone))  # type: ignore[arg-type]
    name = " ".join(part for part in (row["first_name"], row["last_name"]) if part)
    return [
        guard(name),
        guard(row["email"] or ""),
        CERTIFICATE_STATUS_LABELS[row["latest_status"]],
        row["delivery_date"] or "",
        row["expiration_date"] or "",
    ]


async def test_sql_cells_equal_the_json_rows_in_every_zone(pg_admin_dsn: str) -> None:
    conn = await asyncpg.connect(pg_admin_dsn)
    records = _records()
    columns = [
        [r[k] for r in records]
        for k in ("first_name", "last_name", "email", "latest_status", "delivered_at", "expires_at")
    ]
    try:
        async with conn.transaction():
            statement = await conn.prepare(_SQL)
            for zone in _ZONES:
                await conn.execute(SET_ZONE_SQL, zone)
                got = await statement.fetch(*columns)
                expected = [_csv_of_json(r, zone) for r in records]
                assert [[c or "" for c in row] for row in got] == expected, zone
    finally:
        await conn.close()
