"""Running set-based statements: rows in, one ``unnest`` statement out (STYLE.md §3).

Every write of the projection is one static SQL statement taking column arrays
(``unnest($1::text::text[], $2::timestamptz[], ...)``), so a batch costs about one round trip
per table and kind, never one per event.

A text column is bound as ONE text parameter holding a PostgreSQL array literal, cast by the
statement (``$n::text::text[]``): asyncpg encodes a ``text[]`` list element by element, with two
``collections.abc`` instance checks each (~0.3 µs per element on the projector's single
thread), while a literal costs one ``str.join``; PostgreSQL parses it instead (array_in, about
a third of what the Python side saves; see bench/PROJECTOR_BENCHMARK.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import asyncpg

Row = tuple[object, ...]

SET_SEARCH_PATH_SQL = "SELECT set_config('search_path', $1, true)"
"""Transaction-local ``search_path``: the generation schema ``$1`` the statements address."""

_TEXT_ARRAY_PARAMETER = re.compile(r"\$(\d+)::text::text\[\]")


async def execute_rows(conn: asyncpg.Connection, sql: str, rows: Sequence[Row]) -> None:
    """Run ``sql`` once with ``rows`` transposed into column arrays ($1 = first column, ...),
    bound by :func:`parameters`.

    Does nothing for no rows. ``rows`` must already be sorted by key (lock order).
    """
    if rows:
        await conn.execute(sql, *parameters(sql, zip(*rows, strict=True)))


def parameters(sql: str, columns: Iterable[Sequence[Any]]) -> list[object]:
    """The arguments of ``sql`` for ``columns`` ($1 = first column, ...): a list per column,
    except one :func:`text_array` literal for each parameter written ``$n::text::text[]``."""
    literals = _text_array_parameters(sql)
    return [
        text_array(column) if n in literals else list(column)
        for n, column in enumerate(columns, start=1)
    ]


@cache
def _text_array_parameters(sql: str) -> frozenset[int]:
    return frozenset(int(n) for n in _TEXT_ARRAY_PARAMETER.findall(sql))


def text_array(values: Sequence[str | None]) -> str:
    """``values`` as a PostgreSQL one-dimensional array literal: ``None`` as ``NULL``, every
    string double-quoted (backslashes and double quotes escaped), so that ``literal::text[]``
    gives back exactly ``values``. One ``str.join`` when no value is NULL or holds a ``"`` or
    ``\\`` (ids, names, enum codes: nearly always).
    """
    if not values:
        return "{}"
    try:
        body = '","'.join(values)  # type: ignore[arg-type]  # a None raises: slow path
    except TypeError:
        body = ""
    if body and "\\" not in body and body.count('"') == 2 * len(values) - 2:
        return '{"' + body + '"}'
    return "{" + ",".join("NULL" if v is None else _quoted(v) for v in values) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def final_flag_sql(table: str, key: str, flag: str = "deleted", *, with_user: bool = False) -> str:
    """SQL setting the final boolean ``flag`` (deletion, revocation) of rows of ``table``.

    Parameters: ``$1`` platform ids, ``$2`` entity ids, and with ``with_user`` ``$3`` user ids
    (for tables whose placeholder rows need their user). Unknown entities get a placeholder
    row carrying the flag; the flag never goes back to false (SPEC.md §3, finality).
    ``table``/``key``/``flag`` are identifiers from this package, never input.
    """
    user_column = ", user_id" if with_user else ""
    user_type = ", $3::text::text[]" if with_user else ""
    return (
        f"INSERT INTO {table} AS t (platform_id, {key}{user_column}, {flag})"
        f" SELECT *, true FROM unnest($1::text::text[], $2::text::text[]{user_type})"
        f" ON CONFLICT (platform_id, {key}) DO UPDATE SET {flag} = true WHERE NOT t.{flag}"
    )
