"""CSV exports (SPEC.md §5.5): RFC 4180, UTF-8 (BOM unless ``bom=false``), CRLF, streamed.

Text from the LMS starting with ``=``, ``+``, ``-``, ``@``, tab or CR is prefixed with ``'``
(formula injection); numbers and dates we wrote are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from datetime import date
from typing import TypeVar

Cell = str | int | date | None
"""A CSV cell: ``str`` is text from the LMS (formula-guarded), ``int``/``date`` we wrote."""

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
R = TypeVar("R")


def guard(text: str) -> str:
    """``text`` made inert for spreadsheets: ``'`` before a formula-looking first character."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def sql_literal(text: str) -> str:
    """``text`` as a PostgreSQL string literal (standard conforming strings)."""
    return "'" + text.replace("'", "''") + "'"


def guard_sql(expression: str) -> str:
    """SQL of :func:`guard` applied to the SQL text ``expression`` (NULL stays NULL)."""
    starts = ", ".join(sql_literal(start) for start in _FORMULA_START)
    quote = sql_literal("'")
    return (
        f"CASE WHEN left({expression}, 1) IN ({starts}) THEN {quote} || {expression}"
        f" ELSE {expression} END"
    )


def cell_text(cell: Cell) -> str:
    """The CSV text of one cell: empty for None, ISO for dates, guarded for LMS text."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return guard(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell)


async def csv_chunks(
    header: Sequence[str],
    batches: AsyncIterable[Sequence[R]],
    to_cells: Callable[[R], Iterable[Cell]] | None,
    *,
    bom: bool,
) -> AsyncIterator[bytes]:
    """The CSV document of the records of ``batches`` as UTF-8 chunks (bounded memory): the
    header, then one chunk per batch.

    ``to_cells`` gives a record's cells (written through :func:`cell_text`); None when the
    records already are the rows of text cells (None = empty cell), written as they are by
    the C ``csv`` writer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM if bom else "")
    writer.writerow(header)
    yield _drain(buffer)
    async for batch in batches:
        if to_cells is None:
            writer.writerows(batch)  # type: ignore[arg-type]
        else:
            writer.writerows([cell_text(cell) for cell in to_cells(r)] for r in batch)
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def attachment_name(*parts: str) -> str:
    """A safe ``Content-Disposition`` file name from descriptive parts, ending in ``.csv``."""
    stem = "-".join(re.sub(r"[^A-Za-z0-9._]+", "-", part).strip("-.") for part in parts if part)
    return f"{stem[:150] or 'export'}.csv"
