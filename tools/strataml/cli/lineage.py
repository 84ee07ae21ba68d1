"""`strata lineage`: walk dataset -> run -> model -> derived models (TFC-0005 R5)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import VersionArgument, examples
from strataml.errors import UsageError
from strataml.workspace import find_root

EXAMPLES = examples(
    "strata lineage models/iris-classifier@v1",
    "strata lineage datasets/iris@v1 --down --format mermaid",
)


def lineage(
    ref: Annotated[
        str,
        typer.Argument(
            metavar="REF",
            help="datasets/NAME@vN, models/NAME@production (any reference), a run id.",
        ),
    ],
    version: VersionArgument = None,
    up: Annotated[bool, typer.Option("--up", help="Only what it came from.")] = False,
    down: Annotated[bool, typer.Option("--down", help="Only what came from it.")] = False,
    output_format: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help="text, dot, mermaid, prov-json or json."),
    ] = "text",
) -> None:
    """Walk dataset -> run -> model -> derived models (TFC-0005 R5)."""
    from strataml.registry import lineage as graphs
    from strataml.registry.resolve import settle
    from strataml.registry.store import versioned

    if output_format not in graphs.FORMATS:
        raise UsageError(
            f"unknown format {output_format!r} (choose from {', '.join(graphs.FORMATS)})"
        )
    root = find_root(Path())
    start = graphs.normalise(settle(root, versioned(ref, version)))
    both = not up and not down
    graph = graphs.subgraph(graphs.build_graph(root), start, up=up or both, down=down or both)
    typer.echo(graphs.render(graph, start, output_format), nl=False)
