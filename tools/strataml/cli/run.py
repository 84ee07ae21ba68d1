"""`strata run` (also `python tools/run.py`): run an experiment, or reproduce a recorded run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from strataml.cli.options import examples
from strataml.cli.output import note
from strataml.errors import UsageError
from strataml.workspace import find_root, relative

if TYPE_CHECKING:
    from strataml.runner.record import PlannedRun
    from strataml.runner.slurmsweep import Placing

EXAMPLES = examples(
    "strata run --experiment experiments/my_experiment.yaml --set epochs=50 --tag baseline",
    "strata run --reproduce latest",
    "strata run --pipeline pipelines/iris.yaml --jobs 2 --force train",
    "strata run --experiment experiments/sweep.yaml --executor slurm --partition gpu --detach",
    "strata run --experiment experiments/sweep.yaml --executor ray --address 10.0.0.5:6379",
)
EXECUTORS = ("local", "slurm", "ray")


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
        int | None,
        typer.Option("--jobs", min=1, metavar="N", help="Sweep points run side by side."),
    ] = None,
    pipeline: Annotated[
        Path | None,
        typer.Option("--pipeline", metavar="FILE", help="Run a pipeline (pipelines/*.yaml)."),
    ] = None,
    force: Annotated[
        list[str] | None,
        typer.Option("--force", metavar="STAGE", help="Re-run this stage even if up to date."),
    ] = None,
    executor: Annotated[
        str,
        typer.Option("--executor", metavar="local|slurm|ray", help="Where the runs execute."),
    ] = "local",
    address: Annotated[
        str | None, typer.Option("--address", metavar="ADDR", help="Ray cluster (HOST:PORT).")
    ] = None,
    partition: Annotated[
        str | None, typer.Option("--partition", metavar="P", help="Slurm partition.")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", metavar="A", help="Slurm account.")
    ] = None,
    detach: Annotated[
        bool, typer.Option("--detach", help="Slurm: print the job id and return at once.")
    ] = False,
    slurm_task: Annotated[Path | None, typer.Option("--slurm-task", hidden=True)] = None,
    slurm_stage: Annotated[str | None, typer.Option("--stage", hidden=True)] = None,
    slurm_collect: Annotated[Path | None, typer.Option("--slurm-collect", hidden=True)] = None,
    reproduce_run: Annotated[
        str | None,
        typer.Option(
            "--reproduce", metavar="RUN", help="Re-execute a recorded run; judge PASS/DRIFT/FAIL."
        ),
    ] = None,
) -> None:
    """Run an experiment and record it under runs/ (TFC-0002)."""
    from strataml.runner import execute, session

    if slurm_task is not None:
        _slurm_task(slurm_task, slurm_stage)
    if slurm_collect is not None:
        _slurm_collect(slurm_collect)
    if executor not in EXECUTORS:
        raise UsageError(f"--executor {executor!r}: choose local, slurm or ray")
    if executor != "slurm" and (partition is not None or account is not None or detach):
        raise UsageError("--partition, --account and --detach go with --executor slurm")
    if executor != "ray" and address is not None:
        raise UsageError("--address goes with --executor ray")
    if executor == "slurm":
        _placing(partition, account)  # refused before anything is planned or written
    if executor != "local" and (reproduce_run or dry_run or reuse_earlier):
        raise UsageError(f"--executor {executor} runs --experiment FILE or --pipeline FILE "
                         "(no --reproduce, --dry-run or --reuse yet)")  # fmt: skip
    if reproduce_run is not None:
        if (
            experiment or overrides or dry_run or reuse_earlier or name or tags or jobs not in (None, 1)
            or pipeline or force
        ):  # fmt: skip
            raise UsageError("--reproduce RUN takes no other option: it runs the recorded config")
        _reproduce(reproduce_run)
    if pipeline is not None:
        if experiment or overrides or dry_run or reuse_earlier or name or tags:
            raise UsageError("--pipeline FILE takes only --jobs and --force")
        if executor == "slurm":
            _slurm_pipeline(pipeline, tuple(force or ()), _placing(partition, account), detach)
        _pipeline(pipeline, jobs or 1, tuple(force or ()), executor, address)
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
    if executor == "slurm":
        request: dict[str, object] = {
            "experiment": relative(root, experiment.resolve()), "overrides": overrides or [],
            "name": name, "tags": tags or [],
        }  # fmt: skip
        placing = _placing(partition, account, jobs)  # an explicit --jobs N always caps
        _slurm_sweep(root, planned, request, placing, detach=detach)
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        if executor == "ray":
            from strataml.runner import raysweep

            results = raysweep.run_sweep(
                root, planned, address=address, jobs=jobs, interrupts=interrupts, notify=note
            )
        else:
            results = session.run_all(
                root, planned, jobs=jobs or 1, reuse_earlier=reuse_earlier, interrupts=interrupts,
                echo=(sys.stdout.buffer, sys.stderr.buffer), notify=note,
            )  # fmt: skip
    if len(planned) > 1:
        typer.echo(session.format_summary(results, len(planned)), err=True, nl=False)
    code = session.exit_code(results)
    if code == 0 and interrupts.received:
        code = 128 + interrupts.received
    raise typer.Exit(code)


def _slurm_sweep(
    root: Path, planned: list[PlannedRun], request: dict[str, object], placing: Placing, *,
    detach: bool,
) -> None:  # fmt: skip
    from strataml.runner import execute, session, slurmcollect

    submission, collector = slurmcollect.submit_sweep(
        root, planned, request=request, placing=placing
    )
    typer.echo(submission.job_id)
    note(f"slurm job {submission.job_id}: {len(planned)} task(s) submitted")
    if detach:
        raise typer.Exit(0)
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        results = slurmcollect.wait_and_collect(
            root, submission, collector, interrupts=interrupts, notify=note
        )
    if results is None:
        note(f"stopped waiting; the job runs on (`scancel {submission.job_id}` stops it)")
        raise typer.Exit(128 + (interrupts.received or 0))
    if len(planned) > 1:
        typer.echo(session.format_summary(results, len(planned)), err=True, nl=False)
    raise typer.Exit(session.exit_code(results) or (1 if len(results) < len(planned) else 0))


def _slurm_task(batch: Path, stage: str | None) -> None:
    from strataml.runner import execute, slurmpipeline, slurmsweep

    root = find_root(Path())
    echo = (sys.stdout.buffer, sys.stderr.buffer)
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        if stage is not None:
            done = slurmpipeline.run_stage_task(
                root, batch, stage, interrupts=interrupts, echo=echo, notify=note
            )
            raise typer.Exit(done.exit_code if done.status != "not run" else 1)
        result = slurmsweep.run_task(root, batch, interrupts=interrupts, echo=echo, notify=note)
    raise typer.Exit(result.exit_code)


def _slurm_collect(batch: Path) -> None:
    from strataml.runner import slurmcollect

    for line in slurmcollect.run_collector(find_root(Path()), batch):
        note(line)
    raise typer.Exit(0)


def _slurm_pipeline(path: Path, force: tuple[str, ...], placing: Placing, detach: bool) -> None:
    from strataml.registry.pipelines import load_pipeline
    from strataml.runner import execute, pipeline, slurmcollect

    root = find_root(path.parent if path.parent.is_dir() else Path())
    spec = load_pipeline(root, path)
    submitted, collector = slurmcollect.submit_pipeline(
        root, path, spec, force=force, placing=placing
    )
    typer.echo(" ".join(submitted.jobs.values()))
    note(f"slurm jobs {', '.join(f'{s} {j}' for s, j in submitted.jobs.items())} submitted")
    if detach:
        raise typer.Exit(0)
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        results = slurmcollect.wait_and_collect_pipeline(
            root, spec, submitted, collector, interrupts=interrupts, notify=note
        )
    if results is None:
        note(f"stopped waiting; the jobs run on (`scancel {' '.join(submitted.jobs.values())}`)")
        raise typer.Exit(128 + (interrupts.received or 0))
    typer.echo(pipeline.format_summary(spec, results), err=True, nl=False)
    raise typer.Exit(pipeline.exit_code(results, interrupts))


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


def _pipeline(
    path: Path, jobs: int, force: tuple[str, ...], executor: str, address: str | None
) -> None:
    from strataml.registry.pipelines import load_pipeline
    from strataml.runner import execute, pipeline

    root = find_root(path.parent if path.parent.is_dir() else Path())
    spec = load_pipeline(root, path)
    interrupts = execute.Interrupts()
    with execute.forwarding(interrupts):
        if executor == "ray":
            from strataml.runner import raysweep

            results = raysweep.run_pipeline_on_ray(
                root, spec, address=address, jobs=jobs, force=force, interrupts=interrupts,
                notify=note,
            )  # fmt: skip
        else:
            results = pipeline.run_pipeline(
                root, spec, jobs=jobs, force=force, interrupts=interrupts,
                echo=(sys.stdout.buffer, sys.stderr.buffer), notify=note,
            )  # fmt: skip
    typer.echo(pipeline.format_summary(spec, results), err=True, nl=False)
    raise typer.Exit(pipeline.exit_code(results, interrupts))


def _placing(partition: str | None, account: str | None, at_once: int | None = None) -> Placing:
    from strataml.runner.slurmsweep import checked_placing

    return checked_placing(partition, account, at_once)
