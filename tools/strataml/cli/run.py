"""`strata run` (also `python tools/run.py`): run an experiment, or reproduce a recorded run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from strataml.cli.options import examples
from strataml.cli.output import note
from strataml.errors import UsageError
from strataml.workspace import find_root

EXAMPLES = examples(
    "strata run --experiment experiments/my_experiment.yaml --set epochs=50 --tag baseline",
    "strata run --reproduce latest",
    "strata run --pipeline pipelines/iris.yaml --jobs 2 --force train",
)


def run(
    experiment: Annotated[
        Path | None,
        typer.Option("--experiment", metavar="FILE", help="Experiment spec (experiments/*.yaml)."),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Override a parameter (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the resolved config and fingerprint; create nothing."
        ),
    ] = False,
    reuse_earlier: Annotated[
        bool,
        typer.Option("--reuse", help="Return an earlier succeeded run with the same fingerprint."),
    ] = False,
    name: Annotated[
        str | None, typer.Option("--name", metavar="TEXT", help="A label for the run.")
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option("--tag", metavar="TAG", help="Add a tag (repeatable).")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, metavar="N", help="Sweep points run side by side.")
    ] = 1,
    pipeline: Annotated[
        Path | None,
        typer.Option("--pipeline", metavar="FILE", help="Run a pipeline (pipelines/*.yaml)."),
    ] = None,
    force: Annotated[
        list[str] | None,
        typer.Option("--force", metavar="STAGE", help="Re-run this stage even if up to date."),
    ] = None,
    reproduce_run: Annotated[
        str | None,
        typer.Option(
            "--reproduce", metavar="RUN", help="Re-execute a recorded run; judge PASS/DRIFT/FAIL."
        ),
    ] = None,
) -> None:
    """Run an experiment and record it under runs/ (TFC-0002)."""
    from strataml.runner import execute, session

    if reproduce_run is not None:
        if (
            experiment or overrides or dry_run or reuse_earlier or name or tags or jobs != 1
            or pipeline or force
        ):  # fmt: skip
            raise UsageError("--reproduce RUN takes no other option: it runs the recorded config")
        _reproduce(reproduce_run)
    if pipeline is not None:
        if experiment or overrides or dry_run or reuse_earlier or name or tags:
            raise UsageError("--pipeline FILE takes only --jobs and --force")
        _pipeline(pipeline, jobs, tuple(force or ()))
    if force:
        raise UsageError("--force STAGE goes with --pipeline FILE")
    if experiment is None:
        raise UsageError("give --experiment FILE, --pipeline FILE or --reproduce RUN")
    root = find_root(experiment.parent if experiment.parent.is_dir() else Path())
    planned = session.plan(
        root, experiment, overrides=overrides or [], name=name, tags=tuple(tags or ())
    )
    if dry_run:
        typer.echo(session.format_plan(planned), nl=False)
        return
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        results = session.run_all(
            root, planned, jobs=jobs, reuse_earlier=reuse_earlier, interrupts=interrupts,
            echo=(sys.stdout.buffer, sys.stderr.buffer), notify=note,
        )  # fmt: skip
    if len(planned) > 1:
        typer.echo(session.format_summary(results, len(planned)), err=True, nl=False)
    code = session.exit_code(results)
    if code == 0 and interrupts.received:
        code = 128 + interrupts.received
    raise typer.Exit(code)


def _reproduce(run_ref: str) -> None:
    from strataml.registry import verdict
    from strataml.runner import execute, reproduce

    root = find_root(Path())
    reproduction = reproduce.plan_reproduction(root, run_ref)
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        judged = reproduce.reproduce(
            root, reproduction, interrupts=interrupts,
            echo=(sys.stdout.buffer, sys.stderr.buffer), notify=note,
        )  # fmt: skip
    typer.echo(verdict.format_report(judged), nl=False)
    raise typer.Exit(128 + interrupts.received if interrupts.received else judged.exit_code)


def _pipeline(path: Path, jobs: int, force: tuple[str, ...]) -> None:
    from strataml.registry.pipelines import load_pipeline
    from strataml.runner import execute, pipeline

    root = find_root(path.parent if path.parent.is_dir() else Path())
    spec = load_pipeline(root, path)
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        results = pipeline.run_pipeline(
            root, spec, jobs=jobs, force=force, interrupts=interrupts,
            echo=(sys.stdout.buffer, sys.stderr.buffer), notify=note,
        )  # fmt: skip
    typer.echo(pipeline.format_summary(spec, results), err=True, nl=False)
    raise typer.Exit(pipeline.exit_code(results, interrupts))
