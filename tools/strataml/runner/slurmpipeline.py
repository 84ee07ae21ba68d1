"""A pipeline on Slurm (TFC-0002 R25): one job per stage, each held by `--dependency=afterok` on
the jobs of its upstream stages; on the node a stage is reused or run exactly as locally."""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from strataml import slurm
from strataml.atomic import write_text_atomic
from strataml.errors import StrataError
from strataml.registry.pipelines import Pipeline, load_pipeline
from strataml.registry.runs import load_runs
from strataml.runner import rundir
from strataml.runner.execute import Interrupts
from strataml.runner.experiment import Resources
from strataml.runner.fingerprint import code_state, tracked_identity
from strataml.runner.pipeline import (
    NOT_RUN,
    StageResult,
    check_force,
    plan_stage,
    prepare,
    run_stage,
)
from strataml.runner.record import Notify, Placement, refuse_secrets
from strataml.runner.seal import seal_abandoned
from strataml.runner.slurmsweep import (
    Placing,
    ended_by,
    exit_of,
    new_batch,
    path_directive,
    placed,
    read_batch,
    remove_batch,
    scheduler_reason,
    submitted_code,
    write_jobs,
)
from strataml.workspace import relative

PIPELINE = "pipeline.json"


@dataclass(frozen=True, slots=True)
class PipelineSubmission:
    batch: Path
    jobs: dict[str, str]  # stage -> job id, in pipeline order


def _script(
    root: Path, batch: Path, stage: str, after: list[str], resources: Resources, placing: Placing
) -> str:
    directives = [
        f"--job-name=strata-{stage}",
        path_directive("--output", f"{batch}/", pattern=f"stage-{stage}.out"),
        path_directive("--chdir", str(root)),
        "--export=ALL",
        "--no-requeue",  # a requeued task would claim a second run and orphan the first
        "--hold",  # until the whole submission is accepted (slurmcollect.submit_collector)
    ]
    if after:  # a failed upstream cancels this job instead of leaving it pending for ever
        directives += [f"--dependency=afterok:{':'.join(after)}", "--kill-on-invalid-dep=yes"]
    directives += placed(resources, placing)
    argv = [sys.executable, "-m", "strataml", "run", "--slurm-task", str(batch), "--stage", stage]
    return "\n".join(
        ["#!/bin/sh", *(f"#SBATCH {d}" for d in directives), f"exec {shlex.join(argv)}", ""]
    )


def submit_pipeline(
    root: Path, path: Path, pipeline: Pipeline, *, force: tuple[str, ...], placing: Placing
) -> PipelineSubmission:
    """Check everything a local run checks first (R21), then one sbatch per stage in order, each
    held; if Slurm refuses one, the jobs already submitted are cancelled (none has started) and
    nothing is left."""
    check_force(pipeline, force)
    prepared = prepare(root, pipeline)
    code = code_state(root)
    for stage in prepared.values():
        refuse_secrets(plan_stage(pipeline, stage, {}, code))
    path_directive("--chdir", str(root))  # refused before the batch is made
    batch = new_batch(root)
    jobs: dict[str, str] = {}
    try:
        request = {
            "pipeline": relative(root, path.resolve()), "force": list(force),
            "code": asdict(code), "tracked": tracked_identity(root),
        }  # fmt: skip
        write_text_atomic(batch / PIPELINE, json.dumps(request, sort_keys=True) + "\n")
        for name in pipeline.order:
            script = batch / f"stage-{name}.sh"
            after = [jobs[up] for up in sorted(pipeline.stages[name].upstream)]
            resources = prepared[name].experiment.resources
            write_text_atomic(script, _script(root, batch, name, after, resources, placing))
            jobs[name] = slurm.submit(str(script))
    except BaseException:
        try:
            slurm.cancel(list(jobs.values()))
        finally:
            remove_batch(batch)
        raise
    write_jobs(batch, [(j, f"{pipeline.name}.{s}", 1) for s, j in jobs.items()])
    return PipelineSubmission(batch, jobs)


