"""Text columns reach PostgreSQL as array literals (``projection/sql.py``): whatever the
strings, ``literal::text[]`` gives them back exactly, NULLs included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_projector.projection.sql import text_array
from tests.integration.projection_support import Projection
from tests.reference.strategies import INTEGRATION_SETTINGS

TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))
"""Any string PostgreSQL text can hold (no NUL; surrogates cannot be encoded in UTF-8)."""

TRICKY = ['"', "\\", '\\"', "{}", "a,b", " padded ", "NULL", "", "é ✓", '{"x": [1, "y"]}']


async def test_tricky_values_come_back_unchanged(proj: Projection) -> None:
    values: list[str | None] = [*TRICKY, None, *TRICKY]
    for column in (values, TRICKY, [None], [""], ["plain", "ids"], []):
        assert await proj.conn.fetchval("SELECT $1::text::text[]", text_array(column)) == column


@settings(INTEGRATION_SETTINGS, max_examples=200)
@given(values=st.lists(st.none() | TEXT, max_size=8))
async def test_any_values_come_back_unchanged(proj: Projection, values: list[str | None]) -> None:
    assert await proj.conn.fetchval("SELECT $1::text::text[]", text_array(values)) == values
