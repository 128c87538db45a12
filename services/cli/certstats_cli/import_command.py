"""``certstats import-oulad``: the OULAD dataset as the ``ou`` event stream (SPEC.md §7).

Writes JSON Lines (a file or stdout) and/or publishes to Kafka with a progress bar.
Bad input prints the file and line and exits with status 1; nothing is published.
"""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from certstats_cli.projector_command import Bootstrap
from certstats_contracts.envelope import DEFAULT_TOPIC
from certstats_importer.csv_source import OuladInputError
from certstats_importer.publish import publish_events, write_json_lines
from certstats_importer.stream import DEFAULT_SHIFT_YEARS, oulad_events
from certstats_importer.timeline import SHIFT_YEARS

_stderr = Console(stderr=True)


class Compression(StrEnum):
    """Producer compression codecs aiokafka knows."""

    GZIP = "gzip"
    LZ4 = "lz4"
    ZSTD = "zstd"
    SNAPPY = "snappy"


def import_oulad(
    data_dir: Annotated[Path, typer.Argument(help="Directory of the OULAD CSV files.")] = Path(
        "data/oulad"
    ),
    shift_years: Annotated[
        int,
        typer.Option(min=SHIFT_YEARS[0], max=SHIFT_YEARS[1], help="Years added to every date."),
    ] = DEFAULT_SHIFT_YEARS,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="JSON Lines file ('-' = stdout)."),
    ] = None,
    bootstrap_servers: Bootstrap = None,
    topic: Annotated[str, typer.Option(help="Topic to publish to.")] = DEFAULT_TOPIC,
    compression: Annotated[
        Compression | None,
        typer.Option(help="Producer compression (lz4/zstd/snappy need their library)."),
    ] = None,
) -> None:
    """Import OULAD as platform ``ou``: to JSON Lines (default stdout) and/or to Kafka."""
    try:
        events = list(oulad_events(data_dir, shift_years))
    except OuladInputError as exc:
        _fail(f"bad OULAD input: {exc}")
    if output is not None or bootstrap_servers is None:
        _write(events, output or "-")
    if bootstrap_servers is not None:
        try:
            codec = compression.value if compression else None
            count = asyncio.run(_publish(events, bootstrap_servers, topic, codec))
        except (KafkaError, OSError, RuntimeError) as exc:
            _fail(f"publishing to {bootstrap_servers} failed: {exc!r}")
        _stderr.print(f"published {count} events to {topic}")


def _write(events: list[dict[str, Any]], output: str) -> None:
    if output == "-":
        write_json_lines(events, sys.stdout)
        return
    try:
        with Path(output).open("w", encoding="utf-8") as out:
            count = write_json_lines(events, out)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}")
    _stderr.print(f"wrote {count} events to {output}")


async def _publish(
    events: list[dict[str, Any]], bootstrap_servers: str, topic: str, compression: str | None
) -> int:
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=_stderr) as progress:
        task = progress.add_task(f"publishing to {topic}", total=len(events))
        return await publish_events(
            events,
            bootstrap_servers,
            topic,
            on_progress=lambda done: progress.advance(task, done),
            compression_type=compression,
        )


def _fail(message: str) -> NoReturn:
    _stderr.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True, style="red")
    raise typer.Exit(code=1)
