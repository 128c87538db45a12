"""Running set-based statements: rows in, one ``unnest`` statement out (STYLE.md §3).

Every write of the projection is one static SQL statement taking column arrays
(``unnest($1::text[], ...)``), so a batch costs about one round trip per table and kind,
never one per event.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

Row = tuple[object, ...]


async def execute_rows(conn: asyncpg.Connection, sql: str, rows: Sequence[Row]) -> None:
    """Run ``sql`` once with ``rows`` transposed into column arrays ($1 = first column, ...).

    Does nothing for no rows. ``rows`` must already be sorted by key (lock order).
    """
    if rows:
        await conn.execute(sql, *[list(column) for column in zip(*rows, strict=True)])


def final_flag_sql(table: str, key: str, flag: str = "deleted", *, with_user: bool = False) -> str:
    """SQL setting the final boolean ``flag`` (deletion, revocation) of rows of ``table``.

    Parameters: ``$1`` platform ids, ``$2`` entity ids, and with ``with_user`` ``$3`` user ids
    (for tables whose placeholder rows need their user). Unknown entities get a placeholder
    row carrying the flag; the flag never goes back to false (SPEC.md §3, finality).
    ``table``/``key``/``flag`` are identifiers from this package, never input.
    """
    user_column = ", user_id" if with_user else ""
    user_type = ", $3::text[]" if with_user else ""
    return (
        f"INSERT INTO {table} AS t (platform_id, {key}{user_column}, {flag})"
        f" SELECT *, true FROM unnest($1::text[], $2::text[]{user_type})"
        f" ON CONFLICT (platform_id, {key}) DO UPDATE SET {flag} = true WHERE NOT t.{flag}"
    )
