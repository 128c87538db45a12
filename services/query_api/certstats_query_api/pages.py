"""Sorting and keyset pagination of lists (SPEC.md §5): ``sort``, ``limit``, ``cursor``.

A cursor is opaque to clients: base64url of ``[sort, sort key text, row id]`` of the last row
of the previous page. It is only valid with the same ``sort``; its key is checked against the
sort key's SQL type when parsed, so a forged cursor is a 400 before any query (or CSV byte).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime

from certstats_query_api.params import DEFAULT_LIMIT, MAX_LIMIT, parse_int
from certstats_query_api.problems import bad_parameter
from certstats_query_api.sql.queries import DEFAULT_SORTS, SORTS


@dataclass(frozen=True)
class Page:
    """One page request: a whitelisted ``sort`` (``-`` prefix = descending), ``limit`` rows,
    and the keyset position ``after`` = (sort key text, row id) or None for the first page."""

    sort: str
    limit: int
    after: tuple[str, str] | None

    def sql_args(self, *, everything: bool = False) -> tuple[str | None, str | None, int | None]:
        """The keyset arguments: cursor key, cursor id, limit (+1 to detect a next page;
        None = every row, for CSV exports)."""
        key, row_id = self.after or (None, None)
        return key, row_id, None if everything else self.limit + 1


def parse_page(kind: str, sort: str | None, limit: str | None, cursor: str | None) -> Page:
    """Validate ``sort`` against the whitelist of list ``kind``, ``limit`` and ``cursor``."""
    chosen = sort or DEFAULT_SORTS[kind]
    if chosen.removeprefix("-") not in SORTS[kind]:
        allowed = ", ".join(sorted(SORTS[kind]))
        raise bad_parameter("sort", f"must be one of {allowed} (prefix - for descending)")
    size = parse_int("limit", limit, DEFAULT_LIMIT, 1, MAX_LIMIT)
    key_type = SORTS[kind][chosen.removeprefix("-")].sql_type
    return Page(chosen, size, _decode(cursor, chosen, key_type) if cursor else None)


def encode_cursor(sort: str, key: str, row_id: str) -> str:
    """The cursor pointing after a row whose sort key text is ``key`` and id ``row_id``."""
    raw = json.dumps([sort, key, row_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str, key_type: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, row_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise bad_parameter("cursor", "not a cursor returned by this list") from None
    if cursor_sort != sort or not isinstance(key, str) or not isinstance(row_id, str):
        raise bad_parameter("cursor", "not a cursor of this list and sort")
    typed_key = _typed_key(key, key_type)
    if typed_key is None or not _storable(key) or not _storable(row_id):
        raise bad_parameter("cursor", "not a cursor of this list and sort")
    return typed_key, row_id


def _storable(text: str) -> bool:
    """Whether PostgreSQL text can hold ``text``: no NUL, no lone surrogate (JSON's ``\\ud800``
    decodes to one; asyncpg cannot encode it, and a CSV export binds the cursor only after its
    200 is sent)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


_INTEGER_BOUNDS = {"integer": 2**31 - 1, "bigint": 2**63 - 1}
_PG_TIMESTAMPTZ = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?[+-][0-9:]{2,8}"
)


def _typed_key(key: str, key_type: str) -> str | None:
    """``key`` as a text PostgreSQL casts to ``key_type`` without error, or None when it is no
    value of that type (integers in range; timestamptz as PostgreSQL writes them, re-written
    in ISO 8601; text as is)."""
    if key_type in _INTEGER_BOUNDS:
        bound = _INTEGER_BOUNDS[key_type]
        valid = re.fullmatch(r"-?[0-9]{1,19}", key) is not None and -bound - 1 <= int(key) <= bound
        return key if valid else None
    if key_type == "timestamptz":
        if key in ("infinity", "-infinity"):
            return key
        try:
            return (
                datetime.fromisoformat(key).isoformat() if _PG_TIMESTAMPTZ.fullmatch(key) else None
            )
        except ValueError:
            return None
    return key
