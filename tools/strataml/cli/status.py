"""`strata status`: each pipeline stage up to date, stale or never run, and why (TFC-0002 R21)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import FormatOption, examples
from strataml.workspace import find_root

EXAMPLES = examples(
    "strata status",
    "strata status pipelines/iris.yaml --format json",
    "strata status --check",
)


def status(
    pipeline: Annotated[
        Path | None,
        typer.Argument(
            metavar="[PIPELINE]", help="A pipeline spec; default: every pipelines/*.yaml."
        ),
    ] = None,
    output_format: FormatOption = "text",
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when any stage is not up to date (for CI).")
    ] = False,
) -> None:
    """Per stage: up to date, stale or never run, and why (TFC-0002 R21)."""
    from strataml.cli.output import emit
    from strataml.registry.pipelines import find_pipelines, load_pipeline
    from strataml.runner.status import StatusReport, pipeline_status, stage_runs

    root = find_root(pipeline.parent if pipeline and pipeline.parent.is_dir() else Path())
    paths = [pipeline] if pipeline is not None else [root / p for p in find_pipelines(root)]
    specs = [load_pipeline(root, path) for path in paths]
    runs = stage_runs(root)
    report = StatusReport(tuple(pipeline_status(root, spec, runs) for spec in specs))
    emit(output_format, report)
    raise typer.Exit(1 if check and not report.current else 0)
