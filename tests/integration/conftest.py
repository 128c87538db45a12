"""Fixtures shared by the integration tests (the session-wide ones are in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.projection_support import Projection, projection


@pytest.fixture
async def proj(database_url: str) -> AsyncIterator[Projection]:
    """A fresh read-model generation of the test's database, applied to by ``apply_batch``."""
    async with projection(database_url) as p:
        yield p
