"""The ``certstats`` command line: one entry point for every service and tool.

Each subcommand lives in its own module and is registered here.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="certstats",
    help="Path-certificate statistics: projector, query API, importer and operations.",
    no_args_is_help=True,
    add_completion=False,
)

from certstats_cli import api_command, import_command, projector_command  # noqa: E402

app.command("import-oulad")(import_command.import_oulad)
app.command("projector")(projector_command.projector)
app.command("migrate")(projector_command.migrate)
app.command("api")(api_command.serve)
app.command("token")(api_command.token)

from certstats_cli import demo_command  # noqa: E402

app.command("demo")(demo_command.demo_command)

from certstats_cli import ops_command  # noqa: E402

app.command("rebuild")(ops_command.rebuild_command)
app.add_typer(ops_command.dlq_app, name="dlq")
