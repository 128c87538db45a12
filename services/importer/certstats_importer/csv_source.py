"""Streaming, validating reads of the OULAD CSV files (SPEC.md section 7).

Every problem is an :class:`OuladInputError` naming the file and line, raised before any
event is built, so a bad dataset publishes nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

Bounds = tuple[int, int] | None
"""Inclusive (low, high) limits of an integer cell, or None for any integer."""


class OuladInputError(ValueError):
    """The OULAD dataset is unusable: missing file, bad header, truncated row or bad value.

    ``path`` is the offending file, ``line`` its 1-based line (0 = the file as a whole).
    """

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path = path
        self.line = line


class CsvFile:
    """One OULAD CSV file: its required columns and the extra ones it may carry."""

    def __init__(self, path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()):
        self.path = path
        self.required = required
        self.optional = optional

    def error(self, line: int, message: str) -> OuladInputError:
        """An :class:`OuladInputError` about ``line`` of this file."""
        return OuladInputError(self.path, line, message)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield ``(line number, row)`` for each data row, checking header and row shape.

        Raises:
            OuladInputError: missing/unreadable/empty file, missing or unknown column, a row with
                too few or too many fields, or CSV syntax the csv module rejects.
        """
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle, strict=True)
                try:
                    self._check_header(reader.fieldnames)
                    for row in reader:
                        yield reader.line_num, self._check_row(reader.line_num, row)
                except csv.Error as exc:
                    line = reader.reader.line_num  # DictReader.line_num lags on errors
                    raise self.error(line, f"malformed CSV: {exc}") from None
        except FileNotFoundError:
            raise self.error(0, "file not found") from None
        except OSError as exc:  # a directory, no permission, an I/O error
            raise self.error(0, f"cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise self.error(0, f"not UTF-8 text: {exc}") from None

    def _check_header(self, columns: Sequence[str] | None) -> None:
        if not columns:
            raise self.error(0, "empty file: no header row")
        missing = [name for name in self.required if name not in columns]
        if missing:
            raise self.error(1, f"missing column(s): {', '.join(missing)}")
        allowed = set(self.required) | set(self.optional)
        unknown = [name for name in columns if name not in allowed]
        if unknown:
            raise self.error(1, f"unknown column(s): {', '.join(unknown)}")

    def _check_row(self, line: int, row: dict[str | Any, str | Any]) -> dict[str, str]:
        if None in row:
            raise self.error(line, "too many fields")
        if any(value is None for value in row.values()):
            raise self.error(line, "too few fields (truncated row?)")
        return row


def parse_int(
    source: CsvFile, line: int, row: dict[str, str], column: str, bounds: Bounds = None
) -> int:
    """The integer in ``row[column]``, within the inclusive ``bounds`` (low, high) if given.

    Raises:
        OuladInputError: the cell is empty, not an integer or out of bounds.
    """
    text = row[column].strip()
    try:
        value = int(text)
    except ValueError:
        raise source.error(line, f"column {column}: {text!r} is not an integer") from None
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise source.error(line, f"column {column}: {value} is outside {bounds[0]}..{bounds[1]}")
    return value


def parse_optional_int(
    source: CsvFile, line: int, row: dict[str, str], column: str, bounds: Bounds = None
) -> int | None:
    """The integer in ``row[column]``, or None when the cell is empty or blank.

    Raises:
        OuladInputError: the cell holds something other than an integer within ``bounds``.
    """
    if not row[column].strip():
        return None
    return parse_int(source, line, row, column, bounds)