def run_stage_task(
    root: Path, batch: Path, stage: str, *, interrupts: Interrupts,
    echo: tuple[BinaryIO, BinaryIO] | None, notify: Notify,
) -> StageResult:  # fmt: skip
    """Inside a stage's job: its upstream stages' runs from their markers, then the stage."""
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id:  # inside a Slurm job at all, before anything is read
        raise StrataError(
            "[slurm-not-a-task] --slurm-task --stage runs inside a Slurm job only (no "
            "SLURM_JOB_ID) (hint: `strata run --pipeline FILE --executor slurm` submits it)"
        )
    request = json.loads(read_batch(root, batch, PIPELINE))
    pipeline = load_pipeline(root, root / request["pipeline"])
    if stage not in pipeline.stages:
        raise StrataError(
            f"[slurm-no-stage] {request['pipeline']}: no stage {stage!r} "
            f"(hint: its stages are {', '.join(pipeline.order)})"
        )
    prepared = prepare(root, pipeline)
    produced = {}
    for up in pipeline.stages[stage].upstream:
        done = _marker(batch, up)
        if done is None or done["run_id"] is None:
            raise StrataError(f"stage {stage}: upstream {up} left no run in {batch}")
        produced[up] = done["run_id"]
    placement = Placement(
        "slurm", job_id, None,
        os.environ.get("SLURM_CLUSTER_NAME") or None,
    )  # fmt: skip

    def claimed(run_id: str) -> None:
        _write_marker(batch, stage, {"status": "running", "run_id": run_id, "exit_code": None})

    result = run_stage(
        root, pipeline, prepared[stage], produced, force=tuple(request["force"]),
        code=submitted_code(root, request) or code_state(root), succeeded=load_runs(root, status="succeeded"),
        interrupts=interrupts, echo=echo, notify=notify, claimed=claimed,
        ended_by=ended_by(batch / f"stage-{stage}.out", placement), placement=placement,
    )  # fmt: skip
    _write_marker(
        batch, stage,
        {"status": result.status, "run_id": result.run_id, "exit_code": result.exit_code},
    )  # fmt: skip
    return result


def _write_marker(batch: Path, stage: str, document: dict[str, Any]) -> None:
    write_text_atomic(batch / f"stage-{stage}.json", json.dumps(document, sort_keys=True) + "\n")


def _system(run_dir: Path) -> dict[str, Any]:
    system: dict[str, Any] = json.loads((run_dir / rundir.SYSTEM).read_text(encoding="utf-8"))
    return system


def _marker(batch: Path, stage: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads((batch / f"stage-{stage}.json").read_text())
    except FileNotFoundError:
        return None
    return found


def collect(
    root: Path, pipeline: Pipeline, submission: PipelineSubmission, *, notify: Notify
) -> list[StageResult]:
    """Each stage's result once every job has ended; a stage whose runner was killed outright
    is sealed `failed` with Slurm's state (R24); a stage that never started says why."""
    states = {t.job_id: t for t in slurm.tasks(list(submission.jobs.values()))}
    results: dict[str, StageResult] = {}
    for name in pipeline.order:
        job = submission.jobs[name]
        done = _marker(submission.batch, name)
        if done is not None and done["status"] == "running":
            # the marker may lag its run (the runner died after sealing): the run's own record
            # decides, and a sealed run is never touched again
            run_dir = root / rundir.RUNS / done["run_id"]
            if _system(run_dir)["status"] == "running":
                task = states.get(job)
                why = (
                    scheduler_reason(job, 0, task).replace(f"{job}_0", job)
                    if task is not None
                    else f"slurm ended job {job}: no longer listed by squeue"
                )
                if seal_abandoned(root, done["run_id"], why):  # not sealed by another meanwhile
                    notify(f"{name}: {done['run_id']} failed: {why}")
            system = _system(run_dir)
            done = {
                "status": system["status"],
                "run_id": done["run_id"],
                "exit_code": exit_of(system),
            }
        if done is not None:
            results[name] = StageResult(name, done["status"], done["run_id"], done["exit_code"])
            continue
        blocked = next(
            (f"upstream {up} {results[up].status}" for up in sorted(pipeline.stages[name].upstream)
             if results[up].status not in {"succeeded", "reused"}),
            None,
        )  # fmt: skip
        task = states.get(job)
        why = blocked or (f"slurm job {job} {task.state}" if task else f"slurm job {job} ended")
        results[name] = StageResult(name, NOT_RUN, None, 0 if blocked else 1, why)
    return [results[name] for name in pipeline.order]
