"""`strata lfs`: Git LFS content of artifacts (TFC-0008 R12)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import FormatOption, examples, sub_app
from strataml.cli.output import emit
from strataml.workspace import find_root, scan_layout

app = sub_app("Git LFS content of artifacts: status, pull (TFC-0008 R12).", "strata lfs status")


@app.command(
    "status",
    epilog=examples(
        "strata lfs status", "strata lfs status models/iris-classifier@v1 --format json"
    ),
)
def lfs_status(
    paths: Annotated[
        list[str] | None,
        typer.Argument(metavar="REF|PATH", help="Artifacts (default: all).", show_default=False),
    ] = None,
    output_format: FormatOption = "text",
) -> None:
    """Artifact files by state: present, pointer (not pulled), plain (not in LFS)."""
    from strataml import lfs
    from strataml.registry.resolve import artifact_dirs

    root = find_root(Path())
    targets = artifact_dirs(root, paths) if paths else [a.path for a in scan_layout(root).artifacts]
    emit(output_format, lfs.FileStates(tuple(lfs.file_states(root, targets))))


@app.command("pull", epilog=examples("strata lfs pull models/iris-classifier@v1 datasets/iris@v1"))
def lfs_pull(
    refs: Annotated[
        list[str],
        typer.Argument(metavar="REF", help="e.g. models/iris-classifier@v1.", show_default=False),
    ],
) -> None:
    """Fetch exactly the LFS objects these artifact versions need, then verify them."""
    from strataml.doctor.content import pull_verified
    from strataml.registry.resolve import artifact_dirs

    root = find_root(Path())
    failed = False
    for pulled in pull_verified(root, artifact_dirs(root, refs)):
        typer.echo(pulled.text(), nl=False)
        failed = failed or pulled.report.failed
    raise typer.Exit(1 if failed else 0)
