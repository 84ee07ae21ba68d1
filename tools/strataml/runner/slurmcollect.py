"""The collector job (TFC-0002 R24): submitted with every sweep or pipeline sent to Slurm, held
by `--dependency=afterany` on all its jobs, it seals `failed`, with the scheduler's words, each
run whose runner was killed outright (SIGKILL after a time limit's grace, a node that failed),
so that no run stays `running` when nothing waits for the jobs (`--detach`, a driver that was
stopped or lost its login node). A waiting driver waits for it too, then repeats what it said."""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from strataml import slurm
from strataml.atomic import write_text_atomic
from strataml.errors import StrataError
from strataml.registry.pipelines import Pipeline, load_pipeline
from strataml.runner import slurmpipeline, slurmqueue, slurmsweep
from strataml.runner.execute import Interrupts
from strataml.runner.experiment import Resources
from strataml.runner.pipeline import StageResult
from strataml.runner.record import Notify, PlannedRun, RunResult
from strataml.runner.slurmpaths import COLLECTED, JOB, SWEEP
from strataml.runner.slurmsweep import (
    Placing,
    Submission,
    path_directive,
    placed,
    read_batch,
)
from strataml.workspace import relative


@dataclass(frozen=True, slots=True)
class Collector:
    job_id: str
    batch: Path


def collector_script(root: Path, batch: Path, after: list[str], placing: Placing) -> str:
    directives = [
        "--job-name=strata-collect",
        path_directive("--output", f"{batch}/", pattern="collect.out"),
        path_directive("--chdir", str(root)),
        "--export=ALL",
        "--no-requeue",
        f"--dependency=afterany:{':'.join(after)}",  # every task ended, however it ended
        "--cpus-per-task=1",
        "--mem=100M",
        "--time=5",
    ]
    directives += placed(Resources(), placing)
    argv = [sys.executable, "-m", "strataml", "run", "--slurm-collect", str(batch)]
    return "\n".join(
        ["#!/bin/sh", *(f"#SBATCH {d}" for d in directives), f"exec {shlex.join(argv)}", ""]
    )


def submit_collector(root: Path, batch: Path, after: list[str], placing: Placing) -> Collector:
    """sbatch the collector behind `after`, the submission's jobs, which were submitted held, and
    release them: none starts before the whole submission is in the queue. If Slurm refuses the
    collector or the release, every job is cancelled, none having started, and the batch removed,
    as when a job of the submission itself is refused (R23)."""
    submitted = list(after)
    try:
        script = batch / "collect.sh"
        write_text_atomic(script, collector_script(root, batch, after, placing))
        submitted.append(slurm.submit(str(script)))
        slurm.release(after)
    except BaseException:
        try:
            slurm.cancel(submitted)
        finally:
            slurmsweep.remove_batch(batch)
        raise
    job_id = submitted[-1]
    jobs = json.loads((batch / JOB).read_text(encoding="utf-8"))
    write_text_atomic(batch / JOB, json.dumps({**jobs, "collector": job_id}, sort_keys=True) + "\n")
    return Collector(job_id, batch)


def submit_sweep(
    root: Path, planned: list[PlannedRun], *, request: dict[str, object], placing: Placing
) -> tuple[Submission, Collector]:
    submission = slurmsweep.submit_sweep(root, planned, request=request, placing=placing)
    return submission, submit_collector(root, submission.batch, [submission.job_id], placing)


def submit_pipeline(
    root: Path, path: Path, spec: Pipeline, *, force: tuple[str, ...], placing: Placing
) -> tuple[slurmpipeline.PipelineSubmission, Collector]:
    submitted = slurmpipeline.submit_pipeline(root, path, spec, force=force, placing=placing)
    jobs = list(submitted.jobs.values())
    return submitted, submit_collector(root, submitted.batch, jobs, placing)


def run_collector(root: Path, batch: Path) -> list[str]:
    """Inside the collector job: seal what its runners left `running`, note each in
    collected.json (written once, whole), and return the notes."""
    if not os.environ.get("SLURM_JOB_ID"):  # inside a Slurm job at all, before anything is read
        raise StrataError(
            "[slurm-not-a-task] --slurm-collect runs inside a Slurm job only (no SLURM_JOB_ID) "
            "(hint: `strata run --executor slurm` submits it)"
        )
    notes: list[str] = []
    jobs = json.loads(read_batch(root, batch, JOB))["jobs"]
    if (batch / SWEEP).is_file():
        (job,) = jobs
        slurmsweep.collect(
            root, Submission(job["job_id"], batch, job["points"]), notify=notes.append
        )
    else:
        request = json.loads(read_batch(root, batch, slurmpipeline.PIPELINE))
        pipeline = load_pipeline(root, root / request["pipeline"])
        submitted = slurmpipeline.PipelineSubmission(batch, _stage_jobs(jobs, pipeline.name))
        slurmpipeline.collect(root, pipeline, submitted, notify=notes.append)
    ended = slurmqueue.ended_tasks([str(job["job_id"]) for job in jobs])
    document = {"notes": notes, "tasks": ended}
    write_text_atomic(batch / COLLECTED, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return notes


def _stage_jobs(jobs: list[dict[str, object]], name: str) -> dict[str, str]:
    """stage -> job id from job.json, whose rows name each job `<pipeline>.<stage>`."""
    return {str(job["experiment"]).removeprefix(f"{name}."): str(job["job_id"]) for job in jobs}


def wait_and_collect(
    root: Path, submission: Submission, collector: Collector, *, interrupts: Interrupts,
    notify: Notify,
) -> list[RunResult] | None:  # fmt: skip
    """Wait for the array and its collector; repeat the collector's notes; then each task's
    run, sealing any the collector could not (it was cancelled). None when interrupted."""
    slurmsweep.wait([submission.job_id, collector.job_id], interrupts=interrupts)
    if interrupts.received:
        return None
    _repeat(root, collector.batch, notify)
    return slurmsweep.collect(root, submission, notify=notify)


def wait_and_collect_pipeline(
    root: Path, spec: Pipeline, submitted: slurmpipeline.PipelineSubmission, collector: Collector,
    *, interrupts: Interrupts, notify: Notify,
) -> list[StageResult] | None:  # fmt: skip
    slurmsweep.wait([*submitted.jobs.values(), collector.job_id], interrupts=interrupts)
    if interrupts.received:
        return None
    _repeat(root, collector.batch, notify)
    return slurmpipeline.collect(root, spec, submitted, notify=notify)


def _repeat(root: Path, batch: Path, notify: Notify) -> None:
    """The collector's notes; if it left none that read (cancelled, or a damaged file), the
    waiting command seals what is still `running` itself, and says so."""
    shown = relative(root, batch / COLLECTED)
    try:
        notes = json.loads((batch / COLLECTED).read_text(encoding="utf-8"))["notes"]
    except FileNotFoundError:
        notify(f"the collector job left no {shown}: sealing here")
        return
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        notes = None
    if not isinstance(notes, list) or not all(isinstance(line, str) for line in notes):
        notify(f"the collector job left an unreadable {shown}: sealing here")
        return
    for line in notes:
        notify(line)
