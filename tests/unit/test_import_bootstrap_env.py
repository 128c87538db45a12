"""``certstats import-oulad`` reads the Kafka bootstrap servers from
``CERTSTATS_KAFKA_BOOTSTRAP_SERVERS`` like every other command (README "Configuration"); it
used to read only ``CERTSTATS_KAFKA_BOOTSTRAP`` and, with the README's environment, wrote the
whole stream to stdout instead of publishing it (found by a tester following the README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from certstats_cli import import_command
from tests.oulad_fixture import write_small_oulad
from tests.unit.test_oulad_cli import cli


def test_import_publishes_with_the_documented_bootstrap_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[str] = []

    async def fake_publish(events: list[dict[str, Any]], bootstrap: str, *args: Any) -> int:
        published.append(bootstrap)
        return len(events)

    monkeypatch.setattr(import_command, "_publish", fake_publish)
    monkeypatch.delenv("CERTSTATS_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("CERTSTATS_KAFKA_BOOTSTRAP_SERVERS", "broker.example:9092")
    data_dir = write_small_oulad(tmp_path)
    result = CliRunner().invoke(cli(), ["import-oulad", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert published == ["broker.example:9092"], "published nothing: wrote to stdout instead"
    assert result.stdout == ""
