"""`strata federation`: the other repositories references may pin (TFC-0001 R16)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import FormatOption, examples, sub_app
from strataml.cli.output import emit
from strataml.workspace import find_root

app = sub_app(
    "Other repositories whose versions references pin: status, fetch mirrors (TFC-0001 R16).",
    "strata federation status",
)


@app.command(
    "fetch", epilog=examples("strata federation fetch", "strata federation fetch upstream")
)
def fetch(
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="NAME", help="Repositories (default: all).", show_default=False),
    ] = None,
) -> None:
    """Mirror declared repositories under .strata/federation/, so that doctor can verify pins
    into them; doctor itself never fetches."""
    from strataml.config import load_config
    from strataml.registry import federation

    root = find_root(Path())
    for member, done in federation.fetch(root, load_config(root), names or ()):
        typer.echo(f"{member.name}: {member.url}: {done}")


@app.command("status", epilog=examples("strata federation status --format json"))
def status(output_format: FormatOption = "text") -> None:
    """Each declared repository: where doctor reads it and at which commit, or why not."""
    from strataml.config import load_config
    from strataml.gitindex import tracked_local_state
    from strataml.registry import federation

    root = find_root(Path())
    mirrors = not tracked_local_state(root)  # as doctor: a committed .strata/ is not the tools'
    emit(output_format, federation.status(root, load_config(root), mirrors=mirrors))
