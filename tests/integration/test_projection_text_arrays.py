"""Text columns reach PostgreSQL as one string each (``projection/sql.py``): whatever the
strings, the statements' ``texts`` expression (a joined string or an array literal) and
``literal::text[]`` give them back exactly, NULLs included."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from certstats_projector.projection.sql import NULL_MARK, SEPARATOR, text_array, text_column, texts
from tests.integration.projection_support import Projection
from tests.reference.strategies import INTEGRATION_SETTINGS

TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))
"""Any string PostgreSQL text can hold (no NUL; surrogates cannot be encoded in UTF-8)."""

TRICKY = ['"', "\\", '\\"', "{}", "a,b", " padded ", "NULL", "", "é ✓", '{"x": [1, "y"]}']

SEPARATORS = [SEPARATOR, NULL_MARK, f"a{SEPARATOR}b", f"a{NULL_MARK}", "{", "{a"]
"""Values a joined string could mistake for its separator, its NULL mark or a literal."""

TEXTS_SQL = f"SELECT {texts(1)}"


async def test_tricky_values_come_back_unchanged(proj: Projection) -> None:
    values: list[str | None] = [*TRICKY, None, *TRICKY]
    for column in (values, TRICKY, [None], [""], ["plain", "ids"], []):
        assert await proj.conn.fetchval("SELECT $1::text::text[]", text_array(column)) == column


@settings(INTEGRATION_SETTINGS, max_examples=200)
@given(values=st.lists(st.none() | TEXT, max_size=8))
async def test_any_values_come_back_unchanged(proj: Projection, values: list[str | None]) -> None:
    assert await proj.conn.fetchval("SELECT $1::text::text[]", text_array(values)) == values


async def test_texts_gives_back_tricky_values(proj: Projection) -> None:
    values: list[str | None] = [*TRICKY, None, *TRICKY]
    columns: list[list[str | None]] = [values, TRICKY, [None], [""], ["", ""], [None, ""], []]
    columns += [["plain", "ids"], ["ids", None], ["é", "✓", None, "x"]]
    columns += [[s] for s in SEPARATORS] + [["x", s] for s in SEPARATORS] + [SEPARATORS]
    for column in columns:
        assert await proj.conn.fetchval(TEXTS_SQL, text_column(column)) == column, column


def test_text_column_joins_plain_values_and_falls_back_to_a_literal() -> None:
    assert text_column(["p1", "u-1", None]) == f"p1{SEPARATOR}u-1{SEPARATOR}{NULL_MARK}"
    assert text_column([]) == ""
    for column in ([""], ["{a}", "b"], ["a", f"b{SEPARATOR}"], [NULL_MARK], [f"x{NULL_MARK}"]):
        assert text_column(column) == text_array(column)


@settings(INTEGRATION_SETTINGS, max_examples=200)
@given(values=st.lists(st.none() | TEXT | st.sampled_from(SEPARATORS), max_size=8))
async def test_texts_gives_back_any_values(proj: Projection, values: list[str | None]) -> None:
    assert await proj.conn.fetchval(TEXTS_SQL, text_column(values)) == values
