import asyncpg

from certstats_projector import generations


async def test_migrate_creates_current_generation_and_is_idempotent(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        schema = await generations.migrate(conn)
        assert schema == "certstats_g1"
        assert await generations.migrate(conn) == schema
        versions = await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")
        assert [r["version"] for r in versions] == [v for v, _, _ in generations.migration_files()]
        building = await generations.create_building_generation(conn)
        assert building == "certstats_g2"
        assert await generations.current_schema(conn) == schema
    finally:
        await conn.close()
