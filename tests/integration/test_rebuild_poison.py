"""A rebuild over an event PostgreSQL rejects (SPEC.md §3, §6): the live projector dead-lettered
it; the rebuild skips it without dead-lettering it again and still promotes the same models."""

from __future__ import annotations

import asyncpg

from certstats_projector import generations
from certstats_projector.app import project_until_caught_up
from certstats_projector.dlq_tool import read_dead_letters
from certstats_projector.rebuild import rebuild
from tests.integration.kafka_support import projected, publish, settings_for
from tests.integration.test_projector_poison import _group_created

NO_POISON = "ALTER TABLE {}.groups ADD CONSTRAINT no_poison CHECK (name <> 'poison')"


async def test_rebuild_skips_what_the_live_projector_dead_lettered(
    database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:  # both generations refuse the value (as a too-long key would)
        for schema in (
            await generations.migrate(conn),
            await generations.create_building_generation(conn),
        ):
            await conn.execute(NO_POISON.format(schema))
    finally:
        await conn.close()
    names = ["first", "poison", "last"]
    await publish(
        kafka_bootstrap, topic, [(b"k", _group_created(n, name)) for n, name in enumerate(names)]
    )
    settings = settings_for(database_url, kafka_bootstrap, topic)
    await project_until_caught_up(settings, timeout_s=60)
    before = await projected(database_url)

    result = await rebuild(settings)

    assert result.resumed and result.replayed == 3
    assert await projected(database_url) == before
    assert [d.value for d in await read_dead_letters(kafka_bootstrap, topic)] == [
        _group_created(1, "poison")
    ]
