"""Operations: ``certstats rebuild`` (SPEC.md §6) and ``certstats dlq list|replay`` (§3).

Settings come from ``CERTSTATS_*`` environment variables like the projector's; the options
here override the common ones. Ctrl-C (exit 130) or SIGTERM (exit 143) during a rebuild
leaves the current generation as it was; ``certstats rebuild`` again resumes the building one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, NoReturn

import asyncpg
import typer
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from certstats_cli.projector_command import Bootstrap, DatabaseUrl
from certstats_cli.sigterm import Terminated, until_sigterm
from certstats_contracts.envelope import DEFAULT_TOPIC
from certstats_projector.dlq_tool import (
    DeadLetter,
    MissingDeadLetterTopic,
    json_lines,
    printable,
    read_dead_letters,
    replay,
    select,
)
from certstats_projector.logs import configure_logging
from certstats_projector.rebuild import RebuildBusy, RebuildProgress, RebuildResult, rebuild
from certstats_projector.replay import LogBehindTarget, MissingTopics
from certstats_projector.settings import ProjectorSettings

_stderr = Console(stderr=True)

Topic = Annotated[str, typer.Option(help="Original topic (its DLQ is <topic>.dlq).")]
ErrorContains = Annotated[
    str | None, typer.Option(help="Only errors containing this text (case-insensitive).")
]
FromOffset = Annotated[int | None, typer.Option(help="Only DLQ offsets >= this.")]
ToOffset = Annotated[int | None, typer.Option(help="Only DLQ offsets <= this.")]

dlq_app = typer.Typer(help="Dead-lettered events of <topic>.dlq.", no_args_is_help=True)


def rebuild_command(
    database_url: DatabaseUrl = None,
    bootstrap_servers: Bootstrap = None,
    topic: Annotated[list[str] | None, typer.Option(help="Topic to replay (repeatable).")] = None,
    batch: Annotated[int, typer.Option(min=1, help="Most records per transaction.")] = 10_000,
    drop_wait: Annotated[
        float, typer.Option(min=0, help="Longest wait (s) for old readers before the drop.")
    ] = 60.0,
) -> None:
    """Rebuild the read models from the topics into a new generation, then promote it."""
    overrides: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": bootstrap_servers,
        "topics": topic or None,
    }
    try:
        settings = ProjectorSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        _fail(f"bad settings: {exc}")
    configure_logging(settings.log_level)
    last: list[RebuildProgress] = []
    try:
        result = asyncio.run(until_sigterm(_rebuild_with_bar(settings, batch, drop_wait, last)))
    except (KeyboardInterrupt, Terminated) as exc:
        if last and last[-1].promoted:
            _stderr.print(
                f"cancelled after promoting {last[-1].schema}; the next rebuild drops the old one"
            )
        else:
            _stderr.print("rebuild cancelled: current generation unchanged; run it again to resume")
        raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None
    except (RebuildBusy, MissingTopics, LogBehindTarget) as exc:
        _fail(str(exc))
    except (asyncpg.PostgresError, KafkaError, OSError) as exc:
        _fail(f"rebuild stopped ({exc!r}); run it again to resume")
    resumed = " (resumed)" if result.resumed else ""
    _stderr.print(
        f"promoted {result.schema}{resumed}, dropped {result.retired}: "
        f"{result.replayed:,} records in {result.seconds:.1f} s"
    )


async def _rebuild_with_bar(
    settings: ProjectorSettings, batch: int, drop_wait_s: float, last: list[RebuildProgress]
) -> RebuildResult:
    """Rebuild with a progress bar; ``last`` keeps the newest progress (for Ctrl-C)."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} ev/s  ETA {task.fields[eta]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_stderr) as bar:
        task = bar.add_task("rebuild", total=None, rate="-", eta="-")

        def show(p: RebuildProgress) -> None:
            last[:] = [p]
            eta = "-" if p.eta_s is None else f"{p.eta_s:,.0f} s"
            fields: dict[str, Any] = {"rate": f"{p.rate:,.0f}", "eta": eta}
            bar.update(task, description=f"rebuild {p.schema}", **fields)
            bar.update(task, completed=p.done, total=p.target or None)

        return await rebuild(settings, show, batch_max_records=batch, drop_wait_s=drop_wait_s)


@dlq_app.command("list")
def dlq_list(
    bootstrap_servers: Bootstrap = None,
    topic: Topic = DEFAULT_TOPIC,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines instead of a table.")] = False,
    error_contains: ErrorContains = None,
    from_offset: FromOffset = None,
    to_offset: ToOffset = None,
) -> None:
    """List the dead letters: error, original coordinates, time, a value preview."""
    letters = _read(bootstrap_servers, topic, error_contains, from_offset, to_offset)
    if as_json:
        for line in json_lines(letters):
            typer.echo(line)
    else:
        Console(width=200).print(_table(letters))


@dlq_app.command("replay")
def dlq_replay(
    bootstrap_servers: Bootstrap = None,
    topic: Topic = DEFAULT_TOPIC,
    error_contains: ErrorContains = None,
    from_offset: FromOffset = None,
    to_offset: ToOffset = None,
) -> None:
    """Re-publish the selected dead letters to their original topic (after a fix)."""
    letters = _read(bootstrap_servers, topic, error_contains, from_offset, to_offset)
    try:
        report = asyncio.run(replay(_bootstrap(bootstrap_servers), letters))
    except KafkaError as exc:
        _fail(f"replay failed: {exc!r}")
    per_topic = ", ".join(f"{n} to {t}" for t, n in sorted(report.replayed.items())) or "none"
    typer.echo(
        f"selected {len(letters)}, replayed {report.replayed_total} ({per_topic}), "
        f"skipped {report.skipped} without an original topic"
    )


def _read(
    bootstrap: str | None,
    topic: str,
    error_contains: str | None,
    from_offset: int | None,
    to_offset: int | None,
) -> list[DeadLetter]:
    try:
        letters = asyncio.run(read_dead_letters(_bootstrap(bootstrap), topic))
    except MissingDeadLetterTopic as exc:
        _stderr.print(
            f"{exc}: nothing dead-lettered from {topic} (or a wrong --topic)",
            markup=False,
            highlight=False,
        )
        return []
    except (KafkaError, TimeoutError, OSError) as exc:
        _fail(f"cannot read {topic}.dlq: {exc!r}")
    return select(
        letters, error_contains=error_contains, from_offset=from_offset, to_offset=to_offset
    )


def _table(letters: list[DeadLetter]) -> Table:
    table = Table("DLQ offset", "dead-lettered at", "original", "error", "value preview")
    for d in letters:
        original = f"{d.original_topic}/{d.original_partition}@{d.original_offset}"
        at = d.dead_lettered_at.isoformat(timespec="seconds")
        cells = (Text(printable(text)) for text in (original, d.error, d.preview))
        table.add_row(f"{d.partition}@{d.offset}", at, *cells)
    return table


def _bootstrap(value: str | None) -> str:
    if not value:
        _fail("set --bootstrap-servers or CERTSTATS_KAFKA_BOOTSTRAP_SERVERS")
    return value


def _fail(message: str) -> NoReturn:
    _stderr.print(Text.assemble(("error:", "red"), " ", message))
    raise typer.Exit(1)
