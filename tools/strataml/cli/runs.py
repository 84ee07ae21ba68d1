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


GroupByOption = Annotated[
    str | None,
    typer.Option(
        "--group-by", metavar="P,Q", help="Parameters that make a group (default: all but --over)."
    ),
]
OverOption = Annotated[
    str | None,
    typer.Option(
        "--over", metavar="P,Q", help="Parameters a group repeats over (default: seed, *.seed)."
    ),
]


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
    from strataml.runner import slurmqueue
    from strataml.slurm import SchedulerError

    try:
        jobs = slurmqueue.queued(root)
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
        "strata runs best --experiment iris_sweep --metric val/accuracy --aggregate mean --over seed",
    ),
)
def runs_best(
    experiment: Annotated[str, typer.Option(metavar="NAME", help="Experiment name.")],
    metric: Annotated[str, typer.Option(metavar="NAME", help="Final metric to rank by.")],
    minimize: Annotated[bool, typer.Option("--minimize", help="Lower is better.")] = False,
    aggregate: Annotated[
        str | None,
        typer.Option(metavar="STAT", help="Rank groups by mean, min, max, low or high (95% CI)."),
    ] = None,
    group_by: GroupByOption = None,
    over: OverOption = None,
    output_format: FormatOption = "text",
) -> None:
    """The succeeded run (or with --aggregate, group of runs) with the best final metric."""
    root = find_root(Path())
    if aggregate is not None:
        from strataml.registry import aggregate as grouping

        found = grouping.aggregate_runs(root, experiment, _names(group_by), _names(over))
        emit(output_format, grouping.best_group(found, metric, aggregate, minimize=minimize))
        return
    if group_by is not None or over is not None:
        raise UsageError("--group-by and --over rank groups: add --aggregate mean (or min, max, …)")
    from strataml.registry import runviews

    best = runviews.best_run(root, experiment, metric, minimize=minimize)
    if best is None:
        typer.echo(f"strata: {runviews.why_no_best(root, experiment, metric)}", err=True)
        raise typer.Exit(1)
    emit(output_format, best)


@app.command(
    "aggregate",
    epilog=examples(
        "strata runs aggregate --experiment iris_sweep --group-by learning_rate,l2 --over seed",
        "strata runs aggregate --experiment iris_sweep --over seed --format json",
    ),
)
def runs_aggregate(
    experiment: Annotated[str, typer.Option(metavar="NAME", help="Experiment name.")],
    group_by: GroupByOption = None,
    over: OverOption = None,
    output_format: FormatOption = "text",
) -> None:
    """Per group of succeeded runs: count, mean, std, min, max and 95% CI of each final metric."""
    from strataml.registry import aggregate as grouping

    found = grouping.aggregate_runs(find_root(Path()), experiment, _names(group_by), _names(over))
    emit(output_format, found)


def _names(text: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    if text is not None and not names:
        raise UsageError("--group-by/--over: give parameter names, comma-separated")
    return names
