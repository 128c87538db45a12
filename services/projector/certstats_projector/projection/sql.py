"""Running set-based statements: rows in, one ``unnest`` statement out (STYLE.md §3).

Every write of the projection is one static SQL statement taking column arrays
(``unnest({texts(1)}, $2::timestamptz[], ...)``), so a batch costs about one round trip
per table and kind, never one per event.

A text column is bound as ONE text parameter, turned into a ``text[]`` by the statement's
:func:`texts` expression: asyncpg encodes a ``text[]`` list element by element, with two
``collections.abc`` instance checks each (~0.3 µs per element on the projector's single
thread), while one string costs one ``str.join``. The string is the values joined by a
control character, split by ``string_to_array`` (~0.1 µs per value in PostgreSQL, whatever
its length), or, when a value could be mistaken for the separator or the NULL marker, an
array literal parsed by ``array_in`` (~0.1 µs per short value, ~0.4 µs per UUID-sized one,
growing with the length). See bench/PROJECTOR_BENCHMARK.md.
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
_TEXT_COLUMN_PARAMETER = re.compile(r"string_to_array\(\$(\d+)::text, ")

SEPARATOR = "\x1f"
"""Joins the values of a :func:`text_column` string (ASCII unit separator)."""
NULL_MARK = "\x1e"
"""Stands for a NULL value in a :func:`text_column` string (ASCII record separator)."""


def texts(n: int) -> str:
    """SQL of the ``text[]`` that parameter ``$n`` carries, bound by :func:`text_column`: an
    array literal when it starts with ``{``, else values joined by :data:`SEPARATOR` with
    :data:`NULL_MARK` for NULL. Evaluated once per statement (in ``FROM unnest(...)``)."""
    return (
        f"CASE WHEN left(${n}::text, 1) = '{{' THEN ${n}::text::text[]"
        f" ELSE string_to_array(${n}::text, E'\\x1f', E'\\x1e') END"
    )


async def execute_rows(conn: asyncpg.Connection, sql: str, rows: Sequence[Row]) -> None:
    """Run ``sql`` once with ``rows`` transposed into column arrays ($1 = first column, ...),
    bound by :func:`parameters`.

    Does nothing for no rows. ``rows`` must already be sorted by key (lock order).
    """
    if rows:
        await conn.execute(sql, *parameters(sql, zip(*rows, strict=True)))


async def insert_rows(
    conn: asyncpg.Connection, insert_sql: str, upsert_sql: str, rows: Sequence[Row]
) -> None:
    """Like ``execute_rows(conn, upsert_sql, rows)`` for rows that are usually new: first
    ``insert_sql`` (the same statement without its ``ON CONFLICT`` clause, see
    :func:`plain_insert`) in a savepoint, and ``upsert_sql`` only when a row's key exists.

    A plain insert skips the speculative insertion of ``ON CONFLICT`` (a unique index probe
    before the row is written and a confirmation record after it: ~2 µs per row), at the
    price of doing the work twice for a batch in which some key already has a row.
    """
    if not rows:
        return
    arguments = parameters(upsert_sql, zip(*rows, strict=True))
    try:
        async with conn.transaction():
            await conn.execute(insert_sql, *arguments)
        return
    except asyncpg.UniqueViolationError:
        pass
    await conn.execute(upsert_sql, *arguments)


def plain_insert(upsert_sql: str) -> str:
    """``upsert_sql`` (``INSERT ... ON CONFLICT ...``, nothing after its conflict clause)
    without its ``ON CONFLICT`` clause: same parameters, fails on an existing key."""
    head, conflict, _ = upsert_sql.partition("\nON CONFLICT ")
    if not conflict:
        raise ValueError("not an INSERT ... ON CONFLICT statement")
    return head + "\n"


def parameters(sql: str, columns: Iterable[Sequence[Any]]) -> list[object]:
    """The arguments of ``sql`` for ``columns`` ($1 = first column, ...): a list per column,
    except one :func:`text_column` string for each parameter read through :func:`texts`, and
    one :func:`text_array` literal for each one written ``$n::text::text[]`` alone."""
    strings, literals = _text_parameters(sql)
    return [
        text_column(column)
        if n in strings
        else text_array(column)
        if n in literals
        else list(column)
        for n, column in enumerate(columns, start=1)
    ]


@cache
def _text_parameters(sql: str) -> tuple[frozenset[int], frozenset[int]]:
    strings = frozenset(int(n) for n in _TEXT_COLUMN_PARAMETER.findall(sql))
    literals = frozenset(int(n) for n in _TEXT_ARRAY_PARAMETER.findall(sql))
    return strings, literals - strings


def text_column(values: Sequence[str | None]) -> str:
    """``values`` as the parameter of a :func:`texts` expression, which gives back exactly
    ``values``: the values joined by :data:`SEPARATOR`, NULL as :data:`NULL_MARK`; or, when a
    value holds either character or the string would start with ``{`` or be empty for one
    value (``string_to_array`` gives no element for ``''``), :func:`text_array`'s literal.
    """
    if not values:
        return ""
    try:
        body = SEPARATOR.join(values)  # type: ignore[arg-type]  # a None raises: slow path
        nulls = 0
    except TypeError:
        body = SEPARATOR.join(NULL_MARK if v is None else v for v in values)
        nulls = sum(v is None for v in values)
    if (
        body
        and body[0] != "{"
        and body.count(SEPARATOR) == len(values) - 1
        and body.count(NULL_MARK) == nulls
    ):
        return body
    return text_array(values)


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
    user_type = f", {texts(3)}" if with_user else ""
    return (
        f"INSERT INTO {table} AS t (platform_id, {key}{user_column}, {flag})"
        f" SELECT *, true FROM unnest({texts(1)}, {texts(2)}{user_type})"
        f" ON CONFLICT (platform_id, {key}) DO UPDATE SET {flag} = true WHERE NOT t.{flag}"
    )
