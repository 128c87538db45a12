"""Imported OULAD events, projected and queried, match the CSV oracle (SPEC.md §5.1, §7).

The small hand-made dataset goes through ``oulad_events`` -> ``parse_event`` -> the projector's
``apply_batch`` -> the query API (platform admin of ``ou``, default filters), and the
certificate list must equal ``tests/oulad_expected.py`` computed from the raw CSVs.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from certstats_contracts.envelope import parse_event
from certstats_importer.stream import oulad_events
from tests.integration.test_api_harness import Api, api, token
from tests.oulad_expected import expected_certificates, expected_latest_statuses
from tests.oulad_fixture import write_small_oulad

__all__ = ["api"]
OU_ADMIN = token(sub="ou-root-admin", platform_id="ou", roles=["platform_admin"])
LIST = "/v1/path-certificates"


FULL_DATASET = Path(__file__).resolve().parents[2] / "data" / "oulad"


async def load_oulad(api: Api, data_dir: Path, batch_size: int = 5_000) -> None:
    """Project the stream of ``data_dir`` in consumption-sized batches."""
    events = [parse_event(json.dumps(document)) for document in oulad_events(data_dir)]
    for start in range(0, len(events), batch_size):
        await api.load(events[start : start + batch_size])


AS_OF_VALUES = (
    "2024-06-01T00:00:00Z",
    "2025-07-01T00:00:00Z",
    "2026-06-01T00:00:00Z",
    "2026-07-01T00:00:00Z",
)


async def test_certificate_list_matches_the_oracle(api: Api, tmp_path: Path) -> None:
    data_dir = write_small_oulad(tmp_path)
    await load_oulad(api, data_dir)
    for as_of in AS_OF_VALUES:
        await check_certificate_list(api, data_dir, as_of)


@pytest.mark.slow
async def test_full_dataset_certificate_list_matches_the_oracle(api: Api) -> None:
    await load_oulad(api, FULL_DATASET)
    for as_of in ("2025-12-31T00:00:00Z", "2026-07-10T00:00:00Z"):
        await check_certificate_list(api, FULL_DATASET, as_of)


async def check_certificate_list(api: Api, data_dir: Path, as_of: str) -> None:
    """Rows, counts, latest-status breakdown and certified drill-down at ``as_of``."""
    instant = datetime.fromisoformat(as_of)
    oracle = {c: e for c, e in expected_certificates(data_dir, instant).items() if e.linked}
    rows = {row["certificate_id"]: row for row in await api.items(LIST, OU_ADMIN, as_of=as_of)}
    assert set(rows) == set(oracle), as_of
    for certificate_id, expected in oracle.items():
        row = rows[certificate_id]
        counts = (row["certified_learners"], row["enrolled_learners"])
        assert counts == (expected.certified_learners, expected.enrolled_learners), row
        assert expected_latest_statuses(data_dir, certificate_id[-3:], instant) == {
            "valid": row["valid_learners"],
            "expiring_soon": row["expiring_soon_learners"],
            "expired": row["expired_learners"],
        }, row
        drill_down = f"{LIST}/{certificate_id}/certified-learners"
        certified = await api.items(drill_down, OU_ADMIN, as_of=as_of, limit=1000)
        assert {learner["user_id"] for learner in certified} == expected.certified, row
