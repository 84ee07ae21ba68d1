"""A sweep as one Slurm job array (TFC-0002 R22-R24): the driver's side writes the batch, submits
it, waits for it with one squeue per poll, and collects each task's run; the task's side runs
one grid point with the ordinary runner on the node."""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

from strataml import slurm
from strataml.atomic import write_text_atomic
from strataml.errors import StrataError
from strataml.runner import rundir, session
from strataml.runner.execute import Interrupts, Outcome
from strataml.runner.experiment import Resources
from strataml.runner.fingerprint import CodeState, tracked_identity
from strataml.runner.record import Notify, Placement, PlannedRun, RunResult
from strataml.runner.seal import seal_abandoned
from strataml.runner.slurmpaths import BATCHES, JOB, SWEEP
from strataml.workspace import relative

POLL_S = 2.0


@dataclass(frozen=True, slots=True)
class Submission:
    job_id: str
    batch: Path  # .strata/slurm/<batch>/: the script, sweep.json, each task's marker and output
    points: int


@dataclass(frozen=True, slots=True)
class Placing:
    """--executor slurm's options."""

    partition: str | None = None
    account: str | None = None
    at_once: int | None = None  # --jobs N: at most N array tasks run at a time


_NAME = re.compile(r"[A-Za-z0-9_.,+-]+")  # what a partition or account name is made of


def checked_placing(
    partition: str | None, account: str | None, at_once: int | None = None
) -> Placing:
    """Refuse a value that would not stay one word of its #SBATCH line (a newline, a space)."""
    for option, value in (("--partition", partition), ("--account", account)):
        if value is not None and _NAME.fullmatch(value) is None:
            raise StrataError(
                f"[slurm-bad-name] {option} {value!r}: not a Slurm partition or account name "
                "(hint: use letters, digits and _ . , + - only, as `sinfo` lists them)"
            )
    return Placing(partition, account, at_once)


def script_lines(
    root: Path, batch: Path, planned: list[PlannedRun], resources: Resources, placing: Placing
) -> list[str]:
    """The sbatch script: one array task per point, the runner itself on the node (R23)."""
    directives = [
        f"--job-name=strata-{planned[0].experiment.name}",
        f"--array=0-{len(planned) - 1}"
        + (f"%{placing.at_once}" if placing.at_once is not None else ""),
        path_directive("--output", f"{batch}/", pattern="task-%a.out"),
        path_directive("--chdir", str(root)),
        "--export=ALL",
        "--no-requeue",  # a requeued task would claim a second run and orphan the first
        "--hold",  # until the whole submission is accepted (slurmcollect.submit_collector)
    ]
    directives += placed(resources, placing)
    runner = shlex.join([sys.executable, "-m", "strataml", "run", "--slurm-task", str(batch)])
    return ["#!/bin/sh", *(f"#SBATCH {d}" for d in directives), f"exec {runner}", ""]


def placed(resources: Resources, placing: Placing) -> list[str]:
    """The #SBATCH options for what one run needs (R22) and where it goes."""
    directives = []
    if resources.cpus is not None:
        directives.append(f"--cpus-per-task={resources.cpus}")
    if resources.memory is not None:
        directives.append(f"--mem={resources.memory}")
    if resources.gpus:
        directives.append(f"--gres=gpu:{resources.gpus}")
    if resources.time_s is not None:
        directives.append(f"--time={-(-resources.time_s // 60)}")  # Slurm counts whole minutes
    if placing.partition is not None:
        directives.append(f"--partition={placing.partition}")
    if placing.account is not None:
        directives.append(f"--account={placing.account}")
    return directives


def path_directive(option: str, path: str, *, pattern: str = "") -> str:
    """`--option="path"`: Slurm reads a double-quoted value whole (a space stays in it); in a
    filename pattern a `%` of the path is written `%%`."""
    if '"' in path or "\n" in path:
        raise StrataError(
            f"[slurm-bad-path] {path!r}: a path with a double quote or a newline cannot be "
            "written in an #SBATCH line (hint: move the repository to a plainer path)"
        )
    value = path.replace("%", "%%") + pattern if pattern else path
    return f'{option}="{value}"'


