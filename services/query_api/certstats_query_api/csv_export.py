"""CSV exports (SPEC.md §5.5): RFC 4180, UTF-8 (BOM unless ``bom=false``), CRLF, streamed.

Text from the LMS starting with ``=``, ``+``, ``-``, ``@``, tab or CR is prefixed with ``'``
(formula injection); numbers and dates we wrote are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import date
from typing import TypeVar

from certstats_query_api.rows import Cell

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ROWS_PER_CHUNK = 200
R = TypeVar("R")


def guard(text: str) -> str:
    """``text`` made inert for spreadsheets: ``'`` before a formula-looking first character."""
    return "'" + text if text.startswith(_FORMULA_START) else text


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
    records: AsyncIterable[R],
    to_cells: Callable[[R], list[Cell]],
    *,
    bom: bool,
) -> AsyncIterator[bytes]:
    """The CSV document of ``records`` as UTF-8 chunks of a few hundred rows (bounded memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM if bom else "")
    writer.writerow(header)
    count = 0
    async for record in records:
        writer.writerow([cell_text(cell) for cell in to_cells(record)])
        count += 1
        if count % _ROWS_PER_CHUNK == 0:
            yield _drain(buffer)
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
