"""``certstats import-oulad`` to JSON Lines, and its bad-input exit (SPEC.md section 7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from certstats_cli.import_command import import_oulad
from certstats_importer.stream import oulad_events
from tests.oulad_fixture import write_small_oulad


def cli() -> typer.Typer:
    """A command group holding only ``import-oulad`` (as registered in ``certstats_cli.main``)."""
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("import-oulad")(import_oulad)
    return app


def test_writes_json_lines_to_a_file(tmp_path: Path) -> None:
    data_dir, out = write_small_oulad(tmp_path / "oulad"), tmp_path / "ou.jsonl"
    result = CliRunner().invoke(cli(), ["import-oulad", str(data_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(oulad_events(data_dir))


def test_writes_json_lines_to_stdout_with_a_shift(tmp_path: Path) -> None:
    data_dir = write_small_oulad(tmp_path)
    result = CliRunner().invoke(cli(), ["import-oulad", str(data_dir), "--shift-years", "0"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout.splitlines()[0])
    assert first == next(oulad_events(data_dir, shift_years=0))
    assert first["time"].startswith("2013-")


def test_bad_input_names_file_and_line_and_exits_non_zero(tmp_path: Path) -> None:
    data_dir = write_small_oulad(tmp_path)
    courses = data_dir / "courses.csv"
    courses.write_text(courses.read_text(encoding="utf-8") + '"AAA","2015J","x"\n')
    result = CliRunner().invoke(cli(), ["import-oulad", str(data_dir), "-o", "-"])
    assert result.exit_code == 1
    assert f"{courses}:7:" in result.stderr
    assert "'x' is not an integer" in result.stderr
    assert result.stdout == ""


def test_unavailable_compression_codec_is_a_clean_error(tmp_path: Path) -> None:
    data_dir = write_small_oulad(tmp_path)
    args = ["import-oulad", str(data_dir), "--bootstrap-servers", "127.0.0.1:1"]
    result = CliRunner().invoke(cli(), [*args, "--compression", "lz4"])
    assert result.exit_code == 1
    assert "publishing to 127.0.0.1:1 failed" in result.stderr
    assert CliRunner().invoke(cli(), [*args, "--compression", "brotli"]).exit_code == 2


@pytest.mark.parametrize("shift", ["-3000", "-1", "101", "8000"])
def test_shift_years_is_bounded(tmp_path: Path, shift: str) -> None:
    data_dir = write_small_oulad(tmp_path)
    result = CliRunner().invoke(cli(), ["import-oulad", str(data_dir), "--shift-years", shift])
    assert result.exit_code == 2
    assert "--shift-years" in result.stderr


def test_unwritable_output_is_a_clean_error(tmp_path: Path) -> None:
    data_dir, out = write_small_oulad(tmp_path), tmp_path / "no" / "such" / "dir.jsonl"
    result = CliRunner().invoke(cli(), ["import-oulad", str(data_dir), "-o", str(out)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"cannot write {out}" in result.stderr


def test_unreachable_broker_is_a_clean_error(tmp_path: Path) -> None:
    data_dir = write_small_oulad(tmp_path)
    certstats = Path(sys.executable).with_name("certstats")
    args = [str(certstats), "import-oulad", str(data_dir), "--bootstrap-servers", "127.0.0.1:1"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "publishing to 127.0.0.1:1 failed" in result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr
