"""CSV exports (SPEC.md §5.5): RFC 4180, UTF-8 (BOM unless ``bom=false``), CRLF, streamed.

Text from the LMS starting with ``=``, ``+``, ``-``, ``@``, tab or CR is prefixed with ``'``
(formula injection); numbers and dates we wrote are left as they are.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Sequence,
)
from datetime import date
from typing import Any, TypeVar

Cell = str | int | date | None
"""A CSV cell: ``str`` is text from the LMS (formula-guarded), ``int``/``date`` we wrote."""

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_COPY_CHUNK_BYTES = 256 * 1024
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
    to_cells: Callable[[R], Iterable[Cell]],
    *,
    bom: bool,
) -> AsyncIterator[bytes]:
    """The CSV document of the records of ``batches`` as UTF-8 chunks (bounded memory): the
    header, then one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM if bom else "")
    writer.writerow(header)
    yield _drain(buffer)
    async for batch in batches:
        writer.writerows([cell_text(cell) for cell in to_cells(r)] for r in batch)
        yield _drain(buffer)


Sink = Callable[[bytes], Coroutine[Any, Any, None]]
"""Where a ``COPY ... TO STDOUT`` writes its output, chunk after chunk."""


async def copied_csv_chunks(
    header: Sequence[str], copy: Callable[[Sink], Awaitable[None]], *, bom: bool
) -> AsyncIterator[bytes]:
    """The CSV document whose rows PostgreSQL writes: ``copy(sink)`` runs a ``COPY (...) TO
    STDOUT (FORMAT csv)`` of text cells, empty cells as NULL (COPY quotes ``''``). Quoting is
    then that of Python's writer (cells holding a comma, quote, CR or LF, quotes doubled);
    row ends become CRLF (:class:`CopyLineEnds`). Bounded memory: ``copy`` runs in a task and
    waits while two chunks are not yet sent, and the document goes out in chunks of about
    :data:`_COPY_CHUNK_BYTES` (COPY hands ~13 kB at a time: fewer, larger HTTP chunks cost
    less on both ends). A consumer that stops makes the COPY fail (PostgreSQL cancels it; the
    transaction is then aborted: roll it back). Errors of ``copy`` are raised here."""
    buffer = io.StringIO()
    buffer.write(BOM if bom else "")
    csv.writer(buffer, lineterminator="\r\n").writerow(header)
    queue: asyncio.Queue[bytes | Exception | None] = asyncio.Queue(maxsize=2)
    stopped = False

    async def sink(data: bytes) -> None:
        if stopped:
            raise _ConsumerGone
        await queue.put(data)

    async def produce() -> None:
        try:
            await copy(sink)
        except _ConsumerGone:
            return
        except Exception as error:  # raised again by the consumer
            await queue.put(error)
        else:
            await queue.put(None)

    task = asyncio.ensure_future(produce())
    line_ends = CopyLineEnds()
    pending, size = [], 0
    try:
        yield _drain(buffer)
        while (data := await queue.get()) is not None:
            if isinstance(data, Exception):
                raise data
            pending.append(line_ends(data))
            size += len(data)
            if size >= _COPY_CHUNK_BYTES:
                yield b"".join(pending)
                pending, size = [], 0
        yield b"".join(pending)
    finally:
        # a consumer that stops: the sink's next call fails, which makes asyncpg cancel the
        # COPY and leaves the connection usable (cancelling the task instead could leave its
        # protocol mid-COPY); free a sink waiting on the full queue, then let the task end
        stopped = True
        while not queue.empty():
            queue.get_nowait()
        await task


class _ConsumerGone(Exception):
    """Raised by the sink of :func:`copied_csv_chunks` once its consumer stopped."""


class CopyLineEnds:
    """Turns PostgreSQL's CSV output, chunk after chunk, into CRLF rows: a LF outside quotes
    ends a row; LFs inside quoted cells stay as they are. Every ``"`` toggles "inside quotes"
    (a doubled quote toggles twice), and the state carries over to the next chunk."""

    def __init__(self) -> None:
        self._quoted = False

    def __call__(self, data: bytes) -> bytes:
        parts = data.split(b'"')
        first_outside = 1 if self._quoted else 0
        parts[first_outside::2] = [p.replace(b"\n", b"\r\n") for p in parts[first_outside::2]]
        if len(parts) % 2 == 0:
            self._quoted = not self._quoted
        return b'"'.join(parts)


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def attachment_name(*parts: str) -> str:
    """A safe ``Content-Disposition`` file name from descriptive parts, ending in ``.csv``."""
    stem = "-".join(re.sub(r"[^A-Za-z0-9._]+", "-", part).strip("-.") for part in parts if part)
    return f"{stem[:150] or 'export'}.csv"
