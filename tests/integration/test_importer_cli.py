"""``certstats import-oulad --bootstrap-servers``: the CLI publishes to a real broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from certstats_importer.stream import oulad_events
from tests.integration.test_importer_publish import read_topic
from tests.oulad_fixture import write_small_oulad
from tests.unit.test_oulad_cli import cli


def test_cli_publishes_the_stream(tmp_path: Path, kafka_bootstrap: str, topic: str) -> None:
    data_dir = write_small_oulad(tmp_path)
    args = ["import-oulad", str(data_dir), "--bootstrap-servers", kafka_bootstrap]
    result = CliRunner().invoke(cli(), [*args, "--topic", topic, "--compression", "gzip"])
    assert result.exit_code == 0, result.output
    expected = len(list(oulad_events(data_dir)))
    assert f"published {expected} events to {topic}" in result.stderr
    records = asyncio.run(read_topic(kafka_bootstrap, topic, expected))
    assert len(records) == expected


def test_cli_reports_an_unreachable_broker(tmp_path: Path) -> None:
    data_dir = write_small_oulad(tmp_path)
    args = ["import-oulad", str(data_dir), "--bootstrap-servers", "127.0.0.1:1"]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 1
    assert "publishing to 127.0.0.1:1 failed" in result.stderr
