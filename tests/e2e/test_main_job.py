"""The main job end to end on the full OULAD dataset (SPEC.md section 7):
importer -> real broker -> projector runtime -> PostgreSQL -> query API, checked against
``tests/oulad_expected.py``, which computes the figures from the raw CSVs with plain Python.
"""

from __future__ import annotations

import pytest

from certstats_importer import oulad_events, publish_events
from certstats_projector.app import project_until_caught_up
from certstats_projector.settings import ProjectorSettings
from tests.integration.test_api_harness import Api, api
from tests.integration.test_importer_statistics import FULL_DATASET, check_certificate_list

__all__ = ["api"]


@pytest.mark.slow
async def test_full_oulad_stream_through_kafka_matches_the_csv_oracle(
    api: Api, database_url: str, kafka_bootstrap: str, topic: str
) -> None:
    published = await publish_events(oulad_events(FULL_DATASET), kafka_bootstrap, topic)
    settings = ProjectorSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topics=[topic],
        consumer_group=f"e2e-{topic}",
        http_port=None,
    )
    final = await project_until_caught_up(settings, timeout_s=300)
    assert final.caught_up
    assert final.stored_total == published
    for as_of in ("2025-12-31T00:00:00Z", "2026-11-29T00:00:00Z"):
        await check_certificate_list(api, FULL_DATASET, as_of)
