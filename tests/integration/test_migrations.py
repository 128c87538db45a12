import asyncpg

from certstats_projector import generations
from certstats_projector.deferred_indexes import defer_indexes, deferred_count


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


LEARNER_INDEXES_SQL = """
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = $1 AND tablename = 'certificate_learners' ORDER BY 1
"""


async def test_0010_keys_the_summary_by_learner_also_mid_rebuild(database_url: str) -> None:
    """Migration 0010 on a building generation still at 0009 whose rebuild deferred
    ``certificate_learners_user`` (recorded and dropped: a rebuild in flight across an
    upgrade): the index is created from its record, then dropped by the migration with its
    record gone; the key leads with the learner, covers the counted columns, and the rows
    written before are kept."""
    conn = await asyncpg.connect(database_url)
    try:
        await generations.migrate(conn)
        building = await generations.create_building_generation(conn)
        await conn.execute(
            f"""
            SET search_path TO {building};
            ALTER TABLE certificate_learners DROP CONSTRAINT certificate_learners_pkey;
            ALTER TABLE certificate_learners ADD PRIMARY KEY (platform_id, certificate_id, user_id);
            CREATE INDEX certificate_learners_user ON certificate_learners (platform_id, user_id)
                INCLUDE (certificate_id, enrolled, grant_id, expires_at);
            INSERT INTO certificate_learners (platform_id, certificate_id, user_id, enrolled,
                                              user_status, last_name)
            VALUES ('p', 'c2', 'u1', true, 'active', ''), ('p', 'c1', 'u1', false, 'active', '');
            DELETE FROM schema_migrations WHERE version = 10;
            RESET search_path;
            """
        )
        await defer_indexes(conn, building, ["certificate_learners_user"])
        await generations.migrate(conn)

        indexes = dict(list(r) for r in await conn.fetch(LEARNER_INDEXES_SQL, building))
        assert "certificate_learners_user" not in indexes
        assert indexes["certificate_learners_pkey"].endswith(
            "(platform_id, user_id, certificate_id) INCLUDE (enrolled, grant_id, expires_at)"
        )
        assert await deferred_count(conn, building) == 0
        rows = await conn.fetch(
            f"SELECT certificate_id, enrolled FROM {building}.certificate_learners ORDER BY 1"
        )
        assert [tuple(r) for r in rows] == [("c1", False), ("c2", True)]
    finally:
        await conn.close()