def submit_sweep(
    root: Path, planned: list[PlannedRun], *, request: dict[str, Any], placing: Placing
) -> Submission:
    """Write the batch under .strata/slurm/ and sbatch it; on refusal nothing is left (R23)."""
    path_directive("--chdir", str(root))  # refused before the batch is made
    batch = new_batch(root)
    try:
        sweep = {
            **request, "fingerprints": [p.fingerprint for p in planned],
            "code": asdict(planned[0].code), "tracked": tracked_identity(root),
        }  # fmt: skip
        write_text_atomic(batch / SWEEP, json.dumps(sweep, indent=2, sort_keys=True) + "\n")
        script = batch / "sweep.sh"
        resources = planned[0].experiment.resources
        write_text_atomic(script, "\n".join(script_lines(root, batch, planned, resources, placing)))
        job_id = slurm.submit(str(script))
    except BaseException:
        remove_batch(batch)
        raise
    write_jobs(batch, [(job_id, planned[0].experiment.name, len(planned))])
    return Submission(job_id, batch, len(planned))


def write_jobs(batch: Path, jobs: list[tuple[str, str, int]]) -> None:
    """job.json: what `strata runs list` asks the scheduler about (R24)."""
    listed = [{"job_id": j, "experiment": e, "points": n} for j, e, n in jobs]
    write_text_atomic(batch / JOB, json.dumps({"jobs": listed}, sort_keys=True) + "\n")


def new_batch(root: Path) -> Path:
    batch = root / BATCHES / f"batch-{secrets.token_hex(6)}"
    batch.mkdir(parents=True)
    return batch


def remove_batch(batch: Path) -> None:
    for entry in batch.iterdir():
        entry.unlink()
    batch.rmdir()


def wait(job_ids: list[str], *, interrupts: Interrupts, poll_s: float = POLL_S) -> None:
    """Until every task has ended: one squeue per poll, whatever the number of tasks (R23)."""
    while not interrupts.received:
        if all(task.ended for task in slurm.tasks(job_ids)):
            return
        time.sleep(poll_s)


def collect(root: Path, submission: Submission, *, notify: Notify) -> list[RunResult]:
    """Each task's run, in grid order, once `wait` has seen every task end; a run its task left
    `running` (the runner was killed with SIGKILL, or its node failed) is sealed `failed` with
    the scheduler's state and reason, or says Slurm no longer lists the task (R24)."""
    states = {
        index: task
        for task in slurm.tasks([submission.job_id])
        for index in task.tasks
    }  # fmt: skip
    results = []
    for index in range(submission.points):
        marker = submission.batch / f"task-{index}.json"
        if not marker.is_file():
            continue  # the task never started: cancelled while pending
        run_id = json.loads(marker.read_text())["run_id"]
        run_dir = root / rundir.RUNS / run_id
        system = json.loads((run_dir / rundir.SYSTEM).read_text())
        if system["status"] == "running":  # every task has ended (wait), this runner too
            task = states.get(index)
            why = (
                scheduler_reason(submission.job_id, index, task)
                if task is not None
                else f"slurm ended job {submission.job_id}_{index}: no longer listed by squeue"
            )
            sealed = seal_abandoned(root, run_id, why)  # False: the collector sealed it meanwhile
            system = json.loads((run_dir / rundir.SYSTEM).read_text())
            if sealed:
                notify(f"{run_id} failed: {system['reason']}")
        results.append(
            RunResult(run_id, run_dir, system["status"], exit_of(system), system["duration_s"])
        )
    return results


def exit_of(system: dict[str, Any]) -> int:
    """What a local runner of this run would have exited with (TFC-0002 R8)."""
    code = system["exit_code"]
    if system["status"] == "succeeded":
        return 0
    if not isinstance(code, int) or code == 0:
        return 1
    return code if code > 0 else 128 - code


def scheduler_reason(job_id: str, index: int, task: slurm.Task) -> str:
    why = "" if task.reason in ("None", "") else f" ({task.reason})"
    return f"slurm ended job {job_id}_{index}: {task.state}{why}"


def task_placement(environ: dict[str, str]) -> Placement:
    try:
        return Placement(
            "slurm",
            environ["SLURM_ARRAY_JOB_ID"],
            int(environ["SLURM_ARRAY_TASK_ID"]),
            environ.get("SLURM_CLUSTER_NAME") or None,
        )
    except (KeyError, ValueError) as exc:
        raise StrataError(
            "[slurm-not-a-task] --slurm-task runs inside a Slurm array task only (no SLURM_ARRAY_TASK_ID) "
            "(hint: `strata run --executor slurm` submits it)"
        ) from exc


