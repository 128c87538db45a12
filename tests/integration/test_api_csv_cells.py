"""The learner CSV cells PostgreSQL computes (``LEARNER_CSV_SQL``, SPEC.md §5.5) equal the rules
of the JSON rows: the CSV of the JSON row (labels, ``Learner name``, dates, formula guard) for
every accepted time zone, the contract's extreme instants and nasty names; written by COPY,
they are the bytes Python's ``csv`` writer writes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

import asyncpg

from certstats_contracts.events import EARLIEST_INSTANT, LATEST_INSTANT
from certstats_query_api.csv_export import BOM, Sink, copied_csv_chunks, guard
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


def _columns(records: list[dict[str, Any]]) -> list[list[Any]]:
    """The arguments of :data:`_SQL`: one array per column."""
    names = ("first_name", "last_name", "email", "latest_status", "delivered_at", "expires_at")
    return [[r[name] for r in records] for name in names]


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
    columns = _columns(records)
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


async def test_copied_csv_has_the_bytes_of_pythons_writer(pg_admin_dsn: str) -> None:
    conn = await asyncpg.connect(pg_admin_dsn)
    records = _records() * 50  # several COPY chunks
    columns = _columns(records)
    header = FORMATS["learners"].header

    async def copy(sink: Sink) -> None:
        await conn.copy_from_query(_SQL, *columns, output=sink, format="csv")

    try:
        async with conn.transaction():
            await conn.execute(SET_ZONE_SQL, "Europe/Paris")
            chunks = [chunk async for chunk in copied_csv_chunks(header, copy, bom=True)]
    finally:
        await conn.close()
    expected = io.StringIO()
    expected.write(BOM)
    writer = csv.writer(expected, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(_csv_of_json(r, "Europe/Paris") for r in records)
    assert b"".join(chunks) == expected.getvalue().encode()


async def test_a_consumer_that_stops_cancels_the_copy(pg_admin_dsn: str) -> None:
    conn = await asyncpg.connect(pg_admin_dsn)
    endless = "SELECT n, repeat('x', 100) FROM generate_series(1, 100000000) AS n"

    async def copy(sink: Sink) -> None:
        await conn.copy_from_query(endless, output=sink, format="csv")

    try:
        transaction = conn.transaction()
        await transaction.start()
        chunks = copied_csv_chunks(("n", "x"), copy, bom=False)
        assert await anext(chunks) == b"n,x\r\n"
        assert (await anext(chunks)).startswith(b"1,xxx")
        await chunks.aclose()  # the client went away: COPY cancelled, connection usable
        await transaction.rollback()
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()
