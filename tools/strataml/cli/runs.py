"""`strata runs`: read recorded runs (TFC-0003)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import FormatOption, examples, sub_app
from strataml.cli.output import emit
from strataml.errors import UsageError
from strataml.workspace import find_root

app = sub_app(
    "Read recorded runs: list, show, compare, best (TFC-0003).", "strata runs show latest"
)


@app.command(
    "list", epilog=examples("strata runs list --experiment my_experiment --status succeeded")
)
def runs_list(
    experiment: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only runs of this experiment.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATUS", help="Only runs with this status (succeeded, failed, …)."),
    ] = None,
    output_format: FormatOption = "text",
) -> None:
    """Runs, newest first."""
    from strataml.registry import runlist

    root = find_root(Path())
    found = runlist.list_runs(root, experiment=experiment, status=status)
    emit(output_format, found)
    if output_format == "text":
        _scheduler_tasks(root)


def _scheduler_tasks(root: Path) -> None:
    """Tasks of sweeps sent to Slurm from here, queued or running (TFC-0002 R24)."""
    from strataml.runner import slurmsweep
    from strataml.slurm import SchedulerError

    try:
        jobs = slurmsweep.queued(root)
    except SchedulerError as exc:
        typer.echo(f"strata: cannot ask Slurm about submitted sweeps: {exc}", err=True)
        return
    for job in jobs:
        typer.echo(job.text(), nl=False)


@app.command(
    "show", epilog=examples("strata runs show latest", "strata runs show latest --format json")
)
def runs_show(
    run_ref: Annotated[
        str,
        typer.Argument(metavar="RUN", help="Run id, runs/<id>, a unique part of it, or latest."),
    ],
    output_format: FormatOption = "text",
) -> None:
    """One run: outcome, code, inputs, params, metrics."""
    from strataml.registry import runs, runviews

    record = runs.resolve_run(find_root(Path()), run_ref)
    emit(output_format, runviews.RunPage(record))


@app.command("compare", epilog=examples("strata runs compare run-2026-11-25 latest --all"))
def runs_compare(
    run_refs: Annotated[
        list[str], typer.Argument(metavar="RUN", help="Two or more runs.", show_default=False)
    ],
    show_all: Annotated[bool, typer.Option("--all", help="Show identical fields too.")] = False,
    output_format: FormatOption = "text",
) -> None:
    """Params, metrics, inputs, code and environment side by side; only what differs."""
    from strataml.registry import runs, runviews

    if len(run_refs) < 2:
        raise UsageError("compare needs at least two runs")
    root = find_root(Path())
    comparison = runviews.compare_runs(
        [runs.resolve_run(root, ref) for ref in run_refs], show_all=show_all
    )
    emit(output_format, comparison)


@app.command(
    "best",
    epilog=examples(
        "strata runs best --experiment iris_sweep --metric val/accuracy",
        "strata runs best --experiment iris_sweep --metric val/loss --minimize",
    ),
)
def runs_best(
    experiment: Annotated[str, typer.Option(metavar="NAME", help="Experiment name.")],
    metric: Annotated[str, typer.Option(metavar="NAME", help="Final metric to rank by.")],
    minimize: Annotated[bool, typer.Option("--minimize", help="Lower is better.")] = False,
    output_format: FormatOption = "text",
) -> None:
    """The succeeded run with the best final value of a metric."""
    from strataml.registry import runviews

    root = find_root(Path())
    best = runviews.best_run(root, experiment, metric, minimize=minimize)
    if best is None:
        typer.echo(f"strata: {runviews.why_no_best(root, experiment, metric)}", err=True)
        raise typer.Exit(1)
    emit(output_format, best)