def task_point(root: Path, batch: Path, planned: list[PlannedRun]) -> PlannedRun:
    """This task's grid point, refused if the spec or the code changed since the submission."""
    placement = task_placement(dict(os.environ))
    index = placement.array_task_id
    assert index is not None
    expected = json.loads((batch / SWEEP).read_text())["fingerprints"]
    if index >= len(planned) or planned[index].fingerprint != expected[index]:
        raise StrataError(
            f"[slurm-point-changed] {relative(root, batch)}: point {index} is not the one submitted: the "
            "experiment, its inputs or the code changed since (hint: submit the sweep again)"
        )
    return replace(planned[index], placement=placement)


def run_task(
    root: Path, batch: Path, *, interrupts: Interrupts, echo: tuple[BinaryIO, BinaryIO] | None,
    notify: Notify,
) -> RunResult:  # fmt: skip
    """Inside array task i: plan the sweep again and run point i as the runner runs any (R23)."""
    task_placement(dict(os.environ))  # inside a task at all, before anything is read
    request = json.loads(read_batch(root, batch, SWEEP))
    planned = session.plan(
        root, root / request["experiment"], overrides=request["overrides"],
        name=request["name"], tags=tuple(request["tags"]), code=submitted_code(root, request),
    )  # fmt: skip
    point = task_point(root, batch, planned)
    assert point.placement is not None
    return session.execute_run(
        root, point, interrupts=interrupts, echo=echo, notify=notify,
        claimed=mark_claimed(batch, point.placement),
        ended_by=ended_by(batch / f"task-{point.placement.array_task_id}.out", point.placement),
    )  # fmt: skip


def submitted_code(root: Path, request: dict[str, Any]) -> CodeState | None:
    """The submission's code state while HEAD and the tracked files are unchanged: files an
    earlier task's command wrote (untracked) do not change the points (R23)."""
    tracked = request.get("tracked")
    if tracked is None or tracked != tracked_identity(root):
        return None  # the task's own code state: changed code refuses the point
    return CodeState(**request["code"])


def read_batch(root: Path, batch: Path, name: str) -> str:
    try:
        return (batch / name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise StrataError(
            f"[slurm-no-batch] {relative(root, batch.resolve())}: no {name} here (hint: --slurm-task "
            "and --slurm-collect take the batch directory the scripts `--executor slurm` writes name)"
        ) from exc


def mark_claimed(batch: Path, placement: Placement) -> Callable[[str], None]:
    def claimed(run_id: str) -> None:
        marker = batch / f"task-{placement.array_task_id}.json"
        write_text_atomic(marker, json.dumps({"run_id": run_id}) + "\n")

    return claimed


def ended_by(output: Path, placement: Placement) -> Callable[[Outcome], str | None]:
    """Asked when a signal stopped the run: the scheduler's word for why, if it is ending the
    task (a task is COMPLETING while its runner lives), else None: an interrupt (R24)."""

    def why(outcome: Outcome) -> str | None:
        if outcome.interrupted_by is None:
            return None
        index = placement.array_task_id
        name = placement.job_id if index is None else f"{placement.job_id}_{index}"
        said = _stepd_says(output)  # written before slurmstepd signals: no need to ask
        if said is not None:
            return f"slurm ended job {name}: {said}"
        try:
            listed = slurm.tasks([placement.job_id])
        except (slurm.SchedulerError, OSError) as exc:  # the run is sealed whatever squeue says
            return f"slurm ended job {name}: unknown (squeue failed: {exc})"
        for task in listed:
            if (index is None or index in task.tasks) and (
                task.ended or task.state == "COMPLETING"
            ):
                why = "" if task.reason in ("None", "") else f" ({task.reason})"
                return f"slurm ended job {name}: {task.state}{why}"
        return None

    return why


_STEPD = re.compile(r"\*\*\* JOB [0-9]+ ON \S+ (.+?) \*\*\*")


def _stepd_says(output: Path) -> str | None:
    """slurmstepd's own line in the task's output, written before it signals the task:
    `*** JOB 7 ON node1 CANCELLED AT 2026-12-06T19:39:33 DUE TO TIME LIMIT ***`."""
    try:
        with output.open("rb") as handle:
            handle.seek(max(0, output.stat().st_size - 65536))
            tail = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    found = _STEPD.findall(tail)
    return found[-1] if found else None
