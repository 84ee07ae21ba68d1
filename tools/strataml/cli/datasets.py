"""`strata dataset`: add, list, show (TFC-0004)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import (
    AllowStaleOption,
    FormatOption,
    FromStageOption,
    VersionArgument,
    examples,
    sub_app,
)
from strataml.cli.output import emit
from strataml.errors import UsageError
from strataml.workspace import find_root

app = sub_app("Dataset versions: add, list, show (TFC-0004).", "strata dataset list")


@app.command(
    "add",
    epilog=examples(
        "strata dataset add petals out/petals --derived-from datasets/iris@v1 --license CC-BY-4.0",
        "strata dataset add iris data/ --version v2 --split train=train.csv --split test=test.csv",
        "strata dataset add iris-prepared --from-stage pipelines/iris.yaml:prepare --output train.csv",
    ),
)
def dataset_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Dataset name.")],
    source: Annotated[
        Path | None,
        typer.Argument(metavar="[SRC]", help="File or directory to version (or --output)."),
    ] = None,
    version: Annotated[
        str | None, typer.Option(metavar="vN", help="Version (default: next).")
    ] = None,
    license_id: Annotated[
        str | None, typer.Option("--license", metavar="SPDX", help="Licence of the data.")
    ] = None,
    description: Annotated[str | None, typer.Option(metavar="TEXT")] = None,
    derived_from: Annotated[
        list[str] | None,
        typer.Option("--derived-from", metavar="REF", help="Parent dataset version."),
    ] = None,
    from_run: Annotated[
        str | None, typer.Option("--from-run", metavar="RUN", help="Run that produced the data.")
    ] = None,
    from_stage: FromStageOption = None,
    allow_stale: AllowStaleOption = False,
    outputs: Annotated[
        list[str] | None, typer.Option("--output", metavar="PATH", help="A file of its artifacts/.")
    ] = None,
    source_names: Annotated[
        list[str] | None, typer.Option("--source", metavar="NAME|URL", help="External origin.")
    ] = None,
    splits: Annotated[
        list[str] | None,
        typer.Option(
            "--split", metavar="NAME=PATH", help="A split (default: train/val/test folders)."
        ),
    ] = None,
) -> None:
    """Create the next immutable version of a dataset from files."""
    from strataml.registry import datasets
    from strataml.registry.stageoutput import producing_run

    root = find_root(Path())
    if from_stage is not None and source is not None:
        raise UsageError(
            f"--from-stage {from_stage}: the data is what the stage's run wrote; name it with "
            "--output PATH instead of a SOURCE"
        )
    run = producing_run(root, from_run, from_stage, allow_stale=allow_stale)
    added = datasets.add_dataset(
        root, name, source, version=version, description=description,
        license_id=license_id, derived_from=derived_from or (), from_run=run,
        outputs=outputs or (), sources=source_names or (), splits=splits or (),
    )  # fmt: skip
    typer.echo(added.text(), nl=False)


@app.command("list", epilog=examples("strata dataset list", "strata dataset list --format json"))
def dataset_list(output_format: FormatOption = "text") -> None:
    """Every dataset version."""
    from strataml.registry import datasets, listings

    emit(output_format, listings.DatasetList(tuple(datasets.list_datasets(find_root(Path())))))


@app.command(
    "show",
    epilog=examples(
        "strata dataset show iris v1", "strata dataset show datasets/iris@v1 --format json"
    ),
)
def dataset_show(
    ref: Annotated[str, typer.Argument(metavar="REF", help="datasets/NAME@vN, NAME@vN or NAME.")],
    version: VersionArgument = None,
    output_format: FormatOption = "text",
) -> None:
    """One dataset version."""
    from strataml.registry import listings, store

    wanted = store.versioned(ref, version)
    emit(output_format, listings.show_version(find_root(Path()), "datasets", wanted))
