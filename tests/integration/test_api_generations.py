"""The API follows the current read-model generation (SPEC.md §6): after a rebuild promotes a
new generation and drops the old one, the same pooled connections (with their prepared
statements) read the new one."""

from __future__ import annotations

from certstats_projector.generations import META_SCHEMA, create_building_generation
from certstats_projector.projection import apply_batch
from tests.integration.test_api_harness import Api, api, catalog, certificate, on_both_paths, user
from tests.reference.builders import as_consumed

pytest_generate_tests = on_both_paths
__all__ = ["api"]
LIST = "/v1/path-certificates"


async def test_promoted_generation_is_read_by_the_next_request(api: Api) -> None:
    await api.load([*catalog("c1"), user("u1")])
    for _ in range(3):  # warm the prepared-statement caches of the pool's connections
        assert [r["certificate_id"] for r in await api.items(LIST, user_status="all")] == ["c1"]
    building = await create_building_generation(api.conn)
    await apply_batch(api.conn, building, as_consumed([certificate("c2", "Rebuilt")]), {})
    async with api.conn.transaction():
        await api.conn.execute(
            f"UPDATE {META_SCHEMA}.generations SET state = CASE WHEN schema_name = $1"
            " THEN 'current' ELSE 'building' END",
            building,
        )
        await api.conn.execute(f"DELETE FROM {META_SCHEMA}.generations WHERE state = 'building'")
        await api.conn.execute(f"DROP SCHEMA {api.schema} CASCADE")
    for _ in range(3):
        rows = await api.items(LIST, user_status="all")
        assert [(r["certificate_id"], r["title"]) for r in rows] == [("c2", "Rebuilt")]
