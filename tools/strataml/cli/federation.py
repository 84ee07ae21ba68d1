"""`strata federation`: the other repositories references may pin (TFC-0001 R16)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import examples, sub_app
from strataml.workspace import find_root

app = sub_app(
    "Other repositories whose versions references pin: fetch mirrors (TFC-0001 R16).",
    "strata federation fetch",
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
